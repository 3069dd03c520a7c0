//! Who a request comes from, and whether it came over HTTPS.
//!
//! The client address is the TCP peer ([`super::ClientAddr`]), or — only when
//! `SYNC_IP_HEADER` names a header, i.e. kioku sits behind a trusted reverse
//! proxy — the address that header carries (for `X-Forwarded-For`, its
//! rightmost entry: the one the proxy itself saw). A request without that
//! header (or with an unreadable one) falls back to the TCP peer. The same
//! proxy setting lets `X-Forwarded-Proto: https` mark a request as HTTPS.

use std::net::IpAddr;

use hyper::HeaderMap;

use super::{ClientAddr, OverTls};
use crate::config::{IpHeader, IpHeaderForm};

/// The client address of a request, as login protection and logs see it.
pub fn client_ip<B>(req: &hyper::Request<B>, header: Option<&IpHeader>) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ClientAddr>()
        .map(|a| a.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    header
        .and_then(|h| from_header(req.headers(), h))
        .unwrap_or(peer)
}

/// Whether the request came over HTTPS (directly, or to a trusted proxy).
pub fn is_https<B>(req: &hyper::Request<B>, header: Option<&IpHeader>) -> bool {
    if req.extensions().get::<OverTls>().is_some_and(|t| t.0) {
        return true;
    }
    header.is_some()
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn from_header(headers: &HeaderMap, h: &IpHeader) -> Option<IpAddr> {
    // Several header lines count as one comma-separated list, in order.
    let joined: Vec<&str> = headers
        .get_all(h.name.as_str())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = joined.join(",");
    match h.form {
        IpHeaderForm::Rightmost => parse_addr(joined.rsplit(',').next()?),
        IpHeaderForm::Forwarded => {
            let last = joined.rsplit(',').next()?;
            let value = last.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v)
            })?;
            parse_addr(value.trim().trim_matches('"'))
        }
    }
}

/// An address, possibly with a port (`192.0.2.1:443`, `[2001:db8::1]:443`).
fn parse_addr(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    if let Ok(ip) = raw.parse() {
        return Some(ip);
    }
    if let Some(rest) = raw.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = raw.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], tls: bool) -> hyper::Request<()> {
        let mut b = hyper::Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut r = b.body(()).unwrap();
        r.extensions_mut()
            .insert(ClientAddr("10.0.0.1:5555".parse().unwrap()));
        r.extensions_mut().insert(OverTls(tls));
        r
    }

    fn header(raw: &str) -> Option<IpHeader> {
        IpHeader::parse(raw).unwrap()
    }

    #[test]
    fn without_a_configured_header_the_tcp_peer_counts_whatever_the_client_sends() {
        let r = req(&[("x-forwarded-for", "203.0.113.5")], false);
        assert_eq!(client_ip(&r, None).to_string(), "10.0.0.1");
        assert!(!is_https(
            &req(&[("x-forwarded-proto", "https")], false),
            None
        ));
    }

    #[test]
    fn x_forwarded_for_gives_its_rightmost_entry() {
        let h = header("X-Forwarded-For");
        let r = req(
            &[
                ("x-forwarded-for", "198.51.100.1, 203.0.113.5"),
                ("x-forwarded-for", "192.0.2.9"),
            ],
            false,
        );
        assert_eq!(client_ip(&r, h.as_ref()).to_string(), "192.0.2.9");
        let r = req(&[("x-forwarded-for", "garbage")], false);
        assert_eq!(client_ip(&r, h.as_ref()).to_string(), "10.0.0.1");
        let r = req(&[], false);
        assert_eq!(client_ip(&r, h.as_ref()).to_string(), "10.0.0.1");
    }

    #[test]
    fn forwarded_and_ports_are_understood() {
        let h = header("RightmostForwarded");
        let r = req(
            &[(
                "forwarded",
                "for=198.51.100.1, for=\"[2001:db8::7]:4711\";proto=https",
            )],
            false,
        );
        assert_eq!(client_ip(&r, h.as_ref()).to_string(), "2001:db8::7");
        let h = header("CloudFrontViewerAddress");
        let r = req(&[("cloudfront-viewer-address", "192.0.2.3:46532")], false);
        assert_eq!(client_ip(&r, h.as_ref()).to_string(), "192.0.2.3");
    }

    #[test]
    fn https_is_the_tls_listener_or_a_trusted_proxys_x_forwarded_proto() {
        assert!(is_https(&req(&[], true), None));
        let h = header("XRealIp");
        assert!(is_https(
            &req(&[("x-forwarded-proto", "https")], false),
            h.as_ref()
        ));
        assert!(!is_https(
            &req(&[("x-forwarded-proto", "http")], false),
            h.as_ref()
        ));
    }
}
