//! HTTP: the listeners (plain, HTTPS, the AnkiConnect API's own port),
//! connection handling with graceful shutdown, routing (`routes`), the sync
//! protocol's encodings (`encoding`), error → status mapping (`error`), the
//! per-request log line (`log`), who a request comes from (`peer`) and the
//! setup page (`setup`).
//!
//! This layer frames and unframes; the meaning of each request lives in
//! [`crate::sync`], [`crate::media`], [`crate::api`] and [`crate::web`].

pub mod encoding;
pub mod error;
pub mod log;
pub mod peer;
pub mod routes;
pub mod setup;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::store::Store;
use crate::users::Users;

/// Everything a request handler needs, shared by all connections.
pub struct App {
    pub config: Config,
    /// The users (reloadable; see [`App::users`]), login protection, last syncs.
    pub accounts: Arc<crate::users::Accounts>,
    /// Admin sessions and form tokens.
    pub web: crate::web::Web,
    pub store: Store,
    pub started: Instant,
    /// The HTTPS side, when it is on.
    pub tls: Option<Arc<crate::tls::Tls>>,
    /// The AnkiConnect API's state (keys, downloader).
    pub api: crate::api::Api,
    /// Discovery on the LAN (mDNS); `mdns.status()` is what is advertised.
    pub mdns: Arc<crate::mdns::Mdns>,
}

impl App {
    /// The current users: a snapshot, cheap to take; a reload (users file
    /// changed, `kioku user …`, the admin page) swaps in a new one.
    pub fn users(&self) -> Arc<Users> {
        self.accounts.users()
    }

    /// The largest collection a full upload may carry, and above which `meta`
    /// only offers full syncs: 3 × the payload limit, as the official server.
    pub fn collection_limit(&self) -> u64 {
        self.config.payload_limit().saturating_mul(3)
    }

    /// How long a normal sync may sit idle before it is rolled back.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.config.sync_session_timeout_secs)
    }
}

/// Serves plain HTTP on `plain`, HTTPS on `tls` and the AnkiConnect API
/// on `ankiconnect` (each optional) until
/// `shutdown` resolves, then stops accepting, lets in-flight requests finish
/// for up to the configured grace period, and closes the collections.
pub async fn serve(
    app: Arc<App>,
    plain: Option<TcpListener>,
    tls: Option<TcpListener>,
    ankiconnect: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    let mut tasks = vec![tokio::spawn({
        let app = app.clone();
        async move {
            let timeout = app.session_timeout();
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                crate::sync::session::expire_idle(&app.store, timeout).await;
            }
        }
    })];
    if app.config.backups.enabled {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            crate::backup::daily::run(&app.store, app.config.backups).await
        }));
    }
    // The users file: changes by other processes are picked up within 2 s
    // (`kioku user …` also asks over the control socket at once).
    tasks.push(tokio::spawn({
        let accounts = app.accounts.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                let accounts = accounts.clone();
                let _ = tokio::task::spawn_blocking(move || accounts.refresh()).await;
            }
        }
    }));
    let acceptor = match (&tls, &app.tls) {
        (Some(_), Some(t)) => {
            let checked = t.clone();
            tasks.push(tokio::spawn(async move {
                let t = checked;
                let mut tick = tokio::time::interval(Duration::from_secs(t.check_secs()));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let t = t.clone();
                    let _ = tokio::task::spawn_blocking(move || t.check()).await;
                }
            }));
            Some(tokio_rustls::TlsAcceptor::from(t.server_config()))
        }
        _ => None,
    };
    loop {
        tokio::select! {
            accepted = accept(plain.as_ref()) => {
                let Some((stream, peer)) = accepted else { continue };
                let conn = connection(app.clone(), stream, peer, false, false);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            accepted = accept(ankiconnect.as_ref()) => {
                let Some((stream, peer)) = accepted else { continue };
                let conn = graceful.watch(connection(app.clone(), stream, peer, false, true));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "AnkiConnect connection ended with an error");
                    }
                });
            }
            accepted = accept(tls.as_ref()) => {
                let Some((stream, peer)) = accepted else { continue };
                let acceptor = acceptor.clone().expect("a TLS listener has an acceptor");
                let watcher = graceful.watcher();
                let app = app.clone();
                tokio::spawn(async move {
                    let Some(stream) = crate::tls::handshake(&acceptor, stream, peer).await else {
                        return;
                    };
                    if let Err(e) = watcher.watch(connection(app, stream, peer, true, false)).await {
                        tracing::debug!(%peer, error = %e, "TLS connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(plain);
    drop(tls);
    drop(ankiconnect);
    let grace = Duration::from_secs(app.config.shutdown_grace_secs);
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: finishing in-flight requests"
    );
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections finished"),
        _ = tokio::time::sleep(grace) => tracing::warn!("grace period over; closing remaining connections"),
    }
    for task in tasks {
        task.abort();
    }
    app.store.close_all().await;
}

/// The next connection on `listener`; pends forever without one. `None`
/// after an accept error (e.g. out of file descriptors), after a pause.
async fn accept(listener: Option<&TcpListener>) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    match listener.accept().await {
        Ok(pair) => Some(pair),
        Err(e) => {
            tracing::warn!(error = %e, "accepting a connection failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// The TCP peer of the connection a request arrived on, stored in each
/// request's extensions (`req.extensions().get::<ClientAddr>()`). It is the
/// direct peer: a reverse proxy's address when kioku sits behind one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Whether the connection a request arrived on is the HTTPS listener's
/// (in each request's extensions; see [`peer::is_https`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTls(pub bool);

/// One HTTP/1.1 connection over `io` from `peer`, served by [`routes::handle`]
/// (or, on the AnkiConnect API's own port, by [`crate::api::http::handle`]).
fn connection<I>(
    app: Arc<App>,
    io: I,
    peer: SocketAddr,
    tls: bool,
    api_only: bool,
) -> impl hyper_util::server::graceful::GracefulConnection<Error = hyper::Error> + Send + 'static
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ClientAddr(peer));
        req.extensions_mut().insert(OverTls(tls));
        let app = app.clone();
        async move {
            Ok::<_, std::convert::Infallible>(if api_only {
                crate::api::http::handle(app, req).await
            } else {
                routes::handle(app, req).await
            })
        }
    });
    http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(io), service)
}
