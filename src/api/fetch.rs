//! Downloads for `storeMediaFile {url}` (KOReader sends Forvo audio URLs):
//! http and https only, bounded in size and time, and never to a private,
//! loopback, link-local or otherwise non-public address unless allowed by
//! `--ankiconnect-fetch-private`. The host name is resolved here and every
//! address it resolves to is checked before connecting to one of those
//! same addresses (so a second lookup cannot swap in another); each
//! redirect (at most 5) is checked the same way.
//!
//! https uses rustls with the Mozilla root store compiled in
//! (`webpki-roots`): the board may run a static binary on a system with no
//! CA bundle, and kioku must not depend on one; the price is that new roots
//! arrive with a kioku update.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::AnkiConnectConfig;

const MAX_REDIRECTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("{url} download failed with return code {status}")]
    Status { url: String, status: u16 },
    #[error("{0} download failed: {1}")]
    Failed(String, String),
    #[error("{url} download is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url} download took longer than {secs} s")]
    Timeout { url: String, secs: u64 },
}

pub struct Fetcher {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
    max_bytes: u64,
    allow_private: bool,
}

/// True for addresses a download must not reach by default: loopback,
/// private, link-local, shared (CGNAT), unspecified, multicast, broadcast,
/// documentation, benchmarking and reserved ranges, and IPv6 forms that
/// embed such an IPv4 address.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_non_public(v4),
        IpAddr::V6(v6) => v6_non_public(v6),
    }
}

fn v4_non_public(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (18..20).contains(&o[1]))
        || o[0] >= 240
}

fn v6_non_public(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_non_public(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0..6] == [0; 6]) // IPv4-compatible
        || (s[0] == 0x64 && s[1] == 0xff9b && v4_non_public(embedded(s[6], s[7]))) // NAT64
        || (s[0] == 0x2002 && v4_non_public(embedded(s[1], s[2]))) // 6to4
}

/// The target of a redirect `location` seen at `base`.
pub fn resolve_location(base: &Uri, location: &str) -> Result<Uri, String> {
    if let Ok(uri) = location.parse::<Uri>() {
        if uri.scheme().is_some() {
            return Ok(uri);
        }
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or("");
    let target = if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    target
        .parse::<Uri>()
        .map_err(|e| format!("bad redirect location {location:?}: {e}"))
}

impl Fetcher {
    pub fn new(config: &AnkiConnectConfig) -> Fetcher {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Fetcher {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            timeout: Duration::from_secs(config.fetch_timeout_secs),
            max_bytes: config.max_media_bytes(),
            allow_private: config.fetch_private,
        }
    }

    /// Downloads `url`, handing each piece of the body to `sink` in order.
    /// Returns the body's size.
    pub async fn download(
        &self,
        url: &str,
        sink: &mut (dyn FnMut(&[u8]) -> std::io::Result<()> + Send),
    ) -> Result<u64, FetchError> {
        match tokio::time::timeout(self.timeout, self.follow(url, sink)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_owned(),
                secs: self.timeout.as_secs(),
            }),
        }
    }

    async fn follow(
        &self,
        url: &str,
        sink: &mut (dyn FnMut(&[u8]) -> std::io::Result<()> + Send),
    ) -> Result<u64, FetchError> {
        let failed = |why: String| FetchError::Failed(url.to_owned(), why);
        let mut uri: Uri = url
            .parse()
            .map_err(|e| failed(format!("not a valid URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            let response = self.get(&uri).await.map_err(failed)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| failed(format!("redirect ({status}) without a location")))?;
                uri = resolve_location(&uri, location).map_err(failed)?;
                continue;
            }
            if status != hyper::StatusCode::OK {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: status.as_u16(),
                });
            }
            let mut body = response.into_body();
            let mut total = 0u64;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| failed(e.to_string()))?;
                if let Ok(data) = frame.into_data() {
                    total += data.len() as u64;
                    if total > self.max_bytes {
                        return Err(FetchError::TooLarge {
                            url: url.to_owned(),
                            limit: self.max_bytes,
                        });
                    }
                    sink(&data).map_err(|e| failed(e.to_string()))?;
                }
            }
            return Ok(total);
        }
        Err(failed(format!("more than {MAX_REDIRECTS} redirects")))
    }

    /// The addresses `host` may be reached at, all checked.
    async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| format!("cannot resolve {bare}: {e}"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("{bare} has no address"));
        }
        if !self.allow_private {
            if let Some(bad) = addrs.iter().find(|a| is_non_public(a.ip())) {
                return Err(format!(
                    "kioku refuses to download from {bare} ({}): a private, loopback or \
                     link-local address (allow with --ankiconnect-fetch-private)",
                    bad.ip()
                ));
            }
        }
        Ok(addrs)
    }

    async fn get(&self, uri: &Uri) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err("only http and https URLs can be downloaded".into()),
        };
        let authority = uri.authority().ok_or("the URL has no host")?;
        if authority.as_str().contains('@') {
            return Err("URLs with a user name or password are not downloaded".into());
        }
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs = self.addresses(host, port).await?;
        let mut last = String::new();
        let mut stream = None;
        for addr in &addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        let stream = stream.ok_or(last)?;
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, authority.as_str())
            .header(
                hyper::header::USER_AGENT,
                concat!("kioku/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::ACCEPT, "*/*")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            )
            .map_err(|e| format!("bad host name: {e}"))?;
            let tls = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            send(TokioIo::new(tls), request).await
        } else {
            send(TokioIo::new(stream), request).await
        }
    }
}

async fn send<I>(
    io: I,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "download connection ended with an error");
        }
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_non_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "::7f00:1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn redirects_resolve_like_a_browser() {
        let base: Uri = "https://example.org/a/b.mp3?x=1".parse().unwrap();
        let r = |loc| resolve_location(&base, loc).unwrap().to_string();
        assert_eq!(r("http://other.test/c"), "http://other.test/c");
        assert_eq!(r("/c.ogg"), "https://example.org/c.ogg");
        assert_eq!(r("c.ogg"), "https://example.org/a/c.ogg");
        assert_eq!(r("//cdn.test/x"), "https://cdn.test/x");
    }
}
