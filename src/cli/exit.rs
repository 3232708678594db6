// SPDX-License-Identifier: LGPL-2.1-or-later
//! How every subcommand ends, decided once: 0 ok, 1 the check failed, 2 the
//! command could not do its job (a usage error: a bad flag or value, an
//! unreadable or unrecognised input, a path that cannot be written; or a
//! system error). Errors go to standard error as one line, `error: …`.

use std::fmt::Display;
use std::process::ExitCode;

/// The exit status paragraph of `--help` (every subcommand and the top level).
pub const EXIT_STATUS: &str = "Exit status: 0 ok; 1 the check failed (see above); 2 usage error \
    (bad flag or value, unreadable input, unwritable output) or the command could not run. \
    Errors go to stderr.";

/// Why a subcommand did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The check ran and failed (not in sync, a client never ready, a
    /// mismatching trace): exit 1.
    Check(String),
    /// The command could not do its job: exit 2.
    Usage(String),
}

/// What a subcommand returns.
pub type Outcome = Result<(), Failure>;

/// clap's wording for a value that cannot work: `invalid value 'X' for '--flag': why`.
pub fn invalid(flag: &str, value: impl Display, why: impl Display) -> Failure {
    Failure::Usage(format!("invalid value '{value}' for '{flag}': {why}"))
}

/// A usage error or a failure to run.
pub fn usage(msg: impl Into<String>) -> Failure {
    Failure::Usage(msg.into())
}

/// The check failed.
pub fn check(msg: impl Into<String>) -> Failure {
    Failure::Check(msg.into())
}

/// The check of `demo` and `simulate`: every client reached SyncReady;
/// `never` names those that did not, `note` is added to the message.
pub fn all_ready<S: AsRef<str>>(never: &[S], note: &str) -> Outcome {
    if never.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = never.iter().map(AsRef::as_ref).collect();
    Err(check(format!(
        "never reached SyncReady: {}{note}",
        names.join(", ")
    )))
}

/// Print the failure (one line on stderr) and turn the outcome into the exit code.
pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Check(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
    }
}

/// A clap error (not `--help`/`--version`) as one line: clap's message, its
/// continuation lines and tips joined, without the usage block.
pub fn one_line(rendered: &str) -> String {
    let mut out = String::new();
    for line in rendered.lines() {
        let t = line.trim();
        if t.starts_with("Usage:") || t.starts_with("For more information") {
            break;
        }
        if t.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(if t.starts_with("tip:") { "; " } else { " " });
        }
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let r = "error: unexpected argument '--x' found\n\n  tip: a similar argument exists: '--xy'\n\n\
                 Usage: camsync demo [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(r),
            "error: unexpected argument '--x' found; tip: a similar argument exists: '--xy'"
        );
        let r = "error: the following required arguments were not provided:\n  <FILES>...\n\n\
                 Usage: camsync replay <FILES>...\n";
        assert_eq!(
            one_line(r),
            "error: the following required arguments were not provided: <FILES>..."
        );
    }
}
