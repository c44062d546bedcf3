//! The address block a connection comes from: the relay's only view of which identities may be
//! one operator. One task never has two workers of one block, so a single operator needs address
//! space in several blocks to place colluding workers on one task (docs/threat-model.md).
//!
//! An IPv4 address counts by its /24 and an IPv6 address by its /48 (what one site or home is
//! usually given). Loopback, unspecified, private and link-local addresses form no block: behind
//! a proxy the relay was not told to trust, or in a test on 127.0.0.1, every peer has the same
//! address, and grouping them would leave no task a second worker.

use std::net::IpAddr;

/// An address block ([module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetGroup([u8; 7]);

impl NetGroup {
    /// The block `ip` belongs to, or `None` for an address that says nothing about its operator.
    pub fn of(ip: IpAddr) -> Option<Self> {
        match ip {
            IpAddr::V4(v4) => {
                if v4.is_loopback() || v4.is_unspecified() || v4.is_private() || v4.is_link_local()
                {
                    return None;
                }
                let [a, b, c, _] = v4.octets();
                Some(Self([4, a, b, c, 0, 0, 0]))
            }
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return Self::of(IpAddr::V4(v4));
                }
                let unicast_local = (v6.segments()[0] & 0xfe00) == 0xfc00;
                let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
                if v6.is_loopback() || v6.is_unspecified() || unicast_local || link_local {
                    return None;
                }
                let o = v6.octets();
                Some(Self([6, o[0], o[1], o[2], o[3], o[4], o[5]]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(s: &str) -> Option<NetGroup> {
        NetGroup::of(s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])))
    }

    #[test]
    fn one_ipv4_slash_24_is_one_group() {
        assert_eq!(group("203.0.113.7"), group("203.0.113.250"));
        assert_ne!(group("203.0.113.7"), group("203.0.114.7"));
        assert!(group("203.0.113.7").is_some());
    }

    #[test]
    fn one_ipv6_slash_48_is_one_group_and_mapped_v4_counts_as_v4() {
        assert_eq!(group("2001:db8:1::1"), group("2001:db8:1:ffff::2"));
        assert_ne!(group("2001:db8:1::1"), group("2001:db8:2::1"));
        assert_eq!(group("::ffff:203.0.113.7"), group("203.0.113.9"));
        assert_ne!(group("2001:db8:1::1"), group("203.0.113.9"));
    }

    #[test]
    fn local_addresses_form_no_group() {
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "0.0.0.0",
            "10.1.2.3",
            "192.168.1.1",
            "169.254.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
        ] {
            assert_eq!(group(ip), None, "{ip}");
        }
    }
}
