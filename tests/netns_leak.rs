// SPDX-License-Identifier: LGPL-2.1-or-later
//! Sync traffic never leaves the host: in a private network namespace whose
//! default route goes out through a veth, a server and a client configured
//! with `interface = 127.0.0.1` exchange their packets while tcpdump watches
//! the veth — and sees nothing. A control run without the interface setting
//! (safe: both veth ends are inside the private namespace) shows the capture
//! would have seen them.
//!
//! Needs root, `unshare -n`, `ip` and `tcpdump` (`.ci/run` installs tcpdump);
//! otherwise it is skipped with a message saying why.

mod common;

use std::process::Command;

fn skip(why: &str) {
    common::skip("netns_leak", why);
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

const SCRIPT: &str = r#"
set -eu
ip link add veth0 type veth peer name veth1
ip addr add 10.99.0.1/24 dev veth0
ip link set veth0 up
ip link set veth1 up
ip link set lo up
ip route add default via 10.99.0.2 dev veth0

capture() { # capture <pcap> <command...>: run the command while tcpdump listens on veth0
    pcap=$1; shift
    tcpdump -i veth0 -n -U --immediate-mode -w "$pcap" udp port "$PORT" 2>"$pcap.log" &
    td=$!
    i=0
    while ! grep -q "listening on" "$pcap.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
    set +e
    "$@"
    rc=$?
    set -e
    sleep 1
    kill -INT $td
    wait $td || true
    n=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
    # What the kernel's filter matched, captured or not.
    f=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter.*/\1/p' "$pcap.log")
    echo "RUN rc=$rc packets_on_veth=$n filter_matched=${f:-0}"
}

capture "$WORK/pinned.pcap" env LIBCAMERA_SYNC_INTERFACE=127.0.0.1 "$PROG" sync
capture "$WORK/control.pcap" env -u LIBCAMERA_SYNC_INTERFACE "$PROG" sync
"#;

#[test]
fn sync_traffic_pinned_to_loopback_never_reaches_the_default_route() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip("not running as root");
    }
    for (tool, arg) in [
        ("unshare", "--version"),
        ("ip", "-V"),
        ("tcpdump", "--version"),
    ] {
        if !have(tool, arg) {
            return skip(&format!("{tool} is not installed"));
        }
    }
    if !have("unshare", "-n")
        && !Command::new("unshare")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success())
    {
        return skip("unshare -n does not work here (no CAP_SYS_ADMIN?)");
    }
    let prog = common::api_test_program();
    let work = std::env::temp_dir().join(format!("camsync-netns-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let o = Command::new("unshare")
        .args(["-n", "sh", "-c", SCRIPT])
        .env("PROG", prog)
        .env("WORK", &work)
        .env("PORT", common::port(4).to_string())
        .env("LIBCAMERA_SYNC_PORT", common::port(4).to_string())
        .env("LIBCAMERA_SYNC_SYNC_PERIOD", "8")
        // The C program's scripted cameras check the reference's arithmetic.
        .env("LIBCAMERA_SYNC_PROFILE", "compat")
        .env("LIBCAMERA_LOG_LEVELS", "*:ERROR")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&work);
    if !o.status.success() && err.contains("Operation not permitted") {
        return skip(&format!("cannot set up the namespace: {err}"));
    }
    assert!(o.status.success(), "namespace script failed:\n{out}\n{err}");
    let runs: Vec<(i32, u64, u64)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("RUN "))
        .map(|l| {
            let mut f = l.split_whitespace().map(|kv| kv.split('=').nth(1).unwrap());
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(runs.len(), 2, "{out}\n{err}");
    eprintln!("pinned to 127.0.0.1: {:?}; control: {:?}", runs[0], runs[1]);
    assert_eq!(
        runs[0].0, 0,
        "the pinned server and client synced:\n{out}\n{err}"
    );
    assert_eq!(
        (runs[0].1, runs[0].2),
        (0, 0),
        "sync packets pinned to 127.0.0.1 appeared on the default-route veth"
    );
    assert!(
        runs[1].1 > 0,
        "control: without IP_MULTICAST_IF the packets go out of the veth, and tcpdump sees them \
         ({out})"
    );
}
