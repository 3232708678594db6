// SPDX-License-Identifier: LGPL-2.1-or-later
//! Per-frame cost of the core: `request_completed` + `queue_request`, for a
//! server and for a client (which gets a packet every 30 frames), once per
//! profile (`Profile::ALL`, so a new profile shows up as a new row).
//! Time per frame (divan, whose AllocProfiler prints alloc rows only when a
//! benchmark allocates), then an explicit table of allocations per frame,
//! counted by a wrapper around the global allocator over 10 000 frames.
//!
//!   cargo bench --bench frame

use camsync::core::{
    CameraControls, ClockSample, ClockSource, Completion, Controls, Layer, LayerParams, Mode,
    PacketSource, Profile, SyncPacket,
};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};

use divan::{AllocProfiler, Bencher, counter::ItemsCount};

/// divan's profiler, plus a count of allocations for the table below.
struct Counting(AllocProfiler);

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to divan's allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { self.0.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; ptr came from this allocator.
        unsafe { self.0.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting(AllocProfiler::system());

fn main() {
    divan::main();
    allocations_per_frame();
}

/// Allocations per steady-state frame, per role and profile, side by side.
fn allocations_per_frame() {
    const FRAMES: u64 = 10_000;
    println!("\nallocations per frame ({FRAMES} frames after 200 of warm-up)");
    println!("{:<10} {:>8} {:>8}", "profile", "server", "client");
    for &profile in Profile::ALL {
        let count = |mode: Mode| {
            let mut f = warmed(profile, mode);
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            for _ in 0..FRAMES {
                f.step();
            }
            (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / FRAMES as f64
        };
        println!(
            "{:<10} {:>8.3} {:>8.3}",
            profile.name(),
            count(Mode::Server),
            count(Mode::Client)
        );
    }
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

/// One camera's frames: each `step` completes a frame and queues a request,
/// as libcamera does. A client gets a packet every 30 frames, from a server
/// frame 120 µs away from its own; its `SyncAdjustment`s move its frames
/// four frames later, in whole 20 µs lines (so a precision client measures
/// its camera, locks and tracks as it would on a sensor).
struct Frames {
    layer: Layer,
    clock: Clock,
    mode: Mode,
    frame: u64,
    ready_us: u64,
    /// The frame start's offset from the nominal one, ns.
    shift_ns: i64,
    /// Adjustments (ns) landing 1..=4 frames from now.
    pipeline: [i64; 4],
}

impl Frames {
    fn new(profile: Profile, mode: Mode) -> Frames {
        let mut clock = Clock {
            boot_ns: 1_000_000_000_000,
        };
        let layer = layer(profile, mode, &mut clock);
        let ready_us = (clock.boot_ns + WALL_OFFSET_NS) / 1000 + 3_333_300;
        Frames {
            layer,
            clock,
            mode,
            frame: 0,
            ready_us,
            shift_ns: 0,
            pipeline: [0; 4],
        }
    }

    fn step(&mut self) {
        self.clock.boot_ns += FRAME_NS;
        self.frame += 1;
        self.shift_ns -= self.pipeline[0];
        self.pipeline.rotate_left(1);
        self.pipeline[3] = 0;
        let sof = (self.clock.boot_ns - 8_000_000).wrapping_add_signed(self.shift_ns);
        let packet =
            (self.mode == Mode::Client && self.frame.is_multiple_of(30)).then(|| SyncPacket {
                frame_duration_us: 33_333,
                frame_ts_us: (sof + WALL_OFFSET_NS) / 1000 - 120,
                ready_time_us: self.ready_us,
            });
        let c = Completion {
            sensor_timestamp_ns: Some(sof as i64),
            cancelled: false,
        };
        let out = self
            .layer
            .request_completed(&c, &mut self.clock, &mut OnePacket(packet));
        let q = self.layer.queue_request(&Controls::default());
        if let Some(a) = q.sync_adjustment_us {
            const LINE_NS: i64 = 20_000;
            let ns = i64::from(a) * 1000;
            self.pipeline[3] = (ns + ns.signum() * LINE_NS / 2) / LINE_NS * LINE_NS;
        }
        divan::black_box((out, q));
    }
}

/// A camera past start-up (a precision client has measured its camera and
/// locked): the steady-state cost.
fn warmed(profile: Profile, mode: Mode) -> Frames {
    let mut f = Frames::new(profile, mode);
    for _ in 0..200 {
        f.step();
    }
    f
}

#[divan::bench(args = Profile::ALL)]
fn server(bencher: Bencher, profile: &Profile) {
    let mut f = warmed(*profile, Mode::Server);
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(move || f.step());
}

#[divan::bench(args = Profile::ALL)]
fn client(bencher: Bencher, profile: &Profile) {
    let mut f = warmed(*profile, Mode::Client);
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(move || f.step());
}
