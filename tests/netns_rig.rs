// SPDX-License-Identifier: LGPL-2.1-or-later
//! A rig spread over processes: `camsync demo --role server` in one process,
//! `--role client --clients 2` in two others, each client measuring its
//! phase error against the frames the server announces.
//!
//! - Over loopback (always runs): three processes on 127.0.0.1.
//! - Over network namespaces (root, `ip netns`; otherwise SKIPPED, saying
//!   why): a hub namespace with a bridge, the server and each client
//!   process in a namespace of its own joined to it by a veth pair. Where
//!   the kernel has `sch_netem`, the hub's ports add delay and jitter, loss,
//!   duplication and reordering towards each client (SKIPPED with a message
//!   where it has not); client A's link goes down for 3 s and up again.
//!   `camsync monitor` in client B's namespace reports what reached it.
//!
//! Asserted: every process succeeds, every client reaches SyncReady and is
//! locked (|phase error| below one of its line times) on at least 90 % of
//! its frames from SyncReady on, hears exactly one server, and after the
//! link comes back locks again within two packets.
//! `cargo test --test netns_rig -- --nocapture` prints the numbers.

mod common;

use std::process::{Command, Output, Stdio};

use serde_json::Value;

const SERVER_S: &str = "30";
const CLIENT_S: &str = "28";

fn camsync() -> &'static str {
    env!("CARGO_BIN_EXE_camsync")
}

fn json(o: &Output, what: &str) -> Value {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}:\n{}", String::from_utf8_lossy(&o.stdout)))
}

/// The checks on one client process's report; returns a line for the log.
fn check_clients(r: &Value, what: &str) -> String {
    assert_eq!(r["role"], "client", "{what}");
    assert_eq!(r["all_clients_ready"], true, "{what}: {r}");
    let servers = r["servers_heard"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{what}: servers heard {servers:?}");
    let mut line = format!("{what}:");
    for c in r["cameras"].as_array().unwrap() {
        let locked = c["locked_pct"].as_f64().unwrap_or(0.0);
        let a = &c["alignment"];
        line += &format!(
            " {} ready frame {} locked {locked}% p50 {} p99 {} max {} µs (line {} ns), {} packets;",
            c["camera"].as_str().unwrap(),
            c["ready_frame"],
            a["p50_us"],
            a["p99_us"],
            a["max_us"],
            c["line_ns"],
            c["packets_read"]
        );
        assert!(
            locked >= 90.0,
            "{what}: {} locked {locked}%: {c}",
            c["camera"]
        );
    }
    line
}

#[test]
fn loopback_rig_of_three_processes() {
    let port = common::port(0).to_string();
    let demo = |role: &str, duration: &str| {
        let mut c = Command::new(camsync());
        c.args([
            "demo",
            "--role",
            role,
            "--port",
            &port,
            "--duration",
            duration,
        ])
        .args(["--interface", "127.0.0.1", "--json", "--no-plot"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if role == "client" {
            c.args(["--clients", "2"]);
        }
        c
    };
    let server = demo("server", SERVER_S).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let a = demo("client", CLIENT_S).spawn().unwrap();
    let b = demo("client", CLIENT_S)
        .args(["--seed", "2"])
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let s = json(&server.wait_with_output().unwrap(), "server");
    assert_eq!(s["cameras"][0]["role"], "server");
    assert!(s["cameras"][0]["ready_frame"].is_number(), "{s}");
    eprintln!(
        "{}",
        check_clients(&json(&a, "client A"), "loopback client A")
    );
    eprintln!(
        "{}",
        check_clients(&json(&b, "client B"), "loopback client B")
    );
}

fn skip(why: &str) {
    common::skip("netns_rig", why);
}

/// Build the namespaces, run the rig, take the link down and up; prints
/// one `NAME=value` per line (JSON on one line each), then cleans up.
const SCRIPT: &str = r#"
set -eu
h=${NS}h s=${NS}s a=${NS}a b=${NS}b
cleanup() { for n in $h $s $a $b; do ip netns del $n 2>/dev/null || true; done; }
trap cleanup EXIT
for n in $h $s $a $b; do ip netns add $n; ip -n $n link set lo up; done
ip -n $h link add br0 type bridge
# No IGMP querier here: flood multicast to every port.
ip -n $h link set br0 type bridge mcast_snooping 0
ip -n $h link set br0 up
i=1
for n in $s $a $b; do
    ip link add v-$n type veth peer name p-$n
    ip link set v-$n netns $n
    ip link set p-$n netns $h
    ip -n $n link set v-$n name rig0
    ip -n $n addr add 10.98.0.$i/24 dev rig0
    ip -n $n link set rig0 up
    ip -n $h link set p-$n master br0
    ip -n $h link set p-$n up
    i=$((i+1))
done
if [ "$NETEM" = 1 ]; then
    # Towards client A: a LAN; towards client B: a bad one.
    tc -n $h qdisc add dev p-$a root netem delay 2ms 1ms loss 5%
    tc -n $h qdisc add dev p-$b root netem delay 20ms 10ms loss 20% duplicate 10% reorder 25% 50%
    echo "NETEM_A=delay 2ms 1ms loss 5%"
    echo "NETEM_B=delay 20ms 10ms loss 20% duplicate 10% reorder 25% 50%"
fi
demo() { ns=$1 addr=$2; shift 2; ip netns exec $ns "$CAMSYNC" demo --interface $addr --port 10000 --json --no-plot "$@"; }
demo $s 10.98.0.1 --role server --duration $SERVER_S > "$WORK/s.json" 2> "$WORK/s.err" &
sp=$!
sleep 0.3
demo $a 10.98.0.2 --role client --clients 2 --duration $CLIENT_S > "$WORK/a.json" 2> "$WORK/a.err" &
ap=$!
demo $b 10.98.0.3 --role client --clients 2 --duration $CLIENT_S --seed 2 > "$WORK/b.json" 2> "$WORK/b.err" &
bp=$!
ip netns exec $b "$CAMSYNC" monitor --interface 10.98.0.3 --duration 26 --json > "$WORK/m.json" 2> "$WORK/m.err" &
mp=$!
sleep 14
echo "DOWN_AT=$(date +%s.%N)"
ip -n $a link set rig0 down
sleep 3
ip -n $a link set rig0 up
echo "UP_AT=$(date +%s.%N)"
rc=0
for p in $sp $ap $bp $mp; do wait $p || rc=$((rc+1)); done
for f in s a b; do echo "JSON_$f=$(cat "$WORK/$f.json")"; echo "ERR_$f=$(tr '\n' ' ' < "$WORK/$f.err")"; done
echo "MONITOR=$(tail -n 1 "$WORK/m.json")"
echo "FAILED=$rc"
"#;

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether `tc` can add a netem qdisc here (needs the sch_netem module):
/// tried on a veth in a throwaway namespace.
fn netem_works(ns: &str) -> Result<(), String> {
    let o = Command::new("sh")
        .args([
            "-c",
            "set -e; ip netns add $N; trap 'ip netns del $N' EXIT; \
             ip -n $N link add t0 type veth peer name t1; \
             tc -n $N qdisc add dev t0 root netem delay 1ms",
        ])
        .env("N", format!("{ns}p"))
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
    }
}

#[test]
fn namespace_rig_with_netem_and_a_link_going_down() {
    if !root() {
        return skip("not running as root");
    }
    if !Command::new("tc")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip("tc (iproute2) is not installed");
    }
    let ns = format!("cs{}", std::process::id());
    let probe = Command::new("ip")
        .args(["netns", "add", &format!("{ns}x")])
        .output();
    match probe {
        Ok(o) if o.status.success() => {
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("{ns}x")])
                .status();
        }
        Ok(o) => {
            return skip(&format!(
                "ip netns add is refused: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Err(e) => return skip(&format!("ip is not installed: {e}")),
    }
    let netem = match netem_works(&ns) {
        Ok(()) => true,
        Err(why) => {
            skip(&format!(
                "tc netem is unavailable (kernel module sch_netem): {why}; the namespaces run \
                 without delay, jitter, loss, duplication or reordering"
            ));
            false
        }
    };
    let work = std::env::temp_dir().join(format!("camsync-rig-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let o = Command::new("sh")
        .args(["-c", SCRIPT])
        .env("NS", &ns)
        .env("WORK", &work)
        .env("CAMSYNC", camsync())
        .env("NETEM", if netem { "1" } else { "0" })
        .env("SERVER_S", SERVER_S)
        .env("CLIENT_S", CLIENT_S)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&work);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "namespace script failed:\n{out}\n{err}");
    let get = |k: &str| -> &str {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in:\n{out}\n{err}"))
    };
    assert_eq!(get("FAILED"), "0", "a process failed:\n{out}\n{err}");
    let parse = |k: &str| -> Value {
        serde_json::from_str(get(k)).unwrap_or_else(|e| panic!("{k}: {e}\n{out}\n{err}"))
    };
    if netem {
        eprintln!(
            "netem towards A: {}; towards B: {}",
            get("NETEM_A"),
            get("NETEM_B")
        );
    }
    let s = parse("JSON_s");
    assert!(s["cameras"][0]["ready_frame"].is_number(), "{s}");
    let (a, b) = (parse("JSON_a"), parse("JSON_b"));
    eprintln!("{}", check_clients(&a, "namespace client A"));
    eprintln!("{}", check_clients(&b, "namespace client B"));
    let m = parse("MONITOR");
    eprintln!("monitor in B's namespace: {m}");
    let servers = m["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{m}");
    assert!(servers[0]["packets"].as_u64().unwrap() > 10, "{m}");

    // Client A's link was down from DOWN_AT to UP_AT (Unix time).
    let down: f64 = get("DOWN_AT").parse().unwrap();
    let up: f64 = get("UP_AT").parse().unwrap();
    let t0 = a["started_unix_s"].as_f64().unwrap();
    let (down, up) = (down - t0, up - t0);
    for c in a["cameras"].as_array().unwrap() {
        let losses = c["lock_losses"].as_array().unwrap();
        eprintln!(
            "client A {}: link down {down:.2}-{up:.2} s; lock lost/found: {losses:?}",
            c["camera"]
        );
        for l in losses {
            let lost = l["lost_at_s"].as_f64().unwrap();
            let back = l["locked_at_s"].as_f64();
            assert!(back.is_some(), "{}: never locked again: {l}", c["camera"]);
            if lost <= up + 1.0 && back.unwrap() >= down {
                assert!(
                    l["packets"].as_u64().unwrap() <= 2 || back.unwrap() <= up,
                    "{}: locked again only after {} packets: {l}",
                    c["camera"],
                    l["packets"]
                );
            }
        }
    }
}
