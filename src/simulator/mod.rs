//! A simulator of WeChat's analytics API, faithful to `wechat-api.md`.
//!
//! No machine of ours can reach WeChat, so the exporter is run, tested,
//! demoed and benchmarked against this: the token endpoints (stable and
//! legacy), every `/datacube` endpoint the exporter polls with WeChat's date
//! validation, release times, retention keys, quotas and error codes, plus
//! injectable faults. Data is deterministic from (seed, appid, date), and the
//! accessor methods return exactly what HTTP serves so tests can compare.
//!
//! Layout: `data.rs` makes the numbers (on `hash.rs`), `tokens.rs` keeps
//! token state, `faults.rs` the fault plan, `platform.rs` the third-party
//! platform, `release.rs` when data exists, `types.rs` the plain types,
//! `state.rs` the state behind the lock, `server.rs` the HTTP side and
//! validation. This file is the handle over them all; none of them imports
//! it back.
//!
//! Besides WeChat's paths the server has a small control plane outside
//! WeChat's namespace, for out-of-process benchmarks and demos:
//! `GET /simulator/requests` (the request log as JSON), `DELETE
//! /simulator/requests` (clear it), `GET`/`POST /simulator/faults` (the fault
//! plan as JSON, `latency` in milliseconds). Control-plane calls are not
//! logged. The log is unbounded: long benchmarks should clear it.

mod data;
mod faults;
pub mod feedback;
mod hash;
pub mod js_errors;
mod ops_performance;
pub mod platform;
pub mod quota;
mod release;
mod server;
mod state;
mod tokens;
mod types;

pub use faults::Faults;
pub use release::PUBLISH_FINAL_HOUR;
use release::{last_released, released_keys, sane_release_hour};
use state::{Inner, State};
pub use types::{NotReady, RecordedRequest, SimApp};

use crate::api::{Api, AppKind};
use crate::clock::Clock;
use crate::collectors::daily_summary::DailySummaryRow;
use crate::collectors::retention::Retention;
use crate::collectors::user_analysis::{UserCumulateRow, UserSummaryRow};
use crate::collectors::user_portrait::UserPortrait;
use crate::collectors::visit_distribution::VisitDistribution;
use crate::collectors::visit_page::VisitPage;
use crate::collectors::visit_trend::VisitTrendRow;
use crate::dates::{beijing_date, DateRange, Period};
use chrono::NaiveDate;
use data::Gen;
pub use data::{Article, MSG_DATA_ID_BASE};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokens::Tokens;

pub const DEMO_MINIPROGRAM_APPID: &str = "wx5d3c9a1e7f2b4068";
pub const DEMO_MINIPROGRAM_SECRET: &str = "demo0c1d2e3f4a5b6c7d8e9f0a1b2c3d4";
pub const DEMO_OFFICIAL_ACCOUNT_APPID: &str = "wx8e1f4b7a2c5d9036";
pub const DEMO_OFFICIAL_ACCOUNT_SECRET: &str = "demo9f8e7d6c5b4a3f2e1d0c9b8a7f6e5";

/// The demo Mini Program and the demo Official Account.
pub fn demo_apps() -> Vec<SimApp> {
    vec![
        SimApp::new(
            DEMO_MINIPROGRAM_APPID,
            DEMO_MINIPROGRAM_SECRET,
            AppKind::Miniprogram,
        ),
        SimApp::new(
            DEMO_OFFICIAL_ACCOUNT_APPID,
            DEMO_OFFICIAL_ACCOUNT_SECRET,
            AppKind::OfficialAccount,
        ),
    ]
}

/// `n` generated apps for benchmarks and scale tests (`simulate --apps N`):
/// app `i` (0-based) has appid `wx` + `00be0c0000000000 + i` as 16 hex
/// digits, secret `sim-secret-{i}`, and is a Mini Program when `i` is even,
/// an Official Account when odd. Deterministic, so a config can be
/// generated for them without asking the simulator.
pub fn generated_apps(n: usize) -> Vec<SimApp> {
    (0..n)
        .map(|i| {
            let kind = if i % 2 == 0 {
                AppKind::Miniprogram
            } else {
                AppKind::OfficialAccount
            };
            SimApp::new(generated_appid(i), format!("sim-secret-{i}"), kind)
        })
        .collect()
}

/// The appid of generated app `i` (see [`generated_apps`]).
pub fn generated_appid(i: usize) -> String {
    format!("wx{:016x}", 0x00be_0c00_0000_0000u64 + i as u64)
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub clock: Clock,
    /// Beijing hour after which yesterday's data exists; 0.0 = at once.
    pub release_hour: f64,
    pub not_ready: NotReady,
    pub token_ttl: std::time::Duration,
    pub apps: Vec<SimApp>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            clock: Clock::system(),
            release_hour: 10.0,
            not_ready: NotReady::Errcode61503,
            token_ttl: std::time::Duration::from_secs(7200),
            apps: demo_apps(),
        }
    }
}

/// The simulator; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl Simulator {
    pub fn new(cfg: SimConfig) -> Self {
        let apps = cfg.apps.into_iter().map(|a| (a.appid.clone(), a)).collect();
        Self {
            inner: Arc::new(Inner {
                seed: cfg.seed,
                clock: cfg.clock,
                state: Mutex::new(State {
                    release_hour: sane_release_hour(cfg.release_hour),
                    not_ready: cfg.not_ready,
                    apps,
                    tokens: Tokens::new(cfg.seed, cfg.token_ttl),
                    faults: Faults::default(),
                    log: Vec::new(),
                    quota: HashMap::new(),
                    path_calls: quota::PathCalls::default(),
                    rid_counter: 0,
                    platform: None,
                }),
            }),
        }
    }

    /// Adds (or replaces) an app at run time.
    pub fn add_app(&self, app: SimApp) {
        self.inner.lock().apps.insert(app.appid.clone(), app);
    }

    /// Binds `addr` (e.g. "127.0.0.1:0") and serves in the background until
    /// the returned [`SimServer`] is dropped.
    pub async fn spawn(&self, addr: &str) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let task = tokio::spawn(server::serve(listener, server::router(self.inner.clone())));
        Ok(SimServer {
            addr: local,
            task,
            sim: self.clone(),
        })
    }

    /// Makes this simulator a third-party platform too (see
    /// `simulator/platform.rs`), with the given credentials and a fresh
    /// ticket, and no authorized app yet.
    pub fn enable_platform(&self, component_appid: &str, component_secret: &str) {
        let now = self.inner.clock.now();
        self.inner.lock().platform = Some(platform::SimPlatform::new(
            self.inner.seed,
            component_appid,
            component_secret,
            now,
        ));
    }

    /// Authorizes `app` to the platform (and makes it a simulated app);
    /// returns its refresh token. No-op without `enable_platform`.
    pub fn authorize(&self, app: platform::Authorized) -> Option<String> {
        let now = self.inner.clock.now();
        let mut st = self.inner.lock();
        st.apps.insert(app.appid.clone(), platform::sim_app(&app));
        st.platform.as_mut().map(|p| p.authorize(app, now))
    }

    /// The app de-authorizes the platform: it leaves the list, its
    /// authorizer tokens and refresh token stop working.
    pub fn revoke_authorization(&self, appid: &str) {
        let mut st = self.inner.lock();
        if let Some(p) = st.platform.as_mut() {
            p.revoke(appid);
        }
        st.tokens.revoke(appid);
    }

    /// The app's refresh token is replaced (re-authorization elsewhere):
    /// the old one answers 61023; the list shows the new one.
    pub fn replace_refresh_token(&self, appid: &str) -> Option<String> {
        self.inner
            .lock()
            .platform
            .as_mut()
            .and_then(|p| p.replace_refresh_token(appid))
    }

    pub fn refresh_token(&self, appid: &str) -> Option<String> {
        self.inner
            .lock()
            .platform
            .as_ref()
            .and_then(|p| p.refresh_token(appid))
    }

    /// WeChat's 10-minute push: a new ticket, returned for the test or
    /// demo to write where the exporter reads it.
    pub fn push_ticket(&self) -> Option<String> {
        let now = self.inner.clock.now();
        self.inner
            .lock()
            .platform
            .as_mut()
            .map(|p| p.push_ticket(now))
    }

    pub fn ticket(&self) -> Option<String> {
        self.inner.lock().platform.as_ref().map(|p| p.ticket())
    }

    /// The current ticket is older than 12 hours from now on (61005).
    pub fn expire_ticket(&self) {
        if let Some(p) = self.inner.lock().platform.as_mut() {
            p.expire_ticket();
        }
    }

    /// Every component call answers 61004 (IP not on the whitelist).
    pub fn set_platform_ip_blocked(&self, blocked: bool) {
        if let Some(p) = self.inner.lock().platform.as_mut() {
            p.ip_blocked = blocked;
        }
    }

    /// Each authorizer-token call hands out a new refresh token.
    pub fn set_rotate_refresh_tokens(&self, on: bool) {
        if let Some(p) = self.inner.lock().platform.as_mut() {
            p.rotate_refresh_tokens = on;
        }
    }

    /// Refresh tokens answered as `""` (they stay valid).
    pub fn set_blank_refresh_tokens(&self, on: bool) {
        if let Some(p) = self.inner.lock().platform.as_mut() {
            p.blank_refresh_tokens = on;
        }
    }

    /// Apps currently authorized.
    pub fn authorized(&self) -> Vec<platform::Authorized> {
        self.inner
            .lock()
            .platform
            .as_ref()
            .map(|p| p.authorized())
            .unwrap_or_default()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().log.clone()
    }

    pub fn clear_requests(&self) {
        self.inner.lock().log.clear();
    }

    /// A call of `path` the app's own servers made (a message sent, a
    /// code generated): counted in that path's daily quota and logged,
    /// as WeChat counts every caller of an appid.
    pub fn record_business_call(&self, appid: &str, path: &str) {
        let now = self.inner.clock.now();
        let mut st = self.inner.lock();
        st.path_calls.count(appid, path, beijing_date(now));
        st.log.push(RecordedRequest {
            appid: Some(appid.into()),
            ..RecordedRequest::new(now, "POST", path)
        });
    }

    /// Replaces the current fault plan.
    pub fn set_faults(&self, f: Faults) {
        self.inner.lock().faults = f;
    }

    /// Every token of `appid` becomes invalid (next data call: 40001).
    pub fn revoke_tokens(&self, appid: &str) {
        self.inner.lock().tokens.revoke(appid);
    }

    pub fn set_release_hour(&self, h: f64) {
        self.inner.lock().release_hour = sane_release_hour(h);
    }

    pub fn set_not_ready(&self, n: NotReady) {
        self.inner.lock().not_ready = n;
    }

    fn gen(&self, appid: &str) -> Gen {
        let (scale, pages) = self
            .inner
            .lock()
            .apps
            .get(appid)
            .map_or((1.0, None), |a| (a.scale, a.pages));
        Gen::new(self.inner.seed, appid, scale).with_pages(pages)
    }

    pub fn daily_summary(&self, appid: &str, day: NaiveDate) -> DailySummaryRow {
        self.gen(appid).daily_summary(day)
    }

    pub fn visit_trend(&self, appid: &str, range: DateRange, period: Period) -> VisitTrendRow {
        self.gen(appid).visit_trend(range, period)
    }

    pub fn visit_distribution(&self, appid: &str, day: NaiveDate) -> VisitDistribution {
        self.gen(appid).visit_distribution(day)
    }

    /// Retention as served now: only keys whose period has been released
    /// (empty arrays when the cohort itself is not released).
    pub fn retention(&self, appid: &str, cohort: DateRange, period: Period) -> Retention {
        let rh = self.inner.lock().release_hour;
        let last = last_released(self.inner.clock.now(), rh);
        let keys = released_keys(cohort, period, last);
        let (new, uv) = self.gen(appid).retention(cohort, period, &keys);
        Retention {
            ref_date: Some(crate::dates::mp_ref_date(&cohort, period)),
            visit_uv_new: new.into(),
            visit_uv: uv.into(),
        }
    }

    /// Top 200 pages sorted by `page_visit_pv`, descending.
    pub fn visit_page(&self, appid: &str, day: NaiveDate) -> VisitPage {
        self.gen(appid).visit_page(day)
    }

    pub fn user_portrait(&self, appid: &str, range: DateRange) -> UserPortrait {
        let (new, uv) = self.gen(appid).user_portrait(range);
        UserPortrait {
            ref_date: Some(server::portrait_ref_date(range)),
            visit_uv_new: Some(new),
            visit_uv: Some(uv),
        }
    }

    /// Rows of one day: only sources with changes.
    pub fn user_summary(&self, appid: &str, day: NaiveDate) -> Vec<UserSummaryRow> {
        self.gen(appid).user_summary(day)
    }

    pub fn user_cumulate(&self, appid: &str, day: NaiveDate) -> UserCumulateRow {
        self.gen(appid).user_cumulate(day)
    }

    /// Message rows of a day, week or month, dated on its first day.
    pub fn upstream_msg(
        &self,
        appid: &str,
        period: DateRange,
    ) -> Vec<crate::collectors::upstream_msg::UpstreamMsgRow> {
        self.gen(appid).upstream_msg(period)
    }

    pub fn upstream_msg_hour(
        &self,
        appid: &str,
        day: NaiveDate,
    ) -> Vec<crate::collectors::upstream_msg::UpstreamMsgRow> {
        self.gen(appid).upstream_msg_hour(day)
    }

    pub fn upstream_msg_dist(
        &self,
        appid: &str,
        period: DateRange,
    ) -> Vec<crate::collectors::upstream_msg::UpstreamMsgDistRow> {
        self.gen(appid).upstream_msg_dist(period)
    }

    pub fn interface_summary(
        &self,
        appid: &str,
        day: NaiveDate,
    ) -> crate::collectors::interface_summary::InterfaceSummaryRow {
        self.gen(appid).interface_summary(day)
    }

    /// `getbizsummary`'s row for `day`, as served before (`delayed`) or
    /// after the numbers settle at `PUBLISH_FINAL_HOUR` Beijing.
    pub fn biz_summary(
        &self,
        appid: &str,
        day: NaiveDate,
        delayed: bool,
    ) -> crate::collectors::publish_summary::BizSummaryRow {
        self.gen(appid).biz_summary(day, delayed)
    }

    /// `getarticleread`'s rows for `day` (before or after they settle).
    pub fn article_read(
        &self,
        appid: &str,
        day: NaiveDate,
        delayed: bool,
    ) -> Vec<crate::collectors::article_daily::ArticleDayRow> {
        self.gen(appid).article_read(day, delayed)
    }

    /// `getarticleshare`'s rows for `day`: empty when nothing was shared
    /// and before 2025-11-01.
    pub fn article_share(
        &self,
        appid: &str,
        day: NaiveDate,
        delayed: bool,
    ) -> Vec<crate::collectors::article_daily::ArticleDayRow> {
        self.gen(appid).article_share(day, delayed)
    }

    /// `getarticletotaldetail`'s rows for the articles published on `day`,
    /// with their numbers as of `last`.
    pub fn article_totals(
        &self,
        appid: &str,
        day: NaiveDate,
        last: NaiveDate,
        delayed: bool,
    ) -> Vec<crate::collectors::article_totals::ArticleTotalRow> {
        self.gen(appid).article_totals(day, last, delayed)
    }

    /// The free-publish list as served at the simulator's clock: the total
    /// and `count` publications from `offset`, newest first.
    pub fn published_articles(
        &self,
        appid: &str,
        offset: usize,
        count: usize,
    ) -> (
        usize,
        Vec<crate::collectors::published_articles::PublishedItem>,
    ) {
        self.gen(appid)
            .published(self.inner.clock.now(), offset, count)
    }

    /// The articles published on `day`.
    pub fn articles_on(&self, appid: &str, day: NaiveDate) -> Vec<Article> {
        self.gen(appid).articles_on(day)
    }

    pub fn interface_summary_hour(
        &self,
        appid: &str,
        day: NaiveDate,
    ) -> Vec<crate::collectors::interface_summary::InterfaceSummaryRow> {
        self.gen(appid).interface_summary_hour(day)
    }

    /// getPerformanceData's tables of a performance `api` for `day`, one
    /// line each, as served for `params` (`(field, value)`; `-1` or an
    /// absent field is the whole population). Empty for other APIs.
    pub fn performance(
        &self,
        appid: &str,
        api: Api,
        day: NaiveDate,
        params: &[(&str, &str)],
    ) -> Vec<crate::collectors::performance::PerformanceTable> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect();
        match api.spec().module() {
            Some(m) => self.gen(appid).performance(&[day], m, &params),
            None => Vec::new(),
        }
    }

    /// getPerformance's `cost_time` (milliseconds) of `kind` (1 launch,
    /// 2 download, 3 first render) for `day`: the value [`Self::performance`]
    /// serves for the same day in module 10017's matching table.
    pub fn ops_performance(&self, appid: &str, kind: u32, day: NaiveDate) -> Option<f64> {
        ops_performance::cost_time(&self.gen(appid), kind, day)
    }
}

/// A running simulator HTTP server; stops serving when dropped.
pub struct SimServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    sim: Simulator,
}

impl SimServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulator this server serves.
    pub fn simulator(&self) -> Simulator {
        self.sim.clone()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        // Aborting the accept loop also drops its JoinSet of connections.
        self.task.abort();
    }
}

/// `wechat-exporter simulate --listen ADDR [--apps N] [--pages N]`: demo
/// apps plus `apps` generated ones (see [`generated_apps`]), every Mini
/// Program with `pages` pages, system clock, serves until ctrl-c.
pub async fn run_standalone(
    listen: SocketAddr,
    seed: u64,
    release_hour: f64,
    apps: usize,
    pages: usize,
) -> anyhow::Result<()> {
    run_standalone_with(
        listen,
        seed,
        release_hour,
        apps,
        pages,
        StandalonePlatform::default(),
    )
    .await
}

/// `simulate --authorized N --ticket-file PATH`.
#[derive(Clone, Debug, Default)]
pub struct StandalonePlatform {
    pub authorized: usize,
    pub ticket_file: Option<std::path::PathBuf>,
}

/// Writes the ticket the way a callback handler would: whole, renamed over.
pub fn write_ticket_file(path: &std::path::Path, ticket: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, ticket)?;
    std::fs::rename(&tmp, path)
}

/// Makes `sim` a platform with `n` authorized apps and, when a file is
/// given, keeps a current ticket in it (every 10 minutes, like WeChat's
/// push and a callback handler together) until the runtime ends.
pub fn start_platform(
    sim: &Simulator,
    n: usize,
    ticket_file: Option<std::path::PathBuf>,
) -> std::io::Result<()> {
    sim.enable_platform(
        platform::DEMO_COMPONENT_APPID,
        platform::DEMO_COMPONENT_SECRET,
    );
    for a in platform::authorized_apps(n) {
        sim.authorize(a);
    }
    if let Some(path) = ticket_file {
        write_ticket_file(&path, &sim.ticket().unwrap_or_default())?;
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            every.tick().await;
            loop {
                every.tick().await;
                if let Some(t) = sim.push_ticket() {
                    if let Err(e) = write_ticket_file(&path, &t) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot write the ticket file");
                    }
                }
            }
        });
    }
    Ok(())
}

pub async fn run_standalone_with(
    listen: SocketAddr,
    seed: u64,
    release_hour: f64,
    apps: usize,
    pages: usize,
    platform: StandalonePlatform,
) -> anyhow::Result<()> {
    let mut all = demo_apps();
    all.extend(generated_apps(apps));
    for a in &mut all {
        a.pages = Some(pages);
    }
    let sim = Simulator::new(SimConfig {
        seed,
        release_hour,
        apps: all,
        ..SimConfig::default()
    });
    let server = sim.spawn(&listen.to_string()).await?;
    if platform.authorized > 0 || platform.ticket_file.is_some() {
        start_platform(&sim, platform.authorized, platform.ticket_file.clone())?;
        // Public demo constants, like the demo secrets below.
        tracing::info!(
            component_appid = platform::DEMO_COMPONENT_APPID,
            component_secret = platform::DEMO_COMPONENT_SECRET,
            authorized = platform.authorized,
            ticket_file = ?platform.ticket_file,
            "third-party platform simulated"
        );
    }
    // The demo secrets are public constants; printing them is what makes
    // the standalone simulator usable without reading the source.
    tracing::info!(
        url = %server.url(),
        miniprogram_appid = DEMO_MINIPROGRAM_APPID,
        miniprogram_secret = DEMO_MINIPROGRAM_SECRET,
        official_account_appid = DEMO_OFFICIAL_ACCOUNT_APPID,
        official_account_secret = DEMO_OFFICIAL_ACCOUNT_SECRET,
        seed,
        release_hour,
        generated_apps = apps,
        pages,
        "WeChat API simulator listening"
    );
    tokio::signal::ctrl_c().await?;
    drop(server);
    Ok(())
}
