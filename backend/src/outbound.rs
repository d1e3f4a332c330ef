//! Where Vigil's own requests may go. Webhooks, users' contact methods, notification
//! channels (their SMTP servers too) and scrape targets are addresses people type, so a
//! request to one must not become a way into the host Vigil runs on or its cloud metadata
//! service. Loopback, link-local (169.254.169.254 among them), unspecified, multicast and
//! broadcast addresses are refused unless `--outbound-allow` opens a range; private ranges
//! (RFC 1918, IPv6 unique-local) stay reachable, because real receivers live there.
//!
//! Names are resolved first and every address is checked, by the resolver the HTTP client
//! connects through (so a name that changes its answer between a check and the connection —
//! DNS rebinding — gains nothing), on every attempt and after every redirect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A range of addresses: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an address range such as 10.0.0.0/8"))?;
        let longest = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => longest,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= longest)
                .ok_or_else(|| format!("{text:?} has a prefix length over {longest}"))?,
        };
        Ok(IpRange { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An IPv4 address carried in IPv6 is that IPv4 address: mapped (`::ffff:127.0.0.1`),
/// NAT64 (`64:ff9b::a9fe:a9fe`) and 6to4 (`2002:7f00:1::`) all reach it.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4(s[6], s[7]);
    }
    if s[0] == 0x2002 {
        return v4(s[1], s[2]);
    }
    ip
}

/// Cloud metadata services outside the link-local range: AWS over IPv6 (inside the private
/// `fc00::/7`) and Alibaba Cloud (inside the shared `100.64.0.0/10`).
const METADATA_SERVICES: [IpAddr; 2] = [
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

/// What kind of address Vigil does not send to by default, if `ip` is one.
fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    let ip = canonical(ip);
    if METADATA_SERVICES.contains(&ip) {
        return Some("a cloud metadata service");
    }
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_link_local() {
                Some("a link-local address")
            } else if v4.is_unspecified() || v4.octets()[0] == 0 {
                Some("an unspecified address")
            } else if v4.is_multicast() {
                Some("a multicast address")
            } else if v4 == Ipv4Addr::BROADCAST {
                Some("the broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if v6.segments()[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else {
                None
            }
        }
    }
}

/// Why a host cannot be sent to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    /// The policy refuses its address (trying again will not help).
    #[error("refused: {0}")]
    Refused(String),
    /// Its name did not resolve (it may later).
    #[error("{0}")]
    Lookup(String),
}

/// The outbound policy: the default refusals, minus the ranges `--outbound-allow` opened.
#[derive(Clone, Debug, Default)]
pub struct Outbound {
    allowed: Arc<Vec<IpRange>>,
}

impl Outbound {
    pub fn allowing(ranges: Vec<IpRange>) -> Self {
        Outbound {
            allowed: Arc::new(ranges),
        }
    }

    /// `--outbound-allow`: ranges separated by commas (an empty text opens nothing).
    pub fn parse(text: &str) -> Result<Self, String> {
        let ranges = text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(IpRange::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Outbound::allowing(ranges))
    }

    pub fn allowed_ranges(&self) -> &[IpRange] {
        &self.allowed
    }

    /// Why Vigil will not send to `ip`, or `Ok` when it may.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        match forbidden_kind(ip) {
            Some(kind) if !self.allowed.iter().any(|range| range.contains(ip)) => Err(format!(
                "{ip} is {kind}; Vigil does not send to loopback, link-local, unspecified or \
                 multicast addresses unless --outbound-allow opens them"
            )),
            _ => Ok(()),
        }
    }

    /// Checks what a URL's host says by itself: an address is checked as it is, and
    /// `localhost` names are loopback. Other names are checked when they are resolved.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
            Some(url::Host::Domain(name)) => self.check_name(name),
            None => Err("the address has no host".to_owned()),
        }
    }

    /// `localhost` and its subdomains always mean this host (RFC 6761).
    pub fn check_name(&self, name: &str) -> Result<(), String> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") {
            return self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        Ok(())
    }

    /// Resolves `host` (a name or an address) and keeps the addresses Vigil may send to; an
    /// error names the refused ones when none is left.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Unreachable> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            self.check_ip(ip).map_err(Unreachable::Refused)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        self.check_name(host).map_err(Unreachable::Refused)?;
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Unreachable::Lookup(format!("cannot resolve {host}: {e}")))?
            .collect();
        self.permitted(host, found).map_err(Unreachable::Refused)
    }

    /// The addresses of `found` (what `host` resolved to) Vigil may send to.
    fn permitted(&self, host: &str, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, String> {
        let mut refusal = None;
        let permitted: Vec<SocketAddr> = found
            .into_iter()
            .filter(|address| match self.check_ip(address.ip()) {
                Ok(()) => true,
                Err(why) => {
                    refusal.get_or_insert(why);
                    false
                }
            })
            .collect();
        if permitted.is_empty() {
            return Err(match refusal {
                Some(why) => format!("{host} resolves to {why}"),
                None => format!("{host} has no address"),
            });
        }
        Ok(permitted)
    }

    /// An HTTP client that connects only where this policy allows: names through a resolver
    /// that drops refused addresses, and no proxy from the environment (a proxy would make
    /// the connection on our behalf, past the check). URLs naming an address directly must
    /// still pass [`check_url`](Self::check_url) before each request, and redirects must be
    /// checked by the caller's redirect policy.
    pub fn http_client(&self, builder: reqwest::ClientBuilder) -> reqwest::Client {
        // reqwest is built without a default TLS crypto provider; ring is the one Vigil uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        builder
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(self.clone())))
            .build()
            // Falling back to a default client would drop the checks: refuse to go on.
            .expect("the HTTP client for outbound requests could not be built")
    }

    /// A redirect policy that follows up to 10 redirects, each to a URL that passes
    /// [`check_url`](Self::check_url) (names are checked by the resolver as usual).
    pub fn redirect_policy(&self) -> reqwest::redirect::Policy {
        let outbound = self.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if let Err(why) = outbound.check_url(attempt.url()) {
                attempt.error(format!("redirected to a refused address: {why}"))
            } else {
                attempt.follow()
            }
        })
    }
}

/// An error with its causes (`error sending request: …: 127.0.0.1 is a loopback address…`):
/// reqwest's own text leaves out why a connection was refused.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The resolver of [`Outbound::http_client`].
struct GuardedResolver(Outbound);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let outbound = self.0.clone();
        Box::pin(async move {
            let addresses = outbound
                .resolve(name.as_str(), 0)
                .await
                .map_err(|why| -> Box<dyn std::error::Error + Send + Sync> { Box::new(why) })?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Loopback, for tests whose receivers listen on 127.0.0.1.
pub fn loopback() -> IpRange {
    IpRange {
        network: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
        prefix: 8,
    }
}

/// IPv6 loopback, for completeness with [`loopback`].
pub fn loopback_v6() -> IpRange {
    IpRange {
        network: IpAddr::V6(Ipv6Addr::LOCALHOST),
        prefix: 128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_link_local_unspecified_and_multicast_are_refused_by_default() {
        let policy = Outbound::default();
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert!(policy.check_ip(ip(refused)).is_err(), "{refused}");
        }
        for allowed in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "100.64.0.1",
            "8.8.8.8",
            "fd00::1",
            "2001:db8::1",
        ] {
            assert!(policy.check_ip(ip(allowed)).is_ok(), "{allowed}");
        }
    }

    #[test]
    fn outbound_allow_opens_only_its_ranges() {
        let policy = Outbound::parse("127.0.0.1/32, 169.254.0.0/16").unwrap();
        assert!(policy.check_ip(ip("127.0.0.1")).is_ok());
        assert!(policy.check_ip(ip("127.0.0.2")).is_err());
        assert!(policy.check_ip(ip("169.254.169.254")).is_ok());
        assert!(policy.check_ip(ip("::1")).is_err());
        assert!(Outbound::parse("10.0.0.0/33").is_err());
        assert!(Outbound::parse("nonsense").is_err());
        assert!(Outbound::parse("").unwrap().allowed_ranges().is_empty());
    }

    #[test]
    fn urls_naming_refused_hosts_are_refused_before_any_lookup() {
        let policy = Outbound::default();
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://[::1]/",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "http://2130706433/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(policy.check_url(&parsed).is_err(), "{url}");
        }
        let fine = reqwest::Url::parse("https://hooks.example.com/x").unwrap();
        assert!(policy.check_url(&fine).is_ok());
    }

    #[test]
    fn a_name_keeps_only_its_permitted_addresses() {
        let policy = Outbound::default();
        let address = |text: &str| SocketAddr::new(ip(text), 443);
        // A name answering a public and a metadata address (a rebinding attempt) is sent to
        // the public one only; one answering only refused addresses is refused.
        let kept = policy
            .permitted(
                "hooks.example",
                vec![address("169.254.169.254"), address("93.184.216.34")],
            )
            .unwrap();
        assert_eq!(kept, vec![address("93.184.216.34")]);
        let refused = policy
            .permitted("evil.example", vec![address("127.0.0.1"), address("::1")])
            .unwrap_err();
        assert!(
            refused.starts_with("evil.example resolves to 127.0.0.1 is a loopback address"),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn the_http_client_connects_through_the_checking_resolver() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        // The name is not checked here (as a name other than localhost would not be): the
        // client's resolver must refuse the address it finds.
        let url = format!("http://localhost:{port}/");
        let refused = Outbound::default()
            .http_client(reqwest::Client::builder())
            .get(&url)
            .send()
            .await
            .unwrap_err();
        assert!(
            describe(&refused).contains("loopback address"),
            "{}",
            describe(&refused)
        );
        let opened = Outbound::allowing(vec![loopback(), loopback_v6()]);
        let answer = opened
            .http_client(reqwest::Client::builder())
            .get(&url)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }
}
