//! The exporter's own counters and histograms (`wechat_exporter_…`), kept in
//! a `prometheus` registry because they accumulate across polls. Per-API
//! state gauges (`poll_success`, `data_ready`, …) are not here: they are
//! derived from the poller state into each snapshot, so an app removed by a
//! reload disappears with it.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use std::sync::atomic::{AtomicBool, Ordering};

/// Build facts from build.rs (or the environment of the build); "unknown"
/// when neither knew, e.g. a tarball built without git.
pub mod build {
    macro_rules! fact {
        ($name:literal) => {
            match option_env!($name) {
                Some(v) => v,
                None => "unknown",
            }
        };
    }
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");
    pub const REVISION: &str = fact!("WECHAT_EXPORTER_REVISION");
    pub const BRANCH: &str = fact!("WECHAT_EXPORTER_BRANCH");
    pub const BUILD_DATE: &str = fact!("WECHAT_EXPORTER_BUILD_DATE");
    pub const RUSTC: &str = fact!("WECHAT_EXPORTER_RUSTC");
    pub const TARGET: &str = fact!("WECHAT_EXPORTER_TARGET");

    /// `--version`, shaped like Prometheus' version output.
    pub fn long_version() -> &'static str {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        TEXT.get_or_init(|| {
            format!(
                "{VERSION} (branch: {BRANCH}, revision: {REVISION})\n  build date:    {BUILD_DATE}\n  rustc version: {RUSTC}\n  platform:      {TARGET}"
            )
        })
    }
}

pub struct SelfMetrics {
    registry: Registry,
    pub api_requests: IntCounterVec,
    pub api_errors: IntCounterVec,
    /// Parts of answers (list items) skipped because they did not fit.
    pub answer_parts_skipped: IntCounterVec,
    pub api_duration: HistogramVec,
    pub token_refreshes: IntCounterVec,
    pub poll_rounds: IntCounter,
    pub poll_rounds_skipped: IntCounter,
    pub reload_successful: prometheus::IntGauge,
    /// Time WeChat calls spent waiting for `poll.max_calls_per_minute`.
    pub rate_limit_wait: prometheus::Counter,
    pub reload_timestamp: prometheus::Gauge,
    pub state_save_failures: IntCounter,
    pub state_last_save_successful: prometheus::IntGauge,
    pub state_last_save_timestamp: prometheus::Gauge,
    /// `process_*` (Linux): read from procfs at each scrape, not per poll.
    process: Registry,
    process_enabled: AtomicBool,
    /// The last `process_*` text and when it was read: a flood of scrapes
    /// (256 connections in the load test) reads procfs once a second, not
    /// once per request.
    process_cache: std::sync::Mutex<Option<(std::time::Instant, Vec<u8>)>>,
}

/// One self-metric's name, HELP and labels: the public contract, one row
/// each, so that the definitions read as a table.
struct Def {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
}

const API_REQUESTS: Def = Def {
    name: "wechat_exporter_api_requests_total",
    help: "Calls made to the WeChat API, token calls included (api=\"token\").",
    labels: &["app", "api"],
};
const API_ERRORS: Def = Def {
    name: "wechat_exporter_api_request_errors_total",
    help: "Failed WeChat API calls; errcode is WeChat's code, or http, timeout, decode.",
    labels: &["app", "api", "errcode"],
};
const ANSWER_PARTS_SKIPPED: Def = Def {
    name: "wechat_exporter_answer_parts_skipped_total",
    help: "Parts of WeChat answers (list items: a page row, a scene, a source) left out because they did not have the documented shape; the rest of the answer is published.",
    labels: &["app", "api"],
};
const API_DURATION: Def = Def {
    name: "wechat_exporter_api_request_duration_seconds",
    help: "Latency of WeChat API calls.",
    labels: &["api"],
};
const API_DURATION_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const TOKEN_REFRESHES: Def = Def {
    name: "wechat_exporter_token_refreshes_total",
    help: "Access tokens obtained from the token source.",
    labels: &["app"],
};
const POLL_ROUNDS: Def = Def {
    name: "wechat_exporter_poll_rounds_total",
    help: "Poll rounds started.",
    labels: &[],
};
const POLL_ROUNDS_SKIPPED: Def = Def {
    name: "wechat_exporter_poll_rounds_skipped_total",
    help: "Poll rounds skipped because the previous one was still running.",
    labels: &[],
};
const RELOAD_SUCCESSFUL: Def = Def {
    name: "wechat_exporter_config_last_reload_successful",
    help: "1 if the last configuration load succeeded, 0 if it was refused.",
    labels: &[],
};
const RELOAD_TIMESTAMP: Def = Def {
    name: "wechat_exporter_config_last_reload_success_timestamp_seconds",
    help: "When the configuration was last loaded successfully.",
    labels: &[],
};
const RATE_LIMIT_WAIT: Def = Def {
    name: "wechat_exporter_rate_limit_wait_seconds_total",
    help: "Time WeChat calls spent waiting for poll.max_calls_per_minute; grows while the limit throttles polling.",
    labels: &[],
};
const BUILD_INFO: Def = Def {
    name: "wechat_exporter_build_info",
    help: "Version of wechat-exporter; always 1.",
    labels: &[
        "version",
        "revision",
        "branch",
        "build_date",
        "rustc_version",
        "target",
    ],
};
const STATE_SAVE_FAILURES: Def = Def {
    name: "wechat_exporter_state_save_failures_total",
    help: "Saves of the --storage.path state file that failed (see the log for why).",
    labels: &[],
};
const STATE_LAST_SAVE_SUCCESSFUL: Def = Def {
    name: "wechat_exporter_state_last_save_successful",
    help: "1 if the last save of the state file succeeded, 0 if it failed.",
    labels: &[],
};
const STATE_LAST_SAVE_TIMESTAMP: Def = Def {
    name: "wechat_exporter_state_last_save_success_timestamp_seconds",
    help: "When the state file was last saved successfully.",
    labels: &[],
};

// The definitions above are constants, so a failure here is a typo in the
// table, found by the first test that builds a `SelfMetrics`.
impl Def {
    fn counter_vec(&self) -> IntCounterVec {
        IntCounterVec::new(Opts::new(self.name, self.help), self.labels)
            .expect("valid metric definition")
    }

    fn histogram_vec(&self, buckets: &[f64]) -> HistogramVec {
        let opts = HistogramOpts::new(self.name, self.help).buckets(buckets.to_vec());
        HistogramVec::new(opts, self.labels).expect("valid metric definition")
    }

    fn gauge_vec(&self) -> IntGaugeVec {
        IntGaugeVec::new(Opts::new(self.name, self.help), self.labels)
            .expect("valid metric definition")
    }

    fn counter(&self) -> IntCounter {
        IntCounter::new(self.name, self.help).expect("valid metric definition")
    }

    fn float_counter(&self) -> prometheus::Counter {
        prometheus::Counter::new(self.name, self.help).expect("valid metric definition")
    }

    fn int_gauge(&self) -> prometheus::IntGauge {
        prometheus::IntGauge::new(self.name, self.help).expect("valid metric definition")
    }

    fn gauge(&self) -> prometheus::Gauge {
        prometheus::Gauge::new(self.name, self.help).expect("valid metric definition")
    }
}

/// `wechat_exporter_build_info`, set to 1 with this binary's build facts.
fn build_info() -> IntGaugeVec {
    let info = BUILD_INFO.gauge_vec();
    info.with_label_values(&[
        build::VERSION,
        build::REVISION,
        build::BRANCH,
        build::BUILD_DATE,
        build::RUSTC,
        build::TARGET,
    ])
    .set(1);
    info
}

/// `process_*`, where the platform has them (Linux procfs).
fn process_registry() -> Registry {
    let process = Registry::new();
    #[cfg(target_os = "linux")]
    {
        let _ = process.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
    }
    process
}

impl SelfMetrics {
    pub fn new() -> Self {
        let m = Self {
            registry: Registry::new(),
            api_requests: API_REQUESTS.counter_vec(),
            api_errors: API_ERRORS.counter_vec(),
            answer_parts_skipped: ANSWER_PARTS_SKIPPED.counter_vec(),
            api_duration: API_DURATION.histogram_vec(&API_DURATION_BUCKETS),
            token_refreshes: TOKEN_REFRESHES.counter_vec(),
            poll_rounds: POLL_ROUNDS.counter(),
            poll_rounds_skipped: POLL_ROUNDS_SKIPPED.counter(),
            reload_successful: RELOAD_SUCCESSFUL.int_gauge(),
            reload_timestamp: RELOAD_TIMESTAMP.gauge(),
            rate_limit_wait: RATE_LIMIT_WAIT.float_counter(),
            state_save_failures: STATE_SAVE_FAILURES.counter(),
            state_last_save_successful: STATE_LAST_SAVE_SUCCESSFUL.int_gauge(),
            state_last_save_timestamp: STATE_LAST_SAVE_TIMESTAMP.gauge(),
            process: process_registry(),
            process_enabled: AtomicBool::new(true),
            process_cache: std::sync::Mutex::new(None),
        };
        // The state-file series wait for `enable_state_metrics`.
        for c in [
            Box::new(m.api_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.api_errors.clone()),
            Box::new(m.answer_parts_skipped.clone()),
            Box::new(m.api_duration.clone()),
            Box::new(m.token_refreshes.clone()),
            Box::new(m.poll_rounds.clone()),
            Box::new(m.poll_rounds_skipped.clone()),
            Box::new(build_info()),
            Box::new(m.reload_successful.clone()),
            Box::new(m.reload_timestamp.clone()),
            Box::new(m.rate_limit_wait.clone()),
        ] {
            m.registry.register(c).expect("metric names are unique");
        }
        m
    }

    /// Registers the state-file series; only with `--storage.path`, so that
    /// an exporter without a state file does not report saves it never tries.
    pub fn enable_state_metrics(&self) {
        for c in [
            Box::new(self.state_save_failures.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(self.state_last_save_successful.clone()),
            Box::new(self.state_last_save_timestamp.clone()),
        ] {
            // Registering twice (a second call) is harmless.
            let _ = self.registry.register(c);
        }
    }

    /// Records the outcome of a save of the state file.
    pub fn state_saved(&self, ok: bool) {
        self.state_last_save_successful.set(ok as i64);
        if ok {
            self.state_last_save_timestamp
                .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
        } else {
            self.state_save_failures.inc();
        }
    }

    /// `--web.disable-exporter-metrics`: leaves `process_*` out.
    pub fn set_process_metrics(&self, enabled: bool) {
        self.process_enabled.store(enabled, Ordering::Relaxed);
    }

    /// Appends `process_*` as of this scrape (read at most once a second).
    /// Empty when disabled or not on Linux.
    pub fn render_process_into(&self, out: &mut Vec<u8>) {
        if !self.process_enabled.load(Ordering::Relaxed) {
            return;
        }
        let mut cache = self.process_cache.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = cache
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < std::time::Duration::from_secs(1));
        if !fresh {
            let mut text = Vec::new();
            let _ = prometheus::TextEncoder::new().encode(&self.process.gather(), &mut text);
            *cache = Some((std::time::Instant::now(), text));
        }
        if let Some((_, text)) = cache.as_ref() {
            out.extend_from_slice(text);
        }
    }

    /// Records the outcome of a config (re)load.
    pub fn config_loaded(&self, ok: bool) {
        self.reload_successful.set(ok as i64);
        if ok {
            self.reload_timestamp
                .set(chrono::Utc::now().timestamp() as f64);
        }
    }

    /// Adds metrics kept by another module (the web server's reload
    /// counters, the platform's gauges) to the exposition.
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) {
        if let Err(e) = self.registry.register(c) {
            tracing::warn!(error = %e, "metric not registered");
        }
    }

    /// Appends the text exposition of every self-metric to `out`.
    pub fn render_into(&self, out: &mut Vec<u8>) {
        let families = self.registry.gather();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = prometheus::TextEncoder::new().encode(&families, out);
    }

    /// Forgets every series of `app`, after a reload removed it.
    pub fn forget_app(&self, app: &str) {
        for family in self.registry.gather() {
            for m in family.get_metric() {
                let labels: Vec<(&str, &str)> = m
                    .get_label()
                    .iter()
                    .map(|l| (l.name(), l.value()))
                    .collect();
                if !labels.iter().any(|(k, v)| *k == "app" && *v == app) {
                    continue;
                }
                let map: std::collections::HashMap<&str, &str> = labels.into_iter().collect();
                let _ = match family.name() {
                    "wechat_exporter_api_requests_total" => self.api_requests.remove(&map),
                    "wechat_exporter_api_request_errors_total" => self.api_errors.remove(&map),
                    "wechat_exporter_answer_parts_skipped_total" => {
                        self.answer_parts_skipped.remove(&map)
                    }
                    "wechat_exporter_token_refreshes_total" => self.token_refreshes.remove(&map),
                    _ => Ok(()),
                };
            }
        }
    }
}

impl Default for SelfMetrics {
    fn default() -> Self {
        Self::new()
    }
}
