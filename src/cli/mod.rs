//! The binary's wiring: command-line flags in the Prometheus exporters'
//! style (`--web.listen-address`, `--config.file`, …) and subcommands
//! (this file), the run loop with its signals (`run`), the demo
//! (`demo`) and logging (`logging`).
//!
//! May import: every other module (the top layer).

pub mod demo;
pub mod logging;
pub mod run;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The default port: outside 9100–9999, where most exporters live.
pub const DEFAULT_PORT: u16 = 10240;

#[derive(Debug, Parser)]
#[command(
    name = "wechat-exporter",
    version,
    long_version = crate::self_metrics::build::long_version(),
    about = "Prometheus exporter for WeChat Mini Program and Official Account analytics.\n\nWith no --config.file it runs a built-in simulator of the WeChat API with two demo apps (same as --demo).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunFlags,
}

#[derive(Debug, clap::Args, Clone)]
pub struct RunFlags {
    /// Path to the YAML configuration file.
    #[arg(long = "config.file", env = "WECHAT_EXPORTER_CONFIG")]
    pub config_file: Option<PathBuf>,
    /// Validate the configuration file and exit (0 valid, 2 invalid).
    #[arg(long = "config.check")]
    pub config_check: bool,
    /// Address to listen on for the web interface and telemetry; repeat
    /// for several. `:PORT` listens on every IPv6 and IPv4 address.
    #[arg(long = "web.listen-address", default_values_t = [format!(":{DEFAULT_PORT}")])]
    pub listen_address: Vec<String>,
    /// Use the sockets of a systemd socket unit (LISTEN_FDS) instead of
    /// --web.listen-address.
    #[arg(long = "web.systemd-socket")]
    pub systemd_socket: bool,
    /// Maximum number of scrapes served at once; more get 503. 0 = no
    /// limit (the default: scrapes are served from a pre-rendered snapshot).
    #[arg(long = "web.max-requests", default_value_t = 0)]
    pub max_requests: usize,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    pub telemetry_path: String,
    /// Path to an exporter-toolkit web configuration file (TLS, basic auth).
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Leave the exporter's process metrics (process_*) out of /metrics, as
    /// node_exporter's flag of the same name does.
    #[arg(long = "web.disable-exporter-metrics")]
    pub disable_exporter_metrics: bool,
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
    /// Output format of log messages.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,
    /// Run against the built-in WeChat simulator with two demo apps.
    #[arg(long = "demo")]
    pub demo: bool,
    /// With --demo (or no config): the simulator is also a third-party
    /// platform with ten authorized apps, discovered instead of listed.
    #[arg(long = "demo.platform")]
    pub demo_platform: bool,
    /// Directory to keep the last data in across restarts (off when unset).
    #[arg(long = "storage.path")]
    pub storage_path: Option<PathBuf>,
    /// This replica's shard, 0-based (with --total-shards).
    #[arg(long = "shard", default_value_t = 0)]
    pub shard: u32,
    /// Number of replicas sharing the configured apps by a stable hash of the app name.
    #[arg(long = "total-shards", default_value_t = 1)]
    pub total_shards: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the WeChat API simulator (demo apps; credentials in docs/simulator.md).
    Simulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:10241")]
        listen: String,
        /// Seed of the generated data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Beijing hour at which yesterday's data is released.
        #[arg(long = "release-hour", default_value_t = 10.0)]
        release_hour: f64,
        /// Also serve N generated apps (benchmarks): app i has appid
        /// `wx` + hex(0x00be0c0000000000 + i) in 16 digits, secret
        /// `sim-secret-{i}`; even i are Mini Programs, odd i Official Accounts.
        #[arg(long = "apps", default_value_t = 0)]
        apps: usize,
        /// Also be a third-party platform (component appid and secret: see
        /// docs/simulator.md) that N generated apps authorized: app i has appid
        /// `wx` + hex(0x00a0700000000000 + i); even i Mini Programs named
        /// shop-NNNN, odd i Official Accounts news-NNNN; every tenth lacks
        /// the analytics permission set.
        #[arg(long = "authorized", default_value_t = 0)]
        authorized: usize,
        /// Where to write the platform's component_verify_ticket, renewed
        /// every 10 minutes (what the platform's callback handler does).
        #[arg(long = "ticket-file")]
        ticket_file: Option<PathBuf>,
        /// Pages each Mini Program's `getvisitpage` answers (WeChat sends its
        /// top 200; fewer for small apps).
        #[arg(long = "pages", default_value_t = 200)]
        pages: usize,
        #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
        log_level: LogLevel,
    },
    /// Fetch the history of every configured app over a date range and write
    /// it as OpenMetrics with timestamps, for `promtool tsdb
    /// create-blocks-from openmetrics` (see docs/backfill.md).
    Backfill(BackfillFlags),
}

#[derive(Debug, clap::Args, Clone)]
pub struct BackfillFlags {
    /// Path to the YAML configuration file (the exporter's own).
    #[arg(long = "config.file", env = "WECHAT_EXPORTER_CONFIG")]
    pub config_file: PathBuf,
    /// First data day, YYYY-MM-DD (Beijing).
    #[arg(long)]
    pub from: String,
    /// Last data day, YYYY-MM-DD (Beijing), at most yesterday.
    #[arg(long)]
    pub to: String,
    /// OpenMetrics file to write; progress is kept in OUTPUT.progress.
    #[arg(long)]
    pub output: PathBuf,
    /// Seconds between repeated samples of a value (below the 5-minute lookback).
    #[arg(long, default_value_t = 240)]
    pub step: u32,
    /// WeChat calls per second at most.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Stop after this many calls (resumable: rerun the same command).
    #[arg(long = "max-calls")]
    pub max_calls: Option<u64>,
    /// Write OUTPUT.part-DATE files of this many days each instead of one file
    /// (promtool before 2.44 re-reads its whole input per 2-hour block).
    #[arg(long = "split-days", default_value_t = 0)]
    pub split_days: u32,
    /// `job` label written on every series: the job name the live exporter
    /// is scraped under (deploy/prometheus/prometheus.yml, the Kubernetes
    /// Service name), so history and live data are one series.
    #[arg(long, default_value = crate::backfill::DEFAULT_JOB)]
    pub job: String,
    /// `instance` label written on every series: the live target's instance
    /// (host:port as Prometheus scrapes it).
    #[arg(long, default_value = crate::backfill::DEFAULT_INSTANCE)]
    pub instance: String,
    /// Extra label NAME=VALUE on every series (repeatable), for labels your
    /// scrape config adds (static `labels:`, relabelling, external labels).
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub label: Vec<String>,
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Warn)]
    pub log_level: LogLevel,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// Turns `:10240` (all interfaces, Go style) into something `bind` takes.
pub fn normalize_listen(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    }
}
