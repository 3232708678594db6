// SPDX-License-Identifier: LGPL-2.1-or-later
//! No input sequence panics the core: absurd or wrapping timestamps, zero and
//! huge frame durations, garbage packets, hooks in any order. Runs in debug
//! builds too, where an unintended overflow would panic.

use camsync::core::{
    CameraControls, ClockRecovery, ClockRecoveryParams, ClockSample, ClockSource, Completion,
    Controls, Layer, LayerParams, PacketSource, Profile, SyncPacket,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Controls(Option<[i32; 2]>, Option<[i64; 2]>),
    Start(Ctl, ClockSample),
    Queue(Ctl),
    Complete(Option<i64>, bool, ClockSample, Vec<SyncPacket>),
    Stop,
}

#[derive(Debug, Clone)]
struct Ctl {
    mode: Option<i32>,
    frames: Option<i32>,
    fdl: Option<[i64; 2]>,
    iface: Option<String>,
}

fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(i64::MAX as u64),
        Just(i64::MAX as u64 + 1),
        1_767_225_600_000_000_000u64..1_767_225_700_000_000_000,
        0u64..10_000_000_000_000,
        any::<u64>(),
    ]
}

fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1i64),
        1i64..100_000,
        0i64..10_000_000_000_000,
        any::<i64>(),
    ]
}

fn sample() -> impl Strategy<Value = ClockSample> {
    (edge_u64(), edge_u64(), edge_u64()).prop_map(|(a, w, b)| ClockSample {
        boot_before_ns: a,
        wall_ns: w,
        boot_after_ns: b,
    })
}

fn packet() -> impl Strategy<Value = SyncPacket> {
    (
        prop_oneof![Just(0u32), Just(u32::MAX), 1u32..100_000, any::<u32>()],
        edge_u64(),
        edge_u64(),
    )
        .prop_map(|(d, f, r)| SyncPacket {
            frame_duration_us: d,
            frame_ts_us: f,
            ready_time_us: r,
        })
}

fn ctl() -> impl Strategy<Value = Ctl> {
    (
        proptest::option::of(prop_oneof![0i32..3, any::<i32>()]),
        proptest::option::of(any::<i32>()),
        proptest::option::of(prop_oneof![
            (edge_i64(), edge_i64()).prop_map(|(a, b)| [a, b]),
            Just([33_333, 33_333]),
        ]),
        proptest::option::of(prop_oneof![
            Just(String::new()),
            Just("eth0".to_string()),
            "[a-z0-9.]{0,60}",
        ]),
    )
        .prop_map(|(mode, frames, fdl, iface)| Ctl {
            mode,
            frames,
            fdl,
            iface,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (
            proptest::option::of(any::<[i32; 2]>()),
            proptest::option::of(prop_oneof![
                (edge_i64(), edge_i64()).prop_map(|(a, b)| [a, b]),
                Just([33_333, 33_333])
            ])
        )
            .prop_map(|(a, f)| Op::Controls(a, f)),
        2 => (ctl(), sample()).prop_map(|(c, s)| Op::Start(c, s)),
        6 => ctl().prop_map(Op::Queue),
        10 => (
            proptest::option::of(edge_i64()),
            any::<bool>(),
            sample(),
            proptest::collection::vec(packet(), 0..3)
        )
            .prop_map(|(t, c, s, p)| Op::Complete(t, c, s, p)),
        1 => Just(Op::Stop),
    ]
}

struct One(ClockSample);
impl ClockSource for One {
    fn sample(&mut self) -> ClockSample {
        self.0
    }
}

struct Rx(Vec<SyncPacket>);
impl PacketSource for Rx {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        self.0.pop()
    }
}

fn controls(c: &Ctl) -> Controls<'_> {
    Controls {
        sync_mode: c.mode,
        sync_frames: c.frames,
        frame_duration_limits_us: c.fdl,
        sync_interface: c.iface.as_deref(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_hook_sequence_panics(
        params in (any::<u32>(), any::<u32>(), any::<u32>(), any::<[u32; 4]>()),
        ops in proptest::collection::vec(op(), 0..120),
    ) {
        let (sync_period, ready_frame, min_adjustment_us, cr) = params;
        let p = LayerParams {
            sync_period,
            ready_frame,
            min_adjustment_us,
            clock_recovery: ClockRecoveryParams {
                num_samples: cr[0],
                max_jitter: cr[1],
                min_samples: cr[2],
                error_threshold: cr[3],
            },
            ..LayerParams::default()
        };
        for &profile in Profile::ALL {
            let mut l = Layer::new(p, profile);
            let mut limits: Option<[i32; 2]> = None;
            for op in ops.clone() {
                match op {
                    Op::Controls(a, f) => {
                        l.controls(&CameraControls {
                            sync_adjustment_limits_us: a,
                            frame_duration_limits_us: f,
                        });
                        limits = a;
                    }
                    Op::Start(c, s) => {
                        l.start(&controls(&c), &mut One(s));
                    }
                    Op::Queue(c) => {
                        let out = l.queue_request(&controls(&c));
                        // The precision core bounds every request itself.
                        if profile == Profile::Precision
                            && let (Some(a), Some([lo, hi])) = (out.sync_adjustment_us, limits)
                        {
                            prop_assert!(
                                a == 0 || (lo.min(hi)..=lo.max(hi)).contains(&a),
                                "{a} outside [{lo}, {hi}]"
                            );
                        }
                    }
                    Op::Complete(ts, cancelled, s, packets) => {
                        let out = l.request_completed(
                            &Completion { sensor_timestamp_ns: ts, cancelled },
                            &mut One(s),
                            &mut Rx(packets),
                        );
                        if cancelled || ts.is_none() {
                            prop_assert_eq!(out.frame_wall_clock_ns, None);
                        }
                    }
                    Op::Stop => {
                        l.stop();
                    }
                }
            }
        }
    }

    #[test]
    fn clock_recovery_never_panics(
        params in any::<[u32; 4]>(),
        samples in proptest::collection::vec((edge_u64(), edge_u64()), 0..200),
        probe in edge_u64(),
    ) {
        let mut cr = ClockRecovery::new(ClockRecoveryParams {
            num_samples: params[0],
            max_jitter: params[1],
            min_samples: params[2],
            error_threshold: params[3],
        });
        for (i, o) in samples {
            cr.add_sample(i, o);
            let _ = cr.get_output(probe);
        }
    }

    #[test]
    fn any_bytes_decode_or_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        match SyncPacket::decode(&bytes) {
            Ok((p, f)) => {
                prop_assert_eq!(bytes.len(), f.datagram_len());
                let (q, g) = SyncPacket::decode(p.encode(f).as_bytes()).unwrap();
                prop_assert_eq!((q, g), (p, f));
            }
            Err(_) => prop_assert!(bytes.len() != 24 && bytes.len() != 40),
        }
    }
}
