//! Per-API isolation: for every API in turn, a permanent fault of each
//! kind (an answer of the wrong shape, `-1` forever, HTTP 500 forever,
//! 61501 forever, 48001) leaves every other API of the same app fetched in
//! the first poll and equal to what a fault-free exporter publishes; the
//! broken API shows `poll_success` 0, its errors counted, and its calls
//! backing off instead of repeating every round.

use crate::common::*;
use chrono::Duration;
use std::collections::BTreeMap;
use wechat_exporter::config::AppConfig;
use wechat_exporter::simulator::Faults;
use wechat_exporter::wechat::api::{Api, AppKind};

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
        let f = Faults {
            only_path: Some(api.path().to_string()),
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

/// The app of `api`'s kind, polling every API of that kind.
fn app_of(api: Api) -> (AppConfig, &'static str, &'static str) {
    match api.app_kind() {
        AppKind::Miniprogram => (mp_app("shop"), "shop", MP_APPID),
        AppKind::OfficialAccount => (oa_app("news"), "news", OA_APPID),
    }
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
        .filter(|(n, l, _)| keep(n, l))
        .map(|(n, l, v)| (format!("{n}{l:?}"), *v))
        .collect()
}

/// What a fault-free exporter publishes at T0 for one app.
async fn reference(app: AppConfig) -> Exposition {
    let h = Harness::new(T0, 10.0, 10.0, vec![app]).await;
    h.poll_at(T0).await
}

/// One API under one permanent fault. Returns the calls per hour that
/// reached the broken API after the first poll.
async fn scenario(api: Api, fault: Fault, clean: &Exposition) -> f64 {
    let (app, name, appid) = app_of(api);
    let ctx = format!("{fault:?} on {}", api.label());
    let h = Harness::new(T0, 10.0, 10.0, vec![app.clone()]).await;
    h.sim.set_faults(fault.plan(api, appid));
    let m = h.poll_at(T0).await;

    // Every other API of the app: fetched in the first poll, and equal to
    // what the fault-free exporter published.
    for other in app.enabled_apis().into_iter().filter(|a| *a != api) {
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
    let path = api.path();
    let calls_to = |h: &Harness| h.sim.requests().iter().filter(|r| r.path == path).count();
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
    assert_eq!(data(&m, others), want, "{ctx}: other APIs' values kept");
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
    let clean_mp = reference(mp_app("shop")).await;
    let clean_oa = reference(oa_app("news")).await;
    for fault in Fault::ALL {
        let runs = Api::ALL.map(|api| {
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
