//! The `kioku` command line: argument handling, the start-up of `serve`,
//! and the small `kioku cert` and `kioku apikey` commands. `kioku user`,
//! `kioku status` and `kioku config` live in `kioku::cli` (which also loads
//! the settings of every command but `serve`), `kioku backup` in
//! `kioku::backup::cli`.

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
use kioku::users::Accounts;

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
    /// List the snapshots of collections, or restore one (see the README's Backups section).
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Make, list or revoke AnkiConnect API keys (each key opens one user's collection).
    Apikey {
        #[command(subcommand)]
        action: ApikeyAction,
    },
    /// Add, list, remove users, change passwords (works while the server runs).
    User {
        #[command(subcommand)]
        action: kioku::cli::users::UserAction,
    },
    /// Show the running server's listeners, users, sizes, last syncs and
    /// certificate (or, when none runs, what the data folder tells).
    Status(kioku::cli::status::StatusArgs),
    /// Check the settings as `serve` reads them (without starting anything).
    Config {
        #[command(subcommand)]
        action: kioku::cli::settings::ConfigAction,
    },
}

#[derive(Subcommand)]
enum BackupAction {
    /// List snapshots, newest first: user, name, kind, time (UTC) and size.
    List {
        /// Only this user's snapshots.
        #[arg(value_name = "USER")]
        name: Option<String>,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Make SNAPSHOT USER's collection (through the running `kioku serve`, if
    /// any). The current collection is kept as a snapshot; every device then full-syncs.
    Restore {
        /// The user whose collection is replaced.
        #[arg(value_name = "USER")]
        name: String,
        /// A snapshot name as `kioku backup list` shows it.
        #[arg(value_name = "SNAPSHOT")]
        snapshot: String,
        #[command(flatten)]
        args: ServeArgs,
    },
}

#[derive(Subcommand)]
enum ApikeyAction {
    /// Make a key for USER and print it; it is shown only this once.
    Create {
        /// The user whose collection the key opens.
        #[arg(value_name = "USER")]
        name: String,
        /// What the key is for, shown by `list` (e.g. "yomitan laptop").
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// List the keys: id, user, creation time, label (never the keys themselves).
    List(ServeArgs),
    /// Revoke the key with this id; a running server refuses it from the next request on.
    Revoke {
        #[arg(value_name = "ID")]
        id: String,
        #[command(flatten)]
        args: ServeArgs,
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
        Command::Serve(args) => exit(serve(args)),
        Command::Cert { action } => exit(cert(action)),
        Command::Backup { action } => exit(backup(action).map(|text| print!("{text}"))),
        Command::Apikey { action } => exit(apikey(action)),
        Command::User { action } => exit(kioku::cli::users::run(action)),
        Command::Status(args) => exit(kioku::cli::status::run(args)),
        Command::Config { action } => exit(kioku::cli::settings::run(action)),
    }
}

/// Exit code 0, or the message on stderr and exit code 2.
fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kioku: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn backup(action: BackupAction) -> Result<String, String> {
    use kioku::backup::cli;
    match action {
        BackupAction::List { name, args } => {
            let config = kioku::cli::load(&args)?;
            cli::list_text(&config.base, name.as_deref())
        }
        BackupAction::Restore {
            name,
            snapshot,
            args,
        } => {
            let config = kioku::cli::load(&args)?;
            init_logging(&config.log)?;
            cli::restore_cli(&config, &name, &snapshot)
        }
    }
}

fn apikey(action: ApikeyAction) -> Result<(), String> {
    use kioku::users::apikeys;
    let args = match &action {
        ApikeyAction::Create { args, .. } | ApikeyAction::Revoke { args, .. } => args,
        ApikeyAction::List(args) => args,
    };
    let config = kioku::cli::load(args)?;
    let base = &config.base;
    match &action {
        ApikeyAction::Create { name, label, .. } => {
            if !config.users.is_empty() && !config.users.iter().any(|u| &u.name == name) {
                eprintln!(
                    "kioku: warning: {name:?} is not a configured user; the key works once the user exists"
                );
            }
            let (key, entry) =
                apikeys::create(base, name, label.as_deref()).map_err(|e| e.to_string())?;
            println!("{key}");
            eprintln!(
                "API key {} for user {:?} made; it is shown only this once. Use it as the \
                 AnkiConnect API key (Yomitan: Anki settings → API key).",
                entry.id, entry.user
            );
        }
        ApikeyAction::List(_) => {
            let keys = apikeys::list(base).map_err(|e| e.to_string())?;
            if keys.is_empty() {
                eprintln!("no API keys (make one with `kioku apikey create USER`)");
            }
            for k in keys {
                let created = kioku::web::html::utc_minute(k.created);
                println!(
                    "{}  {:<20}  {}  {}",
                    k.id,
                    k.user,
                    created,
                    k.label.unwrap_or_default()
                );
            }
        }
        ApikeyAction::Revoke { id, .. } => {
            let entry = apikeys::revoke(base, id).map_err(|e| e.to_string())?;
            println!("revoked API key {} of user {:?}", entry.id, entry.user);
        }
    }
    Ok(())
}

fn cert(action: CertAction) -> Result<(), String> {
    use kioku::tls::{addrs, certs, profile};
    use std::io::Write;
    let args = match &action {
        CertAction::Show(args) | CertAction::Renew(args) | CertAction::Export { args, .. } => {
            args.clone()
        }
    };
    let config = kioku::cli::load(&args)?;
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
            let expires = kioku::web::html::utc_minute(leaf.not_after);
            println!("folder:          {}", dir.display());
            println!("CA SHA-256:      {}", certs::fingerprint(&ca_der));
            println!("server names:    {}", leaf.sans.join(", "));
            println!("server expires:  {expires}");
            if !certs::fits(&leaf.sans, &sans) {
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
    // Held while serving: `kioku backup restore` refuses to run meanwhile.
    let lock = kioku::store::BaseLock::shared(&config.base);
    if let Err(e @ kioku::store::LockError::Busy { .. }) = &lock {
        return Err(format!(
            "{e}: a `kioku backup restore` is running on this data folder; start again when it has finished"
        ));
    }
    let store = Store::open(&config.base, &config.base_source).map_err(|e| e.to_string())?;
    let _lock = lock.map_err(|e| e.to_string())?;
    match kioku::backup::clean_leftovers(store.base()) {
        Ok(0) => {}
        Ok(removed) => tracing::info!(
            removed,
            "removed unfinished snapshots of an interrupted run"
        ),
        Err(e) => tracing::warn!(error = %e, "could not clean the backups folders"),
    }
    let accounts = Arc::new(Accounts::open(&config).map_err(|e| e.to_string())?);
    let control = kioku::control::bind(store.base())?;
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
        let api_listener = if config.ankiconnect.enabled {
            let addr =
                std::net::SocketAddr::new(config.ankiconnect.host, config.ankiconnect.port);
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::info!(
                        "AnkiConnect API on http://{}/ and under /ankiconnect",
                        listener.local_addr().map_err(|e| e.to_string())?
                    );
                    Some(listener)
                }
                Err(e) if !config.ankiconnect.port_configured => {
                    // e.g. Anki desktop with AnkiConnect on the same machine
                    tracing::warn!(
                        "cannot listen on {addr} for the AnkiConnect API ({e}); it is served \
                         under /ankiconnect only (choose a port with --ankiconnect-port)"
                    );
                    None
                }
                Err(e) => {
                    return Err(format!(
                        "cannot listen on {addr} (AnkiConnect API, --ankiconnect-port/KIOKU_ANKICONNECT_PORT): {e}"
                    ))
                }
            }
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
            users = accounts.users().len(),
            version = env!("CARGO_PKG_VERSION"),
            "kioku is listening; point Anki at {} (setup page at /)",
            urls.join(" or ")
        );
        let api = kioku::api::Api::new(&config);
        if accounts.users().is_empty() {
            tracing::warn!(
                "no user yet: open {} in a browser to create the first account \
                 (or run `kioku user add NAME`)",
                urls.join(" or ")
            );
        }
        let port = |l: &Option<tokio::net::TcpListener>| {
            l.as_ref()
                .and_then(|l| l.local_addr().ok())
                .map(|a| a.port())
        };
        let ports = kioku::mdns::plan::Ports {
            http: port(&plain),
            https: port(&secure),
        };
        let mdns = kioku::mdns::Mdns::start(&config, ports, tls.clone());
        // systemd (Type=notify): ready now that the listeners are bound.
        let notifier = kioku::notify::Notifier::from_env();
        notifier.ready(&format!("listening on {}", urls.join(" ")));
        let _watchdog = notifier.spawn_watchdog();
        let app = Arc::new(App {
            api,
            config,
            accounts,
            web: kioku::web::Web::default(),
            store,
            started: Instant::now(),
            tls,
            mdns: mdns.clone(),
        });
        // The control socket; its file is removed when `control` drops.
        let control_task = match control.as_ref().map(|b| b.listener()).transpose() {
            Ok(listener) => listener.map(|listener| {
                let (app, urls) = (app.clone(), Arc::new(urls.clone()));
                tokio::spawn(kioku::control::serve(app, listener, urls))
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot serve the control socket");
                None
            }
        };
        let withdraw = mdns.clone();
        let shutdown = async move {
            shutdown_signal().await;
            notifier.stopping();
            // Goodbyes first, so clients stop picking this server.
            withdraw.withdraw();
        };
        http::serve(app, plain, secure, api_listener, shutdown).await;
        if let Some(task) = control_task {
            task.abort();
            let _ = task.await;
        }
        drop(control);
        let _ = tokio::task::spawn_blocking(move || mdns.stop()).await;
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
