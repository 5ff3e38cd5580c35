//! The poller: decides what is due, calls WeChat, keeps the last good data,
//! and publishes a new snapshot.
//!
//! Invariants:
//! * Final data is never fetched again: a target (API, period, slot) that
//!   answered with data stays in `ApiState::results` until a newer period
//!   replaces it.
//! * Nothing is asked before it can exist (`schedule.rs`).
//! * A failure never removes data: the last good samples stay published,
//!   and `poll_success` / the error counters say what failed.
//! * A failure has a scope (`policy.rs`): one API's failure never keeps the
//!   app's other APIs from being polled in the same round.
//! * Rounds never overlap; apps are polled concurrently up to a bound, and
//!   a failing app gives up its round without delaying the others.

use crate::api::Api;
use crate::clock::Clock;
use crate::collectors::Target;
use crate::collectors::{self, Collected, Ctx, Plan};
use crate::config::{AppConfig, Config, PollSettings, TokenSourceConfig};
use crate::expose::snapshot::SnapshotStore;
use crate::poll::policy::{self, Decision};
use crate::poll::schedule::{due, previous_period_instant, schedule_retry};
use crate::self_metrics::SelfMetrics;
use crate::state::{self, ApiState, AppRef, AppState, Backoff};
use crate::wechat::client::{app_client, AppClient};
use crate::wechat::component::Component;
use crate::wechat::error::{ApiError, ErrorClass};
use crate::wechat::http::http_client;
use crate::wechat::rate_limit::RateLimiter;
use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use rand::Rng;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::{debug, error, warn};

pub struct AppPoller {
    pub config: AppConfig,
    client: AppClient,
    pub state: Mutex<AppState>,
}

impl AppPoller {
    /// What a snapshot reads of this app.
    pub fn snapshot_ref(&self) -> AppRef<'_> {
        AppRef {
            name: &self.config.name,
            kind: self.config.kind,
            state: &self.state,
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, AppState> {
        state::lock(&self.state)
    }
}

/// What the rest of the app's round does after an API's turn.
/// One API's work in a round (see `Poller::plan_round`).
struct Round {
    plan: Vec<Target>,
    fallback_plan: Vec<Target>,
    work: VecDeque<Target>,
}

enum Flow {
    Continue,
    /// An app-scoped failure: the app is done for the round.
    StopApp,
    /// A target-scoped failure: the API's next target is asked.
    NextTarget,
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
    /// Apps found by platform discovery (`platform.rs`), polled with the
    /// configured ones; a configured app of the same appid or name wins.
    discovered: ArcSwap<Vec<AppConfig>>,
    /// The last applied config, to re-apply when discovery changes.
    last_config: ArcSwap<Config>,
    /// Set while a platform's first discovery is awaited: not ready before.
    awaiting_discovery: std::sync::atomic::AtomicBool,
    /// Saved state for apps that appear after start (discovered ones).
    saved: Mutex<state::SavedApps>,
    /// The third-party platform `authorizer` token sources ask, and the one
    /// the current apps were built with (a new one rebuilds those apps).
    component: ArcSwap<Option<Arc<Component>>>,
    built_with: ArcSwap<Option<Arc<Component>>>,
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
            discovered: ArcSwap::from_pointee(Vec::new()),
            last_config: ArcSwap::from_pointee(config.clone()),
            awaiting_discovery: std::sync::atomic::AtomicBool::new(
                config.platform.as_ref().is_some_and(|p| p.discover),
            ),
            saved: Mutex::new(Default::default()),
            component: ArcSwap::from_pointee(None),
            built_with: ArcSwap::from_pointee(None),
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
            self.component.load_full().as_ref().clone(),
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
        self.last_config.store(Arc::new(config.clone()));
        let component = self.component.load_full();
        let platform_changed = !same_component(&self.built_with.load(), &component);
        self.built_with.store(component);
        let discovered = self.discovered.load_full();
        let all: Vec<&AppConfig> = config
            .apps
            .iter()
            .chain(discovered.iter().filter(|d| {
                !config
                    .apps
                    .iter()
                    .any(|c| c.appid == d.appid || c.name == d.name)
            }))
            .collect();
        let old = self.apps.load_full();
        let mut next = Vec::with_capacity(all.len());
        for cfg in all.iter().copied() {
            // `==` covers the resolved secret too: a rotated secret is a new app.
            let new_client = wechat_changed
                || (platform_changed && matches!(cfg.token, TokenSourceConfig::Authorizer { .. }));
            match old.iter().find(|a| a.config == *cfg) {
                Some(a) if !new_client => next.push(a.clone()),
                // Same app, new way to reach WeChat: a new client, the
                // same state and data.
                Some(a) => {
                    let app = self.new_app(cfg);
                    *app.lock() = a.lock().clone();
                    next.push(Arc::new(app));
                }
                None => {
                    let app = self.new_app(cfg);
                    let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
                    restore_app(&app, &saved);
                    next.push(Arc::new(app));
                }
            }
        }
        for gone in old
            .iter()
            .filter(|a| !all.iter().any(|c| c.name == a.config.name))
        {
            self.metrics.forget_app(&gone.config.name);
        }
        self.apps.store(Arc::new(next));
        self.publish(true);
    }

    /// The third-party platform (`PlatformRunner::component`) that apps
    /// with an `authorizer` token source get their tokens from. A new one
    /// rebuilds those apps at once.
    pub fn set_component(&self, component: Option<Arc<Component>>) {
        if same_component(&self.component.load(), &component) {
            return;
        }
        self.component.store(Arc::new(component));
        let config = self.last_config.load_full();
        self.apply_config(&config);
    }

    /// Restores saved state into apps of the same name and appid, now and
    /// for apps that appear later (discovered by a platform).
    pub fn restore(&self, saved: state::SavedApps) -> usize {
        let mut restored = 0;
        for app in self.apps.load().iter() {
            if restore_app(app, &saved) {
                restored += 1;
            }
        }
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = saved;
        self.publish(true);
        restored
    }

    /// The apps a platform discovery found (see `platform.rs`); unchanged
    /// ones keep their state, those that left disappear.
    pub fn set_discovered(&self, apps: Vec<AppConfig>) {
        self.discovered.store(Arc::new(apps));
        self.awaiting_discovery.store(false, Ordering::Relaxed);
        let config = self.last_config.load_full();
        self.apply_config(&config);
    }

    /// A discovery round failed: readiness stops waiting for it.
    pub fn discovery_attempted(&self) {
        self.awaiting_discovery.store(false, Ordering::Relaxed);
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
                self.publish_in_round(false);
            })
            .await;
        self.store
            .set_round_duration(started.elapsed().as_secs_f64());
        self.publish_in_round(true);
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
        // The table's order: getusercumulate before getusersummary.
        for api in app.config.enabled_apis() {
            if let Flow::StopApp = self.poll_api(app, api, now, release_hour).await {
                break;
            }
        }
        app.lock().polled_once = true;
    }

    /// One API's turn in an app's round. Whatever fails here, only an
    /// app-scoped failure (`Flow::StopApp`) ends the app's round.
    async fn poll_api(
        &self,
        app: &AppPoller,
        api: Api,
        now: DateTime<Utc>,
        release_hour: f64,
    ) -> Flow {
        let release_hour = api.spec().release_hour(release_hour);
        let Some(Round {
            plan,
            fallback_plan,
            mut work,
        }) = self.plan_round(app, api, now, release_hour)
        else {
            return Flow::Continue;
        };
        let mut tried_fallback = Vec::new();
        // poll_success says how this round's calls went: any failure is 0;
        // "not ready" is not a failure.
        let called = !work.is_empty();
        let mut target_failed = false;
        while let Some(target) = work.pop_front() {
            let outcome = self.fetch(app, api, target).await;
            let app_name = app.config.name.as_str();
            let mut st = app.lock();
            // The samples, and when to ask again if they may still change.
            let (samples, again) = match outcome {
                Ok(Collected::Samples(samples)) => (samples, None),
                Ok(Collected::Provisional(samples)) => (
                    samples,
                    Some(now + crate::poll::schedule::PROVISIONAL_RECHECK),
                ),
                Ok(Collected::Partial { samples, skipped }) => {
                    self.report_skipped(app_name, api, &skipped);
                    (samples, None)
                }
                Ok(Collected::NotReady) => {
                    let ctx = (&fallback_plan[..], &mut tried_fallback, &mut work);
                    self.not_ready(app_name, &mut st, api, target, ctx, now, release_hour);
                    continue;
                }
                Err(e) if e.class() == ErrorClass::NotReady => {
                    let ctx = (&fallback_plan[..], &mut tried_fallback, &mut work);
                    self.not_ready(app_name, &mut st, api, target, ctx, now, release_hour);
                    continue;
                }
                Err(e) => match self.on_failure(app_name, &mut st, api, target, &e, now) {
                    Flow::NextTarget => {
                        target_failed = true;
                        continue;
                    }
                    flow => return flow,
                },
            };
            st.hard_failures = 0;
            let Some(s) = st.apis.get_mut(&api) else {
                return Flow::Continue;
            };
            s.store(target, samples.into(), again);
            s.retry_at.remove(&target);
            s.backoff = None;
            s.last_success = Some(now);
            s.last_error = None;
            debug!(app = %app_name, api = api.label(), period = ?target.range, provisional = again.is_some(), "fetched");
        }
        let mut st = app.lock();
        if let Some(s) = st.apis.get_mut(&api) {
            s.prune(&plan);
            s.data_ready = plan.iter().all(|t| s.has(t));
            if called {
                s.poll_success = Some(!target_failed);
            }
        }
        Flow::Continue
    }

    /// What `api` of `app` should show at `now` (its plan), what to show
    /// meanwhile when that is not ready (the previous period's plan), and
    /// the targets due now. `None` when the app has no such API or WeChat
    /// disabled it.
    fn plan_round(
        &self,
        app: &AppPoller,
        api: Api,
        now: DateTime<Utc>,
        release_hour: f64,
    ) -> Option<Round> {
        let collector = collectors::collector(api);
        let mut st = app.lock();
        let s = st.apis.get_mut(&api)?;
        if s.disabled.is_some() {
            return None;
        }
        let empty = s.empty_targets();
        let mut p = Plan::new(now, api, &app.config);
        p.empty = &empty;
        let plan = collector.plan(&p);
        p.now = previous_period_instant(now, api.period());
        let fallback_plan = collector.plan(&p);
        s.prune(&plan);
        let work = plan
            .iter()
            .filter(|t| due(s, t, now, release_hour))
            .copied()
            .collect();
        Some(Round {
            plan,
            fallback_plan,
            work,
        })
    }

    /// Calls WeChat for `target` and turns the answer into samples. An
    /// answer that does not fit is an error of its own (`decode`).
    async fn fetch(
        &self,
        app: &AppPoller,
        api: Api,
        target: Target,
    ) -> Result<Collected, ApiError> {
        let body = app
            .client
            .call(&api.spec().call_in(&app.config, &target))
            .await?;
        let st = app.lock();
        let cumulate_days = st
            .apis
            .get(&Api::UserCumulate)
            .into_iter()
            .flat_map(|c| c.published().map(|f| f.target.data_period.end));
        let ctx = Ctx::new(&app.config, api, cumulate_days, &body);
        collectors::collector(api)
            .collect(&ctx, &target, body)
            .map_err(|e| {
                // The call itself succeeded, so the client counted no error.
                self.metrics
                    .api_errors
                    .with_label_values(&[&app.config.name, api.label(), "decode"])
                    .inc();
                ApiError::Shape {
                    api: api.label(),
                    path: e.path,
                    reason: e.reason,
                    excerpt: e.excerpt,
                }
            })
    }

    /// Parts of an answer that did not fit: counted and logged; the rest
    /// is published.
    fn report_skipped(&self, app: &str, api: Api, skipped: &[String]) {
        self.metrics
            .answer_parts_skipped
            .with_label_values(&[app, api.label()])
            .inc_by(skipped.len() as u64);
        warn!(
            app = %app,
            api = api.label(),
            skipped = skipped.len(),
            first = %skipped.first().map(String::as_str).unwrap_or_default(),
            advice = "WeChat changed the shape of part of this answer; the parts that fit are published",
            "answer partly skipped"
        );
    }

    /// A "not ready" answer: ask again later; with nothing to show yet
    /// (first start), fetch the previous period meanwhile.
    #[allow(clippy::too_many_arguments)]
    fn not_ready(
        &self,
        app: &str,
        st: &mut AppState,
        api: Api,
        target: Target,
        (fallback_plan, tried_fallback, work): (&[Target], &mut Vec<Target>, &mut VecDeque<Target>),
        now: DateTime<Utc>,
        release_hour: f64,
    ) {
        let Some(s) = st.apis.get_mut(&api) else {
            return;
        };
        schedule_retry(s, &target, now, release_hour);
        debug!(
            app,
            api = api.label(),
            period = ?target.range,
            retry_at = ?s.retry_at.get(&target).map(|(t, _)| t.to_rfc3339()),
            advice = ErrorClass::NotReady.advice(),
            "data not ready"
        );
        if !s.has_slot(target.slot) {
            if let Some(fb) = fallback_plan.iter().find(|f| f.slot == target.slot) {
                if !tried_fallback.contains(fb) && due(s, fb, now, 0.0) {
                    tried_fallback.push(*fb);
                    work.push_back(*fb);
                }
            }
        }
    }

    /// Applies the failure policy to a failed call of `api`.
    fn on_failure(
        &self,
        app: &str,
        st: &mut AppState,
        api: Api,
        target: Target,
        e: &ApiError,
        now: DateTime<Utc>,
    ) -> Flow {
        let class = e.class();
        let msg = e.to_string();
        st.last_error = Some(format!("{}: {msg}", api.label()));
        let api_streak = st
            .apis
            .get(&api)
            .and_then(|s| s.backoff.as_ref())
            .map_or(0, |b| b.failures);
        let target_streak = st
            .apis
            .get(&api)
            .and_then(|s| s.retry_at.get(&target))
            .map_or(0, |(_, n)| *n);
        let streak = match class.scope() {
            crate::wechat::error::Scope::Target => target_streak,
            crate::wechat::error::Scope::Api => api_streak,
            crate::wechat::error::Scope::App => st.hard_failures,
        }
        .saturating_add(1);
        let decision = policy::decide(class, streak, now);
        error!(
            app,
            api = api.label(),
            errcode = %e.errcode_label(),
            error = %msg,
            advice = class.advice(),
            scope = ?class.scope(),
            "poll failed"
        );
        if let Some(s) = st.apis.get_mut(&api) {
            s.poll_success = Some(false);
            s.last_error = Some(msg);
        }
        match decision {
            Decision::BackOffApi { until } => {
                set_backoff(st.apis.get_mut(&api), until, streak);
                Flow::Continue
            }
            Decision::SkipTarget { until } => {
                if let Some(s) = st.apis.get_mut(&api) {
                    s.retry_at.insert(target, (until, streak));
                }
                Flow::NextTarget
            }
            Decision::DisableApi => {
                if let Some(s) = st.apis.get_mut(&api) {
                    s.disabled = Some("not authorised for this app".into());
                }
                warn!(app, api = api.label(), "API disabled for this app");
                Flow::Continue
            }
            Decision::EndAppRound => {
                if policy::grows_app_streak(class) {
                    st.hard_failures = streak;
                }
                Flow::StopApp
            }
            Decision::PauseApp { until, reason } => {
                if policy::grows_app_streak(class) {
                    st.hard_failures = streak;
                }
                st.paused_until = Some(until);
                st.pause_reason = Some(reason.to_string());
                warn!(app, until = %until.to_rfc3339(), reason, "pausing app");
                Flow::StopApp
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
        let refs: Vec<AppRef<'_>> = apps.iter().map(|a| a.snapshot_ref()).collect();
        self.store
            .publish(&refs, &self.metrics, &self.extra_labels, self.clock.now());
        self.last_render_us.store(
            render_started.elapsed().as_micros().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// `publish` from inside a round: building a snapshot of 1,000 apps
    /// takes up to a second of CPU, so on the multi-threaded runtime the
    /// worker hands its other tasks (scrapes) to another thread first.
    fn publish_in_round(&self, force: bool) {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| self.publish(force)),
            _ => self.publish(force),
        }
    }

    /// What the HTTP handlers need of the poller: its snapshots, metrics
    /// and readiness (no reload, no scrape limit; callers add those).
    pub fn handlers(self: &Arc<Self>, telemetry_path: &str) -> crate::expose::http::AppState {
        let me = self.clone();
        crate::expose::http::AppState {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            ready: Arc::new(move || me.ready()),
            telemetry_path: telemetry_path.to_string(),
            reload: None,
            scrape_slots: None,
        }
    }

    /// True once every app has had its first poll **and** `/metrics` shows
    /// it: the published snapshot's own flag, since mid-round publishes are
    /// throttled and an app's data can reach `/metrics` after its poll ends.
    pub fn ready(&self) -> bool {
        !self.awaiting_discovery.load(Ordering::Relaxed)
            && self.store.load().ready
            && self.apps.load().iter().all(|a| a.lock().polled_once)
    }
}

/// Copies saved data into `app` when the saved app has its name and appid.
fn restore_app(app: &AppPoller, saved: &state::SavedApps) -> bool {
    let Some((appid, st)) = saved.get(&app.config.name) else {
        return false;
    };
    if *appid != app.config.appid {
        return false;
    }
    let mut cur = app.lock();
    for (api, saved_api) in &st.apis {
        if let Some(a) = cur.apis.get_mut(api) {
            a.results = saved_api.results.clone();
            a.last_success = saved_api.last_success;
            a.data_ready = saved_api.data_ready;
        }
    }
    true
}

/// The same platform instance (or none on both sides).
fn same_component(a: &Option<Arc<Component>>, b: &Option<Arc<Component>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn set_backoff(s: Option<&mut ApiState>, until: DateTime<Utc>, failures: u32) {
    if let Some(s) = s {
        s.backoff = Some(Backoff { until, failures });
    }
}
