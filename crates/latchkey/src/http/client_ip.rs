//! Which client a request comes from: its address, and the key per-client
//! limits count it under.
//!
//! Behind a load balancer every request arrives from the balancer's address.
//! When the peer is a configured trusted proxy, the client is the right-most
//! `X-Forwarded-For` address that is not itself trusted: proxies append, so
//! everything left of that was written by the client and proves nothing. An
//! untrusted peer's header is ignored. IPv6 clients are keyed by their /64,
//! the smallest block a customer line is given, so one host cannot rotate
//! through its 2^64 addresses to escape a limit.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The key to count `peer`'s request under.
    pub fn client_key(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        key(self.client(peer, headers))
    }

    /// The client's own address, to show to a person.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Right to left without collecting: this runs on every request.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.rsplit(','));
        for hop in hops {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                // Garbage from a trusted hop: the last trusted address it is.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// `::ffff:1.2.3.4` is 1.2.3.4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_their_own_key() {
        let p = proxies(&["10.0.0.0/8"]);
        let spoofed = xff(&["1.2.3.4"]);
        assert_eq!(p.client_key(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::default().client_key(ip("10.0.0.1"), &spoofed),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn trusted_peers_name_the_rightmost_untrusted_hop() {
        let p = proxies(&["10.0.0.0/8", "192.168.0.0/16"]);
        let h = xff(&["6.6.6.6, 198.51.100.7, 192.168.1.1"]);
        assert_eq!(p.client_key(ip("10.1.1.1"), &h), ip("198.51.100.7"));
        // Several header lines read as one list.
        let h = xff(&["6.6.6.6", "198.51.100.7"]);
        assert_eq!(p.client_key(ip("10.1.1.1"), &h), ip("198.51.100.7"));
        // No header: the proxy itself.
        assert_eq!(
            p.client_key(ip("10.1.1.1"), &HeaderMap::new()),
            ip("10.1.1.1")
        );
        // Only trusted hops: the left-most of them.
        let h = xff(&["192.168.3.3, 10.2.2.2"]);
        assert_eq!(p.client_key(ip("10.1.1.1"), &h), ip("192.168.3.3"));
        // Garbage stops the walk at the last trusted hop.
        let h = xff(&["198.51.100.7, junk"]);
        assert_eq!(p.client_key(ip("10.1.1.1"), &h), ip("10.1.1.1"));
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let p = TrustedProxies::default();
        let a = p.client_key(ip("2001:db8:1:2:aaaa::1"), &HeaderMap::new());
        let b = p.client_key(ip("2001:db8:1:2:bbbb::2"), &HeaderMap::new());
        let c = p.client_key(ip("2001:db8:1:3::1"), &HeaderMap::new());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            p.client_key(ip("::ffff:198.51.100.7"), &HeaderMap::new()),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_address_shown_to_people_is_whole() {
        let p = proxies(&["10.0.0.0/8"]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("2001:db8:1:2:3:4:5:6"),
        );
        assert_eq!(
            p.client(ip("10.0.0.1"), &headers),
            ip("2001:db8:1:2:3:4:5:6")
        );
        assert_eq!(p.client(ip("::1"), &headers), ip("::1"));
    }
}
