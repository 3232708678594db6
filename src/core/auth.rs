// SPDX-License-Identifier: LGPL-2.1-or-later
//! The authenticated sync packet: an opt-in third wire format of our own,
//! for networks that are not trusted (`spec/wire.md`, README "Authenticated
//! packets").
//!
//! 80 bytes, little-endian, so it can never be mistaken for the 24- or
//! 40-byte formats (nor they for it), and a magic first:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `CSYA` |
//! | 4 | 1 | version, 1 |
//! | 5 | 3 | zero |
//! | 8 | 8 | sender id: random, new at each start of a server |
//! | 16 | 8 | sequence number: 1, 2, ... per sender id |
//! | 24 | 4 | `frame_duration` µs |
//! | 28 | 4 | zero |
//! | 32 | 8 | `wall_clock_frame_timestamp` µs |
//! | 40 | 8 | `wall_clock_ready_time` µs |
//! | 48 | 32 | HMAC-SHA256 of bytes 0..48 under the pre-shared key |
//!
//! HMAC-SHA256 (RFC 2104), for what any host can check it with: OpenSSL,
//! Python's standard library, every language's. The MAC covers every byte
//! before it, the reserved zeros included; it is compared in constant time.
//! A receiver keeps, per sender id, the highest sequence number accepted
//! and a window of the 64 before it, so each packet is accepted once
//! ([`ReplayWindow`]); a packet of an earlier run replayed later is outside
//! the window of frame times a receiver accepts (`wire::CLOCK_WINDOW_US`).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::wire::{SyncPacket, WireError};

/// Length of the authenticated format.
pub const AUTH_LEN: usize = 80;
/// Its first four bytes.
pub const MAGIC: [u8; 4] = *b"CSYA";
/// Its version.
pub const VERSION: u8 = 1;
/// The bytes the MAC covers.
const SIGNED: usize = 48;
/// The shortest and longest key, bytes.
pub const MIN_KEY_LEN: usize = 16;
pub const MAX_KEY_LEN: usize = 1024;

/// A pre-shared key, ready to sign and verify (the HMAC state keyed once).
/// Its `Debug` shows no key material.
#[derive(Clone)]
pub struct AuthKey {
    mac: Hmac<Sha256>,
    /// SHA-256 of the key, to compare keys (configurations) without
    /// keeping the key itself.
    id: [u8; 32],
}

impl AuthKey {
    /// A key of `MIN_KEY_LEN..=MAX_KEY_LEN` bytes.
    pub fn new(key: &[u8]) -> Result<AuthKey, &'static str> {
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
            return Err("a key is 16 to 1024 bytes");
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| "not a usable key")?;
        let id = {
            use sha2::Digest;
            let mut h = Sha256::new();
            h.update(b"camsync key id");
            h.update(key);
            h.finalize().into()
        };
        Ok(AuthKey { mac, id })
    }

    fn tag(&self, signed: &[u8]) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(signed);
        m.finalize().into_bytes().into()
    }
}

impl PartialEq for AuthKey {
    fn eq(&self, other: &AuthKey) -> bool {
        self.id == other.id
    }
}

impl Eq for AuthKey {}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

/// An authenticated packet: the timing fields, who sent it, its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPacket {
    pub sender: u64,
    pub seq: u64,
    pub packet: SyncPacket,
}

impl AuthPacket {
    /// Encode and sign.
    pub fn encode(&self, key: &AuthKey) -> [u8; AUTH_LEN] {
        let mut b = [0u8; AUTH_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[8..16].copy_from_slice(&self.sender.to_le_bytes());
        b[16..24].copy_from_slice(&self.seq.to_le_bytes());
        b[24..28].copy_from_slice(&self.packet.frame_duration_us.to_le_bytes());
        b[32..40].copy_from_slice(&self.packet.frame_ts_us.to_le_bytes());
        b[40..48].copy_from_slice(&self.packet.ready_time_us.to_le_bytes());
        let tag = key.tag(&b[..SIGNED]);
        b[SIGNED..].copy_from_slice(&tag);
        b
    }

    /// The fields of an 80-byte datagram, without checking its MAC (for a
    /// monitor, which has no key). `None` if it is not one.
    pub fn peek(bytes: &[u8]) -> Option<AuthPacket> {
        if bytes.len() != AUTH_LEN || bytes[0..4] != MAGIC || bytes[4] != VERSION {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
        Some(AuthPacket {
            sender: u64_at(8),
            seq: u64_at(16),
            packet: SyncPacket {
                frame_duration_us: u32::from_le_bytes(bytes[24..28].try_into().unwrap_or_default()),
                frame_ts_us: u64_at(32),
                ready_time_us: u64_at(40),
            },
        })
    }

    /// Decode an 80-byte datagram and check its MAC under `key`.
    pub fn decode(bytes: &[u8], key: &AuthKey) -> Result<AuthPacket, WireError> {
        if bytes.len() != AUTH_LEN {
            return Err(WireError::WrongLength(bytes.len()));
        }
        let p = AuthPacket::peek(bytes).ok_or(WireError::BadMagic)?;
        let mut m = key.mac.clone();
        m.update(&bytes[..SIGNED]);
        m.verify_slice(&bytes[SIGNED..])
            .map_err(|_| WireError::BadMac)?;
        Ok(p)
    }
}

/// The sequence numbers of a receiver's recent senders: each packet is
/// accepted once. Per sender id (up to [`SENDERS`], the least recently
/// heard forgotten first), the highest number accepted and which of the 64
/// below it were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayWindow {
    senders: [(u64, u64, u64, u64); SENDERS],
    clock: u64,
}

/// Senders remembered.
pub const SENDERS: usize = 4;

impl ReplayWindow {
    /// Accept `seq` from `sender` if it was not seen (and is not older than
    /// the 64 before the highest); remembers it.
    pub fn accept(&mut self, sender: u64, seq: u64) -> bool {
        self.clock += 1;
        let now = self.clock;
        // (sender, highest, bitmap: bit i = highest - i seen, last used)
        let slot = match self.senders.iter().position(|s| s.3 != 0 && s.0 == sender) {
            Some(i) => i,
            None => {
                let i = (0..SENDERS).min_by_key(|&i| self.senders[i].3).unwrap_or(0);
                self.senders[i] = (sender, seq, 1, now);
                return seq > 0;
            }
        };
        let (_, highest, bits, _) = self.senders[slot];
        let accepted = if seq > highest {
            let shift = seq - highest;
            let bits = if shift >= 64 { 1 } else { (bits << shift) | 1 };
            self.senders[slot] = (sender, seq, bits, now);
            true
        } else {
            let back = highest - seq;
            if back >= 64 || bits & (1 << back) != 0 {
                false
            } else {
                self.senders[slot].2 |= 1 << back;
                true
            }
        };
        if accepted {
            self.senders[slot].3 = now;
        }
        accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SyncPacket = SyncPacket {
        frame_duration_us: 33_333,
        frame_ts_us: 1_767_225_603_077_388,
        ready_time_us: 1_767_225_606_410_688,
    };

    fn key(b: u8) -> AuthKey {
        AuthKey::new(&[b; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_layout() {
        let a = AuthPacket {
            sender: 0x1122_3344_5566_7788,
            seq: 7,
            packet: P,
        };
        let b = a.encode(&key(1));
        assert_eq!(&b[0..8], b"CSYA\x01\0\0\0");
        assert_eq!(&b[24..28], &33_333u32.to_le_bytes());
        assert_eq!(&b[28..32], &[0; 4]);
        assert_eq!(AuthPacket::decode(&b, &key(1)), Ok(a));
        assert_eq!(AuthPacket::peek(&b), Some(a));
    }

    #[test]
    fn rfc_4231_test_case_2() {
        // HMAC-SHA256 as every other implementation computes it.
        let mut m = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        let tag: [u8; 32] = m.finalize().into_bytes().into();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn forged_modified_and_foreign_key_packets_fail() {
        let a = AuthPacket {
            sender: 9,
            seq: 1,
            packet: P,
        };
        let good = a.encode(&key(1));
        assert_eq!(AuthPacket::decode(&good, &key(2)), Err(WireError::BadMac));
        for i in 0..AUTH_LEN {
            let mut b = good;
            b[i] ^= 0x01;
            let e = AuthPacket::decode(&b, &key(1)).unwrap_err();
            let want = if i < 5 {
                WireError::BadMagic
            } else {
                WireError::BadMac
            };
            assert_eq!(e, want, "byte {i}");
        }
        assert_eq!(
            AuthPacket::decode(&good[..40], &key(1)),
            Err(WireError::WrongLength(40))
        );
        assert!(AuthKey::new(&[0; 15]).is_err());
        assert_eq!(format!("{:?}", key(7)), "AuthKey(..)");
    }

    #[test]
    fn each_sequence_number_is_accepted_once() {
        let mut w = ReplayWindow::default();
        assert!(w.accept(1, 10));
        assert!(!w.accept(1, 10), "replayed");
        assert!(w.accept(1, 12));
        assert!(w.accept(1, 11), "reordered within the window");
        assert!(!w.accept(1, 11));
        assert!(w.accept(1, 100));
        assert!(!w.accept(1, 36), "older than the window");
        assert!(w.accept(1, 37));
        // Other senders have their own numbers; the least recent is forgotten.
        for s in 2..=4 {
            assert!(w.accept(s, 1));
        }
        assert!(!w.accept(1, 100), "sender 1 is still remembered");
        assert!(w.accept(5, 1));
        assert!(!w.accept(5, 1));
    }
}
