// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libcamera layer ABI's two data objects, for the cargo-built cdylib
//! with the C++ adapter compiled in (`cfg(camsync_adapter)`, set by build.rs).
//!
//! rustc links a cdylib with a version script that exports only Rust's own
//! `#[no_mangle]` items, so `layerInfo`/`layerInterface` defined in C++ would
//! be hidden. They are defined here instead, pointing at the adapter's hooks;
//! `adapter/layer.cpp` checks (under `CAMSYNC_RUST_EXPORTS`) that those hooks
//! have the v6 `LayerInterface` types and that it has 14 slots. The meson
//! build defines both objects in C++ and does not compile this file.

#![allow(non_upper_case_globals)]

use std::ffi::{c_char, c_int};

// The hooks' real signatures are C++ (`const std::string &`, `ControlList`
// returned by value); Rust only takes their addresses and never calls them.
unsafe extern "C" {
    fn camsync_adapter_init();
    fn camsync_adapter_terminate();
    fn camsync_adapter_request_completed();
    fn camsync_adapter_controls();
    fn camsync_adapter_queue_request();
    fn camsync_adapter_start();
    fn camsync_adapter_stop();
}

/// libcamera's `LayerInfo`.
#[repr(C)]
pub struct LayerInfo {
    pub name: *const c_char,
    pub layer_api_version: c_int,
}

// SAFETY: immutable, pointing at static bytes.
unsafe impl Sync for LayerInfo {}

type HookPtr = Option<unsafe extern "C" fn()>;

/// libcamera's v6 `LayerInterface`: 14 hook pointers in declaration order.
#[repr(C)]
pub struct LayerInterface {
    pub hooks: [HookPtr; 14],
}

#[unsafe(no_mangle)]
pub static layerInfo: LayerInfo = LayerInfo {
    name: c"sync".as_ptr(),
    layer_api_version: 1,
};

#[unsafe(no_mangle)]
pub static layerInterface: LayerInterface = LayerInterface {
    hooks: [
        Some(camsync_adapter_init),              // init
        Some(camsync_adapter_terminate),         // terminate
        None,                                    // bufferCompleted
        Some(camsync_adapter_request_completed), // requestCompleted
        None,                                    // disconnected
        None,                                    // acquire
        None,                                    // release
        Some(camsync_adapter_controls),          // controls
        None,                                    // properties
        None,                                    // configure
        None,                                    // createRequest
        Some(camsync_adapter_queue_request),     // queueRequest
        Some(camsync_adapter_start),             // start
        Some(camsync_adapter_stop),              // stop
    ],
};
