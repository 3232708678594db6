// SPDX-License-Identifier: LGPL-2.1-or-later
//! The few system calls the tools need: the monotonic clock, process CPU time,
//! SIGINT. (The layer's clock pair is `camsync::plugin::SystemClock`.)

use std::sync::atomic::{AtomicBool, Ordering};

use nix::time::{ClockId, clock_gettime};

fn read(id: ClockId) -> i64 {
    // clock_gettime on these clocks cannot fail on Linux.
    clock_gettime(id).map_or(0, |t| t.tv_sec() * 1_000_000_000 + t.tv_nsec())
}

/// CLOCK_MONOTONIC, ns: the clock V4L2 stamps frames with (the demo's
/// sensors too).
pub fn mono_ns() -> i64 {
    read(ClockId::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME, ns.
pub fn realtime_ns() -> i64 {
    read(ClockId::CLOCK_REALTIME)
}

/// User + system CPU time of this process so far, ns.
pub fn process_cpu_ns() -> u64 {
    // SAFETY: an all-zero rusage is a valid value; getrusage writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catch SIGINT (Ctrl-C): from now on it only sets a flag, read with
/// [`interrupted`], so the tool can finish cleanly.
pub fn catch_sigint() {
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe; the sigaction struct is fully initialised.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// SIGINT arrived since [`catch_sigint`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Make sure this process may open `needed` file descriptors: raise the soft
/// limit (RLIMIT_NOFILE) up to the hard limit if that is enough, otherwise
/// say what the limit is.
pub fn ensure_fds(needed: u64) -> Result<(), String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the file descriptor limit: {e}"))?;
    if needed <= soft {
        return Ok(());
    }
    if needed > hard {
        return Err(format!(
            "needs {needed} file descriptors, the limit is {soft} (hard limit {hard}; ulimit -n)"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|e| {
        format!("needs {needed} file descriptors, the limit is {soft} and cannot be raised: {e}")
    })
}

/// Let SIGPIPE end the process silently, as it does `head`'s other writers:
/// `camsync simulate | head` must not panic on a closed pipe (Rust ignores
/// SIGPIPE by default, turning it into a write error that `println!` panics on).
pub fn default_sigpipe() {
    // SAFETY: restoring the default disposition of one signal; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
