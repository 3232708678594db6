// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync replay`: run golden traces through the plugin instance.

use std::path::PathBuf;

use camsync::core::Profile;
use camsync::replay::{ReplayError, replay_file};

use crate::args;
use crate::exit::{self, Outcome};

/// Replay golden traces (`.jsonl` or `.jsonl.gz`, format 1) through the plugin.
///
/// Each trace runs through the plugin instance libcamera loads (over an
/// in-memory transport, on the recorded clock readings). With --check, every
/// output the trace records is compared with the core's: SyncAdjustment,
/// FrameWallClock, SyncReady, SyncTimer, sent packets, clock samples,
/// datagrams consumed and socket roles; and the plugin's: SyncAdjustment
/// clamped to the camera's limits, the datagram on the wire. Prints
/// `OK <file> (<n> events)` or the first mismatching line.
///
/// Example:
///   camsync replay --check tests/traces/*/*.jsonl.gz
#[derive(clap::Args)]
#[command(verbatim_doc_comment, after_help = EXIT_HELP)]
pub struct Args {
    /// Compare every recorded output with the core's (otherwise only summarise).
    #[arg(long)]
    check: bool,
    /// The core's profile to replay with.
    #[arg(long, default_value = "compat", value_parser = args::profile())]
    profile: Profile,
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

const EXIT_HELP: &str = "Exit status: 0 every trace replayed exactly; 1 a trace mismatched; 2 \
    usage error or a trace could not be read. Errors go to stderr.";

pub fn run(args: &Args) -> Outcome {
    let mut failed = 0usize;
    let mut unreadable = Vec::new();
    let mut events = 0usize;
    for file in &args.files {
        let shown = file.display();
        match replay_file(file, args.profile) {
            Ok(stats) => {
                events += stats.events;
                if args.check {
                    println!("OK {shown} ({} events)", stats.events);
                } else {
                    let ready = stats
                        .ready_at
                        .map_or_else(|| "never".to_string(), |f| format!("frame {f}"));
                    println!(
                        "{shown}: {} events, {} frames, {} packets sent, {} read, SyncReady at {ready}",
                        stats.events, stats.completions, stats.packets_sent, stats.packets_read
                    );
                }
            }
            // Without --check a mismatch still means the replay diverged from
            // the recording: report it either way.
            Err(ReplayError::Mismatch(m)) => {
                failed += 1;
                println!("MISMATCH {shown} {m}");
            }
            Err(e) => {
                let msg = format!("{shown}: {e}");
                if args.files.len() > 1 {
                    eprintln!("error: {msg}");
                }
                unreadable.push(msg);
            }
        }
    }
    if args.files.len() > 1 {
        println!(
            "{} files, {events} events, {failed} mismatched, {} unreadable",
            args.files.len(),
            unreadable.len()
        );
    }
    let n = args.files.len();
    match unreadable.as_slice() {
        [] if failed > 0 => Err(exit::check(format!("{failed} of {n} trace(s) mismatched"))),
        [] => Ok(()),
        [one] if n == 1 => Err(exit::usage(one.clone())),
        many => Err(exit::usage(format!(
            "{} of {n} traces could not be read",
            many.len()
        ))),
    }
}
