//! The WeChat client against the simulator: every endpoint, every error
//! class, the token rules (one renewal and one retry, never a loop; no
//! legacy token unless chosen; file tokens), and Beijing date windows that
//! do not depend on the process time zone.

use crate::common::*;
use std::sync::Arc;
use std::time::Duration;
use wechat_exporter::api::{Api, AppKind};
use wechat_exporter::clock::Clock;
use wechat_exporter::collectors::{collector, Collected, Ctx};
use wechat_exporter::config::TokenSourceConfig;
use wechat_exporter::secret::Secret;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::{Faults, SimConfig, Simulator};
use wechat_exporter::wechat::client::{AppClient, RetryPolicy};
use wechat_exporter::wechat::error::{ApiError, ErrorClass};
use wechat_exporter::wechat::http::http_client;
use wechat_exporter::wechat::token::TokenProvider;

struct Fixture {
    sim: Simulator,
    _server: wechat_exporter::simulator::SimServer,
    url: String,
    clock: Clock,
    metrics: Arc<SelfMetrics>,
}

async fn fixture() -> Fixture {
    let clock = Clock::manual(utc("2025-03-10T04:00:00Z"));
    let sim = Simulator::new(SimConfig {
        clock: clock.clone(),
        apps: sim_apps(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.unwrap();
    Fixture {
        url: server.url(),
        sim,
        _server: server,
        clock,
        metrics: Arc::new(SelfMetrics::new()),
    }
}

impl Fixture {
    fn client(&self, appid: &str, secret: &str, source: TokenSourceConfig) -> AppClient {
        let http = http_client(&wechat_exporter::config::WechatSettings {
            timeout: Duration::from_millis(700),
            ..Default::default()
        });
        let tokens = Arc::new(TokenProvider::new(
            "app",
            appid,
            Secret::new(secret),
            source,
            &self.url,
            http.clone(),
            self.clock.clone(),
            self.metrics.clone(),
        ));
        let retry = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
        };
        AppClient::new(
            "app",
            &self.url,
            http,
            tokens,
            retry,
            self.metrics.clone(),
            Secret::new(secret),
        )
    }

    fn mp(&self) -> AppClient {
        self.client(MP_APPID, MP_SECRET, TokenSourceConfig::Stable)
    }

    fn count(&self, path: &str) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    fn token_calls(&self) -> (usize, usize) {
        let r = self.sim.requests();
        (
            r.iter()
                .filter(|r| r.path == "/cgi-bin/stable_token")
                .count(),
            r.iter().filter(|r| r.path == "/cgi-bin/token").count(),
        )
    }

    /// A token straight from the simulator, as another service would get it.
    async fn fresh_stable_token(&self) -> String {
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/cgi-bin/stable_token", self.url))
            .json(&serde_json::json!({"grant_type":"client_credential","appid":MP_APPID,"secret":MP_SECRET}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }
}

fn faults(f: Faults) -> Faults {
    Faults {
        only_path: Some(Api::DailyVisitTrend.path().to_string()),
        ..f
    }
}

const TREND: &str = "/datacube/getweanalysisappiddailyvisittrend";

#[tokio::test]
async fn every_endpoint_answers_and_collects() {
    let f = fixture().await;
    let now = f.clock.now();
    for (kind, client) in [
        (AppKind::Miniprogram, f.mp()),
        (
            AppKind::OfficialAccount,
            f.client(OA_APPID, OA_SECRET, TokenSourceConfig::Stable),
        ),
    ] {
        for api in Api::for_kind(kind) {
            let c = collector(api);
            for target in crate::common::plan(api, now) {
                let body = client
                    .call(&api.spec().call(target.range, target.slot))
                    .await
                    .unwrap_or_else(|e| panic!("{api:?}: {e}"));
                let ctx = Ctx {
                    app: "x",
                    page_limit: 200,
                    article_limit: 20,
                    oa_released_day: Some(target.range.end),
                    slot_names: crate::common::slot_names(api),
                };
                match c.collect(&ctx, &target, body).unwrap() {
                    // Before WeChat's storage starts (shares: 2025-11-01)
                    // the answer is rightly empty.
                    Collected::Samples(s) => assert!(
                        !s.is_empty()
                            || api
                                .spec()
                                .data_since()
                                .is_some_and(|d| target.range.end < d),
                        "{api:?}"
                    ),
                    Collected::NotReady => panic!("{api:?} {target:?} not ready at 12:00 Beijing"),
                    Collected::Partial { skipped, .. } => panic!("{api:?}: skipped {skipped:?}"),
                    Collected::Provisional(s) => assert!(!s.is_empty(), "{api:?}"),
                }
            }
        }
    }
    // One token per app for all those calls, and never the legacy endpoint.
    assert_eq!(f.token_calls(), (2, 0));
}

#[tokio::test]
async fn rejected_token_gets_one_renewal_and_one_retry() {
    let f = fixture().await;
    let c = f.mp();
    let day = wechat_exporter::dates::DateRange::day(
        chrono::NaiveDate::from_ymd_opt(2025, 3, 9).unwrap(),
    );
    c.call(&Api::DailyVisitTrend.call_for(day)).await.unwrap();
    // Another service force-refreshed: our token is dead.
    f.sim.revoke_tokens(MP_APPID);
    f.sim.clear_requests();
    c.call(&Api::DailyVisitTrend.call_for(day))
        .await
        .expect("recovers with a new token");
    assert_eq!(f.count(TREND), 2, "the failed call and one retry");
    assert_eq!(f.token_calls(), (1, 0), "one normal-mode stable token call");

    // A token WeChat keeps rejecting: one renewal (normal, then forced since
    // normal mode hands back the same token), one retry, then an error.
    f.sim.set_faults(faults(Faults {
        always_errcode: Some(40001),
        ..Faults::default()
    }));
    f.sim.clear_requests();
    let e = c
        .call(&Api::DailyVisitTrend.call_for(day))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Token, "{e}");
    assert_eq!(f.count(TREND), 2);
    let kinds: Vec<_> = f
        .sim
        .requests()
        .iter()
        .filter_map(|r| r.token_kind.clone())
        .collect();
    assert_eq!(kinds, ["stable", "stable_force"]);
    // Within 30 s of the forced refresh no second force: no loop, no churn.
    f.sim.clear_requests();
    let e = c
        .call(&Api::DailyVisitTrend.call_for(day))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::TokenRejectedAgain(_)), "{e}");
    assert_eq!(
        e.class(),
        ErrorClass::Token,
        "backs off minutes, not an hour"
    );
    assert_eq!(f.count(TREND), 1);
    assert!(f
        .sim
        .requests()
        .iter()
        .all(|r| r.token_kind.as_deref() != Some("stable_force")));
    assert_eq!(f.token_calls().1, 0, "never the legacy endpoint");
}

#[tokio::test]
async fn legacy_only_when_chosen_and_file_tokens() {
    let f = fixture().await;
    let day = wechat_exporter::dates::DateRange::day(
        chrono::NaiveDate::from_ymd_opt(2025, 3, 9).unwrap(),
    );
    let legacy = f.client(MP_APPID, MP_SECRET, TokenSourceConfig::Legacy);
    legacy
        .call(&Api::DailyVisitTrend.call_for(day))
        .await
        .unwrap();
    assert_eq!(f.token_calls(), (0, 1));

    // File token: read, used, re-read when it changes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{}\n", f.fresh_stable_token().await)).unwrap();
    let c = f.client(MP_APPID, "", TokenSourceConfig::File { path: path.clone() });
    f.sim.clear_requests();
    c.call(&Api::DailyVisitTrend.call_for(day)).await.unwrap();
    assert_eq!(f.token_calls(), (0, 0), "a file token needs no token call");
    f.sim.revoke_tokens(MP_APPID);
    let e = c
        .call(&Api::DailyVisitTrend.call_for(day))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("still holds"), "{e}");
    // The other service writes a new token: picked up without restart.
    std::fs::write(&path, f.fresh_stable_token().await).unwrap();
    c.call(&Api::DailyVisitTrend.call_for(day))
        .await
        .expect("new file token");

    // A device named by mistake is refused after the bound, not read into
    // memory; the error names the file and the limit.
    let zero = f.client(
        MP_APPID,
        "",
        TokenSourceConfig::File {
            path: "/dev/zero".into(),
        },
    );
    let e = zero
        .call(&Api::DailyVisitTrend.call_for(day))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("/dev/zero") && text.contains("limit"),
        "{text}"
    );
}

#[tokio::test]
async fn every_error_class() {
    let f = fixture().await;
    let c = f.mp();
    let day = wechat_exporter::dates::DateRange::day(
        chrono::NaiveDate::from_ymd_opt(2025, 3, 9).unwrap(),
    );
    c.call(&Api::DailyVisitTrend.call_for(day)).await.unwrap();
    struct Case {
        faults: Faults,
        class: Option<ErrorClass>,
        calls: usize,
        label: &'static str,
    }
    let transient = |f: Faults, label| Case {
        faults: f,
        class: Some(ErrorClass::Transient),
        calls: 3,
        label,
    };
    let cases = vec![
        // Two busy answers, then data: retried and recovered.
        Case {
            faults: Faults {
                busy: 2,
                ..Faults::default()
            },
            class: None,
            calls: 3,
            label: "-1",
        },
        transient(
            Faults {
                busy: 9,
                ..Faults::default()
            },
            "-1",
        ),
        transient(
            Faults {
                http_500: 9,
                ..Faults::default()
            },
            "http",
        ),
        transient(
            Faults {
                drop_connections: 9,
                ..Faults::default()
            },
            "http",
        ),
        transient(
            Faults {
                malformed_json: 9,
                ..Faults::default()
            },
            "decode",
        ),
        transient(
            Faults {
                latency: Some(Duration::from_millis(1500)),
                ..Faults::default()
            },
            "timeout",
        ),
    ];
    let mut cases = cases;
    for (code, class) in [
        (45009, ErrorClass::DailyQuota),
        (45011, ErrorClass::RateLimited),
        (40164, ErrorClass::IpWhitelist),
        (48001, ErrorClass::Unauthorized),
        (61007, ErrorClass::Unauthorized),
        (61502, ErrorClass::Unauthorized),
        (61503, ErrorClass::NotReady),
        (61500, ErrorClass::BadRequest),
        (61501, ErrorClass::BadRequest),
        (89503, ErrorClass::RiskyIp),
        (40013, ErrorClass::Credentials),
    ] {
        cases.push(Case {
            faults: Faults {
                always_errcode: Some(code),
                ..Faults::default()
            },
            class: Some(class),
            calls: 1,
            label: Box::leak(code.to_string().into_boxed_str()),
        });
    }
    for case in cases {
        f.sim.set_faults(faults(case.faults.clone()));
        f.sim.clear_requests();
        let errs_before = f
            .metrics
            .api_errors
            .with_label_values(&["app", "daily_visit_trend", case.label])
            .get();
        let r = c.call(&Api::DailyVisitTrend.call_for(day)).await;
        match case.class {
            None => assert!(r.is_ok(), "{:?}: {r:?}", case.faults),
            Some(class) => {
                let e = r.expect_err("fails");
                assert_eq!(e.class(), class, "{:?}: {e}", case.faults);
                assert_eq!(e.errcode_label(), case.label);
            }
        }
        assert_eq!(f.count(TREND), case.calls, "{:?}", case.faults);
        let errs = f
            .metrics
            .api_errors
            .with_label_values(&["app", "daily_visit_trend", case.label])
            .get();
        assert!(errs > errs_before, "{} counted", case.label);
    }
    // A wrong secret fails at the token call, classified as credentials.
    f.sim.set_faults(Faults::default());
    let bad = f.client(MP_APPID, "wrong-secret", TokenSourceConfig::Stable);
    let e = bad
        .call(&Api::DailyVisitTrend.call_for(day))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Credentials, "{e}");
    assert!(!e.to_string().contains("wrong-secret"));
}

/// Date windows computed in a child process per time zone; all equal.
#[test]
fn date_windows_ignore_the_process_time_zone() {
    if std::env::var_os("DATES_CHILD").is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut outputs = Vec::new();
    for tz in [
        "UTC",
        "America/Los_Angeles",
        "Pacific/Kiritimati",
        "Asia/Shanghai",
    ] {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "client::print_date_windows",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TZ", tz)
            .env("DATES_CHILD", "1")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let windows: Vec<&str> = text.lines().filter(|l| l.starts_with("W ")).collect();
        assert!(windows.len() > 20, "child printed {text}");
        outputs.push((tz, windows.join("\n")));
    }
    for (tz, o) in &outputs[1..] {
        assert_eq!(o, &outputs[0].1, "windows under TZ={tz} differ from UTC");
    }
}

#[test]
fn print_date_windows() {
    if std::env::var_os("DATES_CHILD").is_none() {
        return;
    }
    use wechat_exporter::dates::Period;
    // Instants around Beijing midnight, year, month, leap-day and week ends.
    for t in [
        "2024-12-29T15:59:59Z",
        "2024-12-29T16:00:00Z",
        "2025-01-05T16:00:00Z",
        "2024-02-29T16:00:00Z",
        "2024-03-01T00:00:00Z",
        "2024-12-31T16:30:00Z",
        "2025-03-09T08:00:00Z",
    ] {
        let now = utc(t);
        for p in [Period::Daily, Period::Weekly, Period::Monthly] {
            let r = p.latest(now);
            println!("W {t} {p:?} {} {}", r.begin, r.end);
            for &k in p.retention_offsets() {
                let c = p.retention_cohort(now, k);
                println!("W {t} {p:?} cohort{k} {} {}", c.begin, c.end);
            }
        }
    }
}
