//! Configuration reload through the binary, by SIGHUP and `POST /-/reload`,
//! against an in-test simulator on the system clock: added apps start
//! polling, removed apps leave `/metrics`, unchanged apps keep their data
//! without a single new call, and an invalid config is refused while the
//! old one keeps running; `wechat_exporter_config_last_reload_successful`
//! and `..._success_timestamp_seconds` say how it went.

use crate::common::*;
use std::time::Duration;
use wechat_exporter::api::AppKind;
use wechat_exporter::simulator::{SimApp, SimConfig, Simulator};

const EXTRA_APPID: &str = "wx00112233445566cc";
const EXTRA_SECRET: &str = "extra-secret-Rr4k8-distinctive";

fn app_yaml(name: &str, kind: &str, appid: &str, var: &str) -> String {
    format!("  - name: {name}\n    type: {kind}\n    appid: {appid}\n    secret: ${{{var}}}\n")
}

fn config(url: &str, apps: &[String]) -> String {
    format!(
        "wechat:\n  api_url: {url}\n  retry_delay: 10ms\npoll:\n  interval: 1s\n  release_hour: 0\napps:\n{}",
        apps.concat()
    )
}

async fn scrape(exp: &Exporter) -> Option<Exposition> {
    let t = reqwest::get(exp.url("/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    Some(Exposition::parse(&t))
}

fn has_app(m: &Exposition, app: &str) -> bool {
    m.samples.iter().any(|(n, l, _)| {
        !n.starts_with("wechat_exporter_") && l.get("app").map(String::as_str) == Some(app)
    })
}

fn any_app_series(m: &Exposition, app: &str) -> bool {
    m.samples
        .iter()
        .any(|(_, l, _)| l.get("app").map(String::as_str) == Some(app))
}

/// Waits until `/metrics` satisfies `ok`.
async fn until(exp: &Exporter, what: &str, ok: impl Fn(&Exposition) -> bool) -> Exposition {
    eventually(Duration::from_secs(20), || async {
        scrape(exp).await.filter(|m| ok(m))
    })
    .await
    .unwrap_or_else(|| panic!("timed out waiting for {what}: {}", exp.logs()))
}

fn calls_for(sim: &Simulator, appid: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.starts_with("/datacube/") && r.appid.as_deref() == Some(appid))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_post_reload() {
    let mut apps = sim_apps();
    apps.push(SimApp::new(EXTRA_APPID, EXTRA_SECRET, AppKind::Miniprogram));
    let sim = Simulator::new(SimConfig {
        release_hour: 0.0,
        apps,
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.unwrap();
    let url = server.url();
    let shop = app_yaml("shop", "miniprogram", MP_APPID, "SHOP_SECRET");
    let news = app_yaml("news", "official_account", OA_APPID, "NEWS_SECRET");
    let extra = app_yaml("extra", "miniprogram", EXTRA_APPID, "EXTRA_SECRET");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, config(&url, &[shop.clone(), news.clone()])).unwrap();
    let env = [
        ("SHOP_SECRET", MP_SECRET),
        ("NEWS_SECRET", OA_SECRET),
        ("EXTRA_SECRET", EXTRA_SECRET),
    ];
    let started = chrono::Utc::now().timestamp() as f64;
    let mut exp = Exporter::start(&["--config.file", path.to_str().unwrap()], &env);
    exp.wait_listening();
    let m = until(&exp, "shop and news data", |m| {
        has_app(m, "shop") && has_app(m, "news")
    })
    .await;
    assert_eq!(
        m.must("wechat_exporter_config_last_reload_successful", &[]),
        1.0
    );
    // Let the first rounds finish: shop's call count settles.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let shop_calls = calls_for(&sim, MP_APPID);
    assert!(shop_calls > 10, "shop polled: {shop_calls}");
    let shop_before: Vec<_> = m
        .samples
        .iter()
        .filter(|(n, l, _)| n == "wechat_miniprogram_visitors" && l["app"] == "shop")
        .cloned()
        .collect();

    // SIGHUP: news removed, extra added, shop unchanged.
    std::fs::write(&path, config(&url, &[shop.clone(), extra.clone()])).unwrap();
    exp.signal("HUP");
    let m = until(&exp, "extra in, news out", |m| {
        has_app(m, "extra") && !any_app_series(m, "news")
    })
    .await;
    assert_eq!(
        m.must("wechat_exporter_config_last_reload_successful", &[]),
        1.0
    );
    assert!(
        m.must(
            "wechat_exporter_config_last_reload_success_timestamp_seconds",
            &[]
        ) >= started
    );
    let shop_after: Vec<_> = m
        .samples
        .iter()
        .filter(|(n, l, _)| n == "wechat_miniprogram_visitors" && l["app"] == "shop")
        .cloned()
        .collect();
    assert_eq!(shop_after, shop_before, "shop keeps its data");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        calls_for(&sim, MP_APPID),
        shop_calls,
        "the unchanged app is not fetched again"
    );

    // An invalid config over POST: refused, the old one keeps running.
    std::fs::write(
        &path,
        config(
            &url,
            &[shop.clone(), app_yaml("bad", "miniprogram", "wx12", "X")],
        ),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let r = client.post(exp.url("/-/reload")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let body = r.text().await.unwrap();
    assert!(body.contains("apps[1].appid"), "{body}");
    let m = scrape(&exp).await.unwrap();
    assert_eq!(
        m.must("wechat_exporter_config_last_reload_successful", &[]),
        0.0
    );
    assert!(has_app(&m, "shop") && has_app(&m, "extra") && !any_app_series(&m, "bad"));
    let ts_refused = m.must(
        "wechat_exporter_config_last_reload_success_timestamp_seconds",
        &[],
    );
    // The same by SIGHUP: still alive, still refused.
    exp.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(exp.child.try_wait().unwrap().is_none(), "still running");
    assert!(exp.logs().contains("configuration reload refused"));

    // A good config over POST: news back, success recorded again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&path, config(&url, &[shop, extra, news])).unwrap();
    let r = client.post(exp.url("/-/reload")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = until(&exp, "news back", |m| has_app(m, "news")).await;
    assert_eq!(
        m.must("wechat_exporter_config_last_reload_successful", &[]),
        1.0
    );
    assert!(
        m.must(
            "wechat_exporter_config_last_reload_success_timestamp_seconds",
            &[]
        ) > ts_refused
    );
    assert_eq!(
        calls_for(&sim, MP_APPID),
        shop_calls,
        "shop still not refetched"
    );
}
