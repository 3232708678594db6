// SPDX-License-Identifier: LGPL-2.1-or-later
//! The C API's log sink: [`camsync_set_log_sink`] sends every record the
//! layer logs to a host callback instead of stderr. The adapter points it at
//! libcamera's logger, so that inside libcamera the layer's lines are
//! libcamera's own.

use std::ffi::{CString, c_char, c_void};
use std::sync::{Arc, OnceLock};

use super::boundary;
use super::types::{camsync_log_callback, camsync_log_level, camsync_result};
use crate::plugin::logging::{self, Level, Record, Sink};

/// The host's callback and its argument.
struct HostSink {
    callback: unsafe extern "C" fn(*mut c_void, camsync_log_level, *const c_char, *const c_char),
    user_data: *mut c_void,
    level: Level,
}

// SAFETY: the API documents that the callback is called from whichever
// thread logs, with `user_data` as given: the caller vouches for both.
unsafe impl Send for HostSink {}
// SAFETY: as above; the sink itself is never mutated.
unsafe impl Sync for HostSink {}

/// `s` as a C string (a NUL inside is dropped: C would stop there).
fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut v = e.into_vec();
        v.retain(|&b| b != 0);
        CString::new(v).unwrap_or_default()
    })
}

impl Sink for HostSink {
    fn level(&self) -> Level {
        self.level
    }

    fn write(&self, r: &Record<'_>) {
        let target = c_string(r.target);
        let message = c_string(r.message);
        // SAFETY: the callback and user_data are the caller's, valid for the
        // process (the API contract); both strings live across the call.
        unsafe {
            (self.callback)(
                self.user_data,
                r.level as camsync_log_level,
                target.as_ptr(),
                message.as_ptr(),
            );
        }
    }
}

/// The (callback, user_data) set, as addresses.
static SET: OnceLock<(usize, usize)> = OnceLock::new();

/// Send the layer's log to `callback` (with `user_data`) instead of stderr /
/// `LIBCAMERA_LOG_FILE`, for every record at `min_level` or above
/// (`CAMSYNC_LOG_*`). Once per process: the first call wins; calling again
/// with the same callback and user data returns OK and changes nothing,
/// another returns `CAMSYNC_RESULT_INVALID_ARGUMENT`. Records are given from
/// the thread that logs, never while a layer's lock is held; `user_data`
/// must be usable from any thread. `NULL_PARAMETER` if `callback` is NULL,
/// `INVALID_ARGUMENT` for a level above `CAMSYNC_LOG_ERROR`.
#[unsafe(no_mangle)]
pub extern "C" fn camsync_set_log_sink(
    callback: camsync_log_callback,
    user_data: *mut c_void,
    min_level: camsync_log_level,
) -> camsync_result {
    boundary("camsync_set_log_sink", || {
        let Some(callback) = callback else {
            return camsync_result::NullParameter;
        };
        let Some(level) = Level::from_u32(min_level) else {
            return camsync_result::InvalidArgument;
        };
        let key = (callback as usize, user_data as usize);
        let mut first = false;
        let set = *SET.get_or_init(|| {
            first = true;
            key
        });
        if !first {
            return if set == key {
                camsync_result::Ok
            } else {
                camsync_result::InvalidArgument
            };
        }
        let sink = HostSink {
            callback,
            user_data,
            level,
        };
        // Cannot fail: SET guards the one call that gets here.
        let _ = logging::set_host_sink(Arc::new(sink));
        logging::install();
        camsync_result::Ok
    })
}
