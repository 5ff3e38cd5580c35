//! Third-party platform mode against the simulator's platform: discovery,
//! authorizer tokens, the errors of the flow with their advice, refresh
//! tokens kept across restarts, sharding, and 1,000 authorized apps.

use crate::common::*;
use std::path::Path;
use std::sync::Arc;
use wechat_exporter::api::AppKind;
use wechat_exporter::clock::Clock;
use wechat_exporter::config::Config;
use wechat_exporter::dates::{latest_day, DateRange, Period};
use wechat_exporter::poll::discovery::{saved_refresh_tokens, PlatformRunner};
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::platform::{
    authorized_apps, Authorized, DEMO_COMPONENT_APPID as COMPONENT, DEMO_COMPONENT_SECRET,
};
use wechat_exporter::simulator::{SimConfig, SimServer, Simulator};

/// 12:00 Beijing: yesterday's data is released (10:00).
const DAY1: &str = "2025-03-10T04:00:00Z";
const DAY2: &str = "2025-03-11T04:00:00Z";

struct Ph {
    clock: Clock,
    sim: Simulator,
    _server: SimServer,
    dir: tempfile::TempDir,
    url: String,
}

struct Replica {
    runner: Arc<PlatformRunner>,
    poller: Arc<Poller>,
    metrics: Arc<SelfMetrics>,
}

impl Ph {
    async fn new(start: &str, n: usize) -> Ph {
        let clock = Clock::manual(utc(start));
        let sim = Simulator::new(SimConfig {
            seed: 7,
            clock: clock.clone(),
            release_hour: 10.0,
            // Authorizer tokens outlive a day here, so that a token already
            // held keeps working while the platform side fails.
            token_ttl: std::time::Duration::from_secs(48 * 3600),
            apps: Vec::new(),
            ..SimConfig::default()
        });
        sim.enable_platform(COMPONENT, DEMO_COMPONENT_SECRET);
        for a in authorized_apps(n) {
            sim.authorize(a);
        }
        let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
        let dir = tempfile::tempdir().expect("tempdir");
        write(&dir.path().join("secret"), DEMO_COMPONENT_SECRET);
        let ph = Ph {
            clock,
            url: server.url(),
            sim,
            _server: server,
            dir,
        };
        ph.write_ticket();
        ph
    }

    fn write_ticket(&self) {
        let t = self.sim.ticket().expect("platform enabled");
        write(&self.dir.path().join("ticket"), &t);
    }

    /// WeChat's push and the callback handler: a new ticket in the file.
    fn fresh_ticket(&self) {
        self.sim.push_ticket();
        self.write_ticket();
    }

    fn yaml(&self, platform_extra: &str, apps: &str) -> String {
        format!(
            "wechat:\n  api_url: {}\n  timeout: 5s\n  retry_delay: 5ms\npoll:\n  release_hour: 10\nplatform:\n  component_appid: {COMPONENT}\n  component_secret_file: {}\n  component_verify_ticket_file: {}\n{platform_extra}{apps}",
            self.url,
            self.dir.path().join("secret").display(),
            self.dir.path().join("ticket").display(),
        )
    }

    fn config(&self, yaml: &str) -> Config {
        Config::from_yaml(yaml, "platform.yml", &|_| None).expect("valid config")
    }

    /// An exporter replica as `run` wires it: runner first, then poller.
    fn replica(&self, yaml: &str, shard: u32, total: u32, storage: Option<&Path>) -> Replica {
        let cfg = self.config(yaml);
        let metrics = Arc::new(SelfMetrics::new());
        let runner = PlatformRunner::new(
            self.clock.clone(),
            metrics.clone(),
            storage.map(Path::to_path_buf),
            shard,
            total,
        );
        runner.prepare(&cfg);
        let poller = Poller::new(&cfg, self.clock.clone(), metrics.clone());
        Replica {
            runner,
            poller,
            metrics,
        }
    }

    fn calls(&self, kind: &str) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.token_kind.as_deref() == Some(kind))
            .count()
    }

    fn data_calls_of(&self, appid: &str) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/datacube/") && r.appid.as_deref() == Some(appid))
            .count()
    }
}

impl Replica {
    async fn discover(&self) {
        self.runner
            .discover_once(&self.poller)
            .await
            .expect("discovery works");
    }

    async fn poll_at(&self, clock: &Clock, t: &str) -> Exposition {
        clock.set(utc(t));
        self.poller.poll_once().await;
        self.metrics()
    }

    fn metrics(&self) -> Exposition {
        Exposition::parse(&String::from_utf8_lossy(
            &self.poller.store.load().body.to_vec(),
        ))
    }
}

/// Every published daily value of `a` equals the simulator's at `now`.
fn assert_app_matches(ph: &Ph, m: &Exposition, a: &Authorized, now: &str) {
    let now = utc(now);
    let day = latest_day(now);
    match a.kind {
        AppKind::Miniprogram => {
            let row = ph
                .sim
                .visit_trend(&a.appid, DateRange::day(day), Period::Daily);
            let l = [("app", a.nick_name.as_str()), ("period", "daily")];
            let want = row.visit_uv.expect("the simulator serves visitors");
            assert_eq!(
                m.get("wechat_miniprogram_visitors", &l),
                Some(want),
                "{} at {now}",
                a.nick_name
            );
            assert_eq!(
                m.get("wechat_miniprogram_sessions", &l),
                Some(row.session_cnt.expect("sessions"))
            );
        }
        AppKind::OfficialAccount => {
            let row = ph.sim.user_cumulate(&a.appid, day);
            assert_eq!(
                m.get(
                    "wechat_official_account_followers",
                    &[("app", a.nick_name.as_str())]
                ),
                Some(row.cumulate_user.expect("followers")),
                "{} at {now}",
                a.nick_name
            );
        }
    }
}

fn has_app(m: &Exposition, app: &str) -> bool {
    m.samples
        .iter()
        .any(|(_, l, _)| l.get("app").map(String::as_str) == Some(app))
}

#[tokio::test]
async fn discovered_apps_are_polled_with_the_simulators_values() {
    let ph = Ph::new(DAY1, 20).await;
    let r = ph.replica(&ph.yaml("", ""), 0, 1, None);
    assert!(!r.poller.ready(), "not ready before the first discovery");
    let ((), logs) = logged(async {
        r.discover().await;
        r.poll_at(&ph.clock, DAY1).await;
        // A second round reports nothing new about unpermitted apps.
        r.discover().await;
    })
    .await;
    let m = r.metrics();
    let all = authorized_apps(20);
    let (polled, unpermitted): (Vec<_>, Vec<_>) = all.iter().partition(|a| a.has_analytics());
    assert_eq!(unpermitted.len(), 2);
    for a in &polled {
        assert_app_matches(&ph, &m, a, DAY1);
        let kind = match a.kind {
            AppKind::Miniprogram => "miniprogram",
            AppKind::OfficialAccount => "official_account",
        };
        assert_eq!(
            m.get(
                "wechat_exporter_platform_app_info",
                &[
                    ("app", a.nick_name.as_str()),
                    ("appid", a.appid.as_str()),
                    ("type", kind)
                ]
            ),
            Some(1.0)
        );
    }
    // Both kinds and the older Mini Program set 21 (app 10) are polled.
    assert!(polled.iter().any(|a| a.permissions.contains(&21)));
    for a in &unpermitted {
        let kind = match a.kind {
            AppKind::Miniprogram => "miniprogram",
            AppKind::OfficialAccount => "official_account",
        };
        assert_eq!(
            m.get(
                "wechat_exporter_platform_app_unpermitted",
                &[
                    ("app", a.nick_name.as_str()),
                    ("appid", a.appid.as_str()),
                    ("type", kind)
                ]
            ),
            Some(1.0)
        );
        assert_eq!(ph.data_calls_of(&a.appid), 0, "{} not polled", a.nick_name);
        assert!(
            m.with_label("wechat_exporter_poll_success", "app", &a.nick_name)
                .is_empty(),
            "{} has no poll state",
            a.nick_name
        );
        let reports = logs
            .lines()
            .filter(|l| l.contains("authorized app not polled") && l.contains(&a.appid))
            .count();
        assert_eq!(reports, 1, "reported once: {}", a.appid);
    }
    assert_eq!(
        m.get("wechat_exporter_platform_authorized_apps", &[]),
        Some(20.0)
    );
    assert_eq!(
        m.get("wechat_exporter_platform_discovery_success", &[]),
        Some(1.0)
    );
    assert!(r.poller.ready());
    // One component token for everything; one authorizer token per app.
    assert_eq!(ph.calls("component_token"), 1);
    assert_eq!(ph.calls("authorizer_token"), polled.len());
    // Info was asked once per app: the second round used the cache.
    assert_eq!(ph.calls("get_authorizer_info"), 20);
    assert_secrets_absent(&ph, &logs, &m.text);
}

/// No ticket, secret, refresh token, component or authorizer token in `texts`.
fn assert_secrets_absent(ph: &Ph, logs: &str, metrics: &str) {
    let mut secrets = vec![
        DEMO_COMPONENT_SECRET.to_string(),
        ph.sim.ticket().unwrap_or_default(),
    ];
    for a in ph.sim.authorized() {
        secrets.extend(ph.sim.refresh_token(&a.appid));
    }
    for s in &secrets {
        assert!(!s.is_empty());
        assert!(!logs.contains(s.as_str()), "a secret leaked into the logs");
        assert!(
            !metrics.contains(s.as_str()),
            "a secret leaked into /metrics"
        );
    }
    for marker in ["componenttoken_", "refreshtoken@@@", "ticket@@@"] {
        assert!(!logs.contains(marker), "{marker} leaked into the logs");
        assert!(!metrics.contains(marker), "{marker} leaked into /metrics");
    }
}

#[tokio::test]
async fn an_app_authorized_and_one_revoked_between_rounds_are_picked_up() {
    let ph = Ph::new(DAY1, 6).await;
    let r = ph.replica(&ph.yaml("", ""), 0, 1, None);
    r.discover().await;
    let m = r.poll_at(&ph.clock, DAY1).await;
    let apps = authorized_apps(6);
    assert!(has_app(&m, "shop-0000"));
    let newcomer = Authorized {
        appid: "wx00a07000000fffff".into(),
        nick_name: "late-shop".into(),
        kind: AppKind::Miniprogram,
        permissions: vec![18],
    };
    ph.sim.authorize(newcomer.clone());
    ph.sim.revoke_authorization(&apps[0].appid);
    ph.clock.set(utc(DAY2));
    ph.fresh_ticket();
    r.discover().await;
    let m = r.poll_at(&ph.clock, DAY2).await;
    assert_app_matches(&ph, &m, &newcomer, DAY2);
    assert!(
        !has_app(&m, "shop-0000"),
        "the revoked app is no longer published"
    );
    assert!(m
        .with_label("wechat_exporter_platform_app_info", "appid", &apps[0].appid)
        .is_empty());
    assert_eq!(
        m.with_label(
            "wechat_exporter_platform_app_info",
            "appid",
            &newcomer.appid
        )
        .len(),
        1
    );
    for a in &apps[1..] {
        assert_app_matches(&ph, &m, a, DAY2);
    }
}

#[tokio::test]
async fn an_expired_ticket_is_reported_with_advice_while_apps_keep_polling() {
    let ph = Ph::new(DAY1, 4).await;
    let r = ph.replica(&ph.yaml("", ""), 0, 1, None);
    r.discover().await;
    r.poll_at(&ph.clock, DAY1).await;
    let apps = authorized_apps(4);
    // The callback handler stopped: the ticket in the file ages out, and
    // the component token (7,200 s) is due again the next day.
    ph.sim.expire_ticket();
    ph.clock.set(utc(DAY2));
    let (result, logs) = logged(async {
        let first = r.runner.discover_once(&r.poller).await;
        // A second round 5 minutes later: the failure is held, no call.
        ph.clock.set(utc("2025-03-11T04:05:00Z"));
        let _ = r.runner.discover_once(&r.poller).await;
        first
    })
    .await;
    let e = result.expect_err("discovery needs the component token");
    assert!(e.to_string().contains("61005"), "{e}");
    assert!(
        logs.contains("component_verify_ticket is older than 12 hours"),
        "advice: {logs}"
    );
    assert_eq!(
        ph.calls("component_token"),
        2,
        "one good, one refused: no loop"
    );
    // The apps keep the authorizer tokens they hold and keep their data:
    // the new day is fetched.
    let m = r.poll_at(&ph.clock, "2025-03-11T04:06:00Z").await;
    for a in &apps {
        assert_app_matches(&ph, &m, a, DAY2);
    }
    let label = format!("platform:{COMPONENT}");
    assert_eq!(
        m.get(
            "wechat_exporter_api_request_errors_total",
            &[
                ("app", label.as_str()),
                ("api", "component_token"),
                ("errcode", "61005")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get("wechat_exporter_platform_discovery_success", &[]),
        Some(0.0)
    );
    assert_secrets_absent(&ph, &logs, &m.text);
    // The handler writes a fresh ticket: the next round works at once.
    ph.fresh_ticket();
    r.discover().await;
    let m = r.metrics();
    assert_eq!(
        m.get("wechat_exporter_platform_discovery_success", &[]),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_costs_only_its_app() {
    let ph = Ph::new(DAY1, 4).await;
    let r = ph.replica(&ph.yaml("", ""), 0, 1, None);
    r.discover().await;
    r.poll_at(&ph.clock, DAY1).await;
    let apps = authorized_apps(4);
    let broken = &apps[1];
    // Its refresh token is replaced elsewhere and its access token revoked:
    // 40001 → one renewal → 61023.
    ph.sim.replace_refresh_token(&broken.appid);
    ph.sim.revoke_tokens(&broken.appid);
    ph.clock.set(utc(DAY2));
    ph.fresh_ticket();
    let (m, logs) = logged(async {
        r.poll_at(&ph.clock, DAY2).await;
        // Half an hour later: the app is paused, nothing is asked again.
        r.poll_at(&ph.clock, "2025-03-11T04:30:00Z").await
    })
    .await;
    assert!(
        logs.contains("authorizer_refresh_token is invalid"),
        "advice in: {logs}"
    );
    assert_eq!(
        m.get(
            "wechat_exporter_api_request_errors_total",
            &[
                ("app", broken.nick_name.as_str()),
                ("api", "authorizer_token"),
                ("errcode", "61023")
            ]
        ),
        Some(1.0),
        "asked once, then paused"
    );
    // The others have the new day; the broken app keeps its old data.
    for a in apps.iter().filter(|a| a.appid != broken.appid) {
        assert_app_matches(&ph, &m, a, DAY2);
    }
    assert_app_matches(&ph, &m, broken, DAY1);
    assert_secrets_absent(&ph, &logs, &m.text);
    // Rediscovery recovers the current refresh token; after the pause the
    // app catches up.
    r.discover().await;
    let m = r.poll_at(&ph.clock, "2025-03-11T05:10:00Z").await;
    assert_app_matches(&ph, &m, broken, DAY2);
}

#[tokio::test]
async fn a_changed_refresh_token_is_kept_across_restarts() {
    let ph = Ph::new(DAY1, 4).await;
    ph.sim.set_rotate_refresh_tokens(true);
    let storage = tempfile::tempdir().expect("tempdir");
    let r = ph.replica(&ph.yaml("", ""), 0, 1, Some(storage.path()));
    r.discover().await;
    r.poll_at(&ph.clock, DAY1).await;
    let saved = saved_refresh_tokens(storage.path());
    let apps = authorized_apps(4);
    for a in apps.iter().filter(|a| a.has_analytics()) {
        let current = ph.sim.refresh_token(&a.appid).expect("authorized");
        assert_eq!(saved.get(&a.appid), Some(&current), "{} saved", a.appid);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(storage.path().join("platform-refresh-tokens.json"))
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "refresh tokens are private");
    }
    // A restart without discovery: the configured apps get their tokens
    // from the saved refresh tokens alone (the old ones are dead by now).
    let a = &apps[0];
    ph.clock.set(utc(DAY2));
    ph.fresh_ticket();
    let listed = format!(
        "apps:\n  - name: configured-shop\n    type: miniprogram\n    appid: {}\n    token:\n      source: authorizer\n",
        a.appid
    );
    let r2 = ph.replica(
        &ph.yaml("  discover: false\n", &listed),
        0,
        1,
        Some(storage.path()),
    );
    r2.runner
        .discover_once(&r2.poller)
        .await
        .expect("no discovery");
    let before = ph.calls("get_authorizer_list");
    let m = r2.poll_at(&ph.clock, DAY2).await;
    assert_eq!(ph.calls("get_authorizer_list"), before, "no list call");
    let row = ph.sim.visit_trend(
        &a.appid,
        DateRange::day(latest_day(utc(DAY2))),
        Period::Daily,
    );
    assert_eq!(
        m.get(
            "wechat_miniprogram_visitors",
            &[("app", "configured-shop"), ("period", "daily")]
        ),
        Some(row.visit_uv.expect("visitors"))
    );
}

#[tokio::test]
async fn a_blank_refresh_token_never_replaces_the_kept_one() {
    // Real answers at times hold `"authorizer_refresh_token": ""` (and
    // the list `"refresh_token": ""`): the token in hand stays valid.
    let ph = Ph::new(DAY1, 4).await;
    let storage = tempfile::tempdir().expect("tempdir");
    let r = ph.replica(&ph.yaml("", ""), 0, 1, Some(storage.path()));
    r.discover().await;
    ph.sim.set_blank_refresh_tokens(true);
    r.poll_at(&ph.clock, DAY1).await;
    r.discover().await;
    // A day later every authorizer token has expired: new ones need the
    // kept refresh tokens.
    let m = r.poll_at(&ph.clock, DAY2).await;
    let saved = saved_refresh_tokens(storage.path());
    let apps = authorized_apps(4);
    let with_data: Vec<&Authorized> = apps.iter().filter(|a| a.has_analytics()).collect();
    assert!(!with_data.is_empty());
    for a in with_data {
        assert_app_matches(&ph, &m, a, DAY2);
        let current = ph.sim.refresh_token(&a.appid).expect("authorized");
        assert_eq!(saved.get(&a.appid), Some(&current), "{} kept", a.appid);
    }
}

#[tokio::test]
async fn shards_split_discovered_apps_without_overlap() {
    let ph = Ph::new(DAY1, 30).await;
    let mut seen: Vec<String> = Vec::new();
    for shard in 0..3 {
        let r = ph.replica(&ph.yaml("", ""), shard, 3, None);
        r.discover().await;
        seen.extend(r.poller.apps().iter().map(|a| a.config.appid.clone()));
    }
    let mut want: Vec<String> = authorized_apps(30)
        .into_iter()
        .filter(|a| a.has_analytics())
        .map(|a| a.appid)
        .collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want, "every permitted app in exactly one shard");
}

#[tokio::test]
async fn component_token_from_a_url_service_with_a_bearer() {
    use axum::{extract::State, http::HeaderMap, routing::get, Json, Router};
    let ph = Ph::new(DAY1, 2).await;
    // A company token service: it holds the ticket and asks WeChat.
    #[derive(Clone)]
    struct Svc {
        sim_url: String,
        ticket: String,
    }
    async fn token(State(s): State<Svc>, h: HeaderMap) -> Json<serde_json::Value> {
        if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer svc-bearer-x9") {
            return Json(serde_json::json!({"errcode": 40125, "errmsg": "bad bearer"}));
        }
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/cgi-bin/component/api_component_token",
                s.sim_url
            ))
            .json(&serde_json::json!({
                "component_appid": COMPONENT,
                "component_appsecret": DEMO_COMPONENT_SECRET,
                "component_verify_ticket": s.ticket,
            }))
            .send()
            .await
            .expect("simulator answers")
            .json()
            .await
            .expect("json");
        Json(serde_json::json!({
            "access_token": v["component_access_token"],
            "expires_in": v["expires_in"],
        }))
    }
    let svc = Svc {
        sim_url: ph.url.clone(),
        ticket: ph.sim.ticket().expect("ticket"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route("/token", get(token)).with_state(svc);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    write(&ph.dir.path().join("bearer"), "svc-bearer-x9\n");
    let yaml = format!(
        "wechat:\n  api_url: {}\n  retry_delay: 5ms\npoll:\n  release_hour: 10\nplatform:\n  component_appid: {COMPONENT}\n  component_token:\n    source: url\n    url: http://{addr}/token\n    bearer_token_file: {}\n",
        ph.url,
        ph.dir.path().join("bearer").display()
    );
    let r = ph.replica(&yaml, 0, 1, None);
    let (m, logs) = logged(async {
        r.discover().await;
        r.poll_at(&ph.clock, DAY1).await
    })
    .await;
    for a in authorized_apps(2) {
        assert_app_matches(&ph, &m, &a, DAY1);
    }
    assert!(!logs.contains("svc-bearer-x9"));
    task.abort();
}

#[test]
fn platform_config_errors_name_the_field() {
    let base = "platform:\n  component_appid: wx0c0a1b2c3d4e5f60\n";
    let cases = [
        ("platform:\n  component_appid: wx12\n  component_token: {source: file, path: /x}\n", "platform.component_appid"),
        (base, "platform.component_verify_ticket_file"),
        (&format!("{base}  component_verify_ticket_file: /t\n"), "platform.component_secret_file"),
        (&format!("{base}  component_verify_ticket_file: /t\n  component_secret: literal\n"), "platform.component_secret"),
        (&format!("{base}  component_token: {{source: url, url: 'ftp://x'}}\n"), "platform.component_token.url"),
        (&format!("{base}  component_token: {{source: file, path: /x}}\n  name_template: fixed\n"), "platform.name_template"),
        (&format!("{base}  component_token: {{source: file, path: /x}}\n  rediscover_interval: 5s\n"), "platform.rediscover_interval"),
        ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    token: {source: authorizer}\n", "apps[0].token"),
    ];
    for (yaml, field) in cases {
        let e = Config::from_yaml(yaml, "p.yml", &|_| None)
            .expect_err(field)
            .to_string();
        assert!(e.contains(field), "{e} should name {field}");
        assert!(!e.contains("literal"), "{e} leaks the secret");
    }
}

/// 1,000 authorized apps (900 with the analytics set) discovered and
/// polled for one day at the floor. Timing figures are in
/// benches/platform.sh; here the call counts are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_authorized_apps_are_discovered_and_polled() {
    let _heavy = heavy();
    let ph = Ph::new(DAY1, 1000).await;
    let r = ph.replica(&ph.yaml("", ""), 0, 1, None);
    r.discover().await;
    let m = r.poll_at(&ph.clock, DAY1).await;
    let apps = authorized_apps(1000);
    let permitted: Vec<&Authorized> = apps.iter().filter(|a| a.has_analytics()).collect();
    assert_eq!(permitted.len(), 900);
    assert_eq!(r.poller.apps().len(), 900);
    assert!(r.poller.ready());
    // Two list pages (500 + 500), one info call and one authorizer token
    // per app, one component token.
    assert_eq!(ph.calls("get_authorizer_list"), 2);
    assert_eq!(ph.calls("get_authorizer_info"), 1000);
    assert_eq!(ph.calls("authorizer_token"), 900);
    assert_eq!(ph.calls("component_token"), 1);
    for a in permitted.iter().step_by(37) {
        assert_app_matches(&ph, &m, a, DAY1);
    }
    // A later round the same day calls nothing: data is final.
    let before = ph.sim.requests().len();
    r.poll_at(&ph.clock, "2025-03-10T06:00:00Z").await;
    assert_eq!(ph.sim.requests().len(), before);
}

/// The simulator's platform side, over HTTP, as wechat-api.md describes it.
#[tokio::test]
async fn simulator_platform_follows_the_docs() {
    let ph = Ph::new(DAY1, 501).await;
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let url = match token {
            Some(t) => format!(
                "{}/cgi-bin/component/{path}?component_access_token={t}",
                ph.url
            ),
            None => format!("{}/cgi-bin/component/{path}", ph.url),
        };
        let req = http.post(url).json(&body);
        async move {
            req.send()
                .await
                .expect("answer")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let errcode = |v: &serde_json::Value| v["errcode"].as_i64().unwrap_or(0);
    let ticket = ph.sim.ticket().expect("ticket");
    let token_body = |secret: &str, ticket: &str| serde_json::json!({"component_appid": COMPONENT, "component_appsecret": secret, "component_verify_ticket": ticket});
    let v = post("api_component_token", None, token_body("wrong", &ticket)).await;
    assert_eq!(errcode(&v), 40125);
    let v = post(
        "api_component_token",
        None,
        token_body(DEMO_COMPONENT_SECRET, "ticket@@@nope"),
    )
    .await;
    assert_eq!(errcode(&v), 61006);
    let v = post(
        "api_component_token",
        None,
        token_body(DEMO_COMPONENT_SECRET, &ticket),
    )
    .await;
    assert_eq!(v["expires_in"], 7200);
    let a = v["component_access_token"]
        .as_str()
        .expect("token")
        .to_string();
    // A second token: the first keeps working for 5 minutes, then 40001.
    ph.clock.set(utc(DAY1) + chrono::Duration::seconds(600));
    let v = post(
        "api_component_token",
        None,
        token_body(DEMO_COMPONENT_SECRET, &ticket),
    )
    .await;
    let b = v["component_access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_ne!(a, b);
    let list = |tok: String, offset: usize, count: usize| {
        post(
            "api_get_authorizer_list",
            Some(&tok),
            serde_json::json!({"component_appid": COMPONENT, "offset": offset, "count": count}),
        )
    };
    ph.clock
        .set(utc(DAY1) + chrono::Duration::seconds(600 + 299));
    assert_eq!(
        errcode(&list(a.clone(), 0, 10).await),
        0,
        "within the overlap"
    );
    ph.clock
        .set(utc(DAY1) + chrono::Duration::seconds(600 + 300));
    assert_eq!(
        errcode(&list(a.clone(), 0, 10).await),
        40001,
        "after the overlap"
    );
    // Pages of at most 500.
    assert_eq!(errcode(&list(b.clone(), 0, 501).await), 47001);
    let p1 = list(b.clone(), 0, 500).await;
    let p2 = list(b.clone(), 500, 500).await;
    assert_eq!(p1["total_count"], 501);
    assert_eq!(p1["list"].as_array().map(Vec::len), Some(500));
    assert_eq!(p2["list"].as_array().map(Vec::len), Some(1));
    // Info: type, name, permission sets; 61003 for an unknown app.
    let info = |appid: &str| {
        post(
            "api_get_authorizer_info",
            Some(&b),
            serde_json::json!({"component_appid": COMPONENT, "authorizer_appid": appid}),
        )
    };
    let apps = authorized_apps(10);
    let v = info(&apps[0].appid).await;
    assert_eq!(v["authorizer_info"]["nick_name"], "shop-0000");
    assert!(v["authorizer_info"]["MiniProgramInfo"].is_object());
    let v = info(&apps[1].appid).await;
    assert!(v["authorizer_info"].get("MiniProgramInfo").is_none());
    assert_eq!(
        v["authorization_info"]["func_info"][2]["funcscope_category"]["id"],
        2
    );
    assert_eq!(errcode(&info("wx00a07000ffffffff").await), 61003);
    // Authorizer tokens: 61023 for a wrong refresh token; a good one is
    // accepted by the datacube, except without the permission (61007).
    let auth = |appid: &str, rt: &str| {
        post(
            "api_authorizer_token",
            Some(&b),
            serde_json::json!({"component_appid": COMPONENT, "authorizer_appid": appid, "authorizer_refresh_token": rt}),
        )
    };
    assert_eq!(
        errcode(&auth(&apps[0].appid, "refreshtoken@@@stale").await),
        61023
    );
    let day = serde_json::json!({"begin_date": "20250309", "end_date": "20250309"});
    for (a, want) in [(&apps[0], 0), (&apps[9], 61007)] {
        let rt = ph.sim.refresh_token(&a.appid).expect("authorized");
        let v = auth(&a.appid, &rt).await;
        let tok = v["authorizer_access_token"]
            .as_str()
            .expect("token")
            .to_string();
        let path = if a.kind == AppKind::Miniprogram {
            "getweanalysisappiddailysummarytrend"
        } else {
            "getusercumulate"
        };
        let body = if a.kind == AppKind::Miniprogram {
            day.clone()
        } else {
            serde_json::json!({"begin_date": "2025-03-09", "end_date": "2025-03-09"})
        };
        let v: serde_json::Value = http
            .post(format!("{}/datacube/{path}?access_token={tok}", ph.url))
            .json(&body)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
        assert_eq!(errcode(&v), want, "{}: {v}", a.nick_name);
    }
    // The ticket expires after 12 hours: 61005; an IP off the whitelist: 61004.
    ph.sim.expire_ticket();
    let v = post(
        "api_component_token",
        None,
        token_body(DEMO_COMPONENT_SECRET, &ticket),
    )
    .await;
    assert_eq!(errcode(&v), 61005);
    ph.sim.set_platform_ip_blocked(true);
    assert_eq!(errcode(&list(b.clone(), 0, 10).await), 61004);
}

/// A component token WeChat rejects (40001) is renewed once and the call
/// retried; no second renewal.
#[tokio::test]
async fn a_rejected_component_token_is_renewed_once() {
    let ph = Ph::new(DAY1, 2).await;
    let r = ph.replica(&ph.yaml("", ""), 0, 1, None);
    r.discover().await;
    assert_eq!(ph.calls("component_token"), 1);
    // Another instance fetches a new component token: ours stays valid 5
    // minutes, then WeChat rejects it.
    let ticket = ph.sim.ticket().expect("ticket");
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/cgi-bin/component/api_component_token", ph.url))
        .json(&serde_json::json!({"component_appid": COMPONENT, "component_appsecret": DEMO_COMPONENT_SECRET, "component_verify_ticket": ticket}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert!(v["component_access_token"].is_string());
    ph.clock.set(utc(DAY1) + chrono::Duration::seconds(60));
    r.discover().await;
    assert_eq!(
        ph.calls("component_token"),
        2,
        "within the overlap: no renewal"
    );
    ph.clock.set(utc(DAY1) + chrono::Duration::seconds(400));
    r.discover().await;
    assert_eq!(ph.calls("component_token"), 3, "rejected: renewed once");
    let rejected = ph
        .sim
        .requests()
        .iter()
        .filter(|q| q.errcode == 40001 && q.token_kind.as_deref() == Some("get_authorizer_list"))
        .count();
    assert_eq!(rejected, 1);
}

async fn get_text(url: &str) -> String {
    reqwest::get(url)
        .await
        .expect("answer")
        .text()
        .await
        .expect("text")
}

/// `--demo --demo.platform`: the binary discovers the simulated platform's
/// ten apps and polls the nine with the permission.
#[tokio::test]
async fn the_binary_discovers_apps_in_demo_platform_mode() {
    let mut exp = Exporter::start(&["--demo", "--demo.platform"], &[]);
    exp.wait_listening();
    wait_ok(&exp.url("/-/ready"), 60).await;
    let m = Exposition::parse(&get_text(&exp.url("/metrics")).await);
    assert_eq!(m.count("wechat_exporter_platform_app_info"), 9);
    assert_eq!(m.count("wechat_exporter_platform_app_unpermitted"), 1);
    assert!(m
        .get(
            "wechat_miniprogram_visitors",
            &[("app", "shop-0000"), ("period", "daily")]
        )
        .is_some());
    assert!(!exp.logs().contains(DEMO_COMPONENT_SECRET));
}

/// The binary on a config file against `simulate --authorized`: discovery,
/// a reload that changes the labels (rediscovery on reload), refresh
/// tokens saved in --storage.path.
#[tokio::test]
async fn the_binary_rediscovers_on_reload_and_saves_refresh_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim_port = free_port();
    let ticket = dir.path().join("ticket");
    let sim = std::process::Command::new(exporter_bin())
        .args([
            "simulate",
            "--listen",
            &format!("127.0.0.1:{sim_port}"),
            "--release-hour",
            "0",
            "--authorized",
            "4",
            "--ticket-file",
            ticket.to_str().expect("utf-8 path"),
            "--log.level",
            "warn",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("simulator starts");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _sim = Kill(sim);
    wait_ok(
        &format!("http://127.0.0.1:{sim_port}/simulator/requests"),
        20,
    )
    .await;
    write(&dir.path().join("secret"), DEMO_COMPONENT_SECRET);
    let cfg = dir.path().join("config.yml");
    let yaml = |template: &str| {
        format!(
            "wechat:\n  api_url: http://127.0.0.1:{sim_port}\npoll:\n  release_hour: 0\nplatform:\n  component_appid: {COMPONENT}\n  component_secret_file: {}\n  component_verify_ticket_file: {}\n  name_template: '{template}'\n",
            dir.path().join("secret").display(),
            ticket.display()
        )
    };
    write(&cfg, &yaml("{name}"));
    let storage = dir.path().join("state");
    let mut exp = Exporter::start(
        &[
            "--config.file",
            cfg.to_str().expect("utf-8"),
            "--storage.path",
            storage.to_str().expect("utf-8"),
        ],
        &[],
    );
    exp.wait_listening();
    wait_ok(&exp.url("/-/ready"), 60).await;
    let m = Exposition::parse(&get_text(&exp.url("/metrics")).await);
    assert_eq!(m.count("wechat_exporter_platform_app_info"), 4);
    assert!(m
        .get("wechat_official_account_followers", &[("app", "news-0001")])
        .is_some());
    write(&cfg, &yaml("tenant {name} [{appid}]"));
    exp.signal("HUP");
    let relabelled = format!("tenant news-0001 [{}]", authorized_apps(2)[1].appid);
    let found = eventually(std::time::Duration::from_secs(30), || {
        let url = exp.url("/metrics");
        let want = relabelled.clone();
        async move {
            let m = Exposition::parse(&get_text(&url).await);
            m.get(
                "wechat_official_account_followers",
                &[("app", want.as_str())],
            )
            .map(|_| m)
        }
    })
    .await
    .expect("relabelled after reload");
    assert!(!has_app(&found, "news-0001"), "old labels are gone");
    exp.signal("TERM");
    assert_eq!(exp.wait_exit(std::time::Duration::from_secs(20)), Some(0));
    let saved = saved_refresh_tokens(&storage);
    assert_eq!(saved.len(), 4, "every listed app's refresh token is saved");
    assert!(!exp.logs().contains(DEMO_COMPONENT_SECRET));
    for t in saved.values() {
        assert!(!exp.logs().contains(t.as_str()));
    }
}
