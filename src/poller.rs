//! The poller: decides what is due, calls WeChat, keeps the last good data,
//! and publishes a new snapshot.
//!
//! Invariants:
//! * Final data is never fetched again: a target (API, period, slot) that
//!   answered with data stays in `ApiState::results` until a newer period
//!   replaces it.
//! * Nothing is asked before it can exist: a period is first asked for at
//!   `release_hour` Beijing on the day after it ends; "not ready" is retried
//!   after 15, 30 and then every 60 minutes.
//! * A failure never removes data: the last good samples stay published,
//!   and `poll_success` / the error counters say what failed.
//! * Rounds never overlap; apps are polled concurrently up to a bound, and
//!   a failing app gives up its round without delaying the others.

use crate::clock::Clock;
use crate::collectors::{self, Collected, Ctx, Target};
use crate::config::{AppConfig, Config, PollSettings};
use crate::dates::{beijing_midnight, next_beijing_midnight, DateRange, Period};
use crate::error::{ApiError, ErrorClass};
use crate::families::Sample;
use crate::rate_limit::RateLimiter;
use crate::self_metrics::SelfMetrics;
use crate::snapshot::{self, SnapshotStore};
use crate::wechat::api::Api;
use crate::wechat::client::{app_client, http_client, AppClient};
use arc_swap::ArcSwap;
use chrono::{DateTime, Datelike, Duration, Utc};
use futures::StreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::{debug, error, warn};

/// Delays between "not ready" answers for the same period.
const NOT_READY_DELAYS_MIN: [i64; 3] = [15, 30, 60];

/// One fetched, final answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fetched {
    pub target: Target,
    pub samples: Vec<Sample>,
}

/// What the poller knows about one API of one app.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ApiState {
    /// Final data, at most one per slot once pruned.
    pub results: Vec<Fetched>,
    /// Targets that answered "not ready": when to ask again, attempts so far.
    #[serde(skip)]
    pub retry_at: BTreeMap<Target, (DateTime<Utc>, u32)>,
    pub poll_success: Option<bool>,
    pub data_ready: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Set when WeChat says the app may not use this API.
    pub disabled: Option<String>,
}

impl ApiState {
    fn has(&self, t: &Target) -> bool {
        self.results.iter().any(|f| f.target == *t)
    }

    fn has_slot(&self, slot: u32) -> bool {
        self.results.iter().any(|f| f.target.slot == slot)
    }

    /// Per slot, the newest result: what `/metrics` shows.
    pub fn published(&self) -> impl Iterator<Item = &Fetched> {
        self.results.iter().filter(|f| {
            !self
                .results
                .iter()
                .any(|o| o.target.slot == f.target.slot && o.target.range > f.target.range)
        })
    }

    /// Keeps only what can still be published.
    fn prune(&mut self, plan: &[Target]) {
        let newest: BTreeMap<u32, DateRange> = self
            .published()
            .map(|f| (f.target.slot, f.target.range))
            .collect();
        let slots: Vec<u32> = plan.iter().map(|t| t.slot).collect();
        self.results.retain(|f| {
            slots.contains(&f.target.slot) && newest.get(&f.target.slot) == Some(&f.target.range)
        });
        self.retry_at.retain(|t, _| plan.contains(t));
    }
}

/// What the poller knows about one app.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppState {
    pub apis: BTreeMap<Api, ApiState>,
    pub paused_until: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    /// Consecutive credential/whitelist failures, for a growing pause.
    pub hard_failures: u32,
    pub polled_once: bool,
    pub last_error: Option<String>,
}

pub struct AppPoller {
    pub config: AppConfig,
    client: AppClient,
    pub state: Mutex<AppState>,
}

impl AppPoller {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, AppState> {
        // A panic elsewhere cannot leave the state half-written in a way
        // that matters more than losing the exporter: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the rest of the round does after a call.
enum Flow {
    Continue,
    /// This API is done for the round (e.g. just disabled).
    StopApi,
    /// This app is done for the round.
    StopApp,
}

pub struct Poller {
    clock: Clock,
    settings: ArcSwap<(PollSettings, crate::config::WechatSettings)>,
    apps: ArcSwap<Vec<Arc<AppPoller>>>,
    pub metrics: Arc<SelfMetrics>,
    pub store: Arc<SnapshotStore>,
    http: ArcSwap<reqwest::Client>,
    round: tokio::sync::Mutex<()>,
    last_publish: Mutex<Option<std::time::Instant>>,
    /// How long the last render took, for the publish debounce.
    last_render_us: AtomicU64,
    /// Labels added to the self-state metrics, e.g. the shard.
    extra_labels: Vec<(String, String)>,
    /// `poll.max_calls_per_minute`, shared by every app's data and token calls.
    limiter: Arc<RateLimiter>,
}

impl Poller {
    pub fn new(config: &Config, clock: Clock, metrics: Arc<SelfMetrics>) -> Arc<Self> {
        Self::with_labels(config, clock, metrics, Vec::new())
    }

    /// Like `new`, with labels (e.g. the shard) on the exporter-wide gauges.
    pub fn with_labels(
        config: &Config,
        clock: Clock,
        metrics: Arc<SelfMetrics>,
        extra_labels: Vec<(String, String)>,
    ) -> Arc<Self> {
        let wait_counter = metrics.rate_limit_wait.clone();
        let http = http_client(&config.wechat);
        let p = Arc::new(Self {
            clock,
            settings: ArcSwap::from_pointee((config.poll.clone(), config.wechat.clone())),
            apps: ArcSwap::from_pointee(Vec::new()),
            metrics,
            store: Arc::new(SnapshotStore::default()),
            http: ArcSwap::from_pointee(http),
            round: tokio::sync::Mutex::new(()),
            last_publish: Mutex::new(None),
            last_render_us: AtomicU64::new(0),
            extra_labels,
            limiter: Arc::new(
                RateLimiter::new(config.poll.max_calls_per_minute).with_wait_counter(wait_counter),
            ),
        });
        p.apply_config(config);
        p
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The process-wide limiter every WeChat call waits for.
    pub fn rate_limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    pub fn apps(&self) -> Arc<Vec<Arc<AppPoller>>> {
        self.apps.load_full()
    }

    fn new_app(&self, cfg: &AppConfig) -> AppPoller {
        let settings = self.settings.load();
        let client = app_client(
            cfg,
            &settings.1,
            self.http.load_full().as_ref().clone(),
            self.clock.clone(),
            self.metrics.clone(),
            Some(self.limiter.clone()),
        );
        let mut state = AppState::default();
        for api in cfg.enabled_apis() {
            state.apis.insert(api, ApiState::default());
        }
        AppPoller {
            config: cfg.clone(),
            client,
            state: Mutex::new(state),
        }
    }

    /// Applies a (re)loaded config: unchanged apps keep their state and
    /// data, new apps start empty, removed apps disappear.
    pub fn apply_config(&self, config: &Config) {
        let old_settings = self.settings.load_full();
        let wechat_changed = old_settings.1 != config.wechat;
        self.settings
            .store(Arc::new((config.poll.clone(), config.wechat.clone())));
        self.limiter
            .set_per_minute(config.poll.max_calls_per_minute);
        if wechat_changed {
            self.http.store(Arc::new(http_client(&config.wechat)));
        }
        let old = self.apps.load_full();
        let mut next = Vec::with_capacity(config.apps.len());
        for cfg in &config.apps {
            // `==` covers the resolved secret too: a rotated secret is a new app.
            match old.iter().find(|a| a.config == *cfg) {
                Some(a) if !wechat_changed => next.push(a.clone()),
                _ => next.push(Arc::new(self.new_app(cfg))),
            }
        }
        for gone in old
            .iter()
            .filter(|a| !config.apps.iter().any(|c| c.name == a.config.name))
        {
            self.metrics.forget_app(&gone.config.name);
        }
        self.apps.store(Arc::new(next));
        self.publish(true);
    }

    /// Restores saved state into apps of the same name and appid.
    pub fn restore(&self, saved: crate::storage::SavedApps) -> usize {
        let mut restored = 0;
        for app in self.apps.load().iter() {
            if let Some((appid, st)) = saved.get(&app.config.name) {
                if *appid != app.config.appid {
                    continue;
                }
                let mut cur = app.lock();
                for (api, saved_api) in &st.apis {
                    if let Some(a) = cur.apis.get_mut(api) {
                        a.results = saved_api.results.clone();
                        a.last_success = saved_api.last_success;
                        a.data_ready = saved_api.data_ready;
                    }
                }
                restored += 1;
            }
        }
        self.publish(true);
        restored
    }

    /// Runs rounds every `poll.interval` until `shutdown` fires, which also
    /// cancels a running round. A round that outlasts the interval makes the
    /// next tick be skipped, not queued.
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
        wake: Arc<tokio::sync::Notify>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let started = std::time::Instant::now();
            // Shutdown drops the round at its next await (a WeChat call, a
            // jitter sleep, a rate-limiter wait): what finished is kept, the
            // rest is asked for after the restart, and the state file is
            // saved within the stop budget instead of after the round.
            tokio::select! {
                _ = self.poll_once() => {}
                // A dropped sender means no stop will ever come.
                _ = async {
                    if shutdown.wait_for(|stop| *stop).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => {
                    debug!("poll round cancelled by shutdown");
                    return;
                }
            }
            let interval = self.settings.load().0.interval;
            let elapsed = started.elapsed();
            if elapsed > interval {
                self.metrics
                    .poll_rounds_skipped
                    .inc_by((elapsed.as_secs_f64() / interval.as_secs_f64()) as u64);
            }
            let wait = interval.saturating_sub(elapsed);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One round at the clock's current time. Concurrent calls wait: rounds
    /// never overlap.
    pub async fn poll_once(&self) {
        let _round = self.round.lock().await;
        self.metrics.poll_rounds.inc();
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let apps = self.apps.load_full();
        let (settings, _) = &**self.settings.load();
        let concurrency = settings.concurrency;
        let jitter = settings.jitter;
        let release_hour = settings.release_hour;
        futures::stream::iter(apps.iter().cloned())
            .for_each_concurrent(concurrency, |app| async move {
                if !jitter.is_zero() {
                    let ms = rand::rng().random_range(0..=jitter.as_millis() as u64);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                self.poll_app(&app, now, release_hour).await;
                self.publish(false);
            })
            .await;
        self.store
            .set_round_duration(started.elapsed().as_secs_f64());
        self.publish(true);
        debug!(
            apps = apps.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "poll round done"
        );
    }

    async fn poll_app(&self, app: &AppPoller, now: DateTime<Utc>, release_hour: f64) {
        {
            let mut st = app.lock();
            if let Some(until) = st.paused_until {
                if now < until {
                    st.polled_once = true;
                    return;
                }
                st.paused_until = None;
                st.pause_reason = None;
            }
        }
        // The configured order: cumulate before summary.
        for api in app.config.enabled_apis() {
            if let Flow::StopApp = self.poll_api(app, api, now, release_hour).await {
                break;
            }
        }
        app.lock().polled_once = true;
    }

    async fn poll_api(
        &self,
        app: &AppPoller,
        api: Api,
        now: DateTime<Utc>,
        release_hour: f64,
    ) -> Flow {
        let collector = collectors::collector(api);
        let plan = collector.plan(now);
        let fallback_plan = collector.plan(previous_period_instant(now, api.period()));
        let mut work: VecDeque<Target> = {
            let mut st = app.lock();
            let Some(s) = st.apis.get_mut(&api) else {
                return Flow::Continue;
            };
            if s.disabled.is_some() {
                return Flow::Continue;
            }
            s.prune(&plan);
            plan.iter()
                .filter(|t| due(s, t, now, release_hour))
                .copied()
                .collect()
        };
        let mut tried_fallback = Vec::new();
        // poll_success says how this round's calls went: any failure is 0;
        // "not ready" is not a failure.
        let called = !work.is_empty();
        let mut failed = false;
        while let Some(target) = work.pop_front() {
            let result = app.client.call(api, target.range).await;
            let mut st = app.lock();
            // Only getusersummary needs to know which day cumulate showed released.
            let oa_released_day = (api == Api::UserSummary)
                .then(|| st.apis.get(&Api::UserCumulate))
                .flatten()
                .and_then(|c| c.published().map(|f| f.target.range.end).max());
            let ctx = Ctx {
                app: &app.config.name,
                page_limit: app.config.page_limit,
                oa_released_day,
            };
            let outcome = result.and_then(|body| {
                collector.collect(&ctx, &target, body).map_err(|e| {
                    self.metrics
                        .api_errors
                        .with_label_values(&[&app.config.name, api.label(), "decode"])
                        .inc();
                    ApiError::Decode {
                        url: api.path().to_string(),
                        reason: e.to_string(),
                    }
                })
            });
            let app_name = app.config.name.clone();
            let Some(s) = st.apis.get_mut(&api) else {
                return Flow::Continue;
            };
            let mut not_ready = false;
            match outcome {
                Ok(Collected::Samples(samples)) => {
                    s.results.push(Fetched { target, samples });
                    s.retry_at.remove(&target);
                    s.last_success = Some(now);
                    s.last_error = None;
                    st.hard_failures = 0;
                    debug!(app = %app_name, api = api.label(), period = ?target.range, "fetched");
                }
                Ok(Collected::NotReady) => not_ready = true,
                Err(e) if e.class() == ErrorClass::NotReady => not_ready = true,
                Err(e) => {
                    let class = e.class();
                    let msg = e.to_string();
                    failed = true;
                    s.poll_success = Some(false);
                    s.last_error = Some(msg.clone());
                    st.last_error = Some(format!("{}: {msg}", api.label()));
                    let flow = self.on_failure(&app_name, &mut st, api, &target, class, now);
                    error!(app = %app_name, api = api.label(), errcode = %e.errcode_label(), error = %msg, advice = class.advice(), "poll failed");
                    match flow {
                        Flow::StopApp => return Flow::StopApp,
                        Flow::StopApi => return Flow::Continue,
                        Flow::Continue => {}
                    }
                }
            }
            if not_ready {
                let Some(s) = st.apis.get_mut(&api) else {
                    return Flow::Continue;
                };
                schedule_retry(s, &target, now, release_hour);
                debug!(
                    app = %app_name,
                    api = api.label(),
                    period = ?target.range,
                    retry_at = ?s.retry_at.get(&target).map(|(t, _)| t.to_rfc3339()),
                    advice = ErrorClass::NotReady.advice(),
                    "data not ready"
                );
                if !s.has_slot(target.slot) {
                    // Nothing to show yet (first start): the previous period
                    // is released, show that meanwhile.
                    if let Some(fb) = fallback_plan.iter().find(|f| f.slot == target.slot) {
                        if !tried_fallback.contains(fb) && due(s, fb, now, 0.0) {
                            tried_fallback.push(*fb);
                            work.push_back(*fb);
                        }
                    }
                }
            }
        }
        let mut st = app.lock();
        if let Some(s) = st.apis.get_mut(&api) {
            s.prune(&plan);
            s.data_ready = plan.iter().all(|t| s.has(t));
            if called && !failed {
                s.poll_success = Some(true);
            }
        }
        Flow::Continue
    }

    fn on_failure(
        &self,
        app: &str,
        st: &mut AppState,
        api: Api,
        target: &Target,
        class: ErrorClass,
        now: DateTime<Utc>,
    ) -> Flow {
        let pause = |st: &mut AppState, until: DateTime<Utc>, reason: &str| {
            st.paused_until = Some(until);
            st.pause_reason = Some(reason.to_string());
            warn!(app, until = %until.to_rfc3339(), reason, "pausing app");
        };
        match class {
            ErrorClass::Transient | ErrorClass::Token => Flow::StopApp,
            ErrorClass::DailyQuota => {
                pause(
                    st,
                    next_beijing_midnight(now),
                    "daily quota reached (45009)",
                );
                Flow::StopApp
            }
            ErrorClass::RateLimited => {
                pause(
                    st,
                    now + Duration::minutes(5),
                    "per-minute rate limit (45011)",
                );
                Flow::StopApp
            }
            ErrorClass::Credentials | ErrorClass::IpWhitelist | ErrorClass::RiskyIp => {
                st.hard_failures += 1;
                let hours = 1i64 << (st.hard_failures - 1).min(3);
                pause(st, now + Duration::hours(hours), class.advice());
                Flow::StopApp
            }
            ErrorClass::Unauthorized => {
                if let Some(s) = st.apis.get_mut(&api) {
                    s.disabled = Some("not authorised for this app".into());
                }
                Flow::StopApi
            }
            ErrorClass::BadRequest | ErrorClass::Unknown | ErrorClass::NotReady => {
                // Asking again at once would fail the same way.
                if let Some(s) = st.apis.get_mut(&api) {
                    let n = s.retry_at.get(target).map(|(_, n)| *n).unwrap_or(0);
                    s.retry_at
                        .insert(*target, (now + Duration::hours(1), n + 1));
                }
                Flow::Continue
            }
        }
    }

    /// Renders and swaps in a new snapshot. Unforced calls are debounced so
    /// that a round over many apps does not render once per app: at least
    /// 1 s apart, and at least ten times the last render's duration apart,
    /// so that rendering a large exposition (tens of MB at 1,000 apps)
    /// mid-round takes at most ~10 % of a core.
    pub fn publish(&self, force: bool) {
        {
            let mut last = self.last_publish.lock().unwrap_or_else(|e| e.into_inner());
            let gap = std::time::Duration::from_secs(1).max(
                std::time::Duration::from_micros(self.last_render_us.load(Ordering::Relaxed)) * 10,
            );
            if !force && last.is_some_and(|t| t.elapsed() < gap) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let render_started = std::time::Instant::now();
        let apps = self.apps.load_full();
        let snap = snapshot::build(
            &apps,
            &self.metrics,
            self.store.round_duration(),
            &self.extra_labels,
            self.clock.now(),
        );
        self.store.swap(snap);
        self.last_render_us.store(
            render_started.elapsed().as_micros().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// True once every app has had its first poll.
    pub fn ready(&self) -> bool {
        self.apps.load().iter().all(|a| a.lock().polled_once)
    }
}

/// After a "not ready": ask again after 15, 30, then every 60 minutes, and
/// never before the period's usual release time.
fn schedule_retry(s: &mut ApiState, target: &Target, now: DateTime<Utc>, release_hour: f64) {
    let attempts = s.retry_at.get(target).map(|(_, n)| *n).unwrap_or(0);
    let delay = NOT_READY_DELAYS_MIN[(attempts as usize).min(NOT_READY_DELAYS_MIN.len() - 1)];
    let next = (now + Duration::minutes(delay)).max(release_time(target, release_hour));
    s.retry_at.insert(*target, (next, attempts + 1));
}

/// Whether `t` should be asked for at `now`.
fn due(s: &ApiState, t: &Target, now: DateTime<Utc>, release_hour: f64) -> bool {
    if s.has(t) {
        return false;
    }
    if let Some((at, _)) = s.retry_at.get(t) {
        return now >= *at;
    }
    // Before the release hour, only an empty slot is worth a call (it may
    // still answer for a period released earlier).
    now >= release_time(t, release_hour) || !s.has_slot(t.slot)
}

/// When WeChat normally releases `t`'s data: `release_hour` Beijing on the
/// day after the period ends.
fn release_time(t: &Target, release_hour: f64) -> DateTime<Utc> {
    beijing_midnight(t.data_period.end + Duration::days(1))
        + Duration::seconds((release_hour * 3600.0) as i64)
}

/// An instant whose latest complete period is the one before `now`'s.
fn previous_period_instant(now: DateTime<Utc>, period: Period) -> DateTime<Utc> {
    match period {
        Period::Daily => now - Duration::days(1),
        Period::Weekly => now - Duration::days(7),
        Period::Monthly => {
            let today = crate::dates::beijing_date(now);
            let first = today.with_day(1).unwrap_or(today);
            beijing_midnight(first) - Duration::days(1)
        }
    }
}
