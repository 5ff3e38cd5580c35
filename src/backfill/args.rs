//! The flags of `backfill`, checked against the config and the clock
//! before any call is made: `RawArgs` as typed, `Options` once valid,
//! including the target labels (`--job`, `--instance`, `--label`) written
//! on every series.

use super::error::{usage, BackfillError};
use super::plan::{MINIPROGRAM_EARLIEST, OFFICIAL_ACCOUNT_EARLIEST};
use crate::api::AppKind;
use crate::config::Config;
use crate::dates::latest_day;
use chrono::{DateTime, NaiveDate, Utc};
use std::path::PathBuf;

/// Prometheus' default lookback; a step at or above it leaves gaps.
const LOOKBACK_SECS: u32 = 300;
/// `--job` default: the scrape job of deploy/prometheus/prometheus.yml and
/// the Kubernetes Service (whose name the ServiceMonitor makes the job).
pub const DEFAULT_JOB: &str = "wechat-exporter";
/// `--instance` default: the target of deploy/prometheus/prometheus.yml,
/// which the shipped ServiceMonitor also sets as `instance`.
pub const DEFAULT_INSTANCE: &str = "wechat-exporter:10240";
/// Labels the exporter's own series carry: a `--label` of the same name
/// would clash with them (or, for `job`/`instance`, with the flags).
const EXPORTER_LABELS: &[&str] = &[
    "job",
    "instance",
    "app",
    "api",
    "period",
    "page",
    "cohort",
    "offset",
    "index",
    "key",
    "key_name",
    "source",
    "source_name",
    "window",
    "dimension",
    "name",
];

/// What `backfill` was asked to do (already parsed and validated).
#[derive(Clone, Debug)]
pub struct Options {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub output: PathBuf,
    /// Seconds between repeated samples of one value.
    pub step: u32,
    /// Calls per second at most.
    pub rate: f64,
    /// Stop (resumably) after this many calls in this run.
    pub max_calls: Option<u64>,
    /// Write one file per this many days instead of one file (0: one file).
    pub split_days: u32,
    /// Draw the progress line on stderr.
    pub progress: bool,
    /// Labels written on every series before the exporter's own: `job`,
    /// `instance` and the `--label`s, as the live scrape attaches them.
    pub target_labels: Vec<(String, String)>,
}

/// The flags as typed, before validation.
#[derive(Clone, Debug)]
pub struct RawArgs {
    pub from: String,
    pub to: String,
    pub output: PathBuf,
    pub step: u32,
    pub rate: f64,
    pub max_calls: Option<u64>,
    pub split_days: u32,
    pub job: String,
    pub instance: String,
    /// `--label NAME=VALUE`, in the order given.
    pub labels: Vec<String>,
}

fn parse_date(flag: &'static str, s: &str) -> Result<NaiveDate, BackfillError> {
    crate::dates::parse_dashed(s)
        .or_else(|| crate::dates::parse_compact(s))
        .ok_or_else(|| usage(flag, format!("{s:?} is not a date (use YYYY-MM-DD)")))
}

/// `job`, `instance` and the `--label`s, checked: what Prometheus would
/// accept as a target label and nothing the exporter's series already carry.
fn target_labels(raw: &RawArgs) -> Result<Vec<(String, String)>, BackfillError> {
    if raw.job.is_empty() {
        return Err(usage(
            "--job",
            "must not be empty (the live series carry a job label)",
        ));
    }
    if raw.instance.is_empty() {
        return Err(usage(
            "--instance",
            "must not be empty (the live series carry an instance label)",
        ));
    }
    let mut out = vec![
        ("job".to_string(), raw.job.clone()),
        ("instance".to_string(), raw.instance.clone()),
    ];
    for l in &raw.labels {
        let Some((name, value)) = l.split_once('=') else {
            return Err(usage("--label", format!("{l:?} is not NAME=VALUE")));
        };
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid {
            return Err(usage(
                "--label",
                format!("{name:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            ));
        }
        if name.starts_with("__") {
            return Err(usage(
                "--label",
                format!("{name:?}: names starting with __ are reserved by Prometheus"),
            ));
        }
        if name == "job" || name == "instance" {
            return Err(usage(
                "--label",
                format!("{name:?}: use --{name} to set it"),
            ));
        }
        if EXPORTER_LABELS.contains(&name) {
            return Err(usage(
                "--label",
                format!("{name:?} is a label of the exporter's own series"),
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(usage("--label", format!("{name:?} is given twice")));
        }
        if value.is_empty() {
            return Err(usage(
                "--label",
                format!("{name:?} has an empty value (Prometheus drops empty labels)"),
            ));
        }
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Checks the flags against the config and the clock: dates in order, not
/// before the data exists, `--to` at most yesterday (Beijing).
pub fn validate(
    raw: &RawArgs,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Options, BackfillError> {
    let from = parse_date("--from", &raw.from)?;
    let to = parse_date("--to", &raw.to)?;
    let yesterday = latest_day(now);
    if to > yesterday {
        return Err(usage(
            "--to",
            format!("{to} is not complete yet; the latest complete Beijing day is {yesterday}"),
        ));
    }
    if from > to {
        return Err(usage("--from", format!("{from} is after --to {to}")));
    }
    let has = |k| config.apps.iter().any(|a| a.kind == k);
    if has(AppKind::Miniprogram) && from < MINIPROGRAM_EARLIEST {
        return Err(usage(
            "--from",
            format!("{from} is before {MINIPROGRAM_EARLIEST}, when Mini Program analytics begin"),
        ));
    }
    if has(AppKind::OfficialAccount) && from < OFFICIAL_ACCOUNT_EARLIEST {
        return Err(usage(
            "--from",
            format!("{from} is before {OFFICIAL_ACCOUNT_EARLIEST}, when Official Account analytics begin"),
        ));
    }
    if raw.step == 0 || raw.step >= LOOKBACK_SECS {
        return Err(usage(
            "--step",
            format!(
                "{} s: must be between 1 and {} s, below Prometheus' 5-minute lookback",
                raw.step,
                LOOKBACK_SECS - 1
            ),
        ));
    }
    if !raw.rate.is_finite() || raw.rate <= 0.0 {
        return Err(usage("--rate", format!("{}: must be above 0", raw.rate)));
    }
    if raw.max_calls == Some(0) {
        return Err(usage("--max-calls", "0 would make no progress"));
    }
    if config.apps.is_empty() {
        return Err(usage("--config.file", "no apps configured"));
    }
    let target_labels = target_labels(raw)?;
    Ok(Options {
        from,
        to,
        output: raw.output.clone(),
        step: raw.step,
        rate: raw.rate,
        max_calls: raw.max_calls,
        split_days: raw.split_days,
        progress: true,
        target_labels,
    })
}
