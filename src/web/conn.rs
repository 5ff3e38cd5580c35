//! One connection: the TLS handshake (within `header_read_timeout`),
//! HTTP/1.1 or HTTP/2 (by ALPN) on hyper's connection drivers with the
//! size limits, and its end: graceful close on shutdown or after the idle
//! timeout (shorter under pressure).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::web::limit::{Activity, InFlight, Tracked};
use crate::web::request::handle_request;
use crate::web::shared::Shared;

/// hyper's default read buffer limit (~400 KiB); heads must fit in it.
const HYPER_DEFAULT_BUF: usize = 400 * 1024;

pub(super) async fn handle_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut close_rx: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = Tracked {
        inner: stream,
        activity: activity.clone(),
    };
    // TLS settings are fixed per connection; a reload affects new ones.
    let tls = shared.config.load().tls().map(|t| t.server_config());
    match tls {
        None => serve_connection(TokioIo::new(io), false, shared, activity, close_rx).await,
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            let handshake =
                tokio::time::timeout(shared.opts.header_read_timeout, acceptor.accept(io));
            let stream = tokio::select! {
                r = handshake => r,
                _ = close_rx.wait_for(|c| *c) => return,
            };
            match stream {
                Ok(Ok(s)) => {
                    let h2 = s.get_ref().1.alpn_protocol() == Some(b"h2");
                    serve_connection(TokioIo::new(s), h2, shared, activity, close_rx).await
                }
                // Scanners and plain-HTTP clients end here; not worth more than debug.
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn serve_connection<I>(
    io: I,
    h2: bool,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    close_rx: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let opts = &shared.opts;
    let svc_shared = shared.clone();
    let svc_activity = activity.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = svc_shared.clone();
        let guard = InFlight::new(svc_activity.clone());
        async move {
            let resp = handle_request(req, &shared).await;
            drop(guard);
            Ok::<_, Infallible>(resp)
        }
    });
    if h2 {
        // Negotiated by ALPN: only offered when `http2` is on.
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(opts.max_header_bytes).unwrap_or(u32::MAX))
            .max_concurrent_streams(256);
        let conn = builder.serve_connection(io, svc);
        drive(
            conn,
            |c| c.graceful_shutdown(),
            &shared,
            &activity,
            close_rx,
        )
        .await
    } else {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(opts.header_read_timeout)
            .max_header_size(opts.max_header_bytes);
        if opts.max_header_bytes > HYPER_DEFAULT_BUF {
            // Only for unusually large settings: the read buffer must be able
            // to hold the largest head we accept.
            builder.max_buf_size(opts.max_header_bytes);
        }
        let conn = builder.serve_connection(io, svc);
        drive(
            conn,
            |c| c.graceful_shutdown(),
            &shared,
            &activity,
            close_rx,
        )
        .await
    }
}

/// Runs one connection to its end; closes it gracefully on shutdown or when
/// it has been idle too long (shorter under pressure).
async fn drive<C>(
    conn: C,
    graceful: impl Fn(Pin<&mut C>),
    shared: &Shared,
    activity: &Activity,
    mut close_rx: watch::Receiver<bool>,
) where
    C: Future<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(conn);
    let opts = &shared.opts;
    let tick = (opts.pressure_idle_timeout.min(opts.idle_timeout) / 4)
        .clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with error");
                }
                return;
            }
            _ = close_rx.wait_for(|c| *c), if !closing => {
                // Finishes the in-flight request (if any), then closes.
                closing = true;
                graceful(conn.as_mut());
            }
            _ = tokio::time::sleep(tick), if !closing => {
                let limit = if shared.under_pressure() {
                    opts.pressure_idle_timeout.min(opts.idle_timeout)
                } else {
                    opts.idle_timeout
                };
                if activity.in_flight.load(Ordering::Relaxed) == 0 && activity.idle_for() >= limit {
                    closing = true;
                    graceful(conn.as_mut());
                }
            }
        }
    }
}
