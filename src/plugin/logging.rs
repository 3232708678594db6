// SPDX-License-Identifier: LGPL-2.1-or-later
//! Logging like libcamera's own: `tracing` events from this crate, written to
//! stderr (or the file named by `LIBCAMERA_LOG_FILE`) as
//!
//! ```text
//! [0:01:02.123456789] [4242]  INFO SyncLayer layer.rs:123 message key=value
//! ```
//!
//! (monotonic time, pid, severity, category, file:line), at the level
//! `LIBCAMERA_LOG_LEVELS` gives the category `SyncLayer`: a comma-separated
//! list of `category:level`, where the category may be a glob (`*`, `Sync*`)
//! and the level a name (`DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`) or a
//! number (0-4). The last matching entry wins; the default is `INFO`.
//!
//! [`install`] installs the subscriber once per process and never panics: if
//! the host already has a global subscriber, ours is not installed and events
//! go to the host's.

use std::fmt;
use std::io::Write;
use std::sync::{Mutex, Once};

use tracing::level_filters::LevelFilter;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The log category, as libcamera names it.
pub const CATEGORY: &str = "SyncLayer";

/// The level for [`CATEGORY`] in a `LIBCAMERA_LOG_LEVELS` value.
pub fn level_from_spec(spec: &str) -> LevelFilter {
    let mut level = LevelFilter::INFO;
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        // libcamera accepts a bare level as "every category".
        let (cat, lvl) = entry.rsplit_once(':').unwrap_or(("*", entry));
        if !glob_match(cat.trim(), CATEGORY) {
            continue;
        }
        if let Some(l) = parse_level(lvl.trim()) {
            level = l;
        }
    }
    level
}

fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s.to_ascii_uppercase().as_str() {
        "0" | "DEBUG" => LevelFilter::DEBUG,
        "1" | "INFO" => LevelFilter::INFO,
        "2" | "WARN" | "WARNING" => LevelFilter::WARN,
        // tracing has no FATAL: ERROR is the closest.
        "3" | "4" | "ERROR" | "FATAL" => LevelFilter::ERROR,
        _ => return None,
    })
}

/// `*` matches any run of characters, `?` one character.
fn glob_match(pat: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pat.as_bytes(), s.as_bytes())
}

/// libcamera's line format.
struct LibcameraFormat {
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for LibcameraFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(|t| (t.tv_sec() as u64, t.tv_nsec() as u64))
            .unwrap_or((0, 0));
        let (s, ns) = ts;
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::TRACE | tracing::Level::DEBUG => "DEBUG",
            tracing::Level::INFO => " INFO",
            tracing::Level::WARN => " WARN",
            tracing::Level::ERROR => "ERROR",
        };
        let file = meta
            .file()
            .map(|f| f.rsplit('/').next().unwrap_or(f))
            .unwrap_or("?");
        write!(
            w,
            "[{}:{:02}:{:02}.{:09}] [{}] {} {} {}:{} ",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            ns,
            self.pid,
            level,
            CATEGORY,
            file,
            meta.line().unwrap_or(0)
        )?;
        ctx.format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Where log lines go.
enum Sink {
    Stderr,
    File(Mutex<std::fs::File>),
}

struct SinkWriter<'a>(&'a Sink);

impl Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0 {
            Sink::Stderr => std::io::stderr().write(buf),
            Sink::File(f) => f.lock().unwrap_or_else(|p| p.into_inner()).write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0 {
            Sink::Stderr => std::io::stderr().flush(),
            Sink::File(f) => f.lock().unwrap_or_else(|p| p.into_inner()).flush(),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = SinkWriter<'a>;
    fn make_writer(&'a self) -> SinkWriter<'a> {
        SinkWriter(self)
    }
}

static INSTALL: Once = Once::new();

/// Install the subscriber (once per process) from `LIBCAMERA_LOG_LEVELS` and
/// `LIBCAMERA_LOG_FILE`, and a panic hook that routes panics inside our entry
/// points to the log. Never panics.
pub fn install() {
    INSTALL.call_once(|| {
        let _ = std::panic::catch_unwind(install_inner);
    });
}

fn install_inner() {
    use tracing_subscriber::layer::SubscriberExt;

    let level = std::env::var("LIBCAMERA_LOG_LEVELS")
        .map(|s| level_from_spec(&s))
        .unwrap_or(LevelFilter::INFO);
    let mut file_error = None;
    let sink = match std::env::var("LIBCAMERA_LOG_FILE") {
        // libcamera's "syslog" is not supported: stderr instead.
        Ok(path) if !path.is_empty() && path != "syslog" => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map(|f| Sink::File(Mutex::new(f)))
            .unwrap_or_else(|e| {
                file_error = Some(format!("cannot open LIBCAMERA_LOG_FILE '{path}': {e}"));
                Sink::Stderr
            }),
        _ => Sink::Stderr,
    };
    let fmt = tracing_subscriber::fmt::layer()
        .event_format(LibcameraFormat {
            pid: std::process::id(),
        })
        .with_writer(sink);
    let filter = tracing_subscriber::filter::Targets::new().with_target("camsync", level);
    let subscriber = tracing_subscriber::registry().with(fmt).with(filter);
    // Err: the host already has a global subscriber; leave it alone.
    let _ = tracing::subscriber::set_global_default(subscriber);
    if let Some(e) = file_error {
        tracing::warn!("{e}");
    }
    crate::plugin::panic::install_hook();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_libcamera_rules() {
        assert_eq!(level_from_spec(""), LevelFilter::INFO);
        assert_eq!(level_from_spec("SyncLayer:DEBUG"), LevelFilter::DEBUG);
        assert_eq!(level_from_spec("*:WARN"), LevelFilter::WARN);
        assert_eq!(level_from_spec("Camera:DEBUG"), LevelFilter::INFO);
        assert_eq!(level_from_spec("*:ERROR,SyncLayer:0"), LevelFilter::DEBUG);
        assert_eq!(level_from_spec("SyncLayer:0,*:3"), LevelFilter::ERROR);
        assert_eq!(level_from_spec("Sync*:2"), LevelFilter::WARN);
        assert_eq!(level_from_spec("SyncLayer:4"), LevelFilter::ERROR);
        assert_eq!(level_from_spec("SyncLayer:1"), LevelFilter::INFO);
        assert_eq!(level_from_spec("SyncLayer:bogus"), LevelFilter::INFO);
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "SyncLayer"));
        assert!(glob_match("Sync?ayer", "SyncLayer"));
        assert!(!glob_match("Sync", "SyncLayer"));
        assert!(glob_match("*Layer", "SyncLayer"));
    }
}
