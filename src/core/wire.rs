// SPDX-License-Identifier: LGPL-2.1-or-later AND BSD-2-Clause
// Ported from libcamera's sync layer (the unmerged Sync Layer v2 series):
// src/layer/sync/sync.cpp (BSD-2-Clause; Copyright (C) 2024, Raspberry Pi Ltd;
// Copyright (C) 2025, Ideas On Board Oy) and src/layer/sync/sync.h
// (LGPL-2.1-or-later; Copyright (C) 2025, Ideas On Board Oy); the 40-byte
// packet from the Raspberry Pi IPA (src/ipa/rpi/controller/rpi/sync.h,
// BSD-2-Clause; Copyright (C) 2024, Raspberry Pi Ltd). See LICENSE.

//! The sync packet and its two deployed wire formats (`spec/wire.md`).
//!
//! Both are raw little-endian C structs with no magic or version, told apart
//! only by their exact length: 24 bytes (libcamera's sync layer) or 40 bytes
//! (the Raspberry Pi IPA, `rpicam-vid --sync`). Anything else is rejected.
//! Padding and the unused Raspberry Pi fields are ignored on receipt and
//! written as zero.

use bytemuck::{Pod, Zeroable};
use thiserror::Error;

/// What a server tells its clients. All times are µs on the server's wall
/// clock (CLOCK_REALTIME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncPacket {
    /// The server's smoothed frame duration, µs, rounded.
    pub frame_duration_us: u32,
    /// The wall clock of one server frame.
    pub frame_ts_us: u64,
    /// The agreed instant from which every camera reports `SyncReady`.
    pub ready_time_us: u64,
}

/// Which struct layout a datagram uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum WireFormat {
    /// 24 bytes: libcamera's sync layer.
    #[default]
    Layer,
    /// 40 bytes: the Raspberry Pi IPA (`rpicam-vid --sync`).
    Rpi,
}

impl WireFormat {
    /// Every format (for `--help` and configuration messages).
    pub const ALL: &'static [WireFormat] = &[WireFormat::Layer, WireFormat::Rpi];

    pub const fn datagram_len(self) -> usize {
        match self {
            WireFormat::Layer => LAYER_LEN,
            WireFormat::Rpi => RPI_LEN,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            WireFormat::Layer => "layer",
            WireFormat::Rpi => "rpi",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        WireFormat::ALL.iter().copied().find(|f| f.name() == s)
    }
}

/// Length of the libcamera layer format.
pub const LAYER_LEN: usize = 24;
/// Length of the Raspberry Pi format.
pub const RPI_LEN: usize = 40;
/// The largest plain datagram (the authenticated format, `auth::AUTH_LEN`,
/// is longer). A receive buffer must be larger than the largest so a longer
/// datagram shows up as too long rather than silently truncated.
pub const MAX_LEN: usize = RPI_LEN;

/// Why a datagram was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// Neither 24 nor 40 bytes.
    #[error("datagram of {0} bytes is neither 24 (layer) nor 40 (rpi) bytes long")]
    WrongLength(usize),
    /// The datagram was longer than the receive buffer (the kernel truncated it).
    #[error("datagram truncated: {0} bytes did not fit the receive buffer")]
    Truncated(usize),
    /// The frame duration is outside [`MIN_FRAME_DURATION_US`, `MAX_FRAME_DURATION_US`].
    #[error("frame duration {0} µs out of range")]
    FrameDuration(u32),
    /// A timestamp is not a plausible wall clock (µs since the epoch).
    #[error(
        "timestamp {} is not a plausible wall clock (is the server's clock set? no RTC, no NTP?)",
        Utc(*.0)
    )]
    Timestamp(u64),
    /// The server runs at another frame rate than ours (`FrameDurationLimits`).
    #[error(
        "the server's frame duration {theirs} µs is not ours ({ours} µs, ±{}%): all cameras \
         must run at the same fixed frame rate",
        RATE_TOLERANCE_PERCENT
    )]
    OtherRate { theirs: u32, ours: i64 },
    /// The server's frame time is far from our wall clock.
    #[error(
        "the server's frame time {} is {:.3} s from our wall clock {}: sync needs the hosts' \
         wall clocks synchronised (NTP/PTP), and is the server's clock set?",
        Utc(*frame_us),
        *offset_us as f64 / 1e6,
        Utc(*ours_us)
    )]
    ClockOffset {
        frame_us: u64,
        ours_us: u64,
        offset_us: i64,
    },
    /// An 80-byte datagram without the authenticated format's magic and
    /// version.
    #[error("an 80-byte datagram that is not an authenticated sync packet (magic, version)")]
    BadMagic,
    /// An authenticated packet whose MAC does not verify under our key:
    /// forged, modified, or signed with another key.
    #[error("an authenticated packet whose MAC does not verify (forged, modified, or another key)")]
    BadMac,
    /// The ready time is further after the frame time than any server waits.
    #[error(
        "the ready time is {:.0} s after the frame time: more than {} frames (SyncFrames' largest)",
        *ahead_us as f64 / 1e6,
        crate::core::controls::MAX_SYNC_FRAMES
    )]
    ReadyTime { ahead_us: u64 },
}

impl WireError {
    /// A short stable name, for counters and logs.
    pub const fn reason(&self) -> &'static str {
        match self {
            WireError::WrongLength(_) => "wrong_length",
            WireError::Truncated(_) => "truncated",
            WireError::FrameDuration(_) => "frame_duration",
            WireError::Timestamp(_) => "timestamp",
            WireError::OtherRate { .. } => "other_rate",
            WireError::ClockOffset { .. } => "clock_offset",
            WireError::ReadyTime { .. } => "ready_time",
            WireError::BadMagic => "bad_magic",
            WireError::BadMac => "bad_mac",
        }
    }
}

/// A packet's frame duration may differ from ours by this much, percent
/// (the server's is measured and rounded; a camera's real rate is within a
/// fraction of a percent of what it was asked for).
pub const RATE_TOLERANCE_PERCENT: i64 = 5;
/// How far a packet's frame time may be from our wall clock: this, µs ...
pub const CLOCK_WINDOW_US: u64 = 2_000_000;
/// ... plus this many of our frames (a packet is read a frame or two after
/// the server frame it describes started).
pub const CLOCK_WINDOW_FRAMES: u64 = 4;

/// What a receiver knows to judge a packet by beyond its own values: its
/// own frame duration and wall clock. Unknown (0) values check nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expect {
    /// Our frame duration, µs (`FrameDurationLimits` min; 0: unknown).
    pub frame_duration_us: i64,
    /// Our wall clock of the frame being completed, µs (0: unknown).
    pub wall_us: u64,
}

/// µs since the epoch as a UTC date and time, for messages.
pub struct Utc(pub u64);

impl std::fmt::Display for Utc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0 / 1_000_000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}

/// Sane bounds on a server's frame duration (10 kfps .. 0.1 fps).
pub const MIN_FRAME_DURATION_US: u32 = 100;
pub const MAX_FRAME_DURATION_US: u32 = 10_000_000;
/// Plausible wall clock timestamps: 2001-09-09 .. 2286-11-20 (µs since the epoch).
pub const MIN_WALL_US: u64 = 1_000_000_000_000_000;
pub const MAX_WALL_US: u64 = 10_000_000_000_000_000;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LayerWire {
    frame_duration: u32,
    _pad: u32,
    frame_ts: u64,
    ready_time: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RpiWire {
    frame_duration: u32,
    _pad: u32,
    system_frame_ts: u64,
    frame_ts: u64,
    system_ready_time: u64,
    ready_time: u64,
}

const _: () = assert!(size_of::<LayerWire>() == LAYER_LEN);
const _: () = assert!(size_of::<RpiWire>() == RPI_LEN);

/// An encoded datagram: a fixed buffer and the used length (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl Datagram {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl SyncPacket {
    /// Encode in `format`, little-endian, padding and unused fields zero.
    pub fn encode(&self, format: WireFormat) -> Datagram {
        let mut buf = [0u8; MAX_LEN];
        match format {
            WireFormat::Layer => {
                let w = LayerWire {
                    frame_duration: self.frame_duration_us.to_le(),
                    _pad: 0,
                    frame_ts: self.frame_ts_us.to_le(),
                    ready_time: self.ready_time_us.to_le(),
                };
                buf[..LAYER_LEN].copy_from_slice(bytemuck::bytes_of(&w));
            }
            WireFormat::Rpi => {
                let w = RpiWire {
                    frame_duration: self.frame_duration_us.to_le(),
                    _pad: 0,
                    system_frame_ts: 0,
                    frame_ts: self.frame_ts_us.to_le(),
                    system_ready_time: 0,
                    ready_time: self.ready_time_us.to_le(),
                };
                buf.copy_from_slice(bytemuck::bytes_of(&w));
            }
        }
        Datagram {
            buf,
            len: format.datagram_len(),
        }
    }

    /// Decode a datagram by its exact length. Only the length is checked here;
    /// see [`SyncPacket::validate`] for the value checks.
    pub fn decode(bytes: &[u8]) -> Result<(SyncPacket, WireFormat), WireError> {
        match bytes.len() {
            LAYER_LEN => {
                let w: LayerWire = bytemuck::pod_read_unaligned(bytes);
                Ok((
                    SyncPacket {
                        frame_duration_us: u32::from_le(w.frame_duration),
                        frame_ts_us: u64::from_le(w.frame_ts),
                        ready_time_us: u64::from_le(w.ready_time),
                    },
                    WireFormat::Layer,
                ))
            }
            RPI_LEN => {
                let w: RpiWire = bytemuck::pod_read_unaligned(bytes);
                Ok((
                    SyncPacket {
                        frame_duration_us: u32::from_le(w.frame_duration),
                        frame_ts_us: u64::from_le(w.frame_ts),
                        ready_time_us: u64::from_le(w.ready_time),
                    },
                    WireFormat::Rpi,
                ))
            }
            n => Err(WireError::WrongLength(n)),
        }
    }

    /// Decode what a `recv` returned into a buffer of `buf_len` bytes, where
    /// `datagram_len` is the datagram's real length (`MSG_TRUNC`). A datagram
    /// longer than the buffer is reported as truncated, never decoded.
    pub fn decode_received(
        buf: &[u8],
        datagram_len: usize,
    ) -> Result<(SyncPacket, WireFormat), WireError> {
        if datagram_len > buf.len() {
            return Err(WireError::Truncated(datagram_len));
        }
        Self::decode(&buf[..datagram_len])
    }

    /// Check the values a server could plausibly send.
    pub fn validate(&self) -> Result<(), WireError> {
        if !(MIN_FRAME_DURATION_US..=MAX_FRAME_DURATION_US).contains(&self.frame_duration_us) {
            return Err(WireError::FrameDuration(self.frame_duration_us));
        }
        for ts in [self.frame_ts_us, self.ready_time_us] {
            if !(MIN_WALL_US..=MAX_WALL_US).contains(&ts) {
                return Err(WireError::Timestamp(ts));
            }
        }
        let ahead = self.ready_time_us.saturating_sub(self.frame_ts_us);
        let most = u64::from(crate::core::controls::MAX_SYNC_FRAMES)
            .saturating_mul(u64::from(self.frame_duration_us));
        if ahead > most {
            return Err(WireError::ReadyTime { ahead_us: ahead });
        }
        Ok(())
    }

    /// [`SyncPacket::validate`], then against what the receiver knows: a
    /// frame duration within [`RATE_TOLERANCE_PERCENT`] of ours, a frame
    /// time within [`CLOCK_WINDOW_US`] + [`CLOCK_WINDOW_FRAMES`] of our
    /// frames of our wall clock.
    pub fn check(&self, ours: &Expect) -> Result<(), WireError> {
        self.validate()?;
        let fd = ours.frame_duration_us;
        if fd > 0 {
            let diff = (i64::from(self.frame_duration_us) - fd).abs();
            if diff.saturating_mul(100) > fd.saturating_mul(RATE_TOLERANCE_PERCENT) {
                return Err(WireError::OtherRate {
                    theirs: self.frame_duration_us,
                    ours: fd,
                });
            }
        }
        if (MIN_WALL_US..=MAX_WALL_US).contains(&ours.wall_us) {
            let window = CLOCK_WINDOW_US
                .saturating_add(CLOCK_WINDOW_FRAMES.saturating_mul(fd.max(0) as u64));
            if self.frame_ts_us.abs_diff(ours.wall_us) > window {
                return Err(WireError::ClockOffset {
                    frame_us: self.frame_ts_us,
                    ours_us: ours.wall_us,
                    offset_us: self.frame_ts_us as i64 - ours.wall_us as i64,
                });
            }
        }
        Ok(())
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

    #[test]
    fn round_trip_both_formats() {
        for f in [WireFormat::Layer, WireFormat::Rpi] {
            let d = P.encode(f);
            assert_eq!(d.as_bytes().len(), f.datagram_len());
            assert_eq!(SyncPacket::decode(d.as_bytes()), Ok((P, f)));
        }
    }

    #[test]
    fn layer_layout_is_the_c_struct() {
        let d = P.encode(WireFormat::Layer);
        let b = d.as_bytes();
        assert_eq!(&b[0..4], &33_333u32.to_le_bytes());
        assert_eq!(&b[4..8], &[0; 4], "padding is sent as zero");
        assert_eq!(&b[8..16], &P.frame_ts_us.to_le_bytes());
        assert_eq!(&b[16..24], &P.ready_time_us.to_le_bytes());
    }

    #[test]
    fn rpi_layout_is_the_c_struct() {
        let d = P.encode(WireFormat::Rpi);
        let b = d.as_bytes();
        assert_eq!(&b[0..4], &33_333u32.to_le_bytes());
        assert_eq!(
            &b[4..16],
            &[0; 12],
            "padding and system_frame_timestamp are zero"
        );
        assert_eq!(&b[16..24], &P.frame_ts_us.to_le_bytes());
        assert_eq!(&b[24..32], &[0; 8], "system_ready_time is zero");
        assert_eq!(&b[32..40], &P.ready_time_us.to_le_bytes());
    }

    #[test]
    fn rpi_garbage_fields_are_ignored_on_receipt() {
        let mut b = P.encode(WireFormat::Rpi).as_bytes().to_vec();
        b[4..16].fill(0xAB);
        b[24..32].fill(0xCD);
        assert_eq!(SyncPacket::decode(&b), Ok((P, WireFormat::Rpi)));
    }

    #[test]
    fn every_other_length_is_rejected() {
        let buf = [0x5Au8; 128];
        for n in 0..=128 {
            let r = SyncPacket::decode(&buf[..n]);
            match n {
                LAYER_LEN | RPI_LEN => assert!(r.is_ok(), "{n}"),
                _ => assert_eq!(r, Err(WireError::WrongLength(n))),
            }
        }
    }

    #[test]
    fn truncated_datagram_is_detected() {
        // A 64-byte datagram received into a 41-byte buffer: recv returns 41
        // bytes, MSG_TRUNC reports 64. Even a 40-byte prefix must not decode.
        let buf = [0u8; MAX_LEN + 1];
        assert_eq!(
            SyncPacket::decode_received(&buf, 64),
            Err(WireError::Truncated(64))
        );
        let d = P.encode(WireFormat::Rpi);
        let mut rbuf = [0u8; MAX_LEN + 1];
        rbuf[..RPI_LEN].copy_from_slice(d.as_bytes());
        assert_eq!(
            SyncPacket::decode_received(&rbuf, RPI_LEN),
            Ok((P, WireFormat::Rpi))
        );
        assert_eq!(
            SyncPacket::decode_received(&rbuf, MAX_LEN + 1),
            Err(WireError::WrongLength(MAX_LEN + 1))
        );
    }

    #[test]
    fn validation_rejects_absurd_values() {
        assert_eq!(P.validate(), Ok(()));
        let mut p = P;
        p.frame_duration_us = 0;
        assert_eq!(p.validate(), Err(WireError::FrameDuration(0)));
        p = P;
        p.frame_duration_us = 20_000_000;
        assert!(p.validate().is_err());
        p = P;
        p.frame_ts_us = 12;
        assert_eq!(p.validate(), Err(WireError::Timestamp(12)));
        p = P;
        p.ready_time_us = u64::MAX;
        assert_eq!(p.validate(), Err(WireError::Timestamp(u64::MAX)));
    }

    #[test]
    fn a_packet_is_checked_against_our_rate_and_wall_clock() {
        let ours = Expect {
            frame_duration_us: 33_333,
            wall_us: P.frame_ts_us + 20_000,
        };
        assert_eq!(P.check(&ours), Ok(()));
        assert_eq!(
            P.check(&Expect::default()),
            Ok(()),
            "unknown: nothing checked"
        );
        // 10 s frames were accepted by a 30 fps client.
        let mut p = P;
        p.frame_duration_us = 10_000_000;
        assert_eq!(
            p.check(&ours),
            Err(WireError::OtherRate {
                theirs: 10_000_000,
                ours: 33_333
            })
        );
        p.frame_duration_us = 33_333 * 104 / 100;
        assert_eq!(p.check(&ours), Ok(()), "within 5 %");
        p.frame_duration_us = 33_333 * 106 / 100;
        assert!(p.check(&ours).is_err());
        // A frame time 3 s from ours.
        p = P;
        p.frame_ts_us = ours.wall_us + 3_000_000;
        p.ready_time_us = p.frame_ts_us;
        let e = p.check(&ours).unwrap_err();
        assert_eq!(e.reason(), "clock_offset");
        assert!(e.to_string().contains("3.000 s"), "{e}");
    }

    #[test]
    fn a_server_clock_at_1970_is_refused_with_a_date() {
        let mut p = P;
        p.frame_ts_us = 300_000_000;
        p.ready_time_us = 3_600_000_000;
        let e = p.validate().unwrap_err();
        assert_eq!(e.reason(), "timestamp");
        assert!(
            e.to_string().contains("1970-01-01T00:05:00Z") && e.to_string().contains("NTP"),
            "{e}"
        );
    }

    #[test]
    fn a_ready_time_beyond_any_server_s_wait_is_refused() {
        let mut p = P;
        p.ready_time_us = p.frame_ts_us + 1_000_000 * 33_333 + 1;
        assert_eq!(p.validate().unwrap_err().reason(), "ready_time");
        p.ready_time_us = p.frame_ts_us - 3_600_000_000;
        assert_eq!(
            p.validate(),
            Ok(()),
            "a ready time in the past is a server long ready"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(Utc(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Utc(1_767_225_603_077_388).to_string(),
            "2026-01-01T00:00:03Z"
        );
        assert_eq!(Utc(951_782_400_000_000).to_string(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn format_names() {
        for f in [WireFormat::Layer, WireFormat::Rpi] {
            assert_eq!(WireFormat::from_name(f.name()), Some(f));
        }
        assert_eq!(WireFormat::from_name("both"), None);
    }
}
