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
    /// Show, renew or export the TLS certificate (made on first use).
    Cert {
        #[command(subcommand)]
        action: CertAction,
    },
}

#[derive(Subcommand)]
enum CertAction {
    /// Print the CA's SHA-256 fingerprint and the server certificate's names and expiry.
    Show(ServeArgs),
    /// Issue a new server certificate now (a running server picks it up at its next check).
    Renew(ServeArgs),
    /// Write the CA certificate to standard output.
    Export {
        /// pem, der (for `ca.crt`), or mobileconfig (iOS profile).
        #[arg(long, value_name = "FORMAT", default_value = "pem")]
        format: String,
        #[command(flatten)]
        args: ServeArgs,
    },
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
        Command::Cert { action } => match cert(action) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("kioku: error: {message}");
                ExitCode::from(2)
            }
        },
    }
}

fn cert(action: CertAction) -> Result<(), String> {
    use kioku::tls::{addrs, certs, profile};
    use std::io::Write;
    let args = match &action {
        CertAction::Show(args) | CertAction::Renew(args) | CertAction::Export { args, .. } => {
            args.clone()
        }
    };
    let config = Config::load_without_users(&args).map_err(|e| e.to_string())?;
    if config.tls_cert.is_some() {
        return Err("a user certificate is configured (--tls-cert); kioku makes no CA then".into());
    }
    let dir = certs::dir(&config.base);
    let sans = certs::wanted_sans(&config.tls_name, &addrs::current());
    let ca = |dir: &std::path::Path| -> Result<Vec<u8>, String> {
        certs::ensure_ca(dir)?;
        certs::ca_der(dir).ok_or_else(|| "the CA certificate cannot be read".to_string())
    };
    match action {
        CertAction::Show(_) => {
            let ca_der = ca(&dir)?;
            let leaf = match certs::leaf_info(&dir) {
                Some(info) if dir.join("server.pem").exists() => info,
                _ => certs::issue_leaf(&dir, &sans)?,
            };
            let expires = chrono::DateTime::from_timestamp(leaf.not_after, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            println!("folder:          {}", dir.display());
            println!("CA SHA-256:      {}", certs::fingerprint(&ca_der));
            println!("server names:    {}", leaf.sans.join(", "));
            println!("server expires:  {expires}");
            if leaf.sans != sans {
                println!("(the addresses changed: a running server re-issues the certificate at its next check)");
            }
        }
        CertAction::Renew(_) => {
            let leaf = certs::issue_leaf(&dir, &sans)?;
            println!(
                "issued a new server certificate for {}",
                leaf.sans.join(", ")
            );
        }
        CertAction::Export { format, .. } => {
            let der = ca(&dir)?;
            let bytes = match format.as_str() {
                "pem" => profile::pem(&der).into_bytes(),
                "der" => der,
                "mobileconfig" => profile::mobileconfig(&der).into_bytes(),
                other => {
                    return Err(format!(
                        "--format {other:?}: expected pem, der or mobileconfig"
                    ))
                }
            };
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| format!("cannot write: {e}"))?;
        }
    }
    Ok(())
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
    let tls = if config.tls {
        Some(kioku::tls::Tls::new(&config)?)
    } else {
        None
    };
    runtime.block_on(async move {
        let bind = |port: u16, what: &'static str| async move {
            let addr = std::net::SocketAddr::new(config.host, port);
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))
        };
        let plain = if config.http {
            let source = if std::env::var_os("SYNC_PORT").is_some() {
                "SYNC_HOST/SYNC_PORT"
            } else {
                "--host/--port"
            };
            Some(bind(config.port, source).await?)
        } else {
            None
        };
        let secure = if tls.is_some() {
            Some(bind(config.tls_port, "--tls-port/KIOKU_TLS_PORT").await?)
        } else {
            None
        };
        let mut urls = Vec::new();
        if let Some(l) = &plain {
            urls.push(format!(
                "http://{}/",
                l.local_addr().map_err(|e| e.to_string())?
            ));
        }
        if let Some(l) = &secure {
            urls.push(format!(
                "https://{}/",
                l.local_addr().map_err(|e| e.to_string())?
            ));
        }
        tracing::info!(
            base = %config.base.display(),
            users = users.len(),
            version = env!("CARGO_PKG_VERSION"),
            "kioku is listening; point Anki at {} (setup page at /)",
            urls.join(" or ")
        );
        // systemd (Type=notify): ready now that the listeners are bound.
        let notifier = kioku::notify::Notifier::from_env();
        notifier.ready(&format!("listening on {}", urls.join(" ")));
        let _watchdog = notifier.spawn_watchdog();
        let app = Arc::new(App {
            config,
            users: Arc::new(users),
            store,
            started: Instant::now(),
            tls,
        });
        let shutdown = async {
            shutdown_signal().await;
            notifier.stopping();
        };
        http::serve(app, plain, secure, shutdown).await;
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
