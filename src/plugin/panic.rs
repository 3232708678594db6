// SPDX-License-Identifier: LGPL-2.1-or-later
//! The panic boundary. A panic must never unwind into the host (a C++
//! camera application): [`guard`] catches it, and the panic hook installed by
//! [`install_hook`] logs panics raised inside a guarded call through our log
//! (the default hook would print to stderr) and leaves every other panic to
//! the hook that was there before.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, PanicHookInfo};

thread_local! {
    /// The entry point this thread is inside, if any.
    static ENTRY: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// A panic was caught (and logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("panic caught")]
pub struct Panicked;

/// Run `f` as the body of the entry point `name`; `Err(Panicked)` if it
/// panicked (the panic has been logged).
pub fn guard<R>(name: &'static str, f: impl FnOnce() -> R) -> Result<R, Panicked> {
    let outer = ENTRY.with(|e| e.replace(Some(name)));
    // AssertUnwindSafe: after a panic the instance's mutex is poisoned and the
    // instance disables itself (see `Instance`); nothing else is shared.
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    ENTRY.with(|e| e.set(outer));
    r.map_err(|payload| {
        let msg = payload_str(payload.as_ref());
        tracing::error!("panic caught at the C API boundary in {name}: {msg}");
        Panicked
    })
}

fn payload_str(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string payload)")
}

/// Install the hook once (called by `logging::install`).
pub fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        match ENTRY.with(Cell::get) {
            Some(entry) => {
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                tracing::error!("panic in {entry} at {loc}: {}", payload_str(info.payload()));
            }
            None => previous(info),
        }
    }));
}
