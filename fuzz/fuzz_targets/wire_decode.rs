// SPDX-License-Identifier: LGPL-2.1-or-later
//! The wire decoder on any datagram: it never panics, accepts exactly the
//! 24- and 40-byte formats, reports a datagram longer than the receive
//! buffer as truncated, and what it decodes encodes back to the same fields
//! (padding and the unused Raspberry Pi fields zero). Each decoded packet is
//! then judged as a receiver would, against an arbitrary receiver (its frame
//! duration and wall clock): a verdict that only tightens validation, with
//! an error that says itself (dates included).
//!
//! Input: the receiver's frame duration (i64 µs) and wall clock (u64 µs),
//! then the datagram.

#![no_main]

use camsync::core::wire::Expect;
use camsync::core::{SyncPacket, WireError, WireFormat};
use camsync_fuzz::Reader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut r = Reader::new(input);
    let ours = Expect {
        frame_duration_us: r.i64(),
        wall_us: r.u64(),
    };
    let data = r.rest();
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
