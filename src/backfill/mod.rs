//! `wechat-exporter backfill`: fetches the history of every configured app
//! and API over a date range and writes it as OpenMetrics with timestamps,
//! for `promtool tsdb create-blocks-from openmetrics`.
//!
//! How it fits the live exporter:
//! * Same series: every answer goes through the live collectors
//!   (`collectors::collector(api).collect`) with a `Target` whose range is the
//!   historical period, so names and labels cannot drift from `/metrics`.
//! * Same client: `wechat::client::app_client` builds the client exactly as
//!   the poller does (token source, retries, one token renewal).
//! * Same timeline: a value is emitted over the hours in which live polling
//!   would have shown it. Day D is shown from Beijing midnight of D+1 to
//!   midnight of D+2 (live shows it from the release, ~10:00 on D+1, until the
//!   next release; midnight makes "the value on day D+1 is day D" hold for
//!   every instant of D+1, the same convention as
//!   `wechat_data_date_timestamp_seconds`). A week is shown from the Monday
//!   after it for seven days, a month from the 1st of the next month for that
//!   month. Retention offset k of day D comes from cohort D−k, as live.
//!   Samples repeat every `step` (default 240 s) so that Prometheus' 5-minute
//!   lookback never sees a gap; nothing at or after now−3h is written, because
//!   that range belongs to Prometheus' head block.
//!
//! Work is cut into units, one WeChat call each: (app, api, call range). Each
//! finished unit is appended as one JSON line to `OUTPUT.progress` before the
//! next call, so an interrupted run (Ctrl-C, `--max-calls`, quota) continues
//! where it stopped when rerun with the same arguments; a progress file of
//! other arguments is refused rather than mixed in. The output is written
//! (atomically, through a `.tmp` file) only once every unit has been tried.
//!
//! `user_portrait` cannot be backfilled: WeChat only serves windows that end
//! yesterday or the day before. Numbers WeChat marks as still changing
//! (`is_delay`, the publish summary) are neither written nor recorded: the
//! next run asks again and writes them once final.

use crate::api::History;
use crate::api::{Api, AppKind};
use crate::clock::Clock;
use crate::collectors::{self, Collected, Ctx, Target};
use crate::config::{AppConfig, Config};
use crate::dates::{beijing_midnight, latest_day, DateRange, Period};
use crate::families::{render_labels, write_value, Family};
use crate::poll::policy::{self, Decision};
use crate::self_metrics::SelfMetrics;
use crate::state::Fetched;
use crate::wechat::client::app_client;
use crate::wechat::error::ErrorClass;
use crate::wechat::http::http_client;
use crate::wechat::rate_limit::RateLimiter;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The first day of Mini Program analytics we ask for. WeChat opened the
/// analytics API in 2017; earlier dates can only fail or come back empty.
pub const MINIPROGRAM_EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2017, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The first day of Official Account user analysis (wechat-api.md).
pub const OFFICIAL_ACCOUNT_EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2014, 12, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// Prometheus keeps the newest ~2–3 hours in its head block; blocks that
/// overlap it are refused, so the file stops this long before now.
pub const HEAD_MARGIN_HOURS: i64 = 3;

/// Prometheus' default lookback; a step at or above it leaves gaps.
const LOOKBACK_SECS: u32 = 300;
const PROGRESS_VERSION: u32 = 1;
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

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// A flag is wrong; names the flag.
    #[error("{flag}: {reason}")]
    Usage { flag: &'static str, reason: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The progress file belongs to another backfill.
    #[error("{path}: {reason}")]
    Progress { path: String, reason: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// Stopped early on purpose; rerunning continues.
    #[error("stopped after {calls} call(s) this run, {remaining} remaining: {reason}. Progress is saved in {progress}; run the same command again to continue")]
    Stopped {
        calls: u64,
        remaining: usize,
        reason: String,
        progress: String,
    },
}

impl BackfillError {
    /// 2: fix the command or config; 3: stopped, rerun to continue; 1: other.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage { .. } | Self::Config(_) | Self::Progress { .. } => 2,
            Self::Stopped { .. } => 3,
            Self::Io { .. } => 1,
        }
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> BackfillError {
    BackfillError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn usage(flag: &'static str, reason: impl Into<String>) -> BackfillError {
    BackfillError::Usage {
        flag,
        reason: reason.into(),
    }
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

/// One WeChat call: its identity in the progress file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnitKey {
    pub app: String,
    pub api: Api,
    pub range: DateRange,
}

/// A call and the targets its answer fills (several for an Official
/// Account chunk or a retention cohort).
#[derive(Clone, Debug)]
struct Unit {
    key: UnitKey,
    targets: Vec<Target>,
}

/// A finished unit as stored: the samples per target. Not-ready units are
/// stored with no results so that they are not asked again.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    unit: UnitKey,
    results: Vec<Fetched>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Header {
    version: u32,
    /// Everything that decides which calls are made; a mismatch is refused.
    fingerprint: serde_json::Value,
}

fn fingerprint(config: &Config, from: NaiveDate, to: NaiveDate) -> serde_json::Value {
    let apps: Vec<_> = config
        .apps
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name,
                "appid": a.appid,
                "kind": a.kind,
                "apis": a.enabled_apis(),
                "page_limit": a.page_limit,
            })
        })
        .collect();
    serde_json::json!({
        "from": from,
        "to": to,
        "api_url": crate::secret::redact_url(&config.wechat.api_url),
        "apps": apps,
    })
}

/// The days, complete weeks and complete months of the range: a week or
/// month belongs to the range when its last day does.
fn periods(period: Period, from: NaiveDate, to: NaiveDate) -> Vec<DateRange> {
    let mut out = Vec::new();
    let mut p = match period {
        Period::Daily => DateRange::day(from),
        Period::Weekly => DateRange::week_of(from),
        Period::Monthly => DateRange::month_of(from),
    };
    if p.end < from {
        p = p.shift(1, period);
    }
    while p.end <= to {
        if p.end >= from {
            out.push(p);
        }
        p = p.shift(1, period);
    }
    out
}

/// Every call one app needs for the range, in the order they are made.
fn plan_app(app: &AppConfig, from: NaiveDate, to: NaiveDate) -> Vec<Unit> {
    let mut units = Vec::new();
    let key = |api, range| UnitKey {
        app: app.name.clone(),
        api,
        range,
    };
    for api in app.enabled_apis() {
        let period = api.period();
        match api.spec().history {
            History::Periods => {
                // Days before WeChat's storage starts hold nothing: not asked.
                let since = api.spec().data_since();
                for p in periods(period, from, to) {
                    if since.is_some_and(|s| p.begin < s) {
                        continue;
                    }
                    let range = api.spec().call_range(p);
                    units.push(Unit {
                        key: key(api, range),
                        targets: vec![Target {
                            slot: 0,
                            range,
                            data_period: p,
                        }],
                    });
                }
            }
            History::Cohorts => {
                // One call per cohort answers every offset released for it:
                // offset k of period P is key k of cohort P−k.
                let mut cohorts: BTreeMap<DateRange, Vec<Target>> = BTreeMap::new();
                for p in periods(period, from, to) {
                    for &k in period.retention_offsets() {
                        let cohort = collectors::retention::cohort_for(p, period, k);
                        if cohort.begin < MINIPROGRAM_EARLIEST {
                            continue;
                        }
                        cohorts.entry(cohort).or_default().push(Target {
                            slot: k,
                            range: cohort,
                            data_period: p,
                        });
                    }
                }
                for (cohort, targets) in cohorts {
                    units.push(Unit {
                        key: key(api, cohort),
                        targets,
                    });
                }
            }
            History::DayChunks(days) => {
                let mut begin = from;
                while begin <= to {
                    let end = (begin + Duration::days(days - 1)).min(to);
                    let range = DateRange { begin, end };
                    let targets = begin
                        .iter_days()
                        .take_while(|d| *d <= end)
                        .map(|d| Target {
                            slot: 0,
                            range: DateRange::day(d),
                            data_period: DateRange::day(d),
                        })
                        .collect();
                    units.push(Unit {
                        key: key(api, range),
                        targets,
                    });
                    begin = end + Duration::days(1);
                }
            }
            History::None(_) => {}
        }
    }
    units
}

/// A unit that was tried and failed; it is retried by the next run.
#[derive(Clone, Debug)]
pub struct Failure {
    pub unit: UnitKey,
    pub error: String,
}

/// What a completed run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Calls made by this run.
    pub calls: u64,
    /// Units found finished in the progress file.
    pub resumed: usize,
    pub units: usize,
    pub failures: Vec<Failure>,
    /// Units answered "not ready" (no data for that period).
    pub not_ready: usize,
    /// Units WeChat answered with `is_delay: true` (numbers that may still
    /// change): neither written nor recorded, so a rerun asks again.
    pub provisional: usize,
    /// APIs skipped because they cannot be backfilled, per app.
    pub skipped: Vec<String>,
    /// Files written and their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// Sample lines written.
    pub lines: u64,
    pub elapsed: std::time::Duration,
}

impl Report {
    /// The end-of-run summary for stderr.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let bytes: u64 = self.files.iter().map(|f| f.1).sum();
        let _ = writeln!(
            s,
            "backfill: {} unit(s), {} call(s) this run, {} resumed from progress, {} not ready, {} provisional, {} failed; {} sample line(s), {} byte(s) in {} file(s), {:.1} s",
            self.units,
            self.calls,
            self.resumed,
            self.not_ready,
            self.provisional,
            self.failures.len(),
            self.lines,
            bytes,
            self.files.len(),
            self.elapsed.as_secs_f64()
        );
        for (path, size) in &self.files {
            let _ = writeln!(s, "  wrote {} ({size} bytes)", path.display());
        }
        for note in &self.skipped {
            let _ = writeln!(s, "  skipped {note}");
        }
        const SHOWN: usize = 20;
        for f in self.failures.iter().take(SHOWN) {
            let _ = writeln!(
                s,
                "  failed {} {} {}..{}: {}",
                f.unit.app,
                f.unit.api.label(),
                f.unit.range.begin,
                f.unit.range.end,
                f.error
            );
        }
        if self.provisional > 0 {
            let _ = writeln!(
                s,
                "  {} unit(s) may still change (is_delay) and were not written: run the same command again once WeChat marks them final (the running exporter shows them meanwhile, with wechat_exporter_data_final 0)",
                self.provisional
            );
        }
        if self.failures.len() > SHOWN {
            let _ = writeln!(s, "  … and {} more", self.failures.len() - SHOWN);
        }
        if !self.failures.is_empty() {
            let _ = writeln!(
                s,
                "  failed units were not written; run the same command again to retry them"
            );
        }
        s
    }
}

/// The progress line on stderr: `\r`-redrawn on a terminal, a plain line
/// every 5% otherwise (logs and CI keep every line). No crate: one line of
/// text does not need a dependency.
struct ProgressLine {
    enabled: bool,
    tty: bool,
    total: usize,
    done: usize,
    last_plain: usize,
}

impl ProgressLine {
    fn new(enabled: bool, total: usize, done: usize) -> Self {
        Self {
            enabled,
            tty: std::io::stderr().is_terminal(),
            total,
            done,
            last_plain: done,
        }
    }

    fn step(&mut self, calls: u64, failed: usize, what: &UnitKey) {
        self.done += 1;
        if !self.enabled {
            return;
        }
        let pct = self.done * 100 / self.total.max(1);
        let line = format!(
            "backfill: {}/{} units ({pct}%), {calls} call(s) made, {} remaining, {failed} failed; {} {} {}",
            self.done,
            self.total,
            self.total - self.done,
            what.app,
            what.api.label(),
            what.range.begin
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
        } else if self.done - self.last_plain >= (self.total / 20).max(1) || self.done == self.total
        {
            self.last_plain = self.done;
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        if self.enabled && self.tty {
            eprintln!();
        }
    }
}

/// Reads the progress file (if any): the finished units. A torn last line
/// (killed mid-write) is ignored; that unit is fetched again.
fn load_progress(path: &Path, fp: &serde_json::Value) -> Result<Vec<Record>, BackfillError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(path, e)),
    };
    let mut lines = std::io::BufReader::new(file).lines();
    let header: Option<Header> = match lines.next() {
        Some(Ok(l)) => serde_json::from_str(&l).ok(),
        _ => None,
    };
    let Some(header) = header else {
        return Err(BackfillError::Progress {
            path: path.display().to_string(),
            reason: "not a backfill progress file; delete it or choose another --output".into(),
        });
    };
    if header.version != PROGRESS_VERSION || header.fingerprint != *fp {
        return Err(BackfillError::Progress {
            path: path.display().to_string(),
            reason: "was written by a backfill with other --from/--to or another config (apps, APIs, page_limit, api_url); rerun with those arguments to continue it, or delete the file (or pick another --output) to start over".into(),
        });
    }
    let mut out = Vec::new();
    for line in lines {
        let line = line.map_err(|e| io_err(path, e))?;
        if let Ok(r) = serde_json::from_str::<Record>(&line) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Opens the progress file for appending, writing the header if new.
fn open_progress(path: &Path, fp: &serde_json::Value) -> Result<std::fs::File, BackfillError> {
    let exists = path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    if !exists {
        let header = Header {
            version: PROGRESS_VERSION,
            fingerprint: fp.clone(),
        };
        let line = serde_json::to_string(&header).map_err(|e| io_err(path, e))?;
        writeln!(f, "{line}").map_err(|e| io_err(path, e))?;
    }
    Ok(f)
}

/// `OUTPUT.progress`.
pub fn progress_path(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".progress");
    PathBuf::from(s)
}

/// Runs a backfill at `clock`'s now. Loads the config's apps, makes the
/// calls not yet in the progress file, then writes the output.
pub async fn run(config: &Config, opts: &Options, clock: Clock) -> Result<Report, BackfillError> {
    let started = std::time::Instant::now();
    let now = clock.now();
    let fp = fingerprint(config, opts.from, opts.to);
    let progress = progress_path(&opts.output);
    let records = load_progress(&progress, &fp)?;
    let mut done: HashSet<UnitKey> = records.iter().map(|r| r.unit.clone()).collect();
    let mut results: Vec<Record> = records;
    let mut report = Report {
        resumed: done.len(),
        ..Report::default()
    };

    let plans: Vec<(&AppConfig, Vec<Unit>)> = config
        .apps
        .iter()
        .map(|a| (a, plan_app(a, opts.from, opts.to)))
        .collect();
    for (app, _) in &plans {
        for api in app.enabled_apis() {
            if let History::None(why) = api.spec().history {
                report
                    .skipped
                    .push(format!("{} {}: {why}", app.name, api.label()));
            } else if let Some(since) = api.spec().data_since().filter(|s| opts.from < *s) {
                report.skipped.push(format!(
                    "{} {}: days before {since}: WeChat keeps no data before it",
                    app.name,
                    api.label()
                ));
            }
        }
    }
    report.units = plans.iter().map(|(_, u)| u.len()).sum();
    let already = plans
        .iter()
        .flat_map(|(_, u)| u)
        .filter(|u| done.contains(&u.key))
        .count();
    let mut bar = ProgressLine::new(opts.progress, report.units, already);
    let mut progress_file = open_progress(&progress, &fp)?;

    let metrics = Arc::new(SelfMetrics::new());
    let http = http_client(&config.wechat);
    // --rate paces every WeChat call (retries and token calls too) through
    // the poller's limiter, not poll.max_calls_per_minute.
    let limiter = Arc::new(RateLimiter::spaced(Some(
        std::time::Duration::from_secs_f64(1.0 / opts.rate),
    )));
    let mut stop: Option<String> = None;

    for (app, units) in &plans {
        let client = app_client(
            app,
            &config.wechat,
            http.clone(),
            clock.clone(),
            metrics.clone(),
            Some(limiter.clone()),
            // Backfill reads configured apps with their own tokens; an
            // `authorizer` app without its platform fails with advice.
            None,
        );
        // APIs stopped for this run by an API-scoped failure, and why.
        let mut stopped_apis: BTreeMap<Api, String> = BTreeMap::new();
        let mut app_stop: Option<String> = None;
        for unit in units {
            if done.contains(&unit.key) {
                continue;
            }
            if app_stop.is_some() {
                // Left for the next run; counted as remaining at the end.
                continue;
            }
            if let Some(why) = stopped_apis.get(&unit.key.api) {
                report.failures.push(Failure {
                    unit: unit.key.clone(),
                    error: format!("skipped: {why}"),
                });
                bar.step(report.calls, report.failures.len(), &unit.key);
                continue;
            }
            if opts.max_calls.is_some_and(|m| report.calls >= m) {
                stop = Some(format!("--max-calls {} reached", report.calls));
                break;
            }
            let result = client.call(&unit.key.api.call_for(unit.key.range)).await;
            report.calls += 1;
            let outcome = match result {
                Ok(body) => collect_unit(app, unit, body, &results),
                Err(e) if e.class() == ErrorClass::NotReady => Ok(Unfinished::Final(Vec::new())),
                // The live poller's policy decides the scope; a batch run
                // has no later round, so "back off" means "not this run".
                Err(e) => match policy::decide(e.class(), 1, now) {
                    Decision::BackOffApi { .. } => {
                        stopped_apis.insert(
                            unit.key.api,
                            format!("{} failed earlier in this run: {e}", unit.key.api.label()),
                        );
                        Err(format!("{e} ({})", e.class().advice()))
                    }
                    Decision::DisableApi => {
                        stopped_apis.insert(unit.key.api, "API not authorised for this app".into());
                        Err(e.to_string())
                    }
                    Decision::EndAppRound | Decision::PauseApp { .. } => {
                        let why = match e.class() {
                            ErrorClass::DailyQuota => {
                                "daily quota reached (45009); continue after Beijing midnight"
                                    .into()
                            }
                            ErrorClass::RateLimited => {
                                "per-minute rate limit (45011); lower --rate".into()
                            }
                            class => {
                                report.failures.push(Failure {
                                    unit: unit.key.clone(),
                                    error: format!("{e} ({})", class.advice()),
                                });
                                class.advice().to_string()
                            }
                        };
                        // Not finished: the next run asks again.
                        app_stop = Some(format!("{}: {why}", app.name));
                        continue;
                    }
                },
            };
            match outcome {
                Ok(Unfinished::Provisional) => {
                    // Not recorded: the next run asks again, and writes the
                    // numbers once WeChat says they are final.
                    report.provisional += 1;
                    bar.step(report.calls, report.failures.len(), &unit.key);
                    continue;
                }
                Ok(Unfinished::Final(fetched)) => {
                    if fetched.is_empty() {
                        report.not_ready += 1;
                        // Data that is still due to be released today is
                        // asked again next run; older "not ready" means none.
                        if unit.key.range.end >= latest_day(now) - Duration::days(1) {
                            bar.step(report.calls, report.failures.len(), &unit.key);
                            continue;
                        }
                    }
                    let rec = Record {
                        unit: unit.key.clone(),
                        results: fetched,
                    };
                    let line = serde_json::to_string(&rec).map_err(|e| io_err(&progress, e))?;
                    writeln!(progress_file, "{line}").map_err(|e| io_err(&progress, e))?;
                    done.insert(unit.key.clone());
                    results.push(rec);
                }
                Err(error) => {
                    eprintln!(
                        "{}backfill: {} {} {}..{}: {error}",
                        if bar.tty && opts.progress {
                            "\r\x1b[2K"
                        } else {
                            ""
                        },
                        unit.key.app,
                        unit.key.api.label(),
                        unit.key.range.begin,
                        unit.key.range.end
                    );
                    report.failures.push(Failure {
                        unit: unit.key.clone(),
                        error,
                    });
                }
            }
            bar.step(report.calls, report.failures.len(), &unit.key);
        }
        if stop.is_some() {
            break;
        }
        if let Some(why) = app_stop {
            stop = Some(why);
        }
    }
    bar.finish();
    let _ = progress_file.flush();
    drop(progress_file);

    if let Some(reason) = stop {
        let remaining = plans
            .iter()
            .flat_map(|(_, u)| u)
            .filter(|u| !done.contains(&u.key))
            .count();
        return Err(BackfillError::Stopped {
            calls: report.calls,
            remaining,
            reason,
            progress: progress.display().to_string(),
        });
    }

    let clamp = (now - Duration::hours(HEAD_MARGIN_HOURS)).timestamp();
    let series = Series::build(&results);
    let (files, lines) = write_output(&series, opts, clamp)?;
    report.files = files;
    report.lines = lines;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// What one answer gave: samples that will not change, or numbers WeChat
/// says may still change (`is_delay`), which are not written.
enum Unfinished {
    Final(Vec<Fetched>),
    Provisional,
}

/// Turns one answer into samples for each of the unit's targets.
fn collect_unit(
    app: &AppConfig,
    unit: &Unit,
    body: serde_json::Value,
    earlier: &[Record],
) -> Result<Unfinished, String> {
    let collector = collectors::collector(unit.key.api);
    let cumulate_days = earlier
        .iter()
        .filter(|r| r.unit.app == app.name && r.unit.api == Api::UserCumulate)
        .flat_map(|r| r.results.iter().map(|f| f.target.data_period.end));
    let ctx = Ctx::new(app, unit.key.api, cumulate_days, &body);
    let mut out = Vec::new();
    for target in &unit.targets {
        match collector.collect(&ctx, target, body.clone()) {
            Ok(Collected::Samples(samples)) | Ok(Collected::Partial { samples, .. }) => {
                out.push(Fetched {
                    target: *target,
                    samples: samples.into(),
                })
            }
            // History is written once, so only final numbers are: `is_delay`
            // is one flag for the whole answer, so the whole unit waits.
            Ok(Collected::Provisional(_)) => return Ok(Unfinished::Provisional),
            Ok(Collected::NotReady) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(Unfinished::Final(out))
}

/// When a value of `data_period` is shown: from Beijing midnight after
/// the period for one period of its kind (day, week, month).
pub fn window(data_period: DateRange, period: Period) -> (i64, i64) {
    let next = data_period.shift(1, period);
    (
        beijing_midnight(data_period.end + Duration::days(1)).timestamp(),
        beijing_midnight(next.end + Duration::days(1)).timestamp(),
    )
}

/// Every series of the output with its values per window, ordered as
/// written: families in `/metrics` order, then the data date.
struct Series {
    /// Per family: rendered labels → (window start, window end, value).
    data: BTreeMap<Family, Windows>,
    /// `wechat_data_date_timestamp_seconds{app,api}` windows.
    data_date: BTreeMap<String, BTreeSet<(i64, i64, i64)>>,
}

/// A series' values: (window start, window end, value), by rendered labels.
type Windows = BTreeMap<String, Vec<(i64, i64, f64)>>;

const DATA_DATE: &str = "wechat_data_date_timestamp_seconds";
const DATA_DATE_HELP: &str = "Beijing midnight at the start of the day, week or month that the published values of this API belong to.";

impl Series {
    fn build(records: &[Record]) -> Series {
        let mut data: BTreeMap<Family, Windows> = BTreeMap::new();
        let mut data_date: BTreeMap<String, BTreeSet<(i64, i64, i64)>> = BTreeMap::new();
        for r in records {
            let period = r.unit.api.period();
            let dd_labels = render_labels(&[("app", &r.unit.app), ("api", r.unit.api.label())]);
            for f in &r.results {
                let (start, end) = window(f.target.data_period, period);
                if f.samples.is_empty() {
                    continue;
                }
                data_date.entry(dd_labels.clone()).or_default().insert((
                    start,
                    end,
                    beijing_midnight(f.target.data_period.begin).timestamp(),
                ));
                for s in &f.samples {
                    data.entry(s.family)
                        .or_default()
                        .entry(s.labels.clone())
                        .or_default()
                        .push((start, end, s.value));
                }
            }
        }
        for fam in data.values_mut() {
            for windows in fam.values_mut() {
                windows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            }
        }
        Series { data, data_date }
    }

    /// The first and last instant any value is shown.
    fn span(&self) -> Option<(i64, i64)> {
        let all = self
            .data
            .values()
            .flat_map(|f| f.values().flatten().map(|w| (w.0, w.1)))
            .chain(self.data_date.values().flatten().map(|w| (w.0, w.1)));
        all.fold(None, |acc, (s, e)| match acc {
            None => Some((s, e)),
            Some((a, b)) => Some((a.min(s), b.max(e))),
        })
    }
}

/// Writes one series' windows at `step`, times in `[lo, hi)`. Windows are
/// sorted; `last` keeps time strictly increasing should two overlap.
fn write_series(
    out: &mut impl Write,
    prefix: &str,
    windows: impl Iterator<Item = (i64, i64, f64)>,
    step: i64,
    lo: i64,
    hi: i64,
) -> std::io::Result<u64> {
    let mut lines = 0;
    let mut last = i64::MIN;
    let mut value = String::new();
    for (start, end, v) in windows {
        let end = end.min(hi);
        if end <= lo || start >= end {
            continue;
        }
        value.clear();
        write_value(&mut value, v);
        // Keep the grid anchored at the window start even when `lo` cuts it.
        let mut t = if start >= lo {
            start
        } else {
            start + (lo - start + step - 1) / step * step
        };
        while t < end {
            if t > last {
                writeln!(out, "{prefix}{value} {t}")?;
                last = t;
                lines += 1;
            }
            t += step;
        }
    }
    Ok(lines)
}

/// `name{target labels,series labels} `: the target's labels first, as a
/// scrape attaches them, so each line names the series the live scrape makes.
fn series_prefix(name: &str, target: &str, labels: &str) -> String {
    match (target.is_empty(), labels.is_empty()) {
        (true, _) => format!("{name}{{{labels}}} "),
        (false, true) => format!("{name}{{{target}}} "),
        (false, false) => format!("{name}{{{target},{labels}}} "),
    }
}

/// Renders every family, contiguous, with `# TYPE` once, ending in `# EOF`.
fn render_file(
    path: &Path,
    series: &Series,
    target: &str,
    step: i64,
    lo: i64,
    hi: i64,
) -> Result<u64, BackfillError> {
    let tmp = {
        let mut s = path.as_os_str().to_owned();
        s.push(".tmp");
        PathBuf::from(s)
    };
    let file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut lines = 0;
    let mut write = |out: &mut std::io::BufWriter<std::fs::File>| -> std::io::Result<()> {
        for (fam, by_labels) in &series.data {
            writeln!(out, "# HELP {} {}", fam.name(), fam.help())?;
            writeln!(out, "# TYPE {} gauge", fam.name())?;
            for (labels, windows) in by_labels {
                let prefix = series_prefix(fam.name(), target, labels);
                lines += write_series(out, &prefix, windows.iter().copied(), step, lo, hi)?;
            }
        }
        if !series.data_date.is_empty() {
            writeln!(out, "# HELP {DATA_DATE} {DATA_DATE_HELP}")?;
            writeln!(out, "# TYPE {DATA_DATE} gauge")?;
            for (labels, windows) in &series.data_date {
                let prefix = series_prefix(DATA_DATE, target, labels);
                let w = windows.iter().map(|&(s, e, v)| (s, e, v as f64));
                lines += write_series(out, &prefix, w, step, lo, hi)?;
            }
        }
        writeln!(out, "# EOF")?;
        out.flush()
    };
    write(&mut out).map_err(|e| io_err(&tmp, e))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    Ok(lines)
}

/// Writes the output file, or one part per `split_days` days.
fn write_output(
    series: &Series,
    opts: &Options,
    clamp: i64,
) -> Result<(Vec<(PathBuf, u64)>, u64), BackfillError> {
    let step = opts.step as i64;
    let pairs: Vec<(&str, &str)> = opts
        .target_labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let target = render_labels(&pairs);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    if opts.split_days == 0 {
        let lines = render_file(&opts.output, series, &target, step, i64::MIN, clamp)?;
        return Ok((vec![(opts.output.clone(), size(&opts.output))], lines));
    }
    // Parts start at Beijing midnights (16:00 UTC, a multiple of 2 h), so
    // the 2-hour blocks promtool cuts never straddle two parts.
    let mut files = Vec::new();
    let mut lines = 0;
    let Some((first, last)) = series.span() else {
        return Ok((files, 0));
    };
    let last = last.min(clamp);
    let chunk = opts.split_days as i64 * 86_400;
    let mut lo = first;
    while lo < last {
        let hi = (lo + chunk).min(last);
        let day = crate::dates::beijing_date(DateTime::from_timestamp(lo, 0).unwrap_or_default());
        let mut name = opts.output.as_os_str().to_owned();
        name.push(format!(".part-{day}"));
        let path = PathBuf::from(name);
        lines += render_file(&path, series, &target, step, lo, hi)?;
        files.push((path.clone(), size(&path)));
        lo += chunk;
    }
    Ok((files, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_dashed(s).unwrap()
    }

    #[test]
    fn periods_are_complete_and_end_in_range() {
        let w = periods(Period::Weekly, d("2025-01-01"), d("2025-01-20"));
        // Weeks ending Sun 5, 12, 19 January.
        assert_eq!(
            w.iter().map(|p| p.end).collect::<Vec<_>>(),
            vec![d("2025-01-05"), d("2025-01-12"), d("2025-01-19")]
        );
        let m = periods(Period::Monthly, d("2025-01-15"), d("2025-03-30"));
        // January ends in the range (its values are partly before --from,
        // but it is the month whose value is shown in February); March
        // does not end in it.
        assert_eq!(
            m.iter().map(|p| p.begin).collect::<Vec<_>>(),
            vec![d("2025-01-01"), d("2025-02-01")]
        );
        assert_eq!(
            periods(Period::Daily, d("2025-01-01"), d("2025-01-03")).len(),
            3
        );
    }

    #[test]
    fn windows_follow_the_live_timeline() {
        let (s, e) = window(DateRange::day(d("2025-01-01")), Period::Daily);
        assert_eq!(s, beijing_midnight(d("2025-01-02")).timestamp());
        assert_eq!(e - s, 86_400);
        let (s, e) = window(DateRange::week_of(d("2025-01-01")), Period::Weekly);
        assert_eq!(s, beijing_midnight(d("2025-01-06")).timestamp());
        assert_eq!(e, beijing_midnight(d("2025-01-13")).timestamp());
        let (s, e) = window(DateRange::month_of(d("2025-01-10")), Period::Monthly);
        assert_eq!(s, beijing_midnight(d("2025-02-01")).timestamp());
        assert_eq!(e, beijing_midnight(d("2025-03-01")).timestamp());
    }

    #[test]
    fn share_days_before_wechat_keeps_them_are_not_asked() {
        let mut app = AppConfig::new(
            "news",
            crate::api::AppKind::OfficialAccount,
            "wx00112233445566bb",
            crate::secret::Secret::new("s".to_string()),
        );
        app.apis = Some(vec![Api::ArticleRead, Api::ArticleShare]);
        let units = plan_app(&app, d("2025-10-30"), d("2025-11-02"));
        let days = |api: Api| -> Vec<NaiveDate> {
            units
                .iter()
                .filter(|u| u.key.api == api)
                .map(|u| u.key.range.begin)
                .collect()
        };
        assert_eq!(days(Api::ArticleRead).len(), 4);
        assert_eq!(
            days(Api::ArticleShare),
            vec![d("2025-11-01"), d("2025-11-02")]
        );
    }

    #[test]
    fn series_points_are_strictly_increasing_and_clamped() {
        let mut out = Vec::new();
        let n = write_series(
            &mut out,
            "m ",
            [(0, 600, 1.0), (300, 900, 2.0), (900, 1200, 3.0)].into_iter(),
            120,
            0,
            1000,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let ts: Vec<i64> = text
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(n as usize, ts.len());
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
        assert!(ts.iter().all(|t| *t < 1000));
    }
}
