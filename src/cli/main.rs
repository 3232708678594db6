// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync`: the command-line tools of the sync layer.

mod align;
mod args;
mod demo;
mod exit;
mod generate;
mod host_clock;
mod monitor;
mod plot;
mod replay;
mod simulate;
mod sys;
mod table;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "camsync",
    version,
    propagate_version = true,
    about = "libcamera sync layer tools",
    long_about = None,
    after_help = exit::EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Align(align::Args),
    Demo(Box<demo::Args>),
    Monitor(monitor::Args),
    Replay(replay::Args),
    Simulate(Box<simulate::Args>),
    Completions(generate::CompletionsArgs),
    Man(generate::ManArgs),
}

fn main() -> ExitCode {
    sys::default_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                // --help and --version print to stdout and succeed; a missing
                // subcommand prints the help to stderr and fails (2).
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
                _ => {
                    eprintln!("{}", exit::one_line(&e.render().to_string()));
                    ExitCode::from(2)
                }
            };
        }
    };
    exit::finish(match cli.command {
        Command::Align(args) => align::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Monitor(args) => monitor::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Completions(args) => generate::completions(&args, Cli::command()),
        Command::Man(args) => generate::man(&args, Cli::command()),
    })
}
