//! Built-in TLS: rustls (ring) with TLS 1.2 and 1.3 only, a certificate
//! resolver whose certificate can be swapped while serving, and the periodic
//! check that re-issues (or, for a user's certificate, reloads) it.

pub mod addrs;
pub mod certs;
pub mod profile;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use crate::config::Config;

/// Where the served certificate comes from.
#[derive(Debug, Clone)]
enum Source {
    /// Made here, signed by this device's CA, for this host name.
    Generated { dir: PathBuf, name: String },
    /// The user's files (e.g. from an ACME client); reloaded when they change.
    User { cert: PathBuf, key: PathBuf },
}

/// What the setup page and `kioku cert show` tell about the certificate.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// The root CA as DER (generated certificates only).
    pub ca_der: Option<Vec<u8>>,
    /// SANs and expiry of the served certificate (generated ones only).
    pub leaf: Option<certs::LeafInfo>,
}

/// Hands rustls the current certificate; swapped by [`Tls::check`].
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().expect("not poisoned").clone())
    }
}

/// The TLS side of the server.
pub struct Tls {
    source: Source,
    resolver: Arc<Resolver>,
    status: RwLock<Arc<Status>>,
    /// Modification times of the files last loaded (cert, key).
    loaded: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
    config: Arc<ServerConfig>,
    check_secs: u64,
    /// The `.local` names discovery uses now (see `crate::mdns`), covered
    /// beside the configured name; e.g. `kioku-2.local` after a conflict.
    mdns_names: RwLock<Vec<String>>,
    /// One check at a time: two would interleave the files they write.
    checking: Mutex<()>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn mtime(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn certified(material: certs::Material) -> Result<CertifiedKey, String> {
    let key = provider()
        .key_provider
        .load_private_key(material.key)
        .map_err(|e| format!("unusable private key: {e}"))?;
    let ck = CertifiedKey::new(material.chain, key);
    ck.keys_match()
        .map_err(|e| format!("certificate and key do not match: {e}"))?;
    Ok(ck)
}

impl Tls {
    /// Prepares the certificate (making the CA and server certificate on
    /// first start) and the rustls configuration.
    pub fn new(config: &Config) -> Result<Arc<Tls>, String> {
        let source = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Source::User {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => Source::Generated {
                dir: certs::dir(&config.base),
                name: config.tls_name.clone(),
            },
        };
        if let Source::Generated { dir, name } = &source {
            let wanted = certs::wanted_sans(name, &addrs::current());
            let fresh = certs::leaf_info(dir)
                .filter(|info| info.sans == wanted && !certs::needs_renewal(info.not_after));
            if fresh.is_none()
                || !dir.join("server.pem").exists()
                || !dir.join("server.key").exists()
            {
                certs::issue_leaf(dir, &wanted)?;
            }
        }
        let (cert_path, key_path) = Self::paths(&source);
        let loaded = (mtime(&cert_path), mtime(&key_path));
        let ck = certified(certs::load(&cert_path, &key_path)?)?;
        let resolver = Arc::new(Resolver(RwLock::new(Arc::new(ck))));
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tls = Tls {
            source,
            resolver,
            status: RwLock::new(Arc::new(Status::default())),
            loaded: Mutex::new(loaded),
            config: Arc::new(server),
            check_secs: config.tls_check_secs,
            mdns_names: RwLock::new(Vec::new()),
            checking: Mutex::new(()),
        };
        tls.refresh_status();
        Ok(Arc::new(tls))
    }

    fn paths(source: &Source) -> (PathBuf, PathBuf) {
        match source {
            Source::Generated { dir, .. } => (dir.join("server.pem"), dir.join("server.key")),
            Source::User { cert, key } => (cert.clone(), key.clone()),
        }
    }

    fn refresh_status(&self) {
        let status = match &self.source {
            Source::Generated { dir, .. } => Status {
                ca_der: certs::ca_der(dir),
                leaf: certs::leaf_info(dir),
            },
            Source::User { .. } => Status::default(),
        };
        *self.status.write().expect("not poisoned") = Arc::new(status);
    }

    /// The rustls configuration (its certificate follows [`Tls::check`]).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// Seconds between [`Tls::check`]s.
    pub fn check_secs(&self) -> u64 {
        self.check_secs
    }

    pub fn status(&self) -> Arc<Status> {
        self.status.read().expect("not poisoned").clone()
    }

    /// Whether the certificate is kioku's own (with a CA to install).
    pub fn generated(&self) -> bool {
        matches!(self.source, Source::Generated { .. })
    }

    /// Sets the `.local` names discovery answers to, and re-issues the
    /// generated certificate at once if they are new to it (blocking).
    pub fn set_mdns_names(&self, names: Vec<String>) {
        {
            let mut current = self.mdns_names.write().expect("not poisoned");
            if *current == names {
                return;
            }
            *current = names;
        }
        if self.generated() {
            self.check();
        }
    }

    /// Re-issues the generated certificate when the addresses changed or it
    /// expires soon, and loads the certificate files again when they changed
    /// on disk (a user's renewal, or `kioku cert renew`). Errors are logged;
    /// the current certificate stays in use.
    pub fn check(&self) {
        let _one = self.checking.lock().expect("not poisoned");
        if let Source::Generated { dir, name } = &self.source {
            let extra = self.mdns_names.read().expect("not poisoned").clone();
            let wanted = certs::with_names(certs::wanted_sans(name, &addrs::current()), &extra);
            let reason = match certs::leaf_info(dir) {
                None => Some("no record of the current certificate".to_owned()),
                Some(info) if info.sans != wanted => Some(format!(
                    "the names and addresses changed (now {})",
                    wanted.join(", ")
                )),
                Some(info) if certs::needs_renewal(info.not_after) => {
                    Some("it expires soon".to_owned())
                }
                Some(_) => None,
            };
            if let Some(reason) = reason {
                tracing::info!("re-issuing the server certificate: {reason}");
                if let Err(e) = certs::issue_leaf(dir, &wanted) {
                    tracing::error!(error = %e, "cannot re-issue the server certificate");
                    return;
                }
            }
        }
        let (cert_path, key_path) = Self::paths(&self.source);
        let now = (mtime(&cert_path), mtime(&key_path));
        let mut loaded = self.loaded.lock().expect("not poisoned");
        if *loaded == now {
            return;
        }
        match certs::load(&cert_path, &key_path).and_then(certified) {
            Ok(ck) => {
                *self.resolver.0.write().expect("not poisoned") = Arc::new(ck);
                *loaded = now;
                self.refresh_status();
                tracing::info!(cert = %cert_path.display(), "now serving the new certificate");
            }
            Err(e) => {
                // Perhaps half-written; try again at the next check.
                tracing::warn!(cert = %cert_path.display(), error = %e, "cannot load the changed certificate; keeping the current one");
            }
        }
    }
}

/// Completes the TLS handshake on a new connection (10 s at most). A failed
/// handshake, or a plain-HTTP request on the TLS port (answered with a 400
/// naming the https URL), gives a log line and `None`.
pub async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    use tokio::io::AsyncWriteExt;
    let timeout = std::time::Duration::from_secs(10);
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        Ok(_) | Err(_) => {
            tracing::debug!(%peer, "TLS port: connection closed or idle before a handshake");
            return None;
        }
    }
    if first[0] != 0x16 {
        // Not a TLS handshake record: most likely http:// on the TLS port.
        tracing::warn!(%peer, "plain HTTP (not TLS) on the TLS port; answered 400, use https://");
        let mut stream = stream;
        let body = "This port speaks HTTPS: use https:// in the URL.\n";
        let reply = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(timeout, stream.write_all(reply.as_bytes())).await;
        let _ = stream.shutdown().await;
        return None;
    }
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::warn!(%peer, "TLS handshake timed out");
            None
        }
    }
}
