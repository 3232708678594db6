// SPDX-License-Identifier: LGPL-2.1-or-later
//! `camsync monitor`: watch a sync group and report every server heard.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use camsync::core::auth::{AUTH_LEN, AuthPacket};
use camsync::core::{Expect, SyncPacket, WireError};
use camsync::net::socket::RX_BUF;
use camsync::net::{NetConfig, Receiver};
use serde::Serialize;
use serde_json::json;

use crate::args::{self, num};
use crate::exit::{self, Outcome};
use crate::host_clock::{self, HostClock};
use crate::sys;
use crate::table::Table;

/// Watch a sync group: the servers heard, their timing, invalid datagrams.
///
/// Joins the multicast group on an interface (default the
/// loopback, 127.0.0.1), decodes both wire formats (24-byte libcamera layer,
/// 40-byte Raspberry Pi) and camsync's authenticated one (80 bytes, shown as
/// `auth`; the monitor has no key, so their MAC is not checked), and shows
/// each server heard: address, format, frame
/// duration, packet interval and its jitter, and when it is (or was) ready.
/// Invalid datagrams are counted by reason (their length, their values, a
/// frame time far from this host's wall clock, a datagram sent to this host
/// rather than to the group). Warns when two servers share the
/// group, and when both wire formats are heard on it (libcamera's C++ layer
/// and stock Raspberry Pi clients each misread the other's). Runs until
/// Ctrl-C (or --duration), then prints a summary.
///
/// Examples:
///   camsync monitor
///   camsync monitor --port 10010 --json --duration 10
///   camsync monitor --interface eth0      # a real rig's network
#[derive(clap::Args)]
#[command(verbatim_doc_comment, allow_negative_numbers = true, after_help = EXIT_HELP)]
pub struct Args {
    /// Multicast group (224.0.0.0/4).
    #[arg(long, default_value_t = camsync::net::DEFAULT_GROUP, value_parser = args::multicast)]
    group: Ipv4Addr,
    /// UDP port, 1..=65535.
    #[arg(long, default_value_t = camsync::net::DEFAULT_PORT, value_parser = args::port)]
    port: u16,
    /// Interface to join the group on (name or IPv4 address of this host).
    #[arg(long, default_value = "127.0.0.1", value_parser = args::interface)]
    interface: Ipv4Addr,
    /// Stop after this many seconds, 0.1..=604800 (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS", value_parser = num(0.1..=604_800.0))]
    duration: Option<f64>,
    /// Print one JSON object per line (packets, invalid datagrams, warnings, summary).
    #[arg(long)]
    json: bool,
    /// Seconds between status tables (human output), 0.1..=3600.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = num(0.1..=3600.0))]
    interval: f64,
}

const EXIT_HELP: &str = "Exit status: 0 the run ended (Ctrl-C or --duration); 2 usage error or \
    the group could not be joined. Errors go to stderr.";

/// Running mean and standard deviation (Welford).
#[derive(Debug, Clone, Copy, Default)]
struct Running {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Running {
    fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    fn std(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }
}

/// What the monitor knows of one server.
#[derive(Debug, Clone)]
pub struct Server {
    pub addr: SocketAddrV4,
    /// `layer`, `rpi`, or `auth` (authenticated; its MAC unchecked: the
    /// monitor has no key).
    pub format: &'static str,
    pub packets: u64,
    pub last: SyncPacket,
    /// Arrival (monitor's monotonic clock, s) of the first and last packet.
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    intervals_ms: Running,
    /// Server frames between consecutive packets (from frame_ts / duration).
    pub frames_per_packet: Option<f64>,
}

impl Server {
    /// The ready instant on the monitor's clock (s since it started).
    pub fn ready_at_s(&self) -> f64 {
        self.last_seen_s + (self.last.ready_time_us as f64 - self.last.frame_ts_us as f64) / 1e6
    }
}

/// A summary row of one server.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerSummary {
    pub address: String,
    pub format: &'static str,
    pub packets: u64,
    /// When the monitor first heard it, s since the monitor started.
    pub first_seen_s: f64,
    pub frame_duration_us: u32,
    pub fps: f64,
    pub interval_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub frames_per_packet: Option<f64>,
    /// When the server is (or was) ready, s since the monitor started (the
    /// time base of every other time it prints): the last packet's arrival
    /// plus its ready instant minus its frame time. Negative: before the
    /// monitor started.
    pub ready_at_s: f64,
}

/// The most servers tracked one by one; packets from further senders are
/// counted together (a flood from many source ports must not grow the
/// monitor's memory, or its output, without bound).
pub const MAX_SERVERS: usize = 64;

/// Every server and every invalid datagram seen. Pure: arrival times are inputs.
#[derive(Debug, Default)]
pub struct Tracker {
    pub servers: BTreeMap<SocketAddrV4, Server>,
    pub invalid: BTreeMap<&'static str, u64>,
    /// Valid packets from senders beyond the first [`MAX_SERVERS`], and
    /// from how many of them (the first time each was heard).
    pub untracked_packets: u64,
    warned_multi: bool,
    /// Each wire format heard, and the first server heard sending it.
    formats: BTreeMap<&'static str, SocketAddrV4>,
}

/// What one datagram changed, for the caller to report.
#[derive(Debug, PartialEq)]
pub enum Event {
    NewServer,
    Packet,
    /// A second server appeared on the group: both.
    SharedGroup(Vec<SocketAddrV4>),
    /// One more server (the third or later): it, and how many there are now.
    AnotherServer(SocketAddrV4, usize),
    /// A valid packet from a sender beyond [`MAX_SERVERS`] (not tracked;
    /// said once).
    TooManyServers,
    /// Both wire formats are now heard on the group: (format, first sender).
    MixedFormats(Vec<(&'static str, SocketAddrV4)>),
    Invalid(&'static str),
}

impl Tracker {
    /// Account for one datagram that arrived at `t_s`: a packet, or the
    /// reason it is none (`WireError::reason`, or `not_group`).
    pub fn datagram(
        &mut self,
        t_s: f64,
        decoded: Result<(SyncPacket, &'static str), &'static str>,
        from: Option<SocketAddrV4>,
    ) -> Vec<Event> {
        let from = from.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        let (p, format) = match decoded {
            Ok(x) => x,
            Err(reason) => {
                *self.invalid.entry(reason).or_default() += 1;
                return vec![Event::Invalid(reason)];
            }
        };
        let mut events = Vec::new();
        let new_format = !self.formats.contains_key(format);
        if new_format {
            self.formats.insert(format, from);
        }
        let full = self.servers.len() >= MAX_SERVERS;
        match self.servers.get_mut(&from) {
            Some(s) => {
                s.intervals_ms.add((t_s - s.last_seen_s) * 1000.0);
                if p.frame_duration_us > 0 && p.frame_ts_us > s.last.frame_ts_us {
                    s.frames_per_packet = Some(
                        (p.frame_ts_us - s.last.frame_ts_us) as f64
                            / f64::from(p.frame_duration_us),
                    );
                }
                s.packets += 1;
                s.last = p;
                s.format = format;
                s.last_seen_s = t_s;
                events.push(Event::Packet);
            }
            None if full => {
                self.untracked_packets += 1;
                if self.untracked_packets == 1 {
                    events.push(Event::TooManyServers);
                }
            }
            None => {
                self.servers.insert(
                    from,
                    Server {
                        addr: from,
                        format,
                        packets: 1,
                        last: p,
                        first_seen_s: t_s,
                        last_seen_s: t_s,
                        intervals_ms: Running::default(),
                        frames_per_packet: None,
                    },
                );
                events.push(Event::NewServer);
                // Each new server is said alone: the output stays linear in
                // the number of servers.
                match self.servers.len() {
                    1 => {}
                    2 => {
                        self.warned_multi = true;
                        events.push(Event::SharedGroup(self.servers.keys().copied().collect()));
                    }
                    n => events.push(Event::AnotherServer(from, n)),
                }
            }
        }
        if new_format && self.formats.len() > 1 {
            events.push(Event::MixedFormats(
                self.formats.iter().map(|(f, a)| (*f, *a)).collect(),
            ));
        }
        events
    }

    pub fn summary(&self) -> Vec<ServerSummary> {
        self.servers
            .values()
            .map(|s| {
                let fd = s.last.frame_duration_us;
                let has_iv = s.intervals_ms.n > 0;
                ServerSummary {
                    address: s.addr.to_string(),
                    format: s.format,
                    packets: s.packets,
                    first_seen_s: round3(s.first_seen_s),
                    frame_duration_us: fd,
                    fps: if fd > 0 { 1e6 / f64::from(fd) } else { 0.0 },
                    interval_ms: has_iv.then_some(round3(s.intervals_ms.mean)),
                    jitter_ms: has_iv.then_some(round3(s.intervals_ms.std())),
                    frames_per_packet: s.frames_per_packet.map(round3),
                    ready_at_s: round3(s.ready_at_s()),
                }
            })
            .collect()
    }

    pub fn shared_group(&self) -> bool {
        self.warned_multi
    }

    /// Both wire formats were heard on the group.
    pub fn mixed_formats(&self) -> bool {
        self.formats.len() > 1
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn table(rows: &[ServerSummary]) -> Table {
    let mut t = Table::new(
        "server",
        [
            "format",
            "packets",
            "frame µs",
            "fps",
            "interval ms",
            "jitter ms",
            "frames/pkt",
            "ready at",
        ]
        .map(String::from),
    );
    let o = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
    for r in rows {
        let ready = format!("{:.2} s", r.ready_at_s);
        t.row(
            r.address.clone(),
            vec![
                r.format.into(),
                r.packets.to_string(),
                r.frame_duration_us.to_string(),
                format!("{:.2}", r.fps),
                o(r.interval_ms),
                o(r.jitter_ms),
                o(r.frames_per_packet),
                ready,
            ],
        );
    }
    t
}

pub fn run(args: &Args) -> Outcome {
    monitor(args).map_err(exit::usage)
}

/// CLOCK_REALTIME, µs.
fn wall_now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Wait up to `timeout` for the socket to become readable.
fn wait_readable(rx: &Receiver, timeout: Duration) {
    let mut pfd = libc::pollfd {
        fd: rx.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfd` is one valid pollfd; poll only writes its revents. EINTR
    // (Ctrl-C) simply returns early.
    unsafe {
        libc::poll(&mut pfd, 1, ms);
    }
}

fn monitor(args: &Args) -> Result<(), String> {
    let ifaddr = args.interface;
    let cfg = NetConfig {
        group: args.group,
        port: args.port,
        interface: Some(ifaddr.to_string()),
        ..NetConfig::default()
    };
    sys::catch_sigint();
    let mut rx = Receiver::open(&cfg, Some(ifaddr)).map_err(|e| e.to_string())?;
    let start = Instant::now();
    // Both are finite and in range (the parsers checked).
    let deadline = args.duration.map(|d| start + Duration::from_secs_f64(d));
    let interval = Duration::from_secs_f64(args.interval);
    let mut next_status = start + interval;
    let mut tracker = Tracker::default();
    let mut announced = std::collections::BTreeSet::new();
    let clock = HostClock::read();
    if args.json {
        json_line(json!({"type": "host_clock", "host_clock": clock}));
    } else {
        println!(
            "listening on {}:{} (interface {ifaddr}); Ctrl-C to stop",
            args.group, args.port
        );
        println!("{}", host_clock::describe(clock));
    }
    loop {
        let now = Instant::now();
        if sys::interrupted() || deadline.is_some_and(|d| now >= d) {
            break;
        }
        let mut wait = Duration::from_millis(200);
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(now));
        }
        wait_readable(&rx, wait);
        let mut buf = [0u8; RX_BUF];
        while let Ok(Some(r)) = rx.recv(&mut buf) {
            let t = start.elapsed().as_secs_f64();
            let from = r.from;
            // Either plain format, or an authenticated packet (read, not
            // checked: the monitor has no key).
            let decoded = if r.len == AUTH_LEN {
                AuthPacket::peek(&buf[..AUTH_LEN])
                    .map(|a| (a.packet, "auth"))
                    .ok_or(WireError::BadMagic)
            } else {
                SyncPacket::decode_received(&buf, r.len).map(|(p, f)| (p, f.name()))
            };
            // Sent to the group, and a frame time near the monitor's wall
            // clock (a server clock at 1970, or hosts whose clocks disagree).
            let expect = Expect {
                frame_duration_us: 0,
                wall_us: wall_now_us(),
            };
            let decoded = match (decoded, r.to) {
                (Ok(_), Some(to)) if to != args.group => Err("not_group"),
                (Ok((p, f)), _) => p.check(&expect).map(|()| (p, f)).map_err(|e| e.reason()),
                (Err(e), _) => Err(e.reason()),
            };
            let packet = decoded.as_ref().ok().copied();
            for ev in tracker.datagram(t, decoded, from) {
                report_event(args, &tracker, &ev, from, packet, t);
            }
        }
        // Say when each server became ready, on the same clock as the rest.
        let t = start.elapsed().as_secs_f64();
        for s in tracker.servers.values() {
            let at = s.ready_at_s();
            if at <= t && announced.insert(s.addr) {
                if args.json {
                    json_line(
                        json!({"type": "ready", "t_s": round3(at), "server": s.addr.to_string()}),
                    );
                } else {
                    println!(
                        "[{at:7.2} s] server {} is ready (SyncReady from here on)",
                        s.addr
                    );
                }
            }
        }
        if !args.json && Instant::now() >= next_status {
            next_status += interval;
            if !tracker.servers.is_empty() {
                print!("{}", table(&tracker.summary()));
            }
        }
    }
    let summary = tracker.summary();
    let clock = HostClock::read();
    if args.json {
        json_line(json!({
            "type": "summary",
            "host_clock": clock,
            "elapsed_s": round3(start.elapsed().as_secs_f64()),
            "servers": summary,
            "invalid": tracker.invalid,
            "shared_group": tracker.shared_group(),
            "untracked_packets": tracker.untracked_packets,
            "mixed_formats": tracker.mixed_formats(),
        }));
    } else {
        println!("summary after {:.1} s:", start.elapsed().as_secs_f64());
        if summary.is_empty() {
            println!("no server heard on {}:{}", args.group, args.port);
        } else {
            print!("{}", table(&summary));
        }
        let invalid: u64 = tracker.invalid.values().sum();
        if invalid > 0 {
            let reasons: Vec<String> = tracker
                .invalid
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            println!("invalid datagrams: {invalid} ({})", reasons.join(", "));
        } else {
            println!("invalid datagrams: 0");
        }
        if tracker.shared_group() {
            println!("WARNING: more than one server on this group");
        }
        if tracker.untracked_packets > 0 {
            println!(
                "WARNING: {} packets from senders beyond the first {MAX_SERVERS} (not listed)",
                tracker.untracked_packets
            );
        }
        if tracker.mixed_formats() {
            println!("WARNING: {MIXED_FORMATS}");
        }
        println!("{}", host_clock::describe(clock));
    }
    Ok(())
}

/// Why hearing both formats on one group matters.
const MIXED_FORMATS: &str = "both wire formats on this group: libcamera's C++ sync layer \
    clients misread the 40-byte rpi packets (they lock ~11 ms off, ready on the wrong frame) and \
    stock Raspberry Pi clients misread the 24-byte layer packets; only camsync clients read both";

/// The version of the JSON lines' form (`camsync monitor --json`).
const SCHEMA_VERSION: u32 = 1;

/// Print one JSON object as a line, with the schema version.
fn json_line(mut v: serde_json::Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
    println!("{v}");
}

fn report_event(
    args: &Args,
    tracker: &Tracker,
    ev: &Event,
    from: Option<SocketAddrV4>,
    packet: Option<(SyncPacket, &'static str)>,
    t: f64,
) {
    let from_s = from.map_or_else(|| "?".to_string(), |a| a.to_string());
    if args.json {
        let line = match (ev, packet) {
            (Event::NewServer | Event::Packet, Some((p, f))) => json!({
                "type": "packet",
                "t_s": round3(t),
                "from": from_s,
                "format": f,
                "new_server": *ev == Event::NewServer,
                "frame_duration_us": p.frame_duration_us,
                "frame_ts_us": p.frame_ts_us,
                "ready_time_us": p.ready_time_us,
            }),
            (Event::SharedGroup(all), _) => json!({
                "type": "warning",
                "t_s": round3(t),
                "warning": "more than one server on the group",
                "servers": all.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            }),
            (Event::AnotherServer(addr, n), _) => json!({
                "type": "warning",
                "t_s": round3(t),
                "warning": "another server on the group",
                "server": addr.to_string(),
                "servers_now": n,
            }),
            (Event::TooManyServers, _) => json!({
                "type": "warning",
                "t_s": round3(t),
                "warning": format!("more than {MAX_SERVERS} senders on the group: \
                    the further ones are counted, not listed"),
            }),
            (Event::MixedFormats(seen), _) => json!({
                "type": "warning",
                "t_s": round3(t),
                "warning": "both wire formats on the group",
                "formats": seen
                    .iter()
                    .map(|(f, a)| json!({"format": f, "first_from": a.to_string()}))
                    .collect::<Vec<_>>(),
            }),
            (Event::Invalid(reason), _) => json!({
                "type": "invalid",
                "t_s": round3(t),
                "from": from_s,
                "reason": reason,
            }),
            _ => return,
        };
        json_line(line);
        return;
    }
    match ev {
        Event::NewServer => {
            if let Some((p, f)) = packet {
                println!(
                    "[{t:7.2} s] new server {from_s} ({} format, {} µs frames)",
                    f, p.frame_duration_us
                );
            }
        }
        Event::SharedGroup(all) => {
            let all: Vec<String> = all.iter().map(|a| a.to_string()).collect();
            println!(
                "[{t:7.2} s] WARNING: {} servers share {}:{}: {}; clients will follow whichever packet arrives last",
                all.len(),
                args.group,
                args.port,
                all.join(", ")
            );
        }
        Event::AnotherServer(addr, n) => println!(
            "[{t:7.2} s] WARNING: another server on {}:{}: {addr} ({n} now)",
            args.group, args.port
        ),
        Event::TooManyServers => println!(
            "[{t:7.2} s] WARNING: more than {MAX_SERVERS} senders on {}:{}: the further ones are \
             counted, not listed (a flood?)",
            args.group, args.port
        ),
        Event::MixedFormats(seen) => {
            let seen: Vec<String> = seen.iter().map(|(f, a)| format!("{f} from {a}")).collect();
            println!("[{t:7.2} s] WARNING: {MIXED_FORMATS} ({})", seen.join(", "));
        }
        Event::Invalid(reason) => {
            let n = tracker.invalid.get(reason).copied().unwrap_or(0);
            if n <= 3 {
                println!("[{t:7.2} s] invalid datagram from {from_s}: {reason}");
            }
        }
        Event::Packet => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use camsync::core::WireError;

    const P: SyncPacket = SyncPacket {
        frame_duration_us: 33_333,
        frame_ts_us: 1_767_225_603_000_000,
        ready_time_us: 1_767_225_606_000_000,
    };

    #[test]
    fn tracks_servers_intervals_and_invalid_datagrams() {
        let a = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000);
        let b = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4001);
        let mut t = Tracker::default();
        assert_eq!(
            t.datagram(0.0, Ok((P, "layer")), Some(a)),
            [Event::NewServer]
        );
        let p2 = SyncPacket {
            frame_ts_us: P.frame_ts_us + 30 * 33_333,
            ..P
        };
        assert_eq!(t.datagram(1.0, Ok((p2, "layer")), Some(a)), [Event::Packet]);
        let p3 = SyncPacket {
            frame_ts_us: p2.frame_ts_us + 30 * 33_333,
            ..P
        };
        t.datagram(2.2, Ok((p3, "layer")), Some(a));
        assert_eq!(
            t.datagram(2.3, Err(WireError::WrongLength(7).reason()), Some(b)),
            [Event::Invalid("wrong_length")]
        );
        let s = &t.summary()[0];
        assert_eq!(s.packets, 3);
        assert_eq!(s.interval_ms, Some(1100.0));
        assert_eq!(s.jitter_ms, Some(141.421));
        assert_eq!(s.frames_per_packet, Some(30.0));
        // Its ready instant is 1.00002 s after the last packet's frame, which
        // arrived at 2.2 s on the monitor's clock.
        assert_eq!(s.ready_at_s, 3.2);
        assert_eq!(t.invalid["wrong_length"], 1);
        assert!(!t.shared_group());
        assert!(!t.mixed_formats());
        let ev = t.datagram(2.5, Ok((P, "rpi")), Some(b));
        assert_eq!(
            ev,
            [
                Event::NewServer,
                Event::SharedGroup(vec![a, b]),
                Event::MixedFormats(vec![("layer", a), ("rpi", b)]),
            ]
        );
        assert!(t.shared_group() && t.mixed_formats());
        assert_eq!(t.summary()[1].format, "rpi");
        // Said once.
        assert_eq!(t.datagram(2.6, Ok((P, "rpi")), Some(b)), [Event::Packet]);
    }

    #[test]
    fn output_is_linear_in_the_number_of_sources_and_bounded() {
        let mut t = Tracker::default();
        let mut listed = 0;
        let mut events = 0;
        for port in 0..10_000u16 {
            let from = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 20_000 + port);
            for e in t.datagram(f64::from(port), Ok((P, "layer")), Some(from)) {
                events += 1;
                listed += match e {
                    Event::SharedGroup(all) => all.len(),
                    Event::AnotherServer(..) => 1,
                    _ => 0,
                };
            }
        }
        // Each source is named at most twice (as new, and in a warning):
        // was n²/2 addresses (every new server listed every other).
        assert!(listed <= 2 * MAX_SERVERS, "{listed}");
        assert!(events <= 2 * MAX_SERVERS + 1, "{events}");
        assert_eq!(t.servers.len(), MAX_SERVERS);
        assert_eq!(t.untracked_packets, 10_000 - MAX_SERVERS as u64);
        assert_eq!(t.summary().len(), MAX_SERVERS);
    }

    #[test]
    fn one_server_switching_formats_is_mixed_too() {
        let a = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000);
        let mut t = Tracker::default();
        t.datagram(0.0, Ok((P, "rpi")), Some(a));
        let ev = t.datagram(1.0, Ok((P, "layer")), Some(a));
        assert_eq!(
            ev,
            [
                Event::Packet,
                Event::MixedFormats(vec![("layer", a), ("rpi", a)])
            ]
        );
    }
}
