//! `camsync replay`: run golden traces through the core.

use std::path::PathBuf;
use std::process::ExitCode;

use camsync::core::Profile;
use camsync::replay::{ReplayError, replay_file};

use crate::args::parse_profile;

/// Replay golden traces (`.jsonl` or `.jsonl.gz`, format 1) through the core.
///
/// With --check, every output the trace records is compared with the core's:
/// SyncAdjustment, FrameWallClock, SyncReady, SyncTimer, sent packets, clock
/// samples, datagrams consumed and socket roles. Prints `OK <file> (<n> events)`
/// or the first mismatching line; exits non-zero if any file mismatches.
///
/// Example:
///   camsync replay --check tests/traces/*/*.jsonl.gz
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Compare every recorded output with the core's (otherwise only summarise).
    #[arg(long)]
    check: bool,
    /// The core's profile to replay with.
    #[arg(long, default_value = "compat", value_parser = parse_profile)]
    profile: Profile,
    /// Trace files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    let mut failed = 0usize;
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
                failed += 1;
                println!("ERROR {shown}: {e}");
            }
        }
    }
    if args.files.len() > 1 {
        println!(
            "{} files, {events} events, {failed} failed",
            args.files.len()
        );
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
