// SPDX-License-Identifier: LGPL-2.1-or-later
//! Resolving the `interface` setting (a name such as `eth0`, or an IPv4
//! address) to the IPv4 address the multicast socket options take.

use std::net::Ipv4Addr;

use super::NetError;

/// The IPv4 address of `spec`: parsed if it is a dotted address, otherwise
/// looked up as an interface name (its first IPv4 address).
pub fn resolve_interface(spec: &str) -> Result<Ipv4Addr, NetError> {
    if let Ok(addr) = spec.parse::<Ipv4Addr>() {
        return Ok(addr);
    }
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| NetError::Interface {
        interface: spec.to_string(),
        reason: format!("cannot list interfaces: {e}"),
    })?;
    let mut found_name = false;
    for a in addrs {
        if a.interface_name != spec {
            continue;
        }
        found_name = true;
        if let Some(sin) = a.address.as_ref().and_then(|s| s.as_sockaddr_in()) {
            return Ok(sin.ip());
        }
    }
    Err(NetError::Interface {
        interface: spec.to_string(),
        reason: if found_name {
            "the interface has no IPv4 address".into()
        } else {
            "no such interface or IPv4 address".into()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_without_lookup() {
        assert_eq!(resolve_interface("127.0.0.1").unwrap(), Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn loopback_name_resolves() {
        assert_eq!(resolve_interface("lo").unwrap(), Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn unknown_names_are_an_error_naming_the_interface() {
        let e = resolve_interface("nosuchif0").unwrap_err();
        assert!(e.to_string().contains("nosuchif0"), "{e}");
    }
}
