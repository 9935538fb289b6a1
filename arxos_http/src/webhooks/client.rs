//! The outbound HTTP client: no redirects, a timeout, and no private, loopback or link-local
//! destinations (checked on the addresses DNS returns, so a name cannot smuggle one in) unless
//! the configuration allows their network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is one outbound webhooks must not reach by default.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || (o[0] == 192 && o[1] == 0 && o[2] == 2) // 192.0.2.0/24, documentation
                || (o[0] == 198 && o[1] == 51 && o[2] == 100) // 198.51.100.0/24, documentation
                || (o[0] == 203 && o[1] == 0 && o[2] == 113) // 203.0.113.0/24, documentation
                || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 192.88.99.0/24, 6to4 relays (deprecated)
                || o[0] >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            // Addresses that carry an IPv4 address are judged by it: IPv4-mapped
            // (::ffff:a.b.c.d), the NAT64 well-known prefix (64:ff9b::/96) and 6to4
            // (2002::/16). (The IPv4-compatible ::a.b.c.d is refused with the rest of ::/8.)
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::from(
                    (u32::from(hi) << 16) | u32::from(lo),
                ))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_internal(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_internal(embedded(s[1], s[2]));
            }
            let first = s[0];
            // The rest of ::/8 is reserved: the deprecated IPv4-compatible form (::a.b.c.d),
            // loopback, unspecified, and the IPv4-translated ::ffff:0:a.b.c.d (RFC 2765, which
            // SIIT translators route; found by a review).
            (first & 0xff00) == 0
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // 64:ff9b:1::/48, local NAT64
                || (s[0] == 0x2001 && s[1] == 0) // 2001::/32, Teredo tunnels
                || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32, documentation
                || (s[0] == 0x3fff && (s[1] & 0xf000) == 0) // 3fff::/20, documentation (RFC 9637)
                || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) // 2001:2::/48, benchmarking
                || (s[..4] == [0x100, 0, 0, 0]) // 100::/64, discard-only
        }
    }
}

/// The destination policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub allowed: Vec<IpNet>,
}

impl Policy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address on the wire: an
        // allowed IPv4 network allows it too, as it is judged by it when not allowed.
        !is_internal(ip)
            || self
                .allowed
                .iter()
                .any(|net| net.contains(&ip) || net.contains(&ip.to_canonical()))
    }
}

/// Resolves names with the system resolver and keeps only permitted addresses.
struct GuardedResolver {
    policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                let reason: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    format!("{host} does not resolve").into()
                } else {
                    format!("{host} resolves only to addresses that are not public (private, loopback, link-local, multicast or reserved: refused)").into()
                };
                return Err(reason);
            }
            let addrs: Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

pub fn build(policy: Arc<Policy>, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // No proxy from HTTP_PROXY/HTTPS_PROXY: through a proxy only the proxy's own address
        // would pass the resolver's check, and the destination none.
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("arxos-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .pool_max_idle_per_host(64)
        .build()
}

/// Refuses a URL whose host is an address literal the policy does not permit (names are
/// checked by the resolver).
pub fn check_url(policy: &Policy, url: &reqwest::Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err("the URL has no host".to_owned()),
    };
    if policy.permits(ip) {
        Ok(())
    } else {
        Err(format!(
            "{ip} is not a public address (private, loopback, link-local, multicast or reserved: refused)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:c0a8:0101::1",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "198.18.0.1",
            "192.0.2.2",
            "198.51.100.1",
            "203.0.113.1",
            "192.88.99.1",
            "::ffff:192.0.2.2",
            "2001:2::1",
            "100::1",
            // IPv4-translated (RFC 2765) and the rest of ::/8; the IPv6 documentation
            // prefix of RFC 9637 (found by a review)
            "::ffff:0:127.0.0.1",
            "::ffff:0:192.0.2.2",
            "::ffff:0:0:192.0.2.2",
            "::8.8.8.8",
            "ff::1",
            "3fff::1",
            "3fff:fff::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "192.0.3.1",
            "203.0.114.1",
            "2001:3::1",
            "100:0:0:1::1",
            "3fff:1000::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn allow_list_opens_networks() {
        let policy = Policy {
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert!(policy.permits("127.0.0.1".parse().unwrap()));
        assert!(policy.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!policy.permits("::ffff:10.0.0.1".parse().unwrap()));
        assert!(
            !policy.permits("64:ff9b::7f00:1".parse().unwrap()),
            "NAT64 stays refused"
        );
        assert!(!policy.permits("10.0.0.1".parse().unwrap()));
        let url = reqwest::Url::parse("http://10.0.0.1/x").unwrap();
        assert!(check_url(&policy, &url).is_err());
        let url = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
        assert!(check_url(&policy, &url).is_ok());
    }
}
