//! The HTTP(S) serving layer: serves an axum `Router` with the
//! exporter-toolkit web configuration (TLS, basic auth, security headers)
//! and with the connection limits an Internet-facing exporter needs.
//!
//! `axum::serve` offers neither TLS nor per-connection timeouts, so this
//! module runs its own accept loop on hyper's HTTP/1.1 connection driver:
//!
//! * a semaphore caps concurrent connections; past the cap `accept` waits,
//!   leaving new clients in the kernel backlog rather than exhausting fds;
//! * the TLS handshake and every request head must complete within
//!   `header_read_timeout` (slowloris); hyper restarts that timer while it
//!   waits for the next request on a kept-alive connection, so an idle
//!   connection lives at most `min(idle_timeout, header_read_timeout)`;
//! * request heads above `max_header_bytes` get 431, bodies above
//!   `max_body_bytes` get 413;
//! * the web config file is polled every second (content of the file and
//!   of the certificate/key/CA files it references); a valid change takes
//!   effect at once for auth and headers and for TLS on new connections, an
//!   invalid one is logged and the last good config stays in force.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use base64::Engine as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

pub use crate::web_config::check_web_config;
use crate::web_config::{WebConfig, WebConfigError};

/// How often the web config file is checked for changes.
const RELOAD_POLL: Duration = Duration::from_secs(1);
/// hyper's default read buffer limit (~400 KiB); heads must fit in it.
const HYPER_DEFAULT_BUF: usize = 400 * 1024;
/// Successful basic-auth results remembered (bcrypt costs ~50-250 ms).
const AUTH_CACHE_MAX: usize = 256;

/// Connection limits and the optional web config file.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// exporter-toolkit web config (`--web.config.file`); `None` = plain HTTP.
    pub web_config_file: Option<PathBuf>,
    /// Deadline for the TLS handshake and for each request head (slowloris).
    pub header_read_timeout: Duration,
    /// Kept-alive connections without traffic are closed after this.
    pub idle_timeout: Duration,
    /// Maximum size of a request line plus headers; larger → 431.
    pub max_header_bytes: usize,
    /// Maximum request body; larger → 413.
    pub max_body_bytes: usize,
    /// Concurrent connections; beyond this, accepting waits.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            web_config_file: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_connections: 1024,
        }
    }
}

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
    if opts.max_connections == 0 {
        return Err(ServeError::Options("max_connections must be at least 1"));
    }
    if opts.header_read_timeout.is_zero() || opts.idle_timeout.is_zero() {
        // Zero would close every connection at once, never what anyone meant.
        return Err(ServeError::Options(
            "header_read_timeout and idle_timeout must be positive",
        ));
    }
    let (initial, digest) = match &opts.web_config_file {
        Some(path) => {
            let cfg = WebConfig::load(path)?;
            let digest = files_digest(path, &cfg);
            (cfg, digest)
        }
        None => (WebConfig::default(), [0; 32]),
    };
    tracing::info!(
        tls = initial.tls().is_some(),
        basic_auth = initial.basic_auth_enabled(),
        addr = ?listener.local_addr().ok(),
        "serving HTTP"
    );

    let shared = Arc::new(Shared {
        config: ArcSwap::from_pointee(initial),
        auth: Authenticator::default(),
        router,
        opts,
    });
    let (close_tx, close_rx) = watch::channel(false);

    if let Some(path) = shared.opts.web_config_file.clone() {
        tokio::spawn(watch_config(path, digest, shared.clone(), close_rx.clone()));
    }

    let permits = Arc::new(Semaphore::new(shared.opts.max_connections));
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // never closed; nothing sensible to do but stop
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
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
        let shared = shared.clone();
        let close_rx = close_rx.clone();
        conns.spawn(async move {
            handle_connection(stream, shared, close_rx).await;
            tracing::trace!(%peer, "connection closed");
            drop(permit);
        });
    }

    // Stop accepting, ask every connection to finish its current request
    // and close, then wait for them.
    drop(listener);
    let _ = close_tx.send(true);
    while conns.join_next().await.is_some() {}
    tracing::info!("HTTP server stopped");
    Ok(())
}

struct Shared {
    config: ArcSwap<WebConfig>,
    auth: Authenticator,
    router: Router,
    opts: ServeOptions,
}

// ---------------------------------------------------------------------------
// Reload

/// SHA-256 over the config file and every file it references, so that a
/// renewed certificate is picked up even when the YAML is unchanged.
fn files_digest(config_path: &Path, cfg: &WebConfig) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in std::iter::once(config_path).chain(cfg.referenced_files().iter().map(|p| p.as_path()))
    {
        match std::fs::read(p) {
            Ok(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(e) => h.update(format!("error:{:?}", e.kind()).as_bytes()),
        }
    }
    h.finalize().into()
}

async fn watch_config(
    path: PathBuf,
    mut seen: [u8; 32],
    shared: Arc<Shared>,
    mut close_rx: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RELOAD_POLL) => {}
            _ = close_rx.wait_for(|c| *c) => return,
        }
        let p = path.clone();
        let current = shared.config.load_full();
        // File I/O and certificate parsing are blocking; keep them off the
        // reactor threads.
        let res = tokio::task::spawn_blocking(move || {
            // The digest of the *old* set of referenced files tells whether
            // anything changed; only then is the file parsed again.
            let d = files_digest(&p, &current);
            if d == seen {
                return None;
            }
            let loaded = WebConfig::load(&p);
            let d = match &loaded {
                Ok(cfg) => files_digest(&p, cfg),
                Err(_) => d,
            };
            Some((d, loaded))
        })
        .await;
        match res {
            Ok(None) => {}
            Ok(Some((digest, Ok(cfg)))) => {
                seen = digest;
                tracing::info!(
                    file = %path.display(),
                    tls = cfg.tls().is_some(),
                    basic_auth = cfg.basic_auth_enabled(),
                    "web config reloaded"
                );
                shared.config.store(Arc::new(cfg));
            }
            Ok(Some((digest, Err(e)))) => {
                // Logged once per bad content, not every poll.
                seen = digest;
                tracing::error!(
                    file = %path.display(),
                    error = %e,
                    "web config reload failed; keeping the previous configuration"
                );
            }
            Err(e) => tracing::error!(error = %e, "web config reload task failed"),
        }
    }
}

// ---------------------------------------------------------------------------
// Connections

/// Last I/O time and in-flight requests of one connection, for the idle
/// timeout (hyper has none for HTTP/1 servers).
struct Activity {
    start: Instant,
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_io_ms.store(ms, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_io_ms.load(Ordering::Relaxed)))
    }
}

/// Decrements the in-flight count even if the request future is dropped.
struct InFlight(Arc<Activity>);
impl InFlight {
    fn new(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(a)
    }
}
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A TCP stream that records when bytes last moved.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }
    // Without these hyper flattens: it copies every response body frame
    // into its own buffer, per connection (a whole `/metrics` body each).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn handle_connection(
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
        None => serve_connection(TokioIo::new(io), shared, activity, close_rx).await,
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            let handshake =
                tokio::time::timeout(shared.opts.header_read_timeout, acceptor.accept(io));
            let stream = tokio::select! {
                r = handshake => r,
                _ = close_rx.wait_for(|c| *c) => return,
            };
            match stream {
                Ok(Ok(s)) => serve_connection(TokioIo::new(s), shared, activity, close_rx).await,
                // Scanners and plain-HTTP clients end here; not worth more than debug.
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn serve_connection<I>(
    io: I,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    mut close_rx: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let opts = &shared.opts;
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
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);

    let idle = opts.idle_timeout;
    let tick = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
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
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(tick), if !closing => {
                if activity.in_flight.load(Ordering::Relaxed) == 0 && activity.idle_for() >= idle {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Requests

async fn handle_request(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    // One snapshot per request: a reload in the middle cannot mix configs.
    let cfg = shared.config.load_full();
    let mut resp = if cfg.basic_auth_enabled()
        && !shared
            .auth
            .check(&cfg, req.headers().get(header::AUTHORIZATION))
            .await
    {
        unauthorized()
    } else {
        route(req, shared).await
    };
    for (name, value) in cfg.headers() {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

async fn route(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    let max = shared.opts.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    // Chunked bodies without a length are cut off at `max`; axum's body
    // extractors turn the resulting LengthLimitError into 413.
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, max)));
    match shared.router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn unauthorized() -> Response<Body> {
    let mut r = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    r
}

/// Basic-auth checker with a cache of successful verifications.
///
/// Like exporter-toolkit: unknown users are verified against a dummy hash so
/// response time does not reveal which users exist, bcrypt runs one at a
/// time so a flood of bad passwords costs one core, not all, and a success
/// is cached under SHA-256(user, hash, password) so the plaintext is never
/// stored and a changed hash invalidates the entry.
#[derive(Default)]
struct Authenticator {
    ok_cache: Mutex<HashSet<[u8; 32]>>,
    bcrypt_lock: Arc<Mutex<()>>,
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // Same cost as typical user hashes, so timing matches.
        bcrypt::hash("wechat-exporter timing equaliser", 10).unwrap_or_default()
    })
}

fn parse_basic(value: Option<&HeaderValue>) -> Option<(String, Vec<u8>)> {
    let v = value?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

impl Authenticator {
    async fn check(&self, cfg: &WebConfig, value: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = parse_basic(value) else {
            return false;
        };
        let known_hash = cfg.password_hash(&user).map(str::to_owned);
        let known = known_hash.is_some();

        let key: [u8; 32] = {
            let mut h = Sha256::new();
            for part in [
                user.as_bytes(),
                known_hash.as_deref().unwrap_or("").as_bytes(),
                &password,
            ] {
                // Length prefixes keep ("ab","c") and ("a","bc") distinct.
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            h.finalize().into()
        };
        if known && self.lock_cache().contains(&key) {
            return true;
        }

        let lock = self.bcrypt_lock.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let hash = known_hash.as_deref().unwrap_or_else(|| dummy_hash());
            let _serial = lock.lock().unwrap_or_else(|p| p.into_inner());
            bcrypt::verify(&password, hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = known && verified;
        if ok {
            let mut cache = self.lock_cache();
            if cache.len() >= AUTH_CACHE_MAX {
                // Crude but bounded; a full cache only costs one bcrypt each.
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.ok_cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> HeaderValue {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        HeaderValue::from_str(&format!("Basic {enc}")).unwrap()
    }

    #[test]
    fn parse_basic_header() {
        assert_eq!(
            parse_basic(Some(&basic("al", "p:w"))),
            Some(("al".to_string(), b"p:w".to_vec()))
        );
        assert_eq!(
            parse_basic(Some(&HeaderValue::from_static("Bearer x"))),
            None
        );
        assert_eq!(
            parse_basic(Some(&HeaderValue::from_static("Basic !!"))),
            None
        );
        assert_eq!(parse_basic(None), None);
    }

    #[tokio::test]
    async fn authenticator_caches_only_successes() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let cfg = WebConfig::from_yaml(
            &format!("basic_auth_users:\n  alice: '{hash}'\n"),
            Path::new("."),
        )
        .unwrap();
        let a = Authenticator::default();
        assert!(!a.check(&cfg, Some(&basic("alice", "wrong"))).await);
        assert!(a.lock_cache().is_empty());
        assert!(a.check(&cfg, Some(&basic("alice", "secret"))).await);
        assert!(a.check(&cfg, Some(&basic("alice", "secret"))).await);
        assert_eq!(a.lock_cache().len(), 1);
        assert!(!a.check(&cfg, Some(&basic("mallory", "secret"))).await);
    }
}
