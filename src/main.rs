//! The `kioku` command line. Only argument handling and start-up live here.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use kioku::config::{Config, ServeArgs};
use kioku::http::{self, App};
use kioku::store::Store;
use kioku::users::Users;

/// `kioku --version`: the version, the git commit it was built from and the
/// target it was built for (see build.rs).
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KIOKU_GIT_COMMIT"),
    ", target ",
    env!("KIOKU_TARGET"),
    ")"
);

/// kioku (記憶): a self-hosted Anki sync server.
#[derive(Parser)]
#[command(name = "kioku", version = LONG_VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sync server. Point Anki at http://<this machine>:<port>/.
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match serve(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("kioku: error: {message}");
                ExitCode::from(2)
            }
        },
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let config = Config::load(&args).map_err(|e| e.to_string())?;
    init_logging(&config.log)?;
    let users = Users::new(&config.users, config.passwords_hashed).map_err(|e| e.to_string())?;
    let store = Store::open(&config.base, &config.base_source).map_err(|e| e.to_string())?;
    // Before serving: settle media batches a crash interrupted.
    kioku::media::reconcile_all(store.base());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let addr = std::net::SocketAddr::new(config.host, config.port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            let source = if std::env::var_os("SYNC_PORT").is_some() {
                "SYNC_HOST/SYNC_PORT"
            } else {
                "--host/--port"
            };
            format!("cannot listen on {addr} ({source}): {e}")
        })?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(
            addr = %local,
            base = %config.base.display(),
            users = users.len(),
            version = env!("CARGO_PKG_VERSION"),
            "kioku is listening; point Anki at http://{local}/"
        );
        let app = Arc::new(App {
            config,
            users: Arc::new(users),
            store,
            started: Instant::now(),
        });
        http::serve(app, listener, shutdown_signal()).await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}

fn init_logging(filter: &str) -> Result<(), String> {
    let targets: tracing_subscriber::filter::Targets = filter
        .parse()
        .map_err(|e| format!("log filter {filter:?} (--log/KIOKU_LOG/RUST_LOG): {e}"))?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(std::io::stdout().is_terminal()),
        )
        .with(targets)
        .try_init()
        .map_err(|e| format!("cannot set up logging: {e}"))
}
