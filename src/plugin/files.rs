// SPDX-License-Identifier: LGPL-2.1-or-later
//! Reading the files the configuration names (the configuration file, the
//! key file) without ever blocking or reading without bound: the layer is
//! created on the application's thread, inside `CameraManager::start()`, and
//! a path to a FIFO, a directory, `/dev/zero` or a huge file must cost an
//! error message, not a hang or the process's memory.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

/// What a file that is not a regular file is, for the message.
fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading without blocking (`O_NONBLOCK`: a FIFO without a
/// writer does not wait for one) and read it if it is a regular file of at
/// most `max` bytes. The error says why not, in words.
pub fn read_small(path: &str, max: usize) -> Result<Vec<u8>, String> {
    read_small_with_mode(path, max).map(|(b, _)| b)
}

/// [`read_small`], and the file's permission bits (`st_mode & 07777`).
pub fn read_small_with_mode(path: &str, max: usize) -> Result<(Vec<u8>, u32), String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err(format!("it is {}, not a regular file", kind(&meta)));
    }
    if meta.len() > max as u64 {
        return Err(format!(
            "it is {} bytes long, more than the {max} it may be",
            meta.len()
        ));
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
    Ok((read_at_most(file, max)?, mode))
}

/// Read at most `max` bytes (a file that grew since `fstat` is an error).
fn read_at_most(file: File, max: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > max {
        return Err(format!("it grew past the {max} bytes it may be"));
    }
    Ok(bytes)
}

/// `s`, cut to at most `max` characters (with "…" and the length it had):
/// what an error message may quote of a value or a line from a file.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes)", &s[..cut], s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_strings_and_cuts_long_ones_at_a_char_boundary() {
        assert_eq!(clip("port", 10), "port");
        assert_eq!(clip("ééééé", 2), "éé… (10 bytes)");
    }
}
