//! HTTP: the listener, connection handling with graceful shutdown, routing
//! (`routes`), the protocol's encodings (`encoding`), error → status mapping
//! (`error`) and the per-request log line (`log`).
//!
//! This layer frames and unframes; the meaning of each request lives in
//! [`crate::sync`].

pub mod encoding;
pub mod error;
pub mod log;
pub mod routes;

use std::future::Future;
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
    pub users: Arc<Users>,
    pub store: Store,
    pub started: Instant,
}

impl App {
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

/// Serves connections from `listener` until `shutdown` resolves, then stops
/// accepting, lets in-flight requests finish for up to the configured grace
/// period, and closes the collections.
pub async fn serve(app: Arc<App>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    let sweeper = {
        let app = app.clone();
        tokio::spawn(async move {
            let timeout = app.session_timeout();
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                crate::sync::session::expire_idle(&app.store, timeout).await;
            }
        })
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // E.g. out of file descriptors: back off, keep serving.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(routes::handle(app, req).await) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let grace = Duration::from_secs(app.config.shutdown_grace_secs);
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: finishing in-flight requests"
    );
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections finished"),
        _ = tokio::time::sleep(grace) => tracing::warn!("grace period over; closing remaining connections"),
    }
    sweeper.abort();
    app.store.close_all().await;
}
