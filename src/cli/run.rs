//! Wires the exporter together: config → poller → snapshot → HTTP, plus
//! signals (SIGTERM/SIGINT stop, SIGHUP reloads) and the state file.
//!
//! Stop sequence (SIGTERM or SIGINT): the listener stops accepting and the
//! poll round is cancelled at once, in parallel; when both are done the
//! state saver makes its final save (it is the file's only writer) and the
//! process exits, within a few seconds whatever WeChat is doing.

use crate::cli::RunFlags;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::expose::http::{self, ReloadFn};
use crate::poll::poller::Poller;
use crate::self_metrics::SelfMetrics;
use std::path::PathBuf;
use std::sync::Arc;
use tracing::{error, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error("{0}")]
    Other(String),
}

impl RunError {
    /// 2 for anything the user must fix in config or flags, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Config(_) | RunError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Loads the config and keeps only this replica's shard of apps.
pub fn load_config(path: &std::path::Path, flags: &RunFlags) -> Result<Config, ConfigError> {
    let mut cfg = Config::load(path)?;
    crate::poll::shard::retain_shard(&mut cfg.apps, flags.shard, flags.total_shards);
    Ok(cfg)
}

/// The poller of this replica: with `shard`/`total_shards` labels on its
/// `wechat_exporter_apps` and `poll_duration_seconds` when sharded. Shared
/// with the shard tests so that they exercise what `run` builds.
pub fn new_poller(
    config: &Config,
    clock: Clock,
    metrics: Arc<SelfMetrics>,
    flags: &RunFlags,
) -> Arc<Poller> {
    let labels = if flags.total_shards > 1 {
        vec![
            ("shard".into(), flags.shard.to_string()),
            ("total_shards".into(), flags.total_shards.to_string()),
        ]
    } else {
        Vec::new()
    };
    Poller::with_labels(config, clock, metrics, labels)
}

/// Longest wait for the final state save at shutdown (300 apps, 32 MB:
/// under a second on a normal disk).
const FINAL_SAVE_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn run(flags: RunFlags) -> Result<(), RunError> {
    check_flags(&flags)?;
    let clock = Clock::system();
    let metrics = Arc::new(SelfMetrics::new());
    // Registered before the first snapshot is rendered.
    let web_metrics = Arc::new(crate::web::server::WebMetrics::new());
    for c in web_metrics.collectors() {
        metrics.register(c);
    }
    metrics.set_process_metrics(!flags.disable_exporter_metrics);
    // The demo simulator must outlive the poller: keep its handle here.
    let (config, _demo, config_path) = startup_config(&flags, &clock).await?;
    metrics.config_loaded(true);
    // Platform mode: component credentials, authorizer tokens, discovery.
    let platform = crate::poll::discovery::PlatformRunner::new(
        clock.clone(),
        metrics.clone(),
        flags.storage_path.clone(),
        flags.shard,
        flags.total_shards,
    );
    platform.prepare(&config);
    let poller = new_poller(&config, clock, metrics.clone(), &flags);
    poller.set_component(platform.component());
    let storage = restore_state(&flags, &poller, &metrics);
    info!(apps = config.apps.len(), interval = %humantime::format_duration(config.poll.interval), "starting poller");

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let wake = Arc::new(tokio::sync::Notify::new());
    let poll_task = tokio::spawn(poller.clone().run(shutdown_rx.clone(), wake.clone()));
    if config.platform.is_some() || config_path.is_some() {
        tokio::spawn(
            platform
                .clone()
                .run(poller.clone(), wake.clone(), shutdown_rx.clone()),
        );
    }
    let reload =
        config_path.map(|path| reload_fn(path, &flags, &poller, &metrics, &wake, &platform));
    #[cfg(unix)]
    if let Some(r) = reload.clone() {
        tokio::spawn(reload_on_sighup(r));
    }
    // Told to stop only after the poller stopped, so that the final save
    // holds everything the poller got.
    let (save_stop_tx, save_stop_rx) = tokio::sync::watch::channel(false);
    let saver = storage.map(|s| {
        tokio::spawn(s.save_periodically(
            poller.clone(),
            crate::poll::storage::SAVE_EVERY,
            save_stop_rx,
        ))
    });

    let app = http::router(http::AppState {
        reload,
        scrape_slots: http::scrape_slots(flags.max_requests),
        ..poller.handlers(&flags.telemetry_path)
    });
    let listeners = bind_listeners(&flags).await?;
    let opts = serve_options(&flags, web_metrics, &poller);
    let tx = shutdown_tx.clone();
    let stop = async move {
        shutdown_signal().await;
        // The round is cancelled while the server drains, not after.
        let _ = tx.send(true);
    };
    let served = crate::web::server::serve_listeners(listeners, app, opts, stop).await;
    let _ = shutdown_tx.send(true);
    let _ = poll_task.await;
    let _ = save_stop_tx.send(true);
    if let Some(saver) = saver {
        final_save(saver).await;
    }
    info!("stopped");
    served.map_err(|e| RunError::Other(e.to_string()))
}

/// How the web side serves: the web config file, its metrics, and a fresh
/// snapshot when a changed web config is refused (scrapes read the
/// snapshot, which shows it).
fn serve_options(
    flags: &RunFlags,
    web_metrics: Arc<crate::web::server::WebMetrics>,
    poller: &Arc<Poller>,
) -> crate::web::server::ServeOptions {
    let poller = poller.clone();
    crate::web::server::ServeOptions {
        web_config_file: flags.web_config_file.clone(),
        metrics: Some(web_metrics),
        on_reload: Some(Arc::new(move || poller.publish(true))),
        ..Default::default()
    }
}

/// Flags that no config could make right: refused before anything starts.
fn check_flags(flags: &RunFlags) -> Result<(), RunError> {
    if flags.total_shards == 0 || flags.shard >= flags.total_shards {
        return Err(RunError::Usage(format!(
            "--shard {} must be below --total-shards {}",
            flags.shard, flags.total_shards
        )));
    }
    if !flags.telemetry_path.starts_with('/') || flags.telemetry_path.len() < 2 {
        return Err(RunError::Usage(
            "--web.telemetry-path must start with / and not be /".into(),
        ));
    }
    if let Some(path) = &flags.web_config_file {
        crate::web::config::check_web_config(path)
            .map_err(|e| RunError::Usage(format!("--web.config.file: {e}")))?;
    }
    Ok(())
}

/// The config to start with: the file, or (without one) the demo on the
/// built-in simulator, whose server is returned to be kept alive.
async fn startup_config(
    flags: &RunFlags,
    clock: &Clock,
) -> Result<(Config, Option<crate::simulator::SimServer>, Option<PathBuf>), RunError> {
    match (&flags.config_file, flags.demo) {
        (Some(path), false) => Ok((load_config(path, flags)?, None, Some(path.clone()))),
        (Some(_), true) => Err(RunError::Usage(
            "--demo and --config.file exclude each other".into(),
        )),
        (None, _) => {
            info!(
                "no --config.file given: running the built-in WeChat simulator with two demo apps"
            );
            let started = if flags.demo_platform {
                crate::cli::demo::start_platform(clock.clone()).await
            } else {
                crate::cli::demo::start(clock.clone()).await
            };
            let (server, cfg) = started
                .map_err(|e| RunError::Other(format!("cannot start the demo simulator: {e}")))?;
            info!(url = %server.url(), "demo simulator listening");
            Ok((cfg, Some(server), None))
        }
    }
}

/// `--storage.path`: the saved state restored into the poller, and the
/// storage that keeps saving it.
fn restore_state(
    flags: &RunFlags,
    poller: &Arc<Poller>,
    metrics: &SelfMetrics,
) -> Option<crate::poll::storage::Storage> {
    let s = crate::poll::storage::Storage::new(flags.storage_path.clone()?);
    metrics.enable_state_metrics();
    match s.load() {
        Ok(Some(saved)) => {
            let n = poller.restore(saved);
            info!(apps = n, path = %s.path().display(), "restored state");
        }
        Ok(None) => {}
        Err(e) => warn!(error = %e, "ignoring state file"),
    }
    Some(s)
}

/// What `/-/reload` and SIGHUP do: load the file again; keep running the
/// old config when the new one is refused.
fn reload_fn(
    path: PathBuf,
    flags: &RunFlags,
    poller: &Arc<Poller>,
    metrics: &Arc<SelfMetrics>,
    wake: &Arc<tokio::sync::Notify>,
    platform: &Arc<crate::poll::discovery::PlatformRunner>,
) -> ReloadFn {
    let (poller, metrics, wake, flags, platform) = (
        poller.clone(),
        metrics.clone(),
        wake.clone(),
        flags.clone(),
        platform.clone(),
    );
    Arc::new(move || match load_config(&path, &flags) {
        Ok(cfg) => {
            platform.prepare(&cfg);
            poller.set_component(platform.component());
            // Recorded first: apply_config publishes the snapshot.
            metrics.config_loaded(true);
            poller.apply_config(&cfg);
            wake.notify_one();
            info!(apps = cfg.apps.len(), "configuration reloaded");
            Ok(())
        }
        Err(e) => {
            metrics.config_loaded(false);
            // Scrapes read the snapshot: render it now, not at the
            // next round (up to poll.interval away).
            poller.publish(true);
            error!(error = %e, "configuration reload refused; keeping the running configuration");
            Err(e.to_string())
        }
    })
}

#[cfg(unix)]
async fn reload_on_sighup(reload: ReloadFn) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        let _ = reload();
    }
}

/// The sockets to serve: passed by systemd, or bound from
/// `--web.listen-address` (each one, `:PORT` dual-stack).
async fn bind_listeners(flags: &RunFlags) -> Result<Vec<tokio::net::TcpListener>, RunError> {
    let listeners = if flags.systemd_socket {
        crate::web::listen::systemd_listeners().map_err(|e| RunError::Usage(e.to_string()))?
    } else {
        let mut ls = Vec::new();
        for addr in &flags.listen_address {
            match crate::web::listen::bind_listen_address(addr).await {
                Ok(l) => ls.push(l),
                Err(e) => {
                    return Err(RunError::Listen {
                        addr: addr.clone(),
                        reason: std::error::Error::source(&e)
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| e.to_string()),
                    });
                }
            }
        }
        ls
    };
    for l in &listeners {
        info!(address = %l.local_addr().map(|a| a.to_string()).unwrap_or_default(), "listening");
    }
    Ok(listeners)
}

/// The saver's final save, bounded: a hung disk must not outlast the
/// orchestrator's grace period (the previous file stays whole: saves are
/// atomic).
async fn final_save(saver: tokio::task::JoinHandle<()>) {
    if tokio::time::timeout(FINAL_SAVE_BUDGET, saver)
        .await
        .is_err()
    {
        error!(
            budget = %humantime::format_duration(FINAL_SAVE_BUDGET),
            "final save of the state file did not finish in time; the previous file is kept"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    info!("shutting down");
}
