//! Scale and the scrape path: 1,000 apps in one process against the
//! in-process simulator (one round makes every app ready), the process-wide
//! call limit on real time, `/metrics` served from one rendering with its
//! gzip copy, and the cardinality switches (`exclude_apis`, `page_limit`).

use crate::common::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wechat_exporter::api::{Api, AppKind};
use wechat_exporter::clock::Clock;
use wechat_exporter::config::{AppConfig, Config, PollSettings, WechatSettings};
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::secret::Secret;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::{generated_apps, SimApp, SimConfig, SimServer, Simulator};

/// Exporter apps for simulator apps: `app-{i}`, portrait and pages left
/// out of Mini Programs when `lean` (the heavy families; covered below).
fn exporter_apps(sim_apps: &[SimApp], lean: bool) -> Vec<AppConfig> {
    sim_apps
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut c = AppConfig::new(
                &format!("app-{i}"),
                a.kind,
                &a.appid,
                Secret::new(a.secret.clone()),
            );
            if lean && a.kind == AppKind::Miniprogram {
                c.exclude_apis = vec![Api::UserPortrait, Api::VisitPage];
            }
            c
        })
        .collect()
}

struct Setup {
    sim: Simulator,
    _server: SimServer,
    poller: Arc<Poller>,
}

async fn setup(
    clock: Clock,
    sim_apps: Vec<SimApp>,
    apps: Vec<AppConfig>,
    release_hour: f64,
    poll: PollSettings,
) -> Setup {
    let sim = Simulator::new(SimConfig {
        seed: 11,
        clock: clock.clone(),
        release_hour,
        apps: sim_apps,
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
    let config = Config {
        wechat: WechatSettings {
            api_url: server.url(),
            timeout: Duration::from_secs(10),
            retry_delay: Duration::from_millis(5),
            ..WechatSettings::default()
        },
        poll: PollSettings {
            release_hour,
            ..poll
        },
        apps,
        ..Config::default()
    };
    let poller = Poller::new(&config, clock, Arc::new(SelfMetrics::new()));
    Setup {
        sim,
        _server: server,
        poller,
    }
}

fn exposition(p: &Poller) -> Exposition {
    Exposition::parse(&String::from_utf8_lossy(&p.store.load().body.to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_apps_are_ready_after_one_round() {
    let _heavy = crate::common::heavy();
    let started = Instant::now();
    let sim_apps = generated_apps(1000);
    let apps = exporter_apps(&sim_apps, true);
    // Wednesday 15 January 2025, 11:00 Beijing: yesterday is released.
    let clock = Clock::manual(utc("2025-01-15T03:00:00Z"));
    let s = setup(
        clock,
        sim_apps,
        apps,
        10.0,
        PollSettings {
            concurrency: 64,
            // On and generous (100k calls/s): every call still goes through it.
            max_calls_per_minute: 6_000_000,
            ..PollSettings::default()
        },
    )
    .await;
    assert!(!s.poller.ready());
    s.poller.poll_once().await;
    let took = started.elapsed();
    assert!(s.poller.ready(), "every app polled once");
    let m = exposition(&s.poller);
    for i in 0..1000 {
        let app = format!("app-{i}");
        if i % 2 == 0 {
            m.must(
                "wechat_miniprogram_visitors",
                &[("app", &app), ("period", "daily")],
            );
        } else {
            m.must("wechat_official_account_followers", &[("app", &app)]);
        }
        assert_eq!(
            m.must("wechat_exporter_app_paused", &[("app", &app)]),
            0.0,
            "{app}"
        );
    }
    assert!(
        m.samples
            .iter()
            .filter(|(n, _, _)| n == "wechat_exporter_poll_success")
            .all(|(_, _, v)| *v == 1.0),
        "every API of every app succeeded"
    );
    assert_eq!(m.must("wechat_exporter_apps", &[]), 1000.0);
    // Every WeChat call, tokens included, waited for the limiter.
    let calls = s.sim.requests().len() as u64;
    assert_eq!(s.poller.rate_limiter().granted(), calls);
    // Mini Program: 1 token + summary + 3 trends + distribution + 10 + 5 + 2
    // retention = 23 (more on a Monday or the 1st) + 5 performance modules;
    // Official Account:
    // 1 token + followers (2) + messages, weekly and monthly messages,
    // hourly messages, 3 distributions, callbacks, hourly callbacks (9) +
    // the publish summary, article reads, shares and the published-articles
    // list (4); the totals ask for no day before 2025-11-01.
    assert_eq!(calls, 500 * (23 + 5) + 500 * 16);
    eprintln!(
        "1000 apps: {calls} calls, one round in {took:?}, body {} bytes, gzip {} bytes",
        s.poller.store.load().body.len(),
        s.poller.store.load().gzip.len()
    );
    // How long the round took is a figure for benches/ (a shared machine
    // makes a bound here flaky), printed above.
}

/// Largest number of instants in any half-open window of `len`.
fn max_in_window(times: &[chrono::DateTime<chrono::Utc>], len: chrono::Duration) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= len {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// The limiter on real time, scaled down: 600 calls per minute is one call
/// every 100 ms, so no 2-second window of the simulator's log may hold more
/// than 20 calls. Calls can reach the simulator late (a loaded CI machine)
/// but never early, so bunching is bounded by the delay: 3 extra calls
/// tolerate 300 ms of skew; the total duration has no such slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_per_minute_hold_on_the_simulators_clock() {
    let _heavy = crate::common::heavy();
    let sim_apps = generated_apps(4);
    let apps = exporter_apps(&sim_apps, true);
    // The simulator's log records its clock: use real time here.
    let s = setup(
        Clock::system(),
        sim_apps,
        apps,
        0.0,
        PollSettings {
            concurrency: 4,
            max_calls_per_minute: 600,
            ..PollSettings::default()
        },
    )
    .await;
    let t0 = Instant::now();
    s.poller.poll_once().await;
    let took = t0.elapsed();
    assert!(s.poller.ready());
    let mut at: Vec<_> = s.sim.requests().iter().map(|r| r.at).collect();
    at.sort();
    let n = at.len();
    assert!(n >= 40, "{n} calls");
    assert_eq!(s.poller.rate_limiter().granted(), n as u64);
    let worst = max_in_window(&at, chrono::Duration::seconds(2));
    eprintln!("{n} calls in {took:?}, at most {worst} in any 2 s");
    assert!(worst <= 23, "{worst} calls within two seconds");
    // Spread, not bunched: n calls need (n - 1) × 100 ms.
    assert!(
        took >= Duration::from_millis(100 * (n as u64 - 1)),
        "{n} calls in {took:?}"
    );
    // The waiting shows on /metrics: 4 concurrent apps queue behind the
    // limit, so callers waited several seconds in all.
    let m = Exposition::parse(&String::from_utf8_lossy(
        &s.poller.store.load().body.to_vec(),
    ));
    let waited = m.must("wechat_exporter_rate_limit_wait_seconds_total", &[]);
    assert!(waited > 2.0, "waited {waited} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_share_one_rendering_and_its_gzip_copy() {
    let h = Harness::new(
        "2025-01-15T03:00:00Z",
        10.0,
        10.0,
        vec![mp_app("shop"), oa_app("news")],
    )
    .await;
    h.poller.poll_once().await;
    // process_* is read at each scrape and appended; this test is about the
    // snapshot's bytes, so leave it out.
    h.poller.metrics.set_process_metrics(false);
    let app = wechat_exporter::expose::http::router(h.poller.handlers("/metrics"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let before = h.poller.store.load();
    // reqwest is built without gzip support: it neither asks for nor
    // decodes gzip unless told, so the raw bytes are compared.
    let client = reqwest::Client::new();
    let get = |gzip: bool| {
        let mut req = client.get(&url);
        if gzip {
            req = req.header("Accept-Encoding", "gzip");
        }
        async move {
            let r = req.send().await.expect("scrape");
            assert_eq!(r.status(), 200);
            let enc = r
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap_or("").to_string());
            (enc, r.bytes().await.expect("body"))
        }
    };
    let (enc1, plain1) = get(false).await;
    let (enc2, plain2) = get(false).await;
    let (genc1, gz1) = get(true).await;
    let (_, gz2) = get(true).await;
    let after = h.poller.store.load();
    // No scrape rendered anything: the same snapshot object is published.
    assert!(Arc::ptr_eq(&before, &after), "a scrape re-rendered");
    assert_eq!(enc1, None);
    assert_eq!(enc2, None);
    assert_eq!(plain1, plain2, "two scrapes, identical bytes");
    assert_eq!(plain1, before.body.to_vec(), "the bytes are the snapshot's");
    assert_eq!(genc1.as_deref(), Some("gzip"));
    assert_eq!(gz1, gz2);
    assert_eq!(
        gz1,
        before.gzip.to_vec(),
        "the cached gzip copy, not a new encoding"
    );
    let mut decoded = Vec::new();
    // One gzip member (built from cached pieces): a decoder that stops
    // after the first member, like curl's, sees the whole body.
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz1[..]), &mut decoded)
        .expect("valid gzip");
    assert_eq!(decoded, plain1.to_vec(), "gzip decodes to the same body");
    assert!(gz1.len() * 3 < plain1.len(), "gzip pays off");
    server.abort();
}

/// Series per app in the exposition.
fn series_of(m: &Exposition, app: &str) -> usize {
    m.samples
        .iter()
        .filter(|(_, l, _)| l.get("app").map(String::as_str) == Some(app))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusions_and_page_limit_cut_the_series() {
    let full = mp_app("full");
    let mut lean = mp_app("lean");
    lean.exclude_apis = vec![Api::UserPortrait, Api::VisitPage];
    let mut top10 = mp_app("top10");
    top10.page_limit = 10;
    let h = Harness::new("2025-01-15T03:00:00Z", 10.0, 10.0, vec![full, lean, top10]).await;
    h.poller.poll_once().await;
    let m = h.metrics();
    let (n_full, n_lean, n_top10) = (
        series_of(&m, "full"),
        series_of(&m, "lean"),
        series_of(&m, "top10"),
    );
    eprintln!("series per Mini Program: all {n_full}, without portrait and pages {n_lean}, 10 pages {n_top10}");
    // 7 page families × (200 − 10) pages fewer.
    assert_eq!(n_full - n_top10, 7 * 190);
    assert_eq!(
        m.with_label("wechat_miniprogram_page_visits", "app", "top10")
            .len(),
        10
    );
    // Both families gone, with their per-API state series.
    let gone: BTreeSet<&str> = m
        .samples
        .iter()
        .filter(|(_, l, _)| l.get("app").map(String::as_str) == Some("lean"))
        .filter_map(|(n, _, _)| {
            (n.starts_with("wechat_miniprogram_page_") || n.contains("portrait"))
                .then_some(n.as_str())
        })
        .collect();
    assert!(gone.is_empty(), "{gone:?}");
    assert!(m
        .with_label("wechat_exporter_poll_success", "api", "visit_page")
        .iter()
        .all(|(_, l, _)| l["app"] != "lean"));
    assert!(n_lean * 4 < n_full, "{n_lean} vs {n_full}");
}
