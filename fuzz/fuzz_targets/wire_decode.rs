// SPDX-License-Identifier: LGPL-2.1-or-later
//! The wire decoder on any datagram: it never panics, accepts exactly the
//! 24- and 40-byte formats, reports a datagram longer than the receive
//! buffer as truncated, and what it decodes encodes back to the same fields
//! (padding and the unused Raspberry Pi fields zero). Each decoded packet is
//! then judged as a receiver would, against an arbitrary receiver (its frame
//! duration and wall clock): a verdict that only tightens validation, with
//! an error that says itself (dates included).
//!
//! The authenticated format too: any datagram decodes under a key only if
//! its MAC verifies (never, for what the fuzzer makes up), a packet signed
//! with the key decodes to itself, and changing any of its bytes, or
//! another key, is refused. And the replay window, against a model of it:
//! each (sender, sequence number) is accepted once.
//!
//! Input: the receiver's frame duration (i64 µs) and wall clock (u64 µs),
//! then the datagram.

#![no_main]

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use camsync::core::auth::{AUTH_LEN, AuthKey, AuthPacket, ReplayWindow, SENDERS};
use camsync::core::wire::Expect;
use camsync::core::{SyncPacket, WireError, WireFormat};
use camsync_fuzz::Reader;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static (AuthKey, AuthKey) {
    static KEYS: OnceLock<(AuthKey, AuthKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            AuthKey::new(b"0123456789abcdef0123456789abcdef").unwrap(),
            AuthKey::new(b"0123456789abcdef0123456789abcdeF").unwrap(),
        )
    })
}

/// The authenticated format on `data`.
fn authenticated(data: &[u8]) {
    let (key, other) = keys();
    // Made up: it never verifies (the odds of a valid HMAC are nil).
    let r = AuthPacket::decode(data, key);
    if data.len() != AUTH_LEN {
        assert!(r.is_err());
    }
    if let Ok(p) = r {
        assert_eq!(AuthPacket::peek(data), Some(p));
    }
    // Signed with the key: decodes to itself; any byte changed, or another
    // key, is refused.
    let Some(p) = AuthPacket::peek(data).or_else(|| {
        (data.len() >= 24).then(|| AuthPacket {
            sender: u64::from_le_bytes(data[0..8].try_into().unwrap()),
            seq: u64::from_le_bytes(data[8..16].try_into().unwrap()),
            packet: SyncPacket {
                frame_duration_us: u32::from_le_bytes(data[16..20].try_into().unwrap()),
                frame_ts_us: u64::from(u32::from_le_bytes(data[20..24].try_into().unwrap())),
                ready_time_us: 0,
            },
        })
    }) else {
        return;
    };
    let signed = p.encode(key);
    assert_eq!(AuthPacket::decode(&signed, key), Ok(p));
    assert_eq!(AuthPacket::peek(&signed), Some(p));
    assert!(AuthPacket::decode(&signed, other).is_err());
    assert_eq!(
        SyncPacket::decode(&signed),
        Err(WireError::WrongLength(AUTH_LEN))
    );
    let at = data.iter().map(|&b| usize::from(b)).sum::<usize>() % AUTH_LEN;
    let mut changed = signed;
    changed[at] ^= 1 << (data[0] % 8);
    assert!(
        AuthPacket::decode(&changed, key).is_err(),
        "byte {at} changed"
    );
}

/// The replay window against a model: per sender its highest number and the
/// numbers seen within the 64 below it; the least recently heard of more
/// than `SENDERS` forgotten. Pairs (sender, seq) from `data`.
fn replay_window(data: &[u8]) {
    let mut w = ReplayWindow::default();
    // sender -> (highest, seen, last used)
    let mut model: HashMap<u64, (u64, BTreeSet<u64>, u64)> = HashMap::new();
    let mut clock = 0u64;
    for pair in data.chunks_exact(3) {
        let sender = u64::from(pair[0] % 6);
        let seq = u64::from(u16::from_le_bytes([pair[1], pair[2]]));
        clock += 1;
        let expect = match model.get_mut(&sender) {
            None => {
                if model.len() == SENDERS {
                    let lru = *model.iter().min_by_key(|(_, v)| v.2).unwrap().0;
                    model.remove(&lru);
                }
                model.insert(sender, (seq, BTreeSet::from([seq]), clock));
                seq > 0
            }
            Some((highest, seen, used)) => {
                let fresh = seq > *highest || (*highest - seq < 64 && !seen.contains(&seq));
                if fresh {
                    *highest = (*highest).max(seq);
                    seen.insert(seq);
                    let low = highest.saturating_sub(63);
                    seen.retain(|&s| s >= low);
                    *used = clock;
                }
                fresh
            }
        };
        assert_eq!(w.accept(sender, seq), expect, "sender {sender} seq {seq}");
    }
}

fuzz_target!(|input: &[u8]| {
    let mut r = Reader::new(input);
    let ours = Expect {
        frame_duration_us: r.i64(),
        wall_us: r.u64(),
    };
    let data = r.rest();
    authenticated(data);
    replay_window(data);
    match SyncPacket::decode(data) {
        Ok((p, format)) => {
            assert_eq!(data.len(), format.datagram_len());
            let again = p.encode(format);
            assert_eq!(SyncPacket::decode(again.as_bytes()), Ok((p, format)));
            let b = again.as_bytes();
            // The fields the sender fills are the datagram's; the rest is zero.
            assert_eq!(&b[0..4], &data[0..4]);
            assert_eq!(&b[4..8], &[0; 4]);
            match format {
                WireFormat::Layer => assert_eq!(&b[8..24], &data[8..24]),
                WireFormat::Rpi => {
                    assert_eq!(&b[8..16], &[0; 8]);
                    assert_eq!(&b[16..24], &data[16..24]);
                    assert_eq!(&b[24..32], &[0; 8]);
                    assert_eq!(&b[32..40], &data[32..40]);
                }
            }
            // Validation never panics, its error names a reason, and the
            // receiver's check adds to it (never accepts what it refuses).
            let valid = p.validate();
            let checked = p.check(&ours);
            for e in [&valid, &checked]
                .into_iter()
                .filter_map(|r| r.as_ref().err())
            {
                assert!(!e.reason().is_empty());
                assert!(!e.to_string().is_empty());
            }
            if valid.is_err() {
                assert_eq!(checked, valid);
            }
            if ours == Expect::default() {
                assert_eq!(checked, valid, "nothing known: nothing more checked");
            }
        }
        Err(e) => {
            assert_eq!(e, WireError::WrongLength(data.len()));
            assert!(
                !WireFormat::ALL
                    .iter()
                    .any(|f| f.datagram_len() == data.len())
            );
        }
    }
    // As a receiver sees it: a buffer one byte longer than the largest
    // format, and the datagram's real length (MSG_TRUNC).
    let mut buf = [0u8; camsync::core::wire::MAX_LEN + 1];
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    let r = SyncPacket::decode_received(&buf, data.len());
    if data.len() > buf.len() {
        assert_eq!(r, Err(WireError::Truncated(data.len())));
    } else {
        assert_eq!(r, SyncPacket::decode(data));
    }
});
