//! Serving: `serve` and `serve_listeners`, which check the options, load
//! the web config and run one accept loop per listener until shutdown.
//! With the modules named below, this is the HTTP(S) layer that serves an
//! axum `Router` on one or more listeners with the exporter-toolkit web
//! configuration (TLS with HTTP/2 by ALPN, basic auth, security headers,
//! rate limit) and with the connection limits an Internet-facing exporter
//! needs.
//!
//! `axum::serve` offers neither TLS nor per-connection timeouts, so this
//! module runs its own accept loops on hyper's connection drivers:
//!
//! * a semaphore caps concurrent connections; past the cap `accept` waits,
//!   leaving new clients in the kernel backlog rather than exhausting fds;
//! * one client address may hold at most `max_connections_per_client` of
//!   them (more are closed at once), so a single host cannot starve the
//!   scrapers; when more than half of the cap is in use, connections idle
//!   for `pressure_idle_timeout` are closed early;
//! * the TLS handshake and every request head must complete within
//!   `header_read_timeout` (slowloris); hyper restarts that timer while it
//!   waits for the next request on a kept-alive connection, so an idle
//!   connection lives at most `min(idle_timeout, header_read_timeout)`;
//! * request heads above `max_header_bytes` get 431, bodies above
//!   `max_body_bytes` get 413; `rate_limit` answers 429 past its burst;
//! * the web config file is polled every second (content of the file and
//!   of the certificate/key/CA files it references); a valid change takes
//!   effect at once for auth, headers and rate limit and for TLS on new
//!   connections. A change that is invalid, configures nothing (an empty,
//!   comment-only or truncated file), turns TLS off or removes every
//!   basic-auth user is refused, logged and counted, and the last good
//!   config stays in force: a half-written file must never open the port.
//!
//! Here: the connection cap and the per-client check at accept; one
//! connection is `conn`, one request `request`, the limits `limit` and
//! `rate_limit`, basic auth `auth`, the reloader `reload`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use crate::web::config::check_web_config;
pub use crate::web::options::{ReloadHook, ServeOptions, WebMetrics};

use crate::web::config::{WebConfig, WebConfigError};
use crate::web::conn::handle_connection;
use crate::web::limit::ClientSlot;
use crate::web::reload::{files_digest, watch_config};
use crate::web::shared::Shared;

/// Why `serve` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The web config is invalid at start (the caller should exit 2).
    #[error(transparent)]
    WebConfig(#[from] WebConfigError),
    #[error("invalid serve options: {0}")]
    Options(&'static str),
}

/// Validates the web config at start (error → caller exits 2), then serves
/// `router` on `listener` until `shutdown` resolves, finishing in-flight
/// requests (graceful).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_listeners(vec![listener], router, opts, shutdown).await
}

/// `serve` on several listeners at once (repeated `--web.listen-address`,
/// or the sockets of a systemd socket unit); the limits are shared.
pub async fn serve_listeners(
    listeners: Vec<TcpListener>,
    router: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check_options(&opts)?;
    let (initial, digest) = match &opts.web_config_file {
        Some(path) => {
            let cfg = WebConfig::load(path)?;
            let digest = files_digest(path, &cfg);
            (cfg, digest)
        }
        None => (WebConfig::default(), [0; 32]),
    };
    for w in initial.warnings() {
        tracing::warn!(warning = %w, "web config");
    }
    for l in &listeners {
        tracing::info!(
            tls = initial.tls().is_some(),
            http2 = initial.tls().is_some() && initial.http2(),
            basic_auth = initial.basic_auth_enabled(),
            rate_limit = initial.rate_limit().is_some(),
            address = ?l.local_addr().ok(),
            "serving HTTP"
        );
    }

    let shared = Arc::new(Shared::new(initial, router, opts));
    let (close_tx, close_rx) = watch::channel(false);

    if let Some(path) = shared.opts.web_config_file.clone() {
        tokio::spawn(watch_config(path, digest, shared.clone(), close_rx.clone()));
    }

    let mut loops = JoinSet::new();
    for l in listeners {
        loops.spawn(accept_loop(l, shared.clone(), close_rx.clone()));
    }
    shutdown.await;
    // Stop accepting, ask every connection to finish its current request
    // and close, then wait for them.
    let _ = close_tx.send(true);
    while loops.join_next().await.is_some() {}
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// Refused before anything is served: limits that would close or refuse
/// every connection.
fn check_options(opts: &ServeOptions) -> Result<(), ServeError> {
    if opts.max_connections == 0 || opts.max_connections_per_client == 0 {
        return Err(ServeError::Options(
            "max_connections and max_connections_per_client must be at least 1",
        ));
    }
    if opts.header_read_timeout.is_zero()
        || opts.idle_timeout.is_zero()
        || opts.pressure_idle_timeout.is_zero()
    {
        // Zero would close every connection at once, never what anyone meant.
        return Err(ServeError::Options(
            "header_read_timeout and idle timeouts must be positive",
        ));
    }
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut close_rx: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = closed(&mut close_rx) => break,
            p = shared.permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // never closed; nothing sensible to do but stop
            },
        };
        let (stream, peer) = tokio::select! {
            _ = closed(&mut close_rx) => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Typically EMFILE/ECONNABORTED: transient, back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Reap finished connection tasks so the set does not grow forever.
        while conns.try_join_next().is_some() {}
        let Some(client) = ClientSlot::take(&shared, peer.ip()) else {
            // Over this address's share: close at once (RST-free FIN), so
            // one host cannot hold the sockets the scrapers need.
            tracing::debug!(%peer, "per-client connection limit reached; closing");
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        let close_rx = close_rx.clone();
        conns.spawn(async move {
            handle_connection(stream, shared, close_rx).await;
            tracing::trace!(%peer, "connection closed");
            drop(client);
            drop(permit);
        });
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// Resolves once shutdown is asked for (the watch guard is not held).
async fn closed(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|c| *c).await;
}
