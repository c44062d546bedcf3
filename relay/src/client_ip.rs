//! Which address a connection counts as, for the per-IP limits. Behind a reverse proxy every
//! visitor arrives from the proxy's address, so the relay reads `Forwarded` (RFC 7239) or
//! `X-Forwarded-For` — but only from peers the operator named with `--trusted-proxy`: from anyone
//! else those headers are whatever the client wrote, and believing them would let one client pose
//! as a thousand addresses.
//!
//! The chain is read from the right (each proxy appends the address it saw): the first address
//! that is not itself a trusted proxy is the client. An entry that does not parse ends the walk at
//! the proxy that wrote the rest, so a client's garbage never shields it.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// A handler's view of who connected: the socket's address, or behind a trusted proxy the
/// client it forwarded for ([`TrustedProxies::client_ip`]), with the socket's port.
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

impl FromRequestParts<crate::AppState> for ClientAddr {
    type Rejection = (axum::http::StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        // serve.rs puts the peer's address in every request; without it, no limit per address
        // could hold, so the request is refused as `ConnectInfo`'s own extractor refuses it.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .ok_or((
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the connection's address is missing",
            ))?;
        let ip = state.proxies.client_ip(peer.ip(), &parts.headers);
        Ok(Self(SocketAddr::new(ip, peer.port())))
    }
}

/// An address block, `10.0.0.0/8`, `::1/128`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let net: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an address or address/prefix"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0..={max}"))?
        };
        Ok(Self { net, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the block (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// The proxies whose forwarding headers the relay believes.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Trusts these blocks.
    pub fn new(blocks: Vec<Cidr>) -> Self {
        Self(blocks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The address `peer`'s connection counts as (module docs).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        let mut client = peer;
        for hop in chain.iter().rev() {
            let Some(ip) = hop else {
                return client;
            };
            client = canonical(*ip);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// The addresses a request passed, oldest first: from `Forwarded` if present, else from
/// `X-Forwarded-For`; `None` for an entry that does not parse. Every header line counts, in order.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    };
    let forwarded = lines("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (k, v) = pair.trim().split_once('=')?;
                        k.eq_ignore_ascii_case("for").then_some(v)
                    })
                    .and_then(node_address)
            })
            .collect();
    }
    lines("x-forwarded-for")
        .iter()
        .flat_map(|line| line.split(','))
        .map(node_address)
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:4711"`, `::1`.
fn node_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn blocks_contain_what_they_should() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.200.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")), "mapped IPv4");
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/33".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:7fff::1")));
        assert!(!v6.contains(ip("2001:db8:8000::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted = TrustedProxies::new(vec!["127.0.0.1".parse().unwrap()]);
        let xff = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(trusted.client_ip(ip("127.0.0.1"), &xff), ip("203.0.113.7"));
        // Anyone else's header is ignored.
        assert_eq!(
            trusted.client_ip(ip("198.51.100.1"), &xff),
            ip("198.51.100.1")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), &xff),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_chain_is_read_from_the_right_past_trusted_hops_only() {
        let trusted = TrustedProxies::new(vec![
            "127.0.0.1".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]);
        // A client that wrote its own header: the address the first proxy saw wins.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.5")]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &spoofed),
            ip("203.0.113.7")
        );
        let garbage = headers(&[("x-forwarded-for", "not-an-ip, 203.0.113.8")]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &garbage),
            ip("203.0.113.8")
        );
        // Garbage written by a trusted hop ends the walk at that hop.
        let broken = headers(&[("x-forwarded-for", "203.0.113.9, bogus")]);
        assert_eq!(trusted.client_ip(ip("127.0.0.1"), &broken), ip("127.0.0.1"));
        // Several header lines are one list, in order.
        let lines = headers(&[
            ("x-forwarded-for", "203.0.113.10"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &lines),
            ip("203.0.113.10")
        );
    }

    #[test]
    fn forwarded_is_preferred_and_its_quoting_understood() {
        let trusted = TrustedProxies::new(vec!["127.0.0.1".parse().unwrap()]);
        let h = headers(&[
            (
                "forwarded",
                r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#,
            ),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &h),
            ip("2001:db8:cafe::17")
        );
        let port = headers(&[("forwarded", "for=192.0.2.61:8080")]);
        assert_eq!(trusted.client_ip(ip("127.0.0.1"), &port), ip("192.0.2.61"));
    }
}
