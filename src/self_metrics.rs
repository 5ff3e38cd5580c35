//! The exporter's own counters and histograms (`wechat_exporter_…`), kept in
//! a `prometheus` registry because they accumulate across polls. Per-API
//! state gauges (`poll_success`, `data_ready`, …) are not here: they are
//! derived from the poller state into each snapshot, so an app removed by a
//! reload disappears with it.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

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
}

impl SelfMetrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let api_requests = IntCounterVec::new(
            Opts::new(
                "wechat_exporter_api_requests_total",
                "Calls made to the WeChat API, token calls included (api=\"token\").",
            ),
            &["app", "api"],
        )
        .expect("valid metric definition");
        let api_errors = IntCounterVec::new(
            Opts::new(
                "wechat_exporter_api_request_errors_total",
                "Failed WeChat API calls; errcode is WeChat's code, or http, timeout, decode.",
            ),
            &["app", "api", "errcode"],
        )
        .expect("valid metric definition");
        let answer_parts_skipped = IntCounterVec::new(
            Opts::new(
                "wechat_exporter_answer_parts_skipped_total",
                "Parts of WeChat answers (list items: a page row, a scene, a source) left out because they did not have the documented shape; the rest of the answer is published.",
            ),
            &["app", "api"],
        )
        .expect("valid metric definition");
        let api_duration = HistogramVec::new(
            HistogramOpts::new(
                "wechat_exporter_api_request_duration_seconds",
                "Latency of WeChat API calls.",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["api"],
        )
        .expect("valid metric definition");
        let token_refreshes = IntCounterVec::new(
            Opts::new(
                "wechat_exporter_token_refreshes_total",
                "Access tokens obtained from the token source.",
            ),
            &["app"],
        )
        .expect("valid metric definition");
        let poll_rounds =
            IntCounter::new("wechat_exporter_poll_rounds_total", "Poll rounds started.")
                .expect("valid metric definition");
        let poll_rounds_skipped = IntCounter::new(
            "wechat_exporter_poll_rounds_skipped_total",
            "Poll rounds skipped because the previous one was still running.",
        )
        .expect("valid metric definition");
        let reload_successful = prometheus::IntGauge::new(
            "wechat_exporter_config_last_reload_successful",
            "1 if the last configuration load succeeded, 0 if it was refused.",
        )
        .expect("valid metric definition");
        let reload_timestamp = prometheus::Gauge::new(
            "wechat_exporter_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully.",
        )
        .expect("valid metric definition");
        let rate_limit_wait = prometheus::Counter::new(
            "wechat_exporter_rate_limit_wait_seconds_total",
            "Time WeChat calls spent waiting for poll.max_calls_per_minute; grows while the limit throttles polling.",
        )
        .expect("valid metric definition");
        let build_info = IntGaugeVec::new(
            Opts::new(
                "wechat_exporter_build_info",
                "Version of wechat-exporter; always 1.",
            ),
            &["version", "revision"],
        )
        .expect("valid metric definition");
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("WECHAT_EXPORTER_REVISION").unwrap_or("unknown"),
            ])
            .set(1);
        for c in [
            Box::new(api_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(api_errors.clone()),
            Box::new(answer_parts_skipped.clone()),
            Box::new(api_duration.clone()),
            Box::new(token_refreshes.clone()),
            Box::new(poll_rounds.clone()),
            Box::new(poll_rounds_skipped.clone()),
            Box::new(build_info),
            Box::new(reload_successful.clone()),
            Box::new(reload_timestamp.clone()),
            Box::new(rate_limit_wait.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Self {
            registry,
            api_requests,
            api_errors,
            answer_parts_skipped,
            api_duration,
            token_refreshes,
            poll_rounds,
            poll_rounds_skipped,
            reload_successful,
            reload_timestamp,
            rate_limit_wait,
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
