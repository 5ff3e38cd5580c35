//! What the caller hands `serve`: the web config file, the connection
//! limits (`ServeOptions`), the reloader's metrics (`WebMetrics`) and the
//! hook called after each reload.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
