//! The fault matrix: every simulator fault (latency past the client timeout,
//! HTTP 500, dropped connections, malformed JSON, -1 bursts, revoked and
//! rejected tokens, 45009, 40164, 61503 all day) against every API, one API
//! at a time through `only_path`. For each: no panic, the last good values
//! stay published, `poll_success` says what happened, the errcode is
//! counted, a log line gives advice, and the exporter recovers by itself
//! once the fault clears (after the backoff or pause it chose).

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use wechat_exporter::api::{Api, AppKind};
use wechat_exporter::config::AppConfig;
use wechat_exporter::simulator::Faults;
use wechat_exporter::wechat::error::ErrorClass;

/// Sunday 31 August 2025, 11:00 Beijing: everything up to 30 August is out.
const T0: &str = "2025-08-31T03:00:00Z";
/// Monday 1 September 2025, 11:00 Beijing: a new day, week and month are
/// due for every API at once.
const T1: &str = "2025-09-01T03:00:00Z";

/// A simulator and poller with tokens that outlive the test (so a revoked
/// token really is the one the exporter holds) and a chosen timeout.
async fn harness(start: &str, apps: Vec<AppConfig>, timeout: std::time::Duration) -> Harness {
    Harness::build(
        start,
        apps,
        HarnessOptions {
            timeout,
            token_ttl: std::time::Duration::from_secs(7 * 86400),
            ..HarnessOptions::default()
        },
    )
    .await
}

/// The app polling only `api`.
fn app_for(api: Api) -> (AppConfig, &'static str, &'static str) {
    let (mut app, appid) = match api.app_kind() {
        AppKind::Miniprogram => (mp_app("shop"), MP_APPID),
        AppKind::OfficialAccount => (oa_app("news"), OA_APPID),
    };
    app.apis = Some(vec![api]);
    let name = if appid == MP_APPID { "shop" } else { "news" };
    (app, name, appid)
}

/// The data samples (everything but the exporter's own series).
fn data(m: &Exposition) -> BTreeMap<String, f64> {
    m.samples
        .iter()
        .filter(|(n, _, _)| !n.starts_with("wechat_exporter_"))
        .map(|(n, l, v)| (format!("{n}{l:?}"), *v))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Latency,
    Http500,
    Drop,
    Malformed,
    Busy,
    Revoked,
    TokenRejected,
    Quota,
    IpWhitelist,
    NotReadyAllDay,
}

impl Fault {
    /// The `errcode` label the failure is counted under.
    fn errcode(self) -> &'static str {
        match self {
            Fault::Latency => "timeout",
            Fault::Http500 | Fault::Drop => "http",
            Fault::Malformed => "decode",
            Fault::Busy => "-1",
            Fault::Revoked | Fault::TokenRejected => "40001",
            Fault::Quota => "45009",
            Fault::IpWhitelist => "40164",
            Fault::NotReadyAllDay => "61503",
        }
    }

    /// The fault plan for `path`; counted faults hit every attempt (3).
    fn plan(self, path: &str) -> Faults {
        let only_path = Some(path.to_string());
        let f = Faults {
            only_path,
            ..Faults::default()
        };
        match self {
            Fault::Latency => Faults {
                latency: Some(std::time::Duration::from_millis(1000)),
                ..f
            },
            Fault::Http500 => Faults { http_500: 3, ..f },
            Fault::Drop => Faults {
                drop_connections: 3,
                ..f
            },
            Fault::Malformed => Faults {
                malformed_json: 3,
                ..f
            },
            Fault::Busy => Faults { busy: 3, ..f },
            Fault::Revoked => f,
            Fault::TokenRejected => Faults {
                always_errcode: Some(40001),
                ..f
            },
            Fault::Quota => Faults {
                always_errcode: Some(45009),
                ..f
            },
            Fault::IpWhitelist => Faults {
                errcode: Some((40164, 1)),
                ..f
            },
            Fault::NotReadyAllDay => Faults {
                always_errcode: Some(61503),
                ..f
            },
        }
    }
}

/// The whole scenario for one fault and one API; returns a summary line.
async fn scenario(fault: Fault, api: Api) -> String {
    let (app, name, appid) = app_for(api);
    let timeout = if fault == Fault::Latency {
        std::time::Duration::from_millis(300)
    } else {
        std::time::Duration::from_secs(2)
    };
    let h = harness(T0, vec![app], timeout).await;
    let sel = [("app", name), ("api", api.label())];
    let ctx = format!("{fault:?} on {}", api.label());

    // A good first poll.
    let m0 = h.poll_at(T0).await;
    assert_eq!(m0.must("wechat_exporter_poll_success", &sel), 1.0, "{ctx}");
    assert_eq!(m0.must("wechat_exporter_data_ready", &sel), 1.0, "{ctx}");
    let d0 = data(&m0);
    assert!(d0.len() > 1, "{ctx}: some data at first");
    let date0 = m0.must("wechat_data_date_timestamp_seconds", &sel);

    // The fault, at a time when a new period is due.
    h.clock.set(utc(T1));
    h.sim.set_faults(fault.plan(api.path()));
    if fault == Fault::Revoked {
        h.sim.revoke_tokens(appid);
    }
    let seen = h.sim.requests().len();
    let ((), logs) = logged(h.poller.poll_once()).await;
    let m1 = h.metrics();
    let reqs: Vec<_> = h.sim.requests()[seen..].to_vec();
    let errors = m1
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
    let stable_calls = reqs
        .iter()
        .filter(|r| r.path == "/cgi-bin/stable_token")
        .count();
    assert!(
        h.sim.requests().iter().all(|r| r.path != "/cgi-bin/token"),
        "{ctx}: legacy token endpoint called"
    );

    match fault {
        Fault::Revoked => {
            // One renewal, one retry, and the call succeeds.
            assert_eq!(stable_calls, 1, "{ctx}: one renewal");
            assert_eq!(errors, 1.0, "{ctx}: one rejection");
            assert_eq!(m1.must("wechat_exporter_poll_success", &sel), 1.0, "{ctx}");
            assert_eq!(m1.must("wechat_exporter_data_ready", &sel), 1.0, "{ctx}");
            assert!(m1.must("wechat_data_date_timestamp_seconds", &sel) > date0);
            return format!("{ctx}: renewed once, fresh data");
        }
        Fault::NotReadyAllDay => {
            assert_eq!(
                m1.must("wechat_exporter_poll_success", &sel),
                1.0,
                "{ctx}: not ready is not a failure"
            );
            assert_eq!(m1.must("wechat_exporter_data_ready", &sel), 0.0, "{ctx}");
            assert_eq!(data(&m1), d0, "{ctx}: last good values stay");
            let line = logs
                .lines()
                .find(|l| l.contains("data not ready") && l.contains(api.label()))
                .unwrap_or_else(|| panic!("{ctx}: no log line in:\n{logs}"));
            assert!(
                line.contains(ErrorClass::NotReady.advice()),
                "{ctx}: {line}"
            );
        }
        _ => {
            assert_eq!(m1.must("wechat_exporter_poll_success", &sel), 0.0, "{ctx}");
            assert_eq!(data(&m1), d0, "{ctx}: last good values stay");
            let code = fault.errcode();
            let advice = match code.parse::<i64>() {
                Ok(c) => ErrorClass::of_errcode(c).advice(),
                Err(_) => ErrorClass::Transient.advice(),
            };
            let line = logs
                .lines()
                .find(|l| l.contains("poll failed") && l.contains(api.label()))
                .unwrap_or_else(|| panic!("{ctx}: no failure log line in:\n{logs}"));
            assert!(line.contains(advice), "{ctx}: advice in {line}");
            assert!(line.contains(&format!("errcode={code}")), "{ctx}: {line}");
        }
    }
    if fault == Fault::TokenRejected {
        // One renewal (normal mode hands back the same token, so one forced
        // refresh) and one retry: two data calls, no loop.
        let data_calls = reqs.iter().filter(|r| r.path == api.path()).count();
        assert_eq!(data_calls, 2, "{ctx}: one retry");
        assert!(stable_calls <= 2, "{ctx}: {stable_calls} token calls");
        assert_eq!(errors, 2.0, "{ctx}");
    }

    // Recovery, by itself, at the first time the exporter should try again.
    let retry_at = match fault {
        Fault::Quota => {
            let st = h.poller.apps()[0].lock().paused_until;
            assert_eq!(
                st,
                Some(utc("2025-09-01T16:00:00Z")),
                "{ctx}: paused until Beijing midnight"
            );
            // Still paused later that day: not a single call.
            let before = h.data_calls();
            h.sim.set_faults(Faults::default());
            let m = h.poll_at("2025-09-01T10:00:00Z").await;
            assert_eq!(h.data_calls(), before, "{ctx}: paused");
            assert_eq!(
                m.must("wechat_exporter_app_paused", &[("app", name)]),
                1.0,
                "{ctx}"
            );
            assert_eq!(data(&m), d0, "{ctx}: values kept while paused");
            // Past midnight and the release hour.
            "2025-09-02T02:30:00Z"
        }
        Fault::IpWhitelist => {
            let before = h.data_calls();
            h.poll_at("2025-09-01T03:30:00Z").await;
            assert_eq!(h.data_calls(), before, "{ctx}: paused for an hour");
            "2025-09-01T04:01:00Z"
        }
        Fault::NotReadyAllDay => {
            h.sim.set_faults(Faults::default());
            "2025-09-01T03:16:00Z"
        }
        _ => {
            h.sim.set_faults(Faults::default());
            "2025-09-01T03:30:00Z"
        }
    };
    let m2 = h.poll_at(retry_at).await;
    assert_eq!(m2.must("wechat_exporter_poll_success", &sel), 1.0, "{ctx}");
    assert_eq!(m2.must("wechat_exporter_data_ready", &sel), 1.0, "{ctx}");
    let date2 = m2.must("wechat_data_date_timestamp_seconds", &sel);
    assert!(date2 > date0, "{ctx}: fresh data after recovery");
    assert_ne!(data(&m2), d0, "{ctx}: values changed");
    format!("{ctx}: {errors} errors, recovered at {retry_at}")
}

/// Whether WeChat keeps data of `api` at T0: `article_shares` and
/// `article_totals` have none before 2025-11-01, so there is nothing a
/// fault could cost them here
/// (`articles::` and `isolation::` cover it).
fn has_data_at_t0(api: &Api) -> bool {
    api.spec()
        .data_since()
        .map_or(true, |d| d <= wechat_exporter::dates::beijing_date(utc(T0)))
}

/// Runs `fault` against every API with data at T0, concurrently.
async fn matrix(fault: Fault) {
    let started = std::time::Instant::now();
    let apis: Vec<Api> = Api::ALL.into_iter().filter(has_data_at_t0).collect();
    let results = futures::future::join_all(apis.iter().map(|api| scenario(fault, *api))).await;
    assert_eq!(results.len(), Api::ALL.len() - 2);
    eprintln!(
        "{fault:?}: {} APIs in {:?}\n{}",
        results.len(),
        started.elapsed(),
        results.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_past_the_timeout() {
    matrix(Fault::Latency).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500() {
    matrix(Fault::Http500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections() {
    matrix(Fault::Drop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json() {
    matrix(Fault::Malformed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_bursts() {
    matrix(Fault::Busy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_are_renewed_once() {
    matrix(Fault::Revoked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_tokens_get_one_retry_no_loop() {
    matrix(Fault::TokenRejected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_quota_pauses_until_beijing_midnight() {
    matrix(Fault::Quota).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_whitelist_pauses_an_hour() {
    matrix(Fault::IpWhitelist).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_all_day_is_not_a_failure() {
    matrix(Fault::NotReadyAllDay).await;
}

/// A -1 burst shorter than the retry budget never reaches the poller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_busy_burst_is_retried_within_the_call() {
    let (app, name, _) = app_for(Api::DailyVisitTrend);
    let h = harness(T0, vec![app], std::time::Duration::from_secs(2)).await;
    h.sim.set_faults(Faults {
        busy: 2,
        only_path: Some(Api::DailyVisitTrend.path().to_string()),
        ..Faults::default()
    });
    let m = h.poll_at(T0).await;
    let sel = [("app", name), ("api", "daily_visit_trend")];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0);
    assert_eq!(
        m.must(
            "wechat_exporter_api_request_errors_total",
            &[
                ("app", name),
                ("api", "daily_visit_trend"),
                ("errcode", "-1")
            ]
        ),
        2.0
    );
}

/// A one-off failure of the token endpoint is retried within the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_token_endpoint_failure_is_retried_within_the_call() {
    let h = harness(T0, vec![mp_app("shop")], std::time::Duration::from_secs(2)).await;
    h.sim.set_faults(Faults {
        busy: 1,
        only_path: Some("/cgi-bin/stable_token".to_string()),
        ..Faults::default()
    });
    let m = h.poll_at(T0).await;
    assert_eq!(
        m.must(
            "wechat_exporter_poll_success",
            &[("app", "shop"), ("api", "daily_summary")]
        ),
        1.0
    );
    let token_calls = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/cgi-bin/stable_token")
        .count();
    assert_eq!(token_calls, 2, "one busy answer, one retry");
}

/// Faults at the token endpoint that outlast the retries: the data already
/// published stays, the round ends, and the next round recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_failures() {
    for fault in [Fault::Http500, Fault::Drop, Fault::Malformed, Fault::Busy] {
        let h = harness(
            T0,
            vec![mp_app("shop"), oa_app("news")],
            std::time::Duration::from_secs(2),
        )
        .await;
        let m0 = h.poll_at(T0).await;
        let d0 = data(&m0);
        // Tokens expire after a week here; 8 days later a new one is needed.
        let later: DateTime<Utc> = utc(T1) + Duration::days(7);
        h.clock.set(later);
        // Token calls are retried like data calls, so the fault must
        // outlast every app's retry budget to fail the round.
        let mut plan = fault.plan("/cgi-bin/stable_token");
        plan.http_500 *= 100;
        plan.drop_connections *= 100;
        plan.malformed_json *= 100;
        plan.busy *= 100;
        h.sim.set_faults(plan);
        let ((), logs) = logged(h.poller.poll_once()).await;
        let m1 = h.metrics();
        assert_eq!(data(&m1), d0, "{fault:?}: values kept");
        for (app, api) in [("shop", "daily_summary"), ("news", "user_cumulate")] {
            assert_eq!(
                m1.must(
                    "wechat_exporter_poll_success",
                    &[("app", app), ("api", api)]
                ),
                0.0,
                "{fault:?} {app}"
            );
        }
        assert!(logs.contains("poll failed"), "{fault:?}: {logs}");
        h.sim.set_faults(Faults::default());
        let m2 = h.poll_at("2025-09-08T04:00:00Z").await;
        assert_eq!(
            m2.must(
                "wechat_exporter_poll_success",
                &[("app", "shop"), ("api", "daily_summary")]
            ),
            1.0,
            "{fault:?} recovers"
        );
        assert_ne!(data(&m2), d0);
    }
}

/// 45011 (per-minute limit): the app stays away five minutes, then resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_backs_off_five_minutes() {
    let h = harness(T0, vec![mp_app("shop")], std::time::Duration::from_secs(2)).await;
    h.poll_at(T0).await;
    h.sim.set_faults(Faults {
        always_errcode: Some(45011),
        only_path: Some(Api::DailySummary.path().to_string()),
        ..Faults::default()
    });
    // The next day's first call hits the limit: the round ends there.
    let day = utc(T0) + Duration::days(1);
    h.clock.set(day);
    h.poller.poll_once().await;
    let m = h.metrics();
    assert_eq!(
        m.must("wechat_exporter_app_paused", &[("app", "shop")]),
        1.0
    );
    let calls = h.data_calls();
    h.sim.set_faults(Faults::default());
    // Four minutes later: still paused, no call.
    h.clock.set(day + Duration::minutes(4));
    h.poller.poll_once().await;
    assert_eq!(h.data_calls(), calls, "no call while backing off");
    // Six minutes later: resumed, and the day's data arrives.
    h.clock.set(day + Duration::minutes(6));
    h.poller.poll_once().await;
    let m = h.metrics();
    assert!(h.data_calls() > calls);
    assert_eq!(
        m.must("wechat_exporter_app_paused", &[("app", "shop")]),
        0.0
    );
    assert_eq!(
        m.must(
            "wechat_exporter_data_ready",
            &[("app", "shop"), ("api", "daily_visit_trend")]
        ),
        1.0
    );
}

/// A wrong secret (40125 at the token endpoint) pauses the app for one
/// hour, then two, then four: a configuration error is not hammered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_errors_back_off_doubling() {
    let h = harness(T0, vec![mp_app("shop")], std::time::Duration::from_secs(2)).await;
    h.sim.set_faults(Faults {
        always_errcode: Some(40125),
        only_path: Some("/cgi-bin/stable_token".to_string()),
        ..Faults::default()
    });
    let token_calls = |h: &Harness| {
        h.sim
            .requests()
            .iter()
            .filter(|r| r.path == "/cgi-bin/stable_token")
            .count()
    };
    let start = utc(T0);
    // Attempts land at 0 h, 1 h, 3 h and 7 h; none in between.
    let mut expected = 0;
    for minutes in (0..=8 * 60).step_by(30) {
        h.clock.set(start + Duration::minutes(minutes));
        h.poller.poll_once().await;
        if [0, 60, 180, 420].contains(&minutes) {
            expected += 1;
        }
        assert_eq!(token_calls(&h), expected, "token calls after {minutes} min");
    }
    let m = h.metrics();
    assert_eq!(
        m.must("wechat_exporter_app_paused", &[("app", "shop")]),
        1.0
    );
    assert!(
        m.must(
            "wechat_exporter_api_request_errors_total",
            &[("app", "shop"), ("api", "token"), ("errcode", "40125")]
        ) >= 4.0
    );
    // Fixed in the console: the next attempt after the pause succeeds.
    h.sim.set_faults(Faults::default());
    h.clock.set(start + Duration::hours(16));
    h.poller.poll_once().await;
    assert_eq!(
        h.metrics()
            .must("wechat_exporter_app_paused", &[("app", "shop")]),
        0.0
    );
}

/// `data_final` speaks only of something published: an API whose every
/// call failed from the first poll on has none (issue #21 saw 1 there),
/// while its neighbour that answered has one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_never_answered_says_nothing_is_final() {
    let mut app = oa_app("news");
    app.apis = Some(vec![Api::ArticleTotalDetail, Api::ArticleRead]);
    let h = harness(
        "2026-01-15T03:00:00Z",
        vec![app],
        std::time::Duration::from_secs(2),
    )
    .await;
    h.sim.set_faults(Faults {
        http_500: 1_000,
        ..Fault::Http500.plan(Api::ArticleTotalDetail.path())
    });
    let m = h.poll_at("2026-01-15T03:00:00Z").await;
    let failed = [("app", "news"), ("api", Api::ArticleTotalDetail.label())];
    let answered = [("app", "news"), ("api", Api::ArticleRead.label())];
    assert_eq!(m.must("wechat_exporter_poll_success", &failed), 0.0);
    assert_eq!(m.get("wechat_exporter_data_final", &failed), None);
    assert_eq!(m.get("wechat_data_date_timestamp_seconds", &failed), None);
    assert_eq!(m.must("wechat_exporter_poll_success", &answered), 1.0);
    assert!(m.get("wechat_exporter_data_final", &answered).is_some());
}
