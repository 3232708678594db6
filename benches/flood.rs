// SPDX-License-Identifier: LGPL-2.1-or-later
//! A client's cost per frame under a flood of garbage, next to quiet, over
//! real loopback multicast (nothing leaves this host): a server and a client
//! plugin instance at 30 fps in real time, a flooder sending 24-byte garbage
//! to the group; the client's CPU time in `request_completed` (which drains
//! and judges every datagram) per frame, and whether sync held: every packet
//! the server sent accepted, and (compat) the client ready at the server's
//! ready frame. The rig's cameras are scripted and do not move when asked
//! to, so a precision client, which measures its camera before it reports
//! ready, never does here: its column is its cost.
//!
//!   cargo bench --bench flood                 # quiet, 10k/s, 100k/s; 6 s each
//!   cargo bench --bench flood -- 200000 10    # one rate (datagrams/s), seconds

#[allow(dead_code)]
#[path = "../tests/common/flood.rs"]
mod flood;

use camsync::core::Profile;

fn main() {
    // `cargo bench` passes --bench; numbers are ours.
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (rates, seconds) = match args.as_slice() {
        [rate, secs, ..] => (vec![*rate], *secs as f64),
        [rate] => (vec![*rate], 6.0),
        [] => (vec![0, 10_000, 100_000], 6.0),
    };
    let port = 30_000 + (std::process::id() % 5000) as u16;
    println!(
        "{:<10} {:>12} {:>13} {:>12} {:>10} {:>13} {:>8}",
        "profile", "flood /s", "cpu µs/frame", "max µs", "packets", "rejected", "ready at"
    );
    for profile in [Profile::Compat, Profile::Precision] {
        for &rate in &rates {
            let r = flood::run(port, profile, seconds, rate);
            println!(
                "{:<10} {:>12.0} {:>13.1} {:>12.1} {:>10} {:>13} {:>8}",
                profile.name(),
                r.flood_rate,
                r.cpu_mean_us,
                r.cpu_max_us,
                format!("{}/{}", r.accepted, r.sent),
                r.rejected,
                r.client_ready_at
                    .map_or_else(|| "never".to_string(), |f| f.to_string()),
            );
        }
    }
}
