//! Where a notification may go (docs/contract/alerts.md, "Address rules"):
//! the defence against a destination that points the service at itself,
//! its network or a cloud's metadata endpoint. A destination's URL must be
//! `https`, a Slack one on `hooks.slack.com`, and every address its host
//! resolves to must be public, when it is created and again at every send
//! (the send then connects to the address checked, so a second lookup
//! cannot swap it). `ARKITER_ALERTS_ALLOW_PRIVATE=1` lifts these rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use futures_util::future::BoxFuture;

/// Why an address may not be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Loopback,
    Private,
    LinkLocal,
    SharedAddressSpace,
    Unspecified,
    Multicast,
    Broadcast,
}

impl Refused {
    pub fn words(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address (cloud metadata services live there)",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::Unspecified => "an unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
        }
    }
}

/// `Err` when `ip` is not a public unicast address.
pub fn classify(ip: IpAddr) -> Result<(), Refused> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Result<(), Refused> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Err(Refused::Loopback)
    } else if ip.is_private() {
        Err(Refused::Private)
    } else if ip.is_link_local() {
        // 169.254.0.0/16, with 169.254.169.254 (AWS, GCP, Azure metadata).
        Err(Refused::LinkLocal)
    } else if a == 100 && (64..128).contains(&b) {
        Err(Refused::SharedAddressSpace)
    } else if ip.is_unspecified() || a == 0 {
        Err(Refused::Unspecified)
    } else if ip.is_multicast() {
        Err(Refused::Multicast)
    } else if ip.is_broadcast() {
        Err(Refused::Broadcast)
    } else {
        Ok(())
    }
}

fn classify_v6(ip: Ipv6Addr) -> Result<(), Refused> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Err(Refused::Loopback)
    } else if ip.is_unspecified() {
        Err(Refused::Unspecified)
    } else if first & 0xfe00 == 0xfc00 {
        // fc00::/7, unique-local (fd00:ec2::254 is AWS's metadata address).
        Err(Refused::Private)
    } else if first & 0xffc0 == 0xfe80 {
        Err(Refused::LinkLocal)
    } else if ip.is_multicast() {
        Err(Refused::Multicast)
    } else {
        Ok(())
    }
}

/// The longest a name lookup may take.
const LOOKUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Looks a host name up: the system's resolver, or a test's.
pub type Resolver =
    Arc<dyn Fn(String, u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> + Send + Sync>;

/// The system's resolver.
pub fn system_resolver() -> Resolver {
    Arc::new(|host, port| {
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), port)).await?;
            Ok(found.collect())
        })
    })
}

/// Why a URL may not be a destination, in words for the API's 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfit(pub String);

/// What kind of destination a URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Slack,
}

/// The checks that need no lookup: a URL, `https`, and for Slack its host.
pub fn check_url(raw: &str, kind: Kind, allow_private: bool) -> Result<url::Url, Unfit> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| Unfit(format!("`url` is not a URL ({e})")))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    if host.is_empty() {
        return Err(Unfit("`url` names no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Unfit("`url` may not carry a user name or password".into()));
    }
    if allow_private {
        return match url.scheme() {
            "https" | "http" => Ok(url),
            other => Err(Unfit(format!("`url` must be https, not {other}"))),
        };
    }
    if url.scheme() != "https" {
        return Err(Unfit("`url` must be https".into()));
    }
    if kind == Kind::Slack && host != "hooks.slack.com" {
        return Err(Unfit(
            "a Slack destination must be a Slack incoming webhook (https://hooks.slack.com/...)"
                .into(),
        ));
    }
    Ok(url)
}

/// Where to connect for `url`: `None` when the rules are lifted (connect
/// as the URL says), else a public address its host resolves to, every
/// address it resolves to having been checked.
pub async fn resolve_public(
    url: &url::Url,
    resolver: &Resolver,
    allow_private: bool,
) -> Result<Option<SocketAddr>, Unfit> {
    if allow_private {
        return Ok(None);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(name)) => {
            match tokio::time::timeout(LOOKUP_LIMIT, resolver(name.to_owned(), port)).await {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => return Err(Unfit(format!("the host could not be resolved ({e})"))),
                Err(_) => return Err(Unfit("the host's name lookup took over 5 s".into())),
            }
        }
        None => Vec::new(),
    };
    let Some(first) = addrs.first().copied() else {
        return Err(Unfit("the host resolves to no address".into()));
    };
    for a in &addrs {
        if let Err(why) = classify(a.ip()) {
            return Err(Unfit(format!(
                "the host resolves to {}, which notifications may not be sent to",
                why.words()
            )));
        }
    }
    Ok(Some(first))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> Option<Refused> {
        classify(ip.parse().unwrap()).err()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for (ip, why) in [
            ("127.0.0.1", Refused::Loopback),
            ("127.255.0.9", Refused::Loopback),
            ("10.0.0.1", Refused::Private),
            ("10.255.255.255", Refused::Private),
            ("172.16.0.1", Refused::Private),
            ("172.31.255.254", Refused::Private),
            ("192.168.1.1", Refused::Private),
            ("169.254.0.1", Refused::LinkLocal),
            ("169.254.169.254", Refused::LinkLocal),
            ("100.64.0.1", Refused::SharedAddressSpace),
            ("100.127.255.255", Refused::SharedAddressSpace),
            ("0.0.0.0", Refused::Unspecified),
            ("255.255.255.255", Refused::Broadcast),
            ("224.0.0.1", Refused::Multicast),
            ("::1", Refused::Loopback),
            ("::", Refused::Unspecified),
            ("fc00::1", Refused::Private),
            ("fd00:ec2::254", Refused::Private),
            ("fe80::1", Refused::LinkLocal),
            ("febf::1", Refused::LinkLocal),
            ("::ffff:127.0.0.1", Refused::Loopback),
            ("::ffff:169.254.169.254", Refused::LinkLocal),
            ("ff02::1", Refused::Multicast),
        ] {
            assert_eq!(refused(ip), Some(why), "{ip}");
        }
    }

    #[test]
    fn public_addresses_and_the_edges_of_the_ranges_pass() {
        for ip in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "192.169.0.1",
            "11.0.0.1",
            "2606:4700::1111",
            "fec0::1",
        ] {
            assert_eq!(refused(ip), None, "{ip}");
        }
    }

    #[test]
    fn urls_must_be_https_and_slack_must_be_slack() {
        assert!(check_url("https://example.com/hook", Kind::Webhook, false).is_ok());
        assert!(check_url("http://example.com/hook", Kind::Webhook, false).is_err());
        assert!(check_url("ftp://example.com/hook", Kind::Webhook, true).is_err());
        assert!(check_url("https://u:p@example.com/", Kind::Webhook, false).is_err());
        assert!(check_url("https://hooks.slack.com/services/T/B/x", Kind::Slack, false).is_ok());
        assert!(check_url("https://example.com/services/T/B/x", Kind::Slack, false).is_err());
        // Lifted: any scheme of the web, any host.
        assert!(check_url("http://127.0.0.1:9/x", Kind::Slack, true).is_ok());
    }

    #[actix_rt::test]
    async fn a_name_resolving_to_any_private_address_is_refused() {
        let to = |ips: &'static [&'static str]| -> Resolver {
            Arc::new(move |_, port| {
                let addrs = ips
                    .iter()
                    .map(|ip| SocketAddr::new(ip.parse().unwrap(), port))
                    .collect();
                Box::pin(async move { Ok(addrs) })
            })
        };
        let url = url::Url::parse("https://receiver.example/hook").unwrap();
        let public = resolve_public(&url, &to(&["93.184.216.34"]), false).await;
        assert_eq!(public.unwrap().unwrap().to_string(), "93.184.216.34:443");
        assert!(
            resolve_public(&url, &to(&["93.184.216.34", "10.1.2.3"]), false)
                .await
                .is_err()
        );
        assert!(
            resolve_public(&url, &to(&["127.0.0.1"]), false)
                .await
                .is_err()
        );
        let literal = url::Url::parse("https://[::1]:8443/").unwrap();
        assert!(resolve_public(&literal, &to(&[]), false).await.is_err());
        assert_eq!(
            resolve_public(&url, &to(&["127.0.0.1"]), true)
                .await
                .unwrap(),
            None
        );
    }
}
