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
//!
//! Files: `args.rs` (flags and validation), `plan.rs` (the units to call),
//! `progress.rs` (the progress file), `report.rs` (progress line and
//! summary), `openmetrics.rs` (the output), `error.rs`; this file runs the
//! calls.

mod args;
mod error;
mod openmetrics;
mod plan;
mod progress;
mod report;

pub use args::{validate, Options, RawArgs, DEFAULT_INSTANCE, DEFAULT_JOB};
pub use error::BackfillError;
pub use openmetrics::{window, HEAD_MARGIN_HOURS};
pub use plan::{UnitKey, MINIPROGRAM_EARLIEST, OFFICIAL_ACCOUNT_EARLIEST};
pub use progress::progress_path;
pub use report::{Failure, Report};

use crate::api::Api;
use crate::clock::Clock;
use crate::collectors::{self, Collected, Ctx};
use crate::config::{AppConfig, Config};
use crate::dates::latest_day;
use crate::poll::policy::{self, Decision};
use crate::self_metrics::SelfMetrics;
use crate::state::Fetched;
use crate::wechat::client::{app_client, AppClient};
use crate::wechat::error::{ApiError, ErrorClass};
use crate::wechat::http::http_client;
use crate::wechat::rate_limit::RateLimiter;
use chrono::{DateTime, Duration, Utc};
use plan::Unit;
use progress::{ProgressFile, Record};
use report::ProgressLine;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Runs a backfill at `clock`'s now. Loads the config's apps, makes the
/// calls not yet in the progress file, then writes the output.
pub async fn run(config: &Config, opts: &Options, clock: Clock) -> Result<Report, BackfillError> {
    let started = std::time::Instant::now();
    let now = clock.now();
    let fp = progress::fingerprint(config, opts.from, opts.to);
    let progress = progress_path(&opts.output);
    let records = progress::load_progress(&progress, &fp)?;
    let plans = plan::plan(config, opts.from, opts.to);
    let mut run = Run::new(opts, now, records, &plans);
    run.report.skipped = plan::skipped(config, opts.from);
    let mut file = ProgressFile::open(&progress, &fp)?;

    let stop = run.fetch(config, &plans, &mut file, clock).await?;
    run.bar.finish();
    file.close();
    if let Some(reason) = stop {
        let remaining = plans
            .iter()
            .flat_map(|(_, u)| u)
            .filter(|u| !run.done.contains(&u.key))
            .count();
        return Err(BackfillError::Stopped {
            calls: run.report.calls,
            remaining,
            reason,
            progress: progress.display().to_string(),
        });
    }

    let mut report = run.report;
    (report.files, report.lines) = openmetrics::write(&run.results, opts, now)?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// One run's state while it makes its calls.
struct Run<'a> {
    opts: &'a Options,
    now: DateTime<Utc>,
    /// Units finished, in the progress file or by this run.
    done: HashSet<UnitKey>,
    /// Their records, in the order they finished.
    results: Vec<Record>,
    report: Report,
    bar: ProgressLine,
}

/// How one app's units ended.
enum AppEnd {
    /// Every unit was tried (some may have failed).
    Done,
    /// An app-scoped failure left the rest of its units for the next run.
    Stopped(String),
    /// `--max-calls` was reached: nothing more is asked this run.
    MaxCalls(String),
}

impl<'a> Run<'a> {
    fn new(
        opts: &'a Options,
        now: DateTime<Utc>,
        records: Vec<Record>,
        plans: &[(&AppConfig, Vec<Unit>)],
    ) -> Self {
        let done: HashSet<UnitKey> = records.iter().map(|r| r.unit.clone()).collect();
        let units = plans.iter().map(|(_, u)| u.len()).sum();
        let already = plans
            .iter()
            .flat_map(|(_, u)| u)
            .filter(|u| done.contains(&u.key))
            .count();
        Self {
            opts,
            now,
            report: Report {
                resumed: done.len(),
                units,
                ..Report::default()
            },
            done,
            results: records,
            bar: ProgressLine::new(opts.progress, units, already),
        }
    }

    /// Makes every app's calls; `Some(reason)` when the run stopped early.
    async fn fetch(
        &mut self,
        config: &Config,
        plans: &[(&AppConfig, Vec<Unit>)],
        file: &mut ProgressFile,
        clock: Clock,
    ) -> Result<Option<String>, BackfillError> {
        let metrics = Arc::new(SelfMetrics::new());
        let http = http_client(&config.wechat);
        // --rate paces every WeChat call (retries and token calls too) through
        // the poller's limiter, not poll.max_calls_per_minute.
        let limiter = Arc::new(RateLimiter::spaced(Some(
            std::time::Duration::from_secs_f64(1.0 / self.opts.rate),
        )));
        // Apps stopped by an app-scoped failure, and why: each costs only
        // that app; the others are fetched in full, so a rerun asks for the
        // stopped apps' units alone.
        let mut stops: Vec<String> = Vec::new();
        for (app, units) in plans {
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
            match self.fetch_app(app, units, &client, file).await? {
                AppEnd::MaxCalls(why) => {
                    stops.push(why);
                    break;
                }
                AppEnd::Stopped(why) => stops.push(why),
                AppEnd::Done => {}
            }
        }
        Ok((!stops.is_empty()).then(|| stops.join("; ")))
    }

    /// Makes one app's calls, in plan order, skipping finished units.
    async fn fetch_app(
        &mut self,
        app: &AppConfig,
        units: &[Unit],
        client: &AppClient,
        file: &mut ProgressFile,
    ) -> Result<AppEnd, BackfillError> {
        // APIs stopped for this run by an API-scoped failure, and why.
        let mut stopped_apis: BTreeMap<Api, String> = BTreeMap::new();
        for unit in units {
            if self.done.contains(&unit.key) {
                continue;
            }
            if let Some(why) = stopped_apis.get(&unit.key.api) {
                self.report.failures.push(Failure {
                    unit: unit.key.clone(),
                    error: format!("skipped: {why}"),
                });
                self.step(&unit.key);
                continue;
            }
            if self.opts.max_calls.is_some_and(|m| self.report.calls >= m) {
                return Ok(AppEnd::MaxCalls(format!(
                    "--max-calls {} reached",
                    self.report.calls
                )));
            }
            let result = client.call(&unit.key.call(app)).await;
            self.report.calls += 1;
            let outcome = match result {
                Ok(body) => collect_unit(app, unit, body, &self.results),
                Err(e) if e.class() == ErrorClass::NotReady => Ok(Unfinished::Final(Vec::new())),
                Err(e) => match cost(&e, unit.key.api, self.now) {
                    Cost::Unit { error, api_stop } => {
                        if let Some(why) = api_stop {
                            stopped_apis.insert(unit.key.api, why);
                        }
                        Err(error)
                    }
                    Cost::App { why, failure } => {
                        if let Some(error) = failure {
                            self.report.failures.push(Failure {
                                unit: unit.key.clone(),
                                error,
                            });
                        }
                        // Not finished: the next run asks again; the app's
                        // other units are left for it, counted as remaining.
                        return Ok(AppEnd::Stopped(format!("{}: {why}", app.name)));
                    }
                },
            };
            self.record(unit, outcome, file)?;
        }
        Ok(AppEnd::Done)
    }

    /// Records what one call gave, then advances the progress line.
    fn record(
        &mut self,
        unit: &Unit,
        outcome: Result<Unfinished, String>,
        file: &mut ProgressFile,
    ) -> Result<(), BackfillError> {
        match outcome {
            // Not recorded: the next run asks again, and writes the
            // numbers once WeChat says they are final.
            Ok(Unfinished::Provisional) => self.report.provisional += 1,
            Ok(Unfinished::Final(fetched)) => {
                let none = fetched.is_empty();
                if none {
                    self.report.not_ready += 1;
                }
                // Data that is still due to be released today is asked
                // again next run; older "not ready" means none.
                let due = none && unit.key.range.end >= latest_day(self.now) - Duration::days(1);
                if !due {
                    let rec = Record {
                        unit: unit.key.clone(),
                        results: fetched,
                    };
                    file.append(&rec)?;
                    self.done.insert(unit.key.clone());
                    self.results.push(rec);
                }
            }
            Err(error) => {
                eprintln!("{}backfill: {}: {error}", self.bar.clear(), unit.key);
                self.report.failures.push(Failure {
                    unit: unit.key.clone(),
                    error,
                });
            }
        }
        self.step(&unit.key);
        Ok(())
    }

    fn step(&mut self, key: &UnitKey) {
        self.bar
            .step(self.report.calls, self.report.failures.len(), key);
    }
}

/// What a failed call costs the rest of this run. The live poller's policy
/// decides the scope; a batch run has no later round, so "back off" means
/// "not this run".
enum Cost {
    /// This unit fails with `error`; with `api_stop`, so do the API's
    /// remaining units, for that reason.
    Unit {
        error: String,
        api_stop: Option<String>,
    },
    /// The app's remaining units wait for the next run, for `why`; with
    /// `failure`, this unit is also reported as failed.
    App {
        why: String,
        failure: Option<String>,
    },
}

fn cost(e: &ApiError, api: Api, now: DateTime<Utc>) -> Cost {
    match policy::decide(e.class(), 1, now) {
        Decision::BackOffApi { .. } => Cost::Unit {
            error: format!("{e} ({})", e.class().advice()),
            api_stop: Some(format!("{} failed earlier in this run: {e}", api.label())),
        },
        Decision::DisableApi => Cost::Unit {
            error: e.to_string(),
            api_stop: Some("API not authorised for this app".into()),
        },
        Decision::SkipTarget { .. } => Cost::Unit {
            error: format!("{e} ({})", e.class().advice()),
            api_stop: None,
        },
        Decision::EndAppRound | Decision::PauseApp { .. } => match e.class() {
            ErrorClass::DailyQuota => Cost::App {
                why: "daily quota reached (45009); continue after Beijing midnight".into(),
                failure: None,
            },
            ErrorClass::RateLimited => Cost::App {
                why: "per-minute rate limit (45011); lower --rate".into(),
                failure: None,
            },
            class => Cost::App {
                why: class.advice().to_string(),
                failure: Some(format!("{e} ({})", class.advice())),
            },
        },
    }
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
