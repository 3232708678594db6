// SPDX-License-Identifier: LGPL-2.1-or-later
//! The layer's log. Every record (a `tracing` event from this crate) names
//! the camera it concerns and goes to one [`Sink`]:
//!
//! - the host's, once one is set ([`set_host_sink`]; the C API's
//!   `camsync_set_log_sink`, which the adapter points at libcamera's logger,
//!   category `SyncLayer`): libcamera then writes our lines as its own — its
//!   format and thread ids, its file or syslog, its `LIBCAMERA_LOG_LEVELS`;
//! - otherwise [`LibcameraFormat`]: stderr or `LIBCAMERA_LOG_FILE`, in
//!   libcamera's format, at the level `LIBCAMERA_LOG_LEVELS` gives
//!   `SyncLayer` (the C API used on its own): the output the layer always
//!   had, now with the camera named.
//!
//! An instance's hooks run with its lock held. What they log meanwhile is
//! kept, per thread, and written once the lock is released ([`Scope`]): a
//! sink that stalls never holds up the other thread's hooks.
//!
//! [`install`] installs the subscriber once per process and never panics; if
//! the host already has a global `tracing` subscriber, ours is not installed
//! and events go to the host's. Tools and tests route the log into a sink of
//! their own with [`subscriber`].

mod libcamera_format;

pub use libcamera_format::{CATEGORY, LibcameraFormat, level_from_spec};

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, Once, OnceLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// A record's severity (libcamera's `LogSeverity` values; the layer never
/// logs FATAL, which aborts in libcamera).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    fn of(l: &tracing::Level) -> Level {
        match *l {
            tracing::Level::TRACE | tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::ERROR => Level::Error,
        }
    }

    /// The level of a number (0 DEBUG .. 3 ERROR).
    pub fn from_u32(v: u32) -> Option<Level> {
        Some(match v {
            0 => Level::Debug,
            1 => Level::Info,
            2 => Level::Warn,
            3 => Level::Error,
            _ => return None,
        })
    }

    /// libcamera's name for it, five characters wide.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => " INFO",
            Level::Warn => " WARN",
            Level::Error => "ERROR",
        }
    }
}

/// One log record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub level: Level,
    /// The module that logged it (`camsync::core::frame`).
    pub target: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<u32>,
    /// The message: `<camera>: text key=value ...` (no camera when the
    /// record concerns none).
    pub message: &'a str,
    /// CLOCK_MONOTONIC when it was logged, ns.
    pub monotonic_ns: u64,
}

/// Where records go.
pub trait Sink: Send + Sync {
    /// The least severe level it wants.
    fn level(&self) -> Level;
    /// Write one record (never called while an instance's lock is held).
    fn write(&self, record: &Record<'_>);
}

static HOST_SINK: OnceLock<Arc<dyn Sink>> = OnceLock::new();

/// Send every record to `sink` from now on, instead of the default output;
/// once per process. `Err` gives back `sink` when one was set before.
pub fn set_host_sink(sink: Arc<dyn Sink>) -> Result<(), Arc<dyn Sink>> {
    HOST_SINK.set(sink)?;
    // Callsites cached as off at the old level are asked again.
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

/// A record waiting for its instance's lock to be released.
struct Held {
    sink: Arc<dyn Sink>,
    level: Level,
    target: &'static str,
    file: Option<&'static str>,
    line: Option<u32>,
    message: String,
    monotonic_ns: u64,
}

impl Held {
    fn write(&self) {
        self.sink.write(&Record {
            level: self.level,
            target: self.target,
            file: self.file,
            line: self.line,
            message: &self.message,
            monotonic_ns: self.monotonic_ns,
        });
    }
}

thread_local! {
    /// The camera this thread's hook concerns, if inside a [`Scope`].
    static CAMERA: Cell<Option<Arc<str>>> = const { Cell::new(None) };
    /// How many scopes this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The records held until the outermost scope ends.
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// While alive, records logged on this thread name `camera` and are held;
/// when the outermost scope ends they are written. An instance opens one
/// around each hook, before taking its lock (so it ends after releasing it).
/// Cheap: a few thread-local cells, nothing allocated.
#[must_use]
pub struct Scope {
    outer: Option<Arc<str>>,
}

impl Scope {
    pub fn enter(camera: &Arc<str>) -> Scope {
        let _ = DEPTH.try_with(|d| d.set(d.get() + 1));
        let outer = CAMERA
            .try_with(|c| c.replace(Some(Arc::clone(camera))))
            .ok()
            .flatten();
        Scope { outer }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Never panics (it may run while a panic unwinds).
        let _ = CAMERA.try_with(|c| c.set(self.outer.take()));
        let depth = DEPTH
            .try_with(|d| {
                d.set(d.get().saturating_sub(1));
                d.get()
            })
            .unwrap_or(0);
        if depth > 0 {
            return;
        }
        let held = HELD
            .try_with(|h| {
                let mut h = h.try_borrow_mut().ok()?;
                (!h.is_empty()).then(|| std::mem::take(&mut *h))
            })
            .ok()
            .flatten();
        let Some(mut held) = held else { return };
        for r in &held {
            r.write();
        }
        // Give the buffer back, so steady state does not allocate.
        held.clear();
        let _ = HELD.try_with(|h| {
            if let Ok(mut h) = h.try_borrow_mut()
                && h.capacity() == 0
            {
                *h = held;
            }
        });
    }
}

/// The `tracing` layer that turns this crate's events into records.
struct Router {
    /// Use the host's sink once one is set.
    host: bool,
    /// The sink otherwise.
    fallback: Arc<dyn Sink>,
}

impl Router {
    fn sink(&self) -> &Arc<dyn Sink> {
        match HOST_SINK.get() {
            Some(s) if self.host => s,
            _ => &self.fallback,
        }
    }
}

fn ours(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("camsync")
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for Router {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Sometimes: the level depends on the sink, which can change once.
        if ours(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        ours(meta) && Level::of(meta.level()) >= self.sink().level()
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut held = Held {
            sink: Arc::clone(self.sink()),
            level: Level::of(meta.level()),
            target: meta.target(),
            file: meta.file().map(|f| f.rsplit('/').next().unwrap_or(f)),
            line: meta.line(),
            message: String::new(),
            monotonic_ns: monotonic_ns(),
        };
        // The camera of this thread's scope, put back once read.
        let camera = CAMERA.try_with(Cell::take).ok().flatten();
        if let Some(camera) = &camera {
            held.message.push_str(camera);
            held.message.push_str(": ");
        }
        let _ = CAMERA.try_with(|c| c.set(camera));
        event.record(&mut Fields(&mut held.message));
        if DEPTH.try_with(Cell::get).unwrap_or(0) > 0 {
            let _ = HELD.try_with(|h| {
                if let Ok(mut h) = h.try_borrow_mut() {
                    h.push(held);
                }
            });
            return;
        }
        held.write();
    }
}

/// Formats an event's fields: the message, then ` key=value` for the rest.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = if field.name() == "message" {
            write!(self.0, "{value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

/// CLOCK_MONOTONIC, ns (libcamera's log timestamps are on it).
fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// A subscriber that sends this crate's records to `sink` (tools, tests).
pub fn subscriber(sink: Arc<dyn Sink>) -> impl Subscriber + Send + Sync {
    tracing_subscriber::registry().with(Router {
        host: false,
        fallback: sink,
    })
}

/// A sink that keeps what it is given: (level, message).
#[derive(Debug)]
pub struct MemorySink {
    level: Level,
    records: Mutex<Vec<(Level, String)>>,
}

impl MemorySink {
    pub fn new(level: Level) -> MemorySink {
        MemorySink {
            level,
            records: Mutex::new(Vec::new()),
        }
    }

    /// The records so far.
    pub fn records(&self) -> Vec<(Level, String)> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Sink for MemorySink {
    fn level(&self) -> Level {
        self.level
    }

    fn write(&self, r: &Record<'_>) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((r.level, r.message.to_string()));
    }
}

static INSTALL: Once = Once::new();

/// Install the subscriber (once per process): records go to the host's sink
/// once one is set, to [`LibcameraFormat::from_env`] until then; and a panic
/// hook that routes panics inside our entry points to the log. Never panics.
pub fn install() {
    INSTALL.call_once(|| {
        let _ = std::panic::catch_unwind(|| {
            let router = Router {
                host: true,
                fallback: Arc::new(LibcameraFormat::from_env()),
            };
            // Err: the host already has a global subscriber; leave it alone.
            let _ = tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(router),
            );
            crate::plugin::panic::install_hook();
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_camera_of_their_scope_and_wait_for_its_end() {
        let sink = Arc::new(MemorySink::new(Level::Debug));
        tracing::subscriber::with_default(subscriber(sink.clone()), || {
            tracing::info!("outside");
            let cam: Arc<str> = Arc::from("cam7");
            {
                let _s = Scope::enter(&cam);
                tracing::warn!(n = 3, "inside");
                assert_eq!(sink.records().len(), 1, "held until the scope ends");
            }
            tracing::debug!(x = "y", "after");
        });
        let got = sink.records();
        assert_eq!(
            got,
            [
                (Level::Info, "outside".to_string()),
                (Level::Warn, "cam7: inside n=3".to_string()),
                (Level::Debug, "after x=y".to_string()),
            ]
        );
    }

    #[test]
    fn a_sink_gets_nothing_below_its_level() {
        let sink = Arc::new(MemorySink::new(Level::Warn));
        tracing::subscriber::with_default(subscriber(sink.clone()), || {
            tracing::info!("no");
            tracing::error!("yes");
        });
        assert_eq!(sink.records(), [(Level::Error, "yes".to_string())]);
    }
}
