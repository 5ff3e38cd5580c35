//! The HTTP(S) serving layer: serves an axum `Router` on one or more
//! listeners with the exporter-toolkit web configuration (TLS with HTTP/2 by
//! ALPN, basic auth, security headers, rate limit) and with the connection
//! limits an Internet-facing exporter needs.
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

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

pub use crate::web::config::check_web_config;
use crate::web::config::{RateLimit, WebConfig, WebConfigError};

/// How often the web config file is checked for changes.
const RELOAD_POLL: Duration = Duration::from_secs(1);
/// hyper's default read buffer limit (~400 KiB); heads must fit in it.
const HYPER_DEFAULT_BUF: usize = 400 * 1024;
/// Basic-auth results remembered, successes and failures (the toolkit
/// keeps 100); bcrypt costs ~50-250 ms per check.
const AUTH_CACHE_MAX: usize = 256;

/// Counters of the web config reloader, registered with the exporter's own
/// metrics by the caller.
pub struct WebMetrics {
    pub last_reload_successful: prometheus::IntGauge,
    pub reloads_refused: prometheus::IntCounter,
}

impl WebMetrics {
    pub fn new() -> Self {
        let last_reload_successful = prometheus::IntGauge::new(
            "wechat_exporter_web_config_last_reload_successful",
            "1 if the web config file (--web.config.file) was loaded as it is now, 0 if its last change was refused.",
        )
        .expect("valid metric definition");
        last_reload_successful.set(1);
        let reloads_refused = prometheus::IntCounter::new(
            "wechat_exporter_web_config_reloads_refused_total",
            "Changes of the web config file that were refused (invalid, empty, or turning TLS or auth off); the previous config stayed in force.",
        )
        .expect("valid metric definition");
        WebMetrics {
            last_reload_successful,
            reloads_refused,
        }
    }

    /// Both metrics, for `Registry::register`.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.last_reload_successful.clone()),
            Box::new(self.reloads_refused.clone()),
        ]
    }
}

impl Default for WebMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Called after each web config reload outcome (e.g. to re-render the
/// snapshot so the metrics above show it at once).
pub type ReloadHook = Arc<dyn Fn() + Send + Sync>;

/// Connection limits and the optional web config file.
#[derive(Clone)]
pub struct ServeOptions {
    /// exporter-toolkit web config (`--web.config.file`); `None` = plain HTTP.
    pub web_config_file: Option<PathBuf>,
    /// Deadline for the TLS handshake and for each request head (slowloris).
    pub header_read_timeout: Duration,
    /// Kept-alive connections without traffic are closed after this.
    pub idle_timeout: Duration,
    /// Idle limit while more than half of `max_connections` are in use.
    pub pressure_idle_timeout: Duration,
    /// Maximum size of a request line plus headers; larger → 431.
    pub max_header_bytes: usize,
    /// Maximum request body; larger → 413.
    pub max_body_bytes: usize,
    /// Concurrent connections; beyond this, accepting waits.
    pub max_connections: usize,
    /// Concurrent connections from one client address; more are closed.
    pub max_connections_per_client: usize,
    pub metrics: Option<Arc<WebMetrics>>,
    pub on_reload: Option<ReloadHook>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("web_config_file", &self.web_config_file)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_client",
                &self.max_connections_per_client,
            )
            .finish_non_exhaustive()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            web_config_file: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            pressure_idle_timeout: Duration::from_secs(1),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_connections: 1024,
            max_connections_per_client: 512,
            metrics: None,
            on_reload: None,
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

// ---------------------------------------------------------------------------
// Listeners

/// Why no listener could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("--web.systemd-socket: {0}")]
    Systemd(String),
}

/// Opens the listener for one `--web.listen-address`. `:PORT` (no host)
/// listens on every address, IPv6 and IPv4 through one dual-stack socket
/// as Go does, and on IPv4 alone when the host has no IPv6.
pub async fn bind_listen_address(addr: &str) -> Result<TcpListener, ListenError> {
    let err = |source| ListenError::Bind {
        addr: addr.to_string(),
        source,
    };
    if let Some(port) = addr.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| {
            err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the port must be a number from 0 to 65535",
            ))
        })?;
        return match dual_stack(port) {
            Ok(l) => Ok(l),
            Err(e) if no_ipv6(&e) => {
                tracing::info!(port, "no IPv6 on this host; listening on IPv4 only");
                TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port))
                    .await
                    .map_err(err)
            }
            Err(e) => Err(err(e)),
        };
    }
    TcpListener::bind(addr).await.map_err(err)
}

fn no_ipv6(e: &io::Error) -> bool {
    // EAFNOSUPPORT (kernel without IPv6) and EADDRNOTAVAIL (IPv6 disabled).
    matches!(e.raw_os_error(), Some(97) | Some(99))
}

fn dual_stack(port: u16) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    let addr = SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
    s.bind(&addr.into())?;
    s.listen(1024)?;
    TcpListener::from_std(s.into())
}

/// The listening sockets systemd passed (`LISTEN_PID`, `LISTEN_FDS`, from
/// fd 3 on), as `--web.systemd-socket` asks; non-TCP descriptors are refused.
pub fn systemd_listeners() -> Result<Vec<TcpListener>, ListenError> {
    use std::os::fd::FromRawFd;
    let pid = std::env::var("LISTEN_PID").map_err(|_| {
        ListenError::Systemd("LISTEN_PID is not set: not started by a systemd socket unit".into())
    })?;
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Err(ListenError::Systemd(
            "LISTEN_PID names another process; the sockets are not ours".into(),
        ));
    }
    let n: i32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| {
            ListenError::Systemd("no socket activation file descriptors found".into())
        })?;
    let mut out = Vec::new();
    for fd in 3..3 + n {
        // SAFETY: systemd's protocol hands fds 3..3+LISTEN_FDS to this
        // process (LISTEN_PID checked above); nothing else owns them.
        let s = unsafe { socket2::Socket::from_raw_fd(fd) };
        let ok = s.r#type().ok() == Some(socket2::Type::STREAM)
            && s.local_addr().ok().and_then(|a| a.as_socket()).is_some();
        if !ok {
            // Do not close what is not a TCP socket: forget it.
            std::mem::forget(s);
            return Err(ListenError::Systemd(format!(
                "fd {fd} is not a listening TCP socket"
            )));
        }
        let _ = s.set_cloexec(true);
        s.set_nonblocking(true)
            .and_then(|_| TcpListener::from_std(s.into()))
            .map(|l| out.push(l))
            .map_err(|e| ListenError::Systemd(format!("fd {fd}: {e}")))?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Serving

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

    let limiter = Mutex::new(Bucket::new(initial.rate_limit()));
    let shared = Arc::new(Shared {
        config: ArcSwap::from_pointee(initial),
        auth: Authenticator::default(),
        limiter,
        router,
        permits: Arc::new(Semaphore::new(opts.max_connections)),
        per_client: Mutex::new(HashMap::new()),
        opts,
    });
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

struct Shared {
    config: ArcSwap<WebConfig>,
    auth: Authenticator,
    limiter: Mutex<Bucket>,
    router: Router,
    permits: Arc<Semaphore>,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    opts: ServeOptions,
}

impl Shared {
    /// More than half of the connection cap in use: idle connections are
    /// closed after `pressure_idle_timeout` instead of `idle_timeout`.
    fn under_pressure(&self) -> bool {
        self.permits.available_permits() < self.opts.max_connections / 2
    }
}

/// One connection counted against its client address until dropped.
struct ClientSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl ClientSlot {
    fn take(shared: &Arc<Shared>, ip: IpAddr) -> Option<ClientSlot> {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        let mut map = shared.per_client.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= shared.opts.max_connections_per_client {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            shared: shared.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self
            .shared
            .per_client
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// `rate_limit` as golang.org/x/time/rate's `Limiter.Allow`: one token per
/// `interval`, at most `burst` stored, full at start.
struct Bucket {
    limit: Option<RateLimit>,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(limit: Option<RateLimit>) -> Self {
        Bucket {
            limit,
            tokens: limit.map(|l| l.burst as f64).unwrap_or(0.0),
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let Some(l) = self.limit else { return true };
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() / l.interval.as_secs_f64();
        self.tokens = (self.tokens + refill).min(l.burst as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
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

/// Why a valid file is still not applied while running: each of these is
/// what a truncated or half-written file looks like, and applying it would
/// open a protected port. Restart the exporter to make such a change.
fn refuse_reason(current: &WebConfig, new: &WebConfig) -> Option<&'static str> {
    if new.configures_nothing() && !current.configures_nothing() {
        Some("the file now configures nothing (empty, only comments, or truncated?)")
    } else if current.tls().is_some() && new.tls().is_none() {
        Some("the change would turn TLS off; restart the exporter to do that")
    } else if current.basic_auth_enabled() && !new.basic_auth_enabled() {
        Some(
            "the change would remove every basic_auth_users entry; restart the exporter to do that",
        )
    } else {
        None
    }
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
        let current = shared.config.load_full();
        let outcome = match res {
            Ok(None) => continue,
            Ok(Some((digest, Ok(cfg)))) => {
                seen = digest;
                match refuse_reason(&current, &cfg) {
                    None => Ok(cfg),
                    Some(why) => Err(why.to_string()),
                }
            }
            // Logged once per bad content, not every poll.
            Ok(Some((digest, Err(e)))) => {
                seen = digest;
                Err(e.to_string())
            }
            Err(e) => Err(format!("reload task failed: {e}")),
        };
        match outcome {
            Ok(cfg) => {
                for w in cfg.warnings() {
                    tracing::warn!(warning = %w, "web config");
                }
                if current.tls().map(|t| t.client_auth()) != cfg.tls().map(|t| t.client_auth()) {
                    tracing::warn!(
                        from = ?current.tls().map(|t| t.client_auth()),
                        to = ?cfg.tls().map(|t| t.client_auth()),
                        "web config reload changes client certificate checks"
                    );
                }
                tracing::info!(
                    file = %path.display(),
                    tls = cfg.tls().is_some(),
                    basic_auth = cfg.basic_auth_enabled(),
                    rate_limit = cfg.rate_limit().is_some(),
                    "web config reloaded"
                );
                if cfg.rate_limit() != current.rate_limit() {
                    *shared.limiter.lock().unwrap_or_else(|p| p.into_inner()) =
                        Bucket::new(cfg.rate_limit());
                }
                shared.config.store(Arc::new(cfg));
                if let Some(m) = &shared.opts.metrics {
                    m.last_reload_successful.set(1);
                }
            }
            Err(reason) => {
                tracing::error!(
                    file = %path.display(),
                    error = %reason,
                    "web config reload refused; keeping the previous configuration"
                );
                if let Some(m) = &shared.opts.metrics {
                    m.last_reload_successful.set(0);
                    m.reloads_refused.inc();
                }
            }
        }
        if let Some(hook) = &shared.opts.on_reload {
            hook();
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

// ---------------------------------------------------------------------------
// Requests

async fn handle_request(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    // One snapshot per request: a reload in the middle cannot mix configs.
    let cfg = shared.config.load_full();
    // Before auth, as in the toolkit: a flood is refused without a bcrypt.
    let allowed = shared
        .limiter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow();
    let mut resp = if !allowed {
        plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n")
    } else if cfg.basic_auth_enabled()
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

/// Basic-auth checker with a cache of results, as exporter-toolkit does.
///
/// Unknown users are verified against a decoy hash of the highest cost
/// configured, so response time does not reveal which users exist; bcrypt
/// runs one at a time so a flood of bad passwords costs one core, not all;
/// every result, success or failure, is cached under SHA-256(user, hash,
/// password) so a repeated wrong password costs one bcrypt, not one per
/// request, the plaintext is never stored, and a changed hash invalidates
/// the entry.
#[derive(Default)]
struct Authenticator {
    cache: Arc<Mutex<HashMap<[u8; 32], bool>>>,
    bcrypt_lock: Arc<Mutex<()>>,
}

/// A bcrypt hash of a fixed string at `cost`, made once per cost.
fn decoy_hash(cost: u32) -> String {
    static DECOYS: OnceLock<Mutex<HashMap<u32, String>>> = OnceLock::new();
    let map = DECOYS.get_or_init(Default::default);
    if let Some(h) = map.lock().unwrap_or_else(|p| p.into_inner()).get(&cost) {
        return h.clone();
    }
    let h = bcrypt::hash("wechat-exporter timing equaliser", cost.clamp(4, 31)).unwrap_or_default();
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(cost, h.clone());
    h
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
        let cost = cfg.max_bcrypt_cost();

        let key: [u8; 32] = {
            let mut h = Sha256::new();
            let decoy_tag = format!("decoy:{cost}");
            for part in [
                user.as_bytes(),
                known_hash.as_deref().unwrap_or(&decoy_tag).as_bytes(),
                &password,
            ] {
                // Length prefixes keep ("ab","c") and ("a","bc") distinct.
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            h.finalize().into()
        };
        if let Some(&ok) = self.lock_cache().get(&key) {
            return ok && known;
        }

        let lock = self.bcrypt_lock.clone();
        let cache = self.cache.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let _serial = lock.lock().unwrap_or_else(|p| p.into_inner());
            // A flood of one wrong password arrives all at once: the checks
            // that queued behind the first find its result here.
            if let Some(&ok) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
                return ok;
            }
            let hash = known_hash.unwrap_or_else(|| decoy_hash(cost));
            bcrypt::verify(&password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = known && verified;
        let mut cache = self.lock_cache();
        if cache.len() >= AUTH_CACHE_MAX {
            // Evict a tenth, like the toolkit; HashMap order is randomised
            // per process, so this is not a predictable eviction.
            let drop: Vec<[u8; 32]> = cache.keys().take(AUTH_CACHE_MAX / 10).copied().collect();
            for k in drop {
                cache.remove(&k);
            }
        }
        cache.insert(key, ok);
        ok
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

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
    async fn authenticator_caches_successes_and_failures() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let cfg = WebConfig::from_yaml(
            &format!("basic_auth_users:\n  alice: '{hash}'\n"),
            Path::new("."),
        )
        .unwrap();
        let a = Authenticator::default();
        assert!(!a.check(&cfg, Some(&basic("alice", "wrong"))).await);
        assert_eq!(a.lock_cache().len(), 1, "a failure is cached");
        assert!(!a.check(&cfg, Some(&basic("alice", "wrong"))).await);
        assert_eq!(a.lock_cache().len(), 1);
        assert!(a.check(&cfg, Some(&basic("alice", "secret"))).await);
        assert!(a.check(&cfg, Some(&basic("alice", "secret"))).await);
        assert_eq!(a.lock_cache().len(), 2);
        // An unknown user never passes, even with a cached decoy result.
        assert!(!a.check(&cfg, Some(&basic("mallory", "secret"))).await);
        assert!(!a.check(&cfg, Some(&basic("mallory", "secret"))).await);
    }

    #[test]
    fn decoy_has_the_requested_cost() {
        let h = decoy_hash(5);
        assert_eq!(bcrypt::HashParts::from_str(&h).unwrap().get_cost(), 5);
    }

    #[test]
    fn bucket_follows_x_time_rate() {
        let mut b = Bucket::new(Some(RateLimit {
            interval: Duration::from_secs(3600),
            burst: 2,
        }));
        assert!(b.allow() && b.allow() && !b.allow());
        let mut zero = Bucket::new(Some(RateLimit {
            interval: Duration::from_secs(1),
            burst: 0,
        }));
        assert!(!zero.allow(), "burst 0 refuses everything, as in Go");
        assert!(Bucket::new(None).allow());
    }
}
