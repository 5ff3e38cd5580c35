//! Third-party platform mode (`platform:` in the config): the apps that
//! authorized the platform are discovered, not listed.
//!
//! A discovery round lists every authorized app (`api_get_authorizer_list`,
//! pages of 500), asks `api_get_authorizer_info` about the apps this
//! replica owns (`--shard` hashes the appid, which never changes, unlike a
//! nick name), and hands the poller one `AppConfig` per app that granted
//! the analytics permission set (Mini Program 18, or 21 on older pages;
//! Official Account 2): it is then polled exactly like a configured app.
//! Apps without the permission are logged once and shown in
//! `wechat_exporter_platform_app_unpermitted`, never polled. Apps that left
//! disappear from the poller at the next round, and with them their series.
//! Rounds run at start, every `rediscover_interval`, and on reload.
//!
//! Info answers are cached for a day: names and permissions rarely change,
//! and 1,000 info calls an hour would cost more than the data itself.

use crate::api::AppKind;
use crate::clock::Clock;
use crate::config::{
    AppConfig, ComponentTokenConfig, Config, PlatformConfig, TokenSourceConfig, WechatSettings,
};
use crate::poll::poller::Poller;
use crate::secret::Secret;
use crate::self_metrics::SelfMetrics;
use crate::wechat::component::{AuthorizerInfo, Component, ComponentSource, RefreshTokens};
use crate::wechat::error::ApiError;
use arc_swap::ArcSwap;
use chrono::{DateTime, Duration as CDuration, Utc};
use prometheus::{IntGauge, IntGaugeVec, Opts};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{error, info, warn};

/// Permission sets that allow the analytics API.
const MINIPROGRAM_ANALYTICS: [i64; 2] = [18, 21];
const OFFICIAL_ACCOUNT_ANALYTICS: [i64; 1] = [2];
/// How long an `api_get_authorizer_info` answer is reused.
const INFO_TTL_HOURS: i64 = 24;
pub const REFRESH_TOKENS_FILE: &str = "platform-refresh-tokens.json";

/// Where the platform's component token comes from.
fn component_source(config: &PlatformConfig) -> ComponentSource {
    match (
        &config.component_token,
        &config.component_verify_ticket_file,
    ) {
        (Some(ComponentTokenConfig::File { path }), _) => {
            ComponentSource::File { path: path.clone() }
        }
        (
            Some(ComponentTokenConfig::Url {
                url,
                bearer_token_file,
            }),
            _,
        ) => ComponentSource::Url {
            url: url.clone(),
            bearer_token_file: bearer_token_file.clone(),
        },
        (None, Some(f)) => ComponentSource::Ticket {
            ticket_file: f.clone(),
        },
        // Validation refuses this; an unreadable path reports it.
        (None, None) => ComponentSource::File {
            path: PathBuf::new(),
        },
    }
}

/// The platform's gauges, registered once per process.
pub struct PlatformMetrics {
    app_info: IntGaugeVec,
    unpermitted: IntGaugeVec,
    authorized: IntGauge,
    success: IntGauge,
    last_discovery: IntGauge,
}

impl PlatformMetrics {
    pub fn new(metrics: &SelfMetrics) -> Arc<Self> {
        let gv = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &["app", "appid", "type"])
                .expect("valid metric definition")
        };
        let g =
            |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric definition");
        let m = Self {
            app_info: gv(
                "wechat_exporter_platform_app_info",
                "1 for each discovered app this replica polls; `app` is the label its data carries.",
            ),
            unpermitted: gv(
                "wechat_exporter_platform_app_unpermitted",
                "1 for each authorized app that did not grant the analytics permission set (Mini Program 18 or 21, Official Account 2); not polled.",
            ),
            authorized: g(
                "wechat_exporter_platform_authorized_apps",
                "Apps that have authorized the platform, as of the last discovery (all shards).",
            ),
            success: g(
                "wechat_exporter_platform_discovery_success",
                "1 if the last discovery round worked, 0 if it failed (see the log's advice).",
            ),
            last_discovery: g(
                "wechat_exporter_platform_discovery_timestamp_seconds",
                "When the last successful discovery round ended.",
            ),
        };
        for c in [&m.app_info, &m.unpermitted] {
            metrics.register(Box::new(c.clone()));
        }
        for c in [&m.authorized, &m.success, &m.last_discovery] {
            metrics.register(Box::new(c.clone()));
        }
        Arc::new(m)
    }
}

/// One platform instance: its component credentials and discovery state.
pub struct Platform {
    pub config: PlatformConfig,
    pub component: Arc<Component>,
    info: Mutex<HashMap<String, (AuthorizerInfo, DateTime<Utc>)>>,
    /// Appids already reported as lacking the permission.
    reported: Mutex<HashSet<String>>,
    clock: Clock,
}

/// What a discovery round found for this replica.
#[derive(Debug, Default)]
pub struct Discovery {
    pub apps: Vec<AppConfig>,
    /// (label, appid, kind) of apps without the analytics permission.
    pub unpermitted: Vec<(String, String, AppKind)>,
    /// Every authorized app, all shards.
    pub authorized: usize,
}

impl Platform {
    pub fn new(
        config: &PlatformConfig,
        wechat: &WechatSettings,
        clock: Clock,
        metrics: Arc<SelfMetrics>,
        storage_dir: Option<&Path>,
    ) -> Arc<Self> {
        let refresh = RefreshTokens::load(
            storage_dir.map(|d| d.join(REFRESH_TOKENS_FILE)),
            &config.component_appid,
        );
        let component = Component::new(
            &config.component_appid,
            config.resolved_secret.clone(),
            component_source(config),
            &wechat.api_url,
            crate::wechat::http::http_client(wechat),
            clock.clone(),
            metrics,
            None,
            refresh,
        );
        Arc::new(Self {
            config: config.clone(),
            component: Arc::new(component),
            info: Mutex::new(HashMap::new()),
            reported: Mutex::new(HashSet::new()),
            clock,
        })
    }

    /// One discovery round. `configured` apps (by appid) are left to the
    /// config; `owns` says whether this replica polls an appid.
    pub async fn discover(
        &self,
        configured: &[AppConfig],
        owns: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Discovery, ApiError> {
        let listed = self.component.list().await?;
        let now = self.clock.now();
        let mut out = Discovery {
            authorized: listed.len(),
            ..Discovery::default()
        };
        let configured_ids: HashSet<&str> = configured.iter().map(|a| a.appid.as_str()).collect();
        let mut used: HashSet<String> = configured.iter().map(|a| a.name.clone()).collect();
        let mut found: Vec<(String, AuthorizerInfo)> = Vec::new();
        for l in &listed {
            if configured_ids.contains(l.appid.as_str()) || !owns(&l.appid) {
                continue;
            }
            if let Some(info) = self.info_for(&l.appid, now).await? {
                found.push((l.appid.clone(), info));
            }
        }
        self.forget_departed(listed.iter().map(|l| l.appid.as_str()).collect());
        for (appid, info) in found {
            self.admit(appid, info, &mut used, &mut out);
        }
        Ok(out)
    }

    /// The app's info, from the cache while fresh. `None`: this app's own
    /// answer failed (logged), so it is skipped this round.
    async fn info_for(
        &self,
        appid: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthorizerInfo>, ApiError> {
        let cached = {
            let cache = self.info.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(appid)
                .filter(|(_, at)| now - *at < CDuration::hours(INFO_TTL_HOURS))
                .map(|(i, _)| i.clone())
        };
        if cached.is_some() {
            return Ok(cached);
        }
        match self.component.info(appid).await {
            Ok(i) => {
                self.info
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(appid.to_string(), (i.clone(), now));
                Ok(Some(i))
            }
            // The platform's own trouble (its token, ticket, IP,
            // connection) ends the round; one app's answer costs
            // only that app, which is tried again next round.
            Err(e) if platform_wide(&e) => Err(e),
            Err(e) => {
                warn!(appid = %appid, error = %e, advice = e.class().advice(), "cannot read the authorizer's info; skipping it this round");
                Ok(None)
            }
        }
    }

    /// Forgets the info of apps that left (`listed`: every authorized appid).
    fn forget_departed(&self, listed: HashSet<&str>) {
        self.info
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| listed.contains(k.as_str()));
    }

    /// Adds one discovered app to `out`: to be polled if it granted the
    /// analytics permission set and has an API left, else as unpermitted
    /// (logged once until it grants it).
    fn admit(
        &self,
        appid: String,
        info: AuthorizerInfo,
        used: &mut HashSet<String>,
        out: &mut Discovery,
    ) {
        let kind = if info.is_miniprogram {
            AppKind::Miniprogram
        } else {
            AppKind::OfficialAccount
        };
        let name = self.label_for(&info.nick_name, &appid, used);
        let needed: &[i64] = match kind {
            AppKind::Miniprogram => &MINIPROGRAM_ANALYTICS,
            AppKind::OfficialAccount => &OFFICIAL_ACCOUNT_ANALYTICS,
        };
        if !info.permissions.iter().any(|p| needed.contains(p)) {
            let first = self
                .reported
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(appid.clone());
            if first {
                warn!(app = %name, appid = %appid, kind = ?kind, needed = ?needed, advice = "the app authorized the platform without the analytics permission set; ask its owner to re-authorize with it", "authorized app not polled");
            }
            out.unpermitted.push((name, appid, kind));
            return;
        }
        self.reported
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&appid);
        let mut app = AppConfig::new(&name, kind, &appid, Secret::default());
        app.token = TokenSourceConfig::Authorizer {
            refresh_token_file: None,
        };
        app.exclude_apis = self.config.exclude_apis.clone();
        if app.enabled_apis().is_empty() {
            return;
        }
        out.apps.push(app);
    }

    /// The template applied; a label already taken gets the appid appended.
    fn label_for(&self, nick: &str, appid: &str, used: &mut HashSet<String>) -> String {
        let nick = nick.trim();
        let nick = if nick.is_empty() { appid } else { nick };
        let mut name = self
            .config
            .name_template
            .replace("{name}", nick)
            .replace("{appid}", appid);
        if used.contains(&name) {
            name = format!("{name} ({appid})");
        }
        used.insert(name.clone());
        name
    }
}

/// Keeps the platform of the current config and runs discovery rounds.
pub struct PlatformRunner {
    current: ArcSwap<Option<Arc<Platform>>>,
    /// Bumped by `prepare`: a watch, not a Notify, so that the prepare
    /// before the first round does not cause a second round at once.
    rediscover: tokio::sync::watch::Sender<u64>,
    clock: Clock,
    metrics: Arc<SelfMetrics>,
    gauges: Arc<PlatformMetrics>,
    storage_dir: Option<PathBuf>,
    shard: (u32, u32),
    /// The configured apps of the current config, kept out of discovery.
    configured: ArcSwap<Vec<AppConfig>>,
}

impl PlatformRunner {
    pub fn new(
        clock: Clock,
        metrics: Arc<SelfMetrics>,
        storage_dir: Option<PathBuf>,
        shard: u32,
        total_shards: u32,
    ) -> Arc<Self> {
        let gauges = PlatformMetrics::new(&metrics);
        Arc::new(Self {
            current: ArcSwap::from_pointee(None),
            rediscover: tokio::sync::watch::channel(0).0,
            clock,
            metrics,
            gauges,
            storage_dir,
            shard: (shard, total_shards),
            configured: ArcSwap::from_pointee(Vec::new()),
        })
    }

    pub fn platform(&self) -> Option<Arc<Platform>> {
        self.current.load_full().as_ref().clone()
    }

    /// The current platform's component credentials, which every
    /// `authorizer` token source of the poller asks.
    pub fn component(&self) -> Option<Arc<Component>> {
        self.platform().map(|p| p.component.clone())
    }

    /// For a (re)loaded config: keeps the platform when its section is
    /// unchanged (apps keep their tokens and state), builds a new one
    /// otherwise, and asks for a discovery round. The poller gets the
    /// platform from [`PlatformRunner::component`].
    pub fn prepare(&self, config: &Config) {
        let next = match (&config.platform, self.platform()) {
            (None, _) => None,
            (Some(pc), Some(p)) if p.config == *pc => Some(p),
            (Some(pc), _) => Some(Platform::new(
                pc,
                &config.wechat,
                self.clock.clone(),
                self.metrics.clone(),
                self.storage_dir.as_deref(),
            )),
        };
        self.configured.store(Arc::new(config.apps.clone()));
        self.current.store(Arc::new(next));
        self.rediscover.send_modify(|g| *g += 1);
    }

    /// One round now: lists, reads info, hands the apps to the poller.
    pub async fn discover_once(&self, poller: &Poller) -> Result<usize, ApiError> {
        poller.set_component(self.component());
        let Some(p) = self.platform() else {
            poller.set_discovered(Vec::new());
            return Ok(0);
        };
        p.component.set_limiter(poller.rate_limiter().clone());
        if !p.config.discover {
            poller.set_discovered(Vec::new());
            return Ok(0);
        }
        let (shard, total) = self.shard;
        let owns = move |appid: &str| crate::poll::shard::owns(appid, shard, total);
        let configured = self.configured.load_full();
        match p.discover(&configured, &owns).await {
            Ok(d) => {
                self.gauges.app_info.reset();
                self.gauges.unpermitted.reset();
                for a in &d.apps {
                    self.gauges
                        .app_info
                        .with_label_values(&[&a.name, &a.appid, kind_label(a.kind)])
                        .set(1);
                }
                for (name, appid, kind) in &d.unpermitted {
                    self.gauges
                        .unpermitted
                        .with_label_values(&[name, appid, kind_label(*kind)])
                        .set(1);
                }
                self.gauges.authorized.set(d.authorized as i64);
                self.gauges.success.set(1);
                self.gauges.last_discovery.set(self.clock.now().timestamp());
                let n = d.apps.len();
                info!(
                    authorized = d.authorized,
                    polled = n,
                    unpermitted = d.unpermitted.len(),
                    "platform discovery done"
                );
                poller.set_discovered(d.apps);
                Ok(n)
            }
            Err(e) => {
                self.gauges.success.set(0);
                error!(error = %e, errcode = %e.errcode_label(), advice = e.class().advice(), "platform discovery failed; the apps found before keep being polled");
                // Readiness must not wait for a discovery that cannot work.
                poller.discovery_attempted();
                Err(e)
            }
        }
    }

    /// Discovery at start, every `rediscover_interval`, and after each
    /// `prepare` (reload), until `shutdown`. Wakes the poller after each.
    pub async fn run(
        self: Arc<Self>,
        poller: Arc<Poller>,
        wake: Arc<tokio::sync::Notify>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut asked = self.rediscover.subscribe();
        loop {
            asked.borrow_and_update();
            let _ = self.discover_once(&poller).await;
            wake.notify_one();
            let every = self
                .platform()
                .map_or(Duration::from_secs(3600), |p| p.config.rediscover_interval);
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = asked.changed() => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// Whether a failed info call says something about the platform rather
/// than about the one app asked for.
fn platform_wide(e: &ApiError) -> bool {
    use crate::wechat::error::ErrorClass::*;
    match e {
        ApiError::TokenSource(_) | ApiError::TokenRejectedAgain(_) => true,
        _ => matches!(
            e.class(),
            Unreachable
                | Token
                | Credentials
                | IpWhitelist
                | PlatformIp
                | RiskyIp
                | TicketExpired
                | TicketInvalid
                | DailyQuota
                | RateLimited
        ),
    }
}

fn kind_label(k: AppKind) -> &'static str {
    match k {
        AppKind::Miniprogram => "miniprogram",
        AppKind::OfficialAccount => "official_account",
    }
}

/// Refresh tokens saved by a previous run (for tests and tools).
pub fn saved_refresh_tokens(storage_dir: &Path) -> BTreeMap<String, String> {
    #[derive(Deserialize)]
    struct F {
        refresh_tokens: BTreeMap<String, String>,
    }
    std::fs::read(storage_dir.join(REFRESH_TOKENS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<F>(&b).ok())
        .map(|f| f.refresh_tokens)
        .unwrap_or_default()
}
