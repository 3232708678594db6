//! Per-frame cost of the core: `request_completed` + `queue_request`, for a
//! server and for a client (which gets a packet every 30 frames), once per
//! profile (`Profile::ALL`, so a new profile shows up as a new row).
//! Time per frame and allocations per frame (divan's AllocProfiler, which
//! prints alloc/dealloc rows only when a benchmark allocates: no such rows
//! means zero allocations per frame).
//!
//!   cargo bench --bench frame

use camsync::core::{
    CameraControls, ClockSample, ClockSource, Completion, Controls, Layer, LayerParams, Mode,
    NoPackets, PacketSource, Profile, SyncPacket,
};
use divan::{AllocProfiler, Bencher, counter::ItemsCount};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

const FRAME_NS: u64 = 33_333_000;
const WALL_OFFSET_NS: u64 = 1_767_225_600_000_000_000;

/// A synthetic host: the boot clock advances one frame per completion.
struct Clock {
    boot_ns: u64,
}

impl ClockSource for Clock {
    fn sample(&mut self) -> ClockSample {
        ClockSample {
            boot_before_ns: self.boot_ns,
            wall_ns: self.boot_ns + WALL_OFFSET_NS + 5_000,
            boot_after_ns: self.boot_ns + 10_000,
        }
    }
}

/// One packet, or none.
struct OnePacket(Option<SyncPacket>);

impl PacketSource for OnePacket {
    fn next_packet(&mut self) -> Option<SyncPacket> {
        self.0.take()
    }
}

fn layer(profile: Profile, mode: Mode, clock: &mut Clock) -> Layer {
    let mut l = Layer::new(LayerParams::default(), profile);
    l.controls(&CameraControls {
        sync_adjustment_limits_us: Some([-16_666, 16_666]),
        frame_duration_limits_us: Some([33_333, 33_333]),
    });
    l.start(
        &Controls {
            sync_mode: Some(mode.as_control()),
            ..Controls::default()
        },
        clock,
    );
    l
}

#[divan::bench(args = Profile::ALL)]
fn server(bencher: Bencher, profile: &Profile) {
    let mut clock = Clock {
        boot_ns: 1_000_000_000_000,
    };
    let mut l = layer(*profile, Mode::Server, &mut clock);
    let none = Controls::default();
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(move || {
            clock.boot_ns += FRAME_NS;
            let c = Completion {
                sensor_timestamp_ns: Some((clock.boot_ns - 8_000_000) as i64),
                cancelled: false,
            };
            let out = l.request_completed(&c, &mut clock, &mut NoPackets);
            let q = l.queue_request(&none);
            divan::black_box((out, q));
        });
}

#[divan::bench(args = Profile::ALL)]
fn client(bencher: Bencher, profile: &Profile) {
    let mut clock = Clock {
        boot_ns: 2_000_000_000_000,
    };
    let mut l = layer(*profile, Mode::Client, &mut clock);
    let none = Controls::default();
    let mut frame = 0u64;
    let ready_us = (clock.boot_ns + WALL_OFFSET_NS) / 1000 + 3_333_300;
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(move || {
            clock.boot_ns += FRAME_NS;
            frame += 1;
            let sof = clock.boot_ns - 8_000_000;
            // A server frame 120 µs away from ours, every 30 frames.
            let packet = frame.is_multiple_of(30).then(|| SyncPacket {
                frame_duration_us: 33_333,
                frame_ts_us: (sof + WALL_OFFSET_NS) / 1000 - 120,
                ready_time_us: ready_us,
            });
            let c = Completion {
                sensor_timestamp_ns: Some(sof as i64),
                cancelled: false,
            };
            let out = l.request_completed(&c, &mut clock, &mut OnePacket(packet));
            let q = l.queue_request(&none);
            divan::black_box((out, q));
        });
}
