//! `camsync`: the command-line tools of the sync layer.

mod align;
mod args;
mod demo;
mod monitor;
mod plot;
mod replay;
mod simulate;
mod sys;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "camsync", version, about = "libcamera sync layer tools", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Align(align::Args),
    Demo(demo::Args),
    Monitor(monitor::Args),
    Replay(replay::Args),
    Simulate(Box<simulate::Args>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Align(args) => align::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Monitor(args) => monitor::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Simulate(args) => simulate::run(&args),
    }
}
