// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync completions SHELL` and `camsync man`: generated from the same
//! clap definitions as `--help` (clap_complete, clap_mangen), so they cannot
//! drift from it. For packagers: install the scripts and pages they print.

use std::path::PathBuf;

use clap::Command;

use crate::args;
use crate::exit::{self, Outcome};

/// Print a shell completion script.
///
/// Examples:
///   camsync completions bash > /usr/share/bash-completion/completions/camsync
///   camsync completions zsh > /usr/share/zsh/vendor-completions/_camsync
///   camsync completions fish > /usr/share/fish/vendor_completions.d/camsync.fish
#[derive(clap::Args)]
#[command(verbatim_doc_comment, after_help = GENERATED_EXIT)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Print the man page (roff), or write every page to a directory.
///
/// Examples:
///   camsync man | man -l -
///   camsync man --dir /usr/share/man/man1
#[derive(clap::Args)]
#[command(verbatim_doc_comment, after_help = GENERATED_EXIT)]
pub struct ManArgs {
    /// Write camsync.1 and a page per subcommand (camsync-demo.1, ...) into
    /// this existing directory instead of printing camsync.1.
    #[arg(long, value_name = "DIR", value_parser = args::writable_dir)]
    dir: Option<PathBuf>,
}

const GENERATED_EXIT: &str = "Exit status: 0 written; 2 usage error or the output could not be \
    written. Errors go to stderr.";

pub fn completions(args: &CompletionsArgs, mut cmd: Command) -> Outcome {
    clap_complete::generate(args.shell, &mut cmd, "camsync", &mut std::io::stdout());
    Ok(())
}

pub fn man(args: &ManArgs, cmd: Command) -> Outcome {
    match &args.dir {
        Some(dir) => clap_mangen::generate_to(cmd, dir).map_err(|e| {
            exit::usage(format!(
                "cannot write the man pages to {}: {e}",
                dir.display()
            ))
        }),
        None => clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .map_err(|e| exit::usage(format!("cannot write the man page: {e}"))),
    }
}
