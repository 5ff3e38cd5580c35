//! Per-API isolation: for every API in turn, a permanent fault of each
//! kind (an answer of the wrong shape, `-1` forever, HTTP 500 forever,
//! 61501 forever, 48001) leaves every other API of the same app fetched in
//! the first poll and equal to what a fault-free exporter publishes; the
//! broken API shows `poll_success` 0, its errors counted, and its calls
//! backing off instead of repeating every round.

use crate::common::*;
use chrono::Duration;
use std::collections::BTreeMap;
use wechat_exporter::api::{Api, AppKind};
use wechat_exporter::collectors::{collector, Plan};
use wechat_exporter::config::AppConfig;
use wechat_exporter::simulator::Faults;

/// Whether `api` has anything to ask for at T0: `article_totals` asks
/// for no day before 2025-11-01, where WeChat's storage starts, so no
/// fault can reach it here (`articles::` covers it).
fn asked_at_t0(api: Api) -> bool {
    let (app, _, _) = app_of(api);
    !collector(api)
        .plan(&Plan::new(utc(T0), api, &app))
        .is_empty()
}

/// Sunday 31 August 2025, 11:00 Beijing: every period is released.
const T0: &str = "2025-08-31T03:00:00Z";
/// How often the poller runs in the backoff part, and for how long.
const STEP_MIN: i64 = 5;
const HOURS: i64 = 8;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    WrongShape,
    BusyForever,
    Http500Forever,
    DateRangeError,
    Unauthorized,
}

impl Fault {
    const ALL: [Fault; 5] = [
        Fault::WrongShape,
        Fault::BusyForever,
        Fault::Http500Forever,
        Fault::DateRangeError,
        Fault::Unauthorized,
    ];

    fn errcode(self) -> &'static str {
        match self {
            Fault::WrongShape => "decode",
            Fault::BusyForever => "-1",
            Fault::Http500Forever => "http",
            Fault::DateRangeError => "61501",
            Fault::Unauthorized => "48001",
        }
    }

    fn plan(self, api: Api, appid: &str) -> Faults {
        // By API, not path: the performance modules share one path.
        let f = Faults {
            only_api: Some(api),
            only_appid: Some(appid.to_string()),
            ..Faults::default()
        };
        match self {
            Fault::WrongShape => Faults {
                wrong_shape: u32::MAX,
                ..f
            },
            Fault::BusyForever => Faults {
                always_errcode: Some(-1),
                ..f
            },
            Fault::Http500Forever => Faults {
                http_500: u32::MAX,
                ..f
            },
            Fault::DateRangeError => Faults {
                always_errcode: Some(61501),
                ..f
            },
            Fault::Unauthorized => Faults {
                always_errcode: Some(48001),
                ..f
            },
        }
    }
}

/// The app of `api`'s kind, polling every API of that kind (the opt-in
/// operations APIs too; the quota watches one business path).
fn app_of(api: Api) -> (AppConfig, &'static str, &'static str) {
    let (mut app, name, appid) = match api.app_kind() {
        AppKind::Miniprogram => (mp_app("shop"), "shop", MP_APPID),
        AppKind::OfficialAccount => (oa_app("news"), "news", OA_APPID),
    };
    app.apis = Some(Api::for_kind(app.kind).collect());
    app.quota_paths = vec!["/cgi-bin/message/subscribe/send".into()];
    (app, name, appid)
}

/// Whether a data sample is published by `api` (families are shared by
/// the daily, weekly and monthly APIs, told apart by `period`).
fn published_by(api: Api, name: &str, labels: &BTreeMap<String, String>) -> bool {
    api.spec().families.iter().any(|f| f.name() == name)
        && labels
            .get("period")
            .map_or(true, |p| p == api.period().label())
}

/// The data samples of an exposition that `keep` selects.
fn data(
    m: &Exposition,
    keep: impl Fn(&str, &BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, f64> {
    m.samples
        .iter()
        .filter(|(n, _, _)| !n.starts_with("wechat_exporter_") && !n.starts_with("wechat_data_"))
        // Live call counts: the broken API's own failed calls rightly
        // count against its path, so they differ from the fault-free run.
        .filter(|(n, _, _)| n != "wechat_api_quota_used" && n != "wechat_api_quota_remaining")
        .filter(|(n, l, _)| keep(n, l))
        .map(|(n, l, v)| (format!("{n}{l:?}"), *v))
        .collect()
}

/// A harness whose client timeout no busy machine reaches: these tests
/// inject no latency, so a timeout would only be the machine's load.
async fn harness(apps: Vec<AppConfig>) -> Harness {
    Harness::build(
        T0,
        apps,
        HarnessOptions {
            timeout: std::time::Duration::from_secs(30),
            ..HarnessOptions::default()
        },
    )
    .await
}

/// What a fault-free exporter publishes for one app at T0, and after the
/// same 8 hours of polls (publish numbers settle meanwhile).
async fn reference(app: AppConfig) -> (Exposition, Exposition) {
    let h = harness(vec![app]).await;
    let first = h.poll_at(T0).await;
    let start = utc(T0);
    for step in 1..=(HOURS * 60 / STEP_MIN) {
        h.clock.set(start + Duration::minutes(step * STEP_MIN));
        h.poller.poll_once().await;
    }
    (first, h.metrics())
}

/// One API under one permanent fault. Returns the calls per hour that
/// reached the broken API after the first poll.
async fn scenario(api: Api, fault: Fault, (clean, clean_end): &(Exposition, Exposition)) -> f64 {
    let (app, name, appid) = app_of(api);
    let ctx = format!("{fault:?} on {}", api.label());
    let h = harness(vec![app.clone()]).await;
    h.sim.set_faults(fault.plan(api, appid));
    let m = h.poll_at(T0).await;

    // Every other API of the app: fetched in the first poll, and equal to
    // what the fault-free exporter published.
    for other in app
        .enabled_apis()
        .into_iter()
        .filter(|a| *a != api && asked_at_t0(*a))
    {
        let sel = [("app", name), ("api", other.label())];
        assert_eq!(
            m.must("wechat_exporter_poll_success", &sel),
            1.0,
            "{ctx}: {other:?}"
        );
        assert_eq!(
            m.must("wechat_exporter_data_ready", &sel),
            1.0,
            "{ctx}: {other:?}"
        );
    }
    let others = |n: &str, l: &BTreeMap<String, String>| !published_by(api, n, l);
    let got = data(&m, others);
    let want = data(clean, others);
    assert!(!want.is_empty(), "{ctx}: the other APIs publish something");
    assert_eq!(got, want, "{ctx}: other APIs' values");
    let own = |n: &str, l: &BTreeMap<String, String>| published_by(api, n, l);
    assert!(
        data(&m, own).is_empty(),
        "{ctx}: nothing published for the broken API"
    );

    // The broken API says so.
    let sel = [("app", name), ("api", api.label())];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 0.0, "{ctx}");
    let errors = m
        .get(
            "wechat_exporter_api_request_errors_total",
            &[
                ("app", name),
                ("api", api.label()),
                ("errcode", fault.errcode()),
            ],
        )
        .unwrap_or(0.0);
    assert!(errors >= 1.0, "{ctx}: errcode {} counted", fault.errcode());
    if fault == Fault::Unauthorized {
        assert_eq!(m.must("wechat_exporter_api_enabled", &sel), 0.0, "{ctx}");
    } else {
        let until = m.must("wechat_exporter_api_backoff_until_timestamp_seconds", &sel);
        assert!(
            until > utc(T0).timestamp() as f64,
            "{ctx}: backoff published"
        );
    }

    // Then the poller runs every 5 minutes for 8 hours: the broken API's
    // calls back off (growing gaps), never one round after another.
    let calls_to = |h: &Harness| {
        h.sim
            .requests()
            .iter()
            .filter(|r| r.api == Some(api))
            .count()
    };
    let first_calls = calls_to(&h);
    let mut rounds_with_calls = Vec::new();
    let start = utc(T0);
    for step in 1..=(HOURS * 60 / STEP_MIN) {
        let before = calls_to(&h);
        let t = start + Duration::minutes(step * STEP_MIN);
        h.clock.set(t);
        h.poller.poll_once().await;
        if calls_to(&h) > before {
            rounds_with_calls.push(step * STEP_MIN);
        }
    }
    let later_calls = calls_to(&h) - first_calls;
    let m = h.metrics();
    assert_eq!(
        m.must("wechat_exporter_poll_success", &sel),
        0.0,
        "{ctx}: still failing"
    );
    assert_eq!(
        data(&m, others),
        data(clean_end, others),
        "{ctx}: other APIs' values kept"
    );
    let gaps: Vec<i64> = std::iter::once(0)
        .chain(rounds_with_calls.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    if fault == Fault::Unauthorized {
        assert!(
            rounds_with_calls.is_empty(),
            "{ctx}: disabled, yet called at {rounds_with_calls:?}"
        );
    } else {
        assert!(
            gaps.windows(2).all(|w| w[1] >= w[0]),
            "{ctx}: gaps shrink: {gaps:?}"
        );
        assert!(
            gaps.last().is_some_and(|g| *g >= 60),
            "{ctx}: backs off to an hour or more: {gaps:?}"
        );
        assert!(
            rounds_with_calls.len() <= 12,
            "{ctx}: called in {} of {} rounds",
            rounds_with_calls.len(),
            HOURS * 60 / STEP_MIN
        );
    }
    later_calls as f64 / HOURS as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_api_never_costs_another_api_its_data() {
    let clean_mp = reference(app_of(Api::DailySummary).0).await;
    let clean_oa = reference(app_of(Api::UserSummary).0).await;
    for fault in Fault::ALL {
        let asked: Vec<Api> = Api::ALL.into_iter().filter(|a| asked_at_t0(*a)).collect();
        assert_eq!(
            asked.len(),
            Api::ALL.len() - 1,
            "only article_totals is skipped"
        );
        let runs = asked.into_iter().map(|api| {
            let clean = match api.app_kind() {
                AppKind::Miniprogram => &clean_mp,
                AppKind::OfficialAccount => &clean_oa,
            };
            async move { (api, scenario(api, fault, clean).await) }
        });
        let per_hour = futures::future::join_all(runs).await;
        let summary: Vec<String> = per_hour
            .iter()
            .map(|(api, n)| format!("{} {n:.2}/h", api.label()))
            .collect();
        eprintln!(
            "{fault:?}: calls per hour to the broken API: {}",
            summary.join(", ")
        );
    }
}

/// One malformed item (a page row, one key of a distribution index)
/// costs that item alone: the rest of the answer is published, and the
/// skipped part is counted and logged with its JSON path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_item_costs_only_that_item() {
    let (clean, _) = reference(mp_app("shop")).await;
    for api in [Api::VisitPage, Api::VisitDistribution] {
        let h = harness(vec![mp_app("shop")]).await;
        h.sim.set_faults(Faults {
            only_path: Some(api.path().to_string()),
            bad_item: 1,
            ..Faults::default()
        });
        let (m, logs) = logged(h.poll_at(T0)).await;
        let sel = [("app", "shop"), ("api", api.label())];
        assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0, "{api:?}");
        assert_eq!(
            m.must("wechat_exporter_answer_parts_skipped_total", &sel),
            1.0,
            "{api:?}"
        );
        let own = |n: &str, l: &BTreeMap<String, String>| published_by(api, n, l);
        let got = data(&m, own);
        let want = data(&clean, own);
        // Everything published is what the clean answer had...
        for (k, v) in &got {
            assert_eq!(want.get(k), Some(v), "{api:?}: {k}");
        }
        // ...and what is missing is one item: one page, or one key.
        let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
        assert!(!missing.is_empty(), "{api:?}: nothing skipped");
        match api {
            Api::VisitPage => {
                let pages: std::collections::BTreeSet<String> = m
                    .samples
                    .iter()
                    .chain(clean.samples.iter())
                    .filter(|(n, l, _)| {
                        published_by(api, n, l) && missing.contains(&&format!("{n}{l:?}"))
                    })
                    .filter_map(|(_, l, _)| l.get("page").cloned())
                    .collect();
                assert_eq!(pages.len(), 1, "{api:?}: one page missing: {missing:?}");
                assert!(got.len() > 100, "{api:?}: the other pages are there");
            }
            _ => assert_eq!(missing.len(), 1, "{api:?}: one key missing: {missing:?}"),
        }
        let line = logs
            .lines()
            .find(|l| l.contains("answer partly skipped") && l.contains(api.label()))
            .unwrap_or_else(|| panic!("{api:?}: no log line in {logs}"));
        assert!(line.contains("list[0]"), "{api:?}: path in {line}");
        assert!(line.contains("n/a"), "{api:?}: excerpt in {line}");
    }
}

/// No connection to WeChat at all (connection refused here, as for DNS or
/// TLS failures) is app-scoped: after the call's retries the app's round
/// ends, since every other call would fail the same way, and nothing is
/// paused: the next round tries again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_ends_the_round_and_pauses_nothing() {
    use std::sync::Arc;
    use wechat_exporter::clock::Clock;
    use wechat_exporter::config::{Config, WechatSettings};
    use wechat_exporter::poll::poller::Poller;
    use wechat_exporter::self_metrics::SelfMetrics;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let config = Config {
        wechat: WechatSettings {
            api_url: format!("http://127.0.0.1:{port}"),
            retry_delay: std::time::Duration::from_millis(5),
            ..WechatSettings::default()
        },
        apps: vec![mp_app("shop")],
        ..Config::default()
    };
    let clock = Clock::manual(utc(T0));
    let poller = Poller::new(&config, clock.clone(), Arc::new(SelfMetrics::new()));
    let ((), logs) = logged(poller.poll_once()).await;
    let m = Exposition::parse(&String::from_utf8_lossy(&poller.store.load().body.to_vec()));
    let first = Api::for_kind(AppKind::Miniprogram).next().expect("an API");
    let sel = [("app", "shop"), ("api", first.label())];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 0.0);
    // The round ended at the first API: the others were not tried.
    for other in Api::for_kind(AppKind::Miniprogram).skip(1) {
        assert_eq!(
            m.get(
                "wechat_exporter_poll_success",
                &[("app", "shop"), ("api", other.label())]
            ),
            None,
            "{other:?} tried after an unreachable WeChat"
        );
    }
    assert_eq!(
        m.must("wechat_exporter_app_paused", &[("app", "shop")]),
        0.0
    );
    let line = logs
        .lines()
        .find(|l| l.contains("poll failed"))
        .unwrap_or_else(|| panic!("no failure line in {logs}"));
    assert!(line.contains("errcode=connect"), "{line}");
    assert!(
        line.contains(wechat_exporter::wechat::error::ErrorClass::Unreachable.advice()),
        "{line}"
    );
    // Not paused: the next round tries again at once.
    clock.set(utc(T0) + Duration::minutes(1));
    let ((), logs) = logged(poller.poll_once()).await;
    assert!(
        logs.contains("poll failed"),
        "second round made no call: {logs}"
    );
}
