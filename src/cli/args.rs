// SPDX-License-Identifier: LGPL-2.1-or-later
//! Value parsers shared by the subcommands' arguments. Every numeric flag has
//! a documented range, checked here while clap parses, so a bad value is
//! refused with clap's "invalid value 'X' for '--flag': …" before any work.

use std::fmt::Display;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use camsync::core::{Profile, WireFormat};
use clap::builder::{PossibleValuesParser, TypedValueParser};

/// `--profile NAME`: one of `Profile::ALL` (listed in `--help`).
pub fn profile() -> impl TypedValueParser<Value = Profile> {
    PossibleValuesParser::new(Profile::ALL.iter().map(|p| p.name()))
        .try_map(|s| Profile::from_name(&s).ok_or_else(|| format!("unknown profile '{s}'")))
}

/// `--wire-format NAME`: `layer` or `rpi` (listed in `--help`).
pub fn wire_format() -> impl TypedValueParser<Value = WireFormat> {
    PossibleValuesParser::new(WireFormat::ALL.iter().map(|f| f.name()))
        .try_map(|s| WireFormat::from_name(&s).ok_or_else(|| format!("unknown wire format '{s}'")))
}

fn parse<T>(s: &str) -> Result<T, String>
where
    T: FromStr,
    T::Err: Display,
{
    s.trim().parse::<T>().map_err(|e| e.to_string())
}

fn check<T: PartialOrd + Display>(v: T, range: &RangeInclusive<T>) -> Result<T, String> {
    // NaN compares false both ways: it is not in any range.
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not in {}..={}", range.start(), range.end()))
    }
}

/// One number in `range` (NaN and infinities are in no range).
pub fn num<T>(range: RangeInclusive<T>) -> impl Fn(&str) -> Result<T, String> + Clone
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
    T::Err: Display,
{
    move |s| check(parse_in::<T>(s, &range)?, &range)
}

/// A number meant for `range`: a value that is no number says the range.
fn parse_in<T>(s: &str, range: &RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + Display,
    T::Err: Display,
{
    parse::<T>(s).map_err(|e| format!("not a number in {}..={} ({e})", range.start(), range.end()))
}

/// `LO..HI` (or one value for both), each end in `range`, `LO <= HI`.
pub fn span<T>(range: RangeInclusive<T>) -> impl Fn(&str) -> Result<(T, T), String> + Clone
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
    T::Err: Display,
{
    move |s| {
        let (a, b) = s.split_once("..").unwrap_or((s, s));
        let (a, b) = (
            check(parse_in::<T>(a, &range)?, &range)?,
            check(parse_in::<T>(b, &range)?, &range)?,
        );
        if a > b {
            return Err(format!("empty range: {a} > {b}"));
        }
        Ok((a, b))
    }
}

/// `--group`: an IPv4 multicast address.
pub fn multicast(s: &str) -> Result<Ipv4Addr, String> {
    let a: Ipv4Addr = parse(s)?;
    if a.is_multicast() {
        Ok(a)
    } else {
        Err("not a multicast address (224.0.0.0/4)".into())
    }
}

/// `--interface`: a name (`eth0`) or an IPv4 address of this host, resolved
/// to the address the socket options take.
pub fn interface(s: &str) -> Result<Ipv4Addr, String> {
    camsync::net::resolve_interface(s).map_err(|e| match e {
        camsync::net::NetError::Interface { reason, .. } => reason,
        e => e.to_string(),
    })
}

/// `--interface` of a tool that sends: a loopback interface, so its
/// traffic never leaves this machine; inside a named network namespace
/// (`ip netns add`, `ip netns exec`: one a test or a user built, joined to
/// others by veth pairs and bridges) any of its interfaces.
pub fn loopback_interface(s: &str) -> Result<Ipv4Addr, String> {
    let a = interface(s)?;
    if a.is_loopback() || named_netns() {
        Ok(a)
    } else {
        Err(format!(
            "{a} is not a loopback interface: the demo keeps its traffic on this machine (another \
             interface only inside a network namespace made for it: ip netns add, ip netns exec)"
        ))
    }
}

/// Whether this process runs in a named network namespace (one `ip netns
/// add` made, bind-mounted under /run/netns), not the system's.
pub fn named_netns() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata("/proc/self/ns/net") else {
        return false;
    };
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return false;
    };
    dir.flatten().any(|e| {
        std::fs::metadata(e.path()).is_ok_and(|m| m.dev() == me.dev() && m.ino() == me.ino())
    })
}

/// `--port`: 1..=65535 (0 would let the kernel pick a port nobody else uses).
pub fn port(s: &str) -> Result<u16, String> {
    num(1..=u16::MAX)(s)
}

/// An output file that can be written: its directory exists and is writable,
/// and it is not itself a directory. Checked before the work, so a long run
/// never ends in "cannot write".
pub fn writable_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if s.is_empty() {
        return Err("an empty path".into());
    }
    if p.is_dir() {
        return Err("is a directory".into());
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("no directory '{}'", dir.display()));
    }
    let target = if p.exists() { p.as_path() } else { dir };
    nix::unistd::access(target, nix::unistd::AccessFlags::W_OK)
        .map_err(|e| format!("cannot write '{}': {}", target.display(), e.desc()))?;
    Ok(p)
}

/// An existing directory this process may write into.
pub fn writable_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if !p.is_dir() {
        return Err("not a directory".into());
    }
    nix::unistd::access(&p, nix::unistd::AccessFlags::W_OK)
        .map_err(|e| format!("cannot write into it: {}", e.desc()))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_spans_in_range() {
        let f = num(0.1..=10.0);
        assert_eq!(f("2.5"), Ok(2.5));
        assert_eq!(f("inf").unwrap_err(), "inf is not in 0.1..=10");
        assert_eq!(f("NaN").unwrap_err(), "NaN is not in 0.1..=10");
        assert_eq!(
            f("x").unwrap_err(),
            "not a number in 0.1..=10 (invalid float literal)"
        );
        assert_eq!(
            num(0u32..=5)("-1").unwrap_err(),
            "not a number in 0..=5 (invalid digit found in string)"
        );
        let s = span(0u64..=100);
        assert_eq!(s("5..7"), Ok((5, 7)));
        assert_eq!(s("5"), Ok((5, 5)));
        assert_eq!(s("7..5").unwrap_err(), "empty range: 7 > 5");
        assert_eq!(s("5..101").unwrap_err(), "101 is not in 0..=100");
        assert_eq!(port("0").unwrap_err(), "0 is not in 1..=65535");
        assert!(multicast("10.0.0.1").is_err());
    }

    #[test]
    fn output_files_are_checked_up_front() {
        assert!(writable_file("/nonexistent-dir/x.svg").is_err());
        assert!(writable_file("/").unwrap_err().contains("directory"));
        assert!(writable_file("").is_err());
        let tmp = std::env::temp_dir().join("camsync-args-test.svg");
        assert!(writable_file(tmp.to_str().unwrap()).is_ok());
        assert!(!tmp.exists(), "checking does not create the file");
    }
}
