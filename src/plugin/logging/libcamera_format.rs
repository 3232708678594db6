// SPDX-License-Identifier: LGPL-2.1-or-later
//! The default sink, where no host sink is set: records written in
//! libcamera's format,
//!
//! ```text
//! [0:01:02.123456789] [4242]  INFO SyncLayer layer.rs:123 cam0: message key=value
//! ```
//!
//! (monotonic time, process id, severity, category, file:line), to stderr or
//! the file named by `LIBCAMERA_LOG_FILE` (appended; `syslog` is not
//! supported: stderr), at the level `LIBCAMERA_LOG_LEVELS` gives the category
//! `SyncLayer`: a comma-separated list of `category:level`, where the
//! category may be a glob (`*`, `Sync*`) and the level a name (`DEBUG`,
//! `INFO`, `WARN`, `ERROR`, `FATAL`) or a number (0-4). The last matching
//! entry wins; the default is `INFO`. Empty variables count as unset.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{Level, Record, Sink};

/// The log category, as libcamera names it.
pub const CATEGORY: &str = "SyncLayer";

/// The level for [`CATEGORY`] in a `LIBCAMERA_LOG_LEVELS` value.
pub fn level_from_spec(spec: &str) -> Level {
    let mut level = Level::Info;
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

fn parse_level(s: &str) -> Option<Level> {
    Some(match s.to_ascii_uppercase().as_str() {
        "0" | "DEBUG" => Level::Debug,
        "1" | "INFO" => Level::Info,
        "2" | "WARN" | "WARNING" => Level::Warn,
        // The layer never logs FATAL: ERROR is the closest.
        "3" | "4" | "ERROR" | "FATAL" => Level::Error,
        _ => return None,
    })
}

/// `*` matches any run of characters, `?` one character. Iterative (the
/// classic two-pointer match with one backtrack point), so a long pattern
/// costs time linear in its length times the name's, never stack.
fn glob_match(pat: &str, s: &str) -> bool {
    glob_steps(pat, s).0
}

/// [`glob_match`], and the steps it took (at most (pattern + 1) × (name + 1)).
fn glob_steps(pat: &str, s: &str) -> (bool, usize) {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let (mut i, mut j) = (0, 0);
    // The last '*' seen, and where in `s` it is currently taken to end.
    let mut star: Option<(usize, usize)> = None;
    let mut steps = 0;
    while j < s.len() {
        steps += 1;
        match p.get(i) {
            Some(b'*') => {
                star = Some((i, j));
                i += 1;
            }
            Some(&c) if c == b'?' || c == s[j] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    star = Some((si, sj + 1));
                    i = si + 1;
                    j = sj + 1;
                }
                None => return (false, steps),
            },
        }
    }
    (p[i.min(p.len())..].iter().all(|&c| c == b'*'), steps)
}

/// Where lines go.
enum Output {
    Stderr,
    File(Mutex<std::fs::File>),
}

/// Open the log file to append, never blocking: `O_NONBLOCK` (a FIFO without
/// a reader is an error, ENXIO, rather than a wait for one; a full pipe
/// drops lines rather than stalls the camera's threads), and not a
/// directory. A full disk drops lines too (the write fails; nothing waits).
fn open_log(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)?;
    if f.metadata()?.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    Ok(f)
}

/// Writes records in libcamera's format (see the module documentation).
pub struct LibcameraFormat {
    level: Level,
    file: Option<String>,
    /// Opened on the first record, so a process that sets a host sink first
    /// never touches the file.
    out: OnceLock<Output>,
    /// Lines the file did not take (a full disk, a full pipe); the first
    /// such failure is said on stderr.
    dropped: AtomicU64,
}

/// A variable's value, or `None` if it is unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl LibcameraFormat {
    /// At `level`, to the file `file` (`None`: stderr).
    pub fn new(level: Level, file: Option<String>) -> LibcameraFormat {
        LibcameraFormat {
            level,
            file,
            out: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// From `LIBCAMERA_LOG_LEVELS` and `LIBCAMERA_LOG_FILE`.
    pub fn from_env() -> LibcameraFormat {
        LibcameraFormat {
            level: env("LIBCAMERA_LOG_LEVELS").map_or(Level::Info, |s| level_from_spec(&s)),
            // libcamera's "syslog" is not supported here: stderr instead.
            file: env("LIBCAMERA_LOG_FILE").filter(|p| p != "syslog"),
            out: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    fn output(&self) -> &Output {
        self.out.get_or_init(|| {
            let Some(path) = &self.file else {
                return Output::Stderr;
            };
            match open_log(path) {
                Ok(f) => Output::File(Mutex::new(f)),
                Err(e) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "{CATEGORY}: cannot log to LIBCAMERA_LOG_FILE '{path}': {e}; logging to \
                         stderr"
                    );
                    Output::Stderr
                }
            }
        })
    }
}

impl Sink for LibcameraFormat {
    fn level(&self) -> Level {
        self.level
    }

    fn write(&self, r: &Record<'_>) {
        let s = r.monotonic_ns / 1_000_000_000;
        let ns = r.monotonic_ns % 1_000_000_000;
        let line = format!(
            "[{}:{:02}:{:02}.{:09}] [{}] {} {} {}:{} {}\n",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            ns,
            std::process::id(),
            r.level.name(),
            CATEGORY,
            r.file.unwrap_or("?"),
            r.line.unwrap_or(0),
            r.message
        );
        match self.output() {
            Output::Stderr => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            Output::File(f) => {
                let written = f
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .write_all(line.as_bytes());
                if let Err(e) = written
                    && self.dropped.fetch_add(1, Ordering::Relaxed) == 0
                {
                    let _ = writeln!(
                        std::io::stderr(),
                        "{CATEGORY}: LIBCAMERA_LOG_FILE '{}' takes no more lines: {e}; lines \
                         it cannot take are dropped",
                        self.file.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
}

impl LibcameraFormat {
    /// Lines the log file did not take.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn levels_follow_libcamera_rules() {
        assert_eq!(level_from_spec(""), Level::Info);
        assert_eq!(level_from_spec("SyncLayer:DEBUG"), Level::Debug);
        assert_eq!(level_from_spec("*:WARN"), Level::Warn);
        assert_eq!(level_from_spec("Camera:DEBUG"), Level::Info);
        assert_eq!(level_from_spec("*:ERROR,SyncLayer:0"), Level::Debug);
        assert_eq!(level_from_spec("SyncLayer:0,*:3"), Level::Error);
        assert_eq!(level_from_spec("Sync*:2"), Level::Warn);
        assert_eq!(level_from_spec("SyncLayer:4"), Level::Error);
        assert_eq!(level_from_spec("SyncLayer:1"), Level::Info);
        assert_eq!(level_from_spec("SyncLayer:bogus"), Level::Info);
    }

    /// A WARN record of `message`.
    fn warning(message: &str) -> Record<'_> {
        Record {
            level: Level::Warn,
            target: "camsync",
            file: None,
            line: None,
            message,
            monotonic_ns: 0,
        }
    }

    #[test]
    fn a_log_file_that_cannot_take_lines_now_never_blocks_the_caller() {
        let dir = std::env::temp_dir().join(format!("camsync-log-kinds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A FIFO without a reader (open() waited for one forever), a
        // directory, a device that swallows everything.
        for path in [&fifo, &dir, &std::path::PathBuf::from("/dev/null")] {
            let sink = LibcameraFormat::new(Level::Info, Some(path.to_string_lossy().into()));
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    sink.write(&warning("test line"));
                }
                let _ = tx.send(());
            });
            rx.recv_timeout(std::time::Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("{}: writing blocked", path.display()));
        }
        // A FIFO whose reader does not read: lines are dropped once the pipe
        // is full, the writer never waits.
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let sink = LibcameraFormat::new(Level::Info, Some(fifo.to_string_lossy().into()));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let message = "x".repeat(4096);
            for _ in 0..1000 {
                sink.write(&warning(&message));
            }
            let _ = tx.send(());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("writing to a full pipe blocked");
        drop(reader);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_log_file_on_a_full_disk_drops_lines_and_counts_them() {
        // /dev/full: every write fails with ENOSPC, as on a full disk.
        let sink = LibcameraFormat::new(Level::Info, Some("/dev/full".into()));
        for _ in 0..5 {
            sink.write(&warning("test line"));
        }
        assert!(matches!(sink.output(), Output::File(_)));
        assert_eq!(sink.dropped(), 5);
    }

    #[test]
    fn a_pathological_level_spec_takes_linear_time() {
        // The recursive matcher took 5.7 s for 35 '*' and overflowed the
        // stack (inside camsync_layer_create) for long patterns.
        let spec = format!(
            "{}:DEBUG,{}x:DEBUG",
            "*a".repeat(200_000),
            "*".repeat(500_000)
        );
        assert_eq!(level_from_spec(&spec), Level::Info);
        // Steps, not seconds: within (pattern + 1) × (name + 1) (the
        // recursive matcher's grew exponentially with the '*').
        for pat in spec.split(',').map(|p| p.split(':').next().unwrap()) {
            let (matched, steps) = glob_steps(pat, CATEGORY);
            assert!(!matched);
            assert!(
                steps <= (pat.len() + 1) * (CATEGORY.len() + 1),
                "{steps} steps for a pattern of {} bytes",
                pat.len()
            );
        }
        let (_, steps) = glob_steps(&"*".repeat(35), "SyncLayerX");
        assert!(steps <= 36 * 11, "{steps}");
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "SyncLayer"));
        assert!(glob_match("Sync?ayer", "SyncLayer"));
        assert!(!glob_match("Sync", "SyncLayer"));
        assert!(glob_match("*Layer", "SyncLayer"));
        assert!(glob_match("S*n*L*r", "SyncLayer"));
        assert!(glob_match("**", ""));
        assert!(!glob_match("?", ""));
        assert!(!glob_match("*x", "SyncLayer"));
        // A long pattern is linear, not a stack overflow or minutes of backtracking.
        let long = format!("{}x", "*".repeat(100_000));
        assert!(!glob_match(&long, "SyncLayer"));
    }
}
