//! `backfill` against the simulator: values through promtool and a real
//! Prometheus, resuming after an interruption, range validation, and the
//! head-block margin. Never talks to anything but 127.0.0.1.

use crate::common::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use wechat_exporter::api::Api;
use wechat_exporter::backfill::{self, BackfillError, Options, RawArgs};
use wechat_exporter::clock::Clock;
use wechat_exporter::collectors::names::OA_SOURCES;
use wechat_exporter::config::{AppConfig, Config, WechatSettings};
use wechat_exporter::dates::{beijing_midnight, latest_day, DateRange, Period};
use wechat_exporter::simulator::{SimConfig, SimServer, Simulator};

pub(crate) struct Setup {
    pub(crate) clock: Clock,
    pub(crate) sim: Simulator,
    _server: SimServer,
    pub(crate) config: Config,
}

pub(crate) async fn setup(now: DateTime<Utc>, apps: Vec<AppConfig>) -> Setup {
    let clock = Clock::manual(now);
    let sim = Simulator::new(SimConfig {
        seed: 7,
        clock: clock.clone(),
        release_hour: 0.0,
        apps: sim_apps(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
    let config = Config {
        wechat: WechatSettings {
            api_url: server.url(),
            timeout: std::time::Duration::from_secs(5),
            retry_delay: std::time::Duration::from_millis(5),
            ..WechatSettings::default()
        },
        apps,
        ..Config::default()
    };
    Setup {
        clock,
        sim,
        _server: server,
        config,
    }
}

pub(crate) fn opts(from: NaiveDate, to: NaiveDate, output: &Path) -> Options {
    Options {
        from,
        to,
        output: output.to_path_buf(),
        step: 240,
        rate: 10_000.0,
        max_calls: None,
        split_days: 0,
        progress: false,
        target_labels: vec![
            ("job".into(), backfill::DEFAULT_JOB.into()),
            ("instance".into(), backfill::DEFAULT_INSTANCE.into()),
        ],
    }
}

/// Compares two outputs without printing hundreds of MB on failure.
fn same_text(a: &str, b: &str) {
    if a != b {
        let (i, (la, lb)) = a
            .lines()
            .zip(b.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .unwrap_or((0, ("", "")));
        std::fs::write("/tmp/backfill-a.om", a).ok();
        std::fs::write("/tmp/backfill-b.om", b).ok();
        panic!(
            "outputs differ ({} vs {} bytes); first at line {i}:\n{la}\n{lb}",
            a.len(),
            b.len()
        );
    }
}

pub(crate) fn data_calls(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| {
            r.path.starts_with("/datacube/") || r.path == wechat_exporter::api::PERFORMANCE_PATH
        })
        .count()
}

/// Every timestamp in an OpenMetrics text.
pub(crate) fn timestamps(text: &str) -> Vec<i64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// Families must be contiguous, declared once, and the file must end in EOF.
pub(crate) fn check_openmetrics(text: &str) {
    assert!(text.ends_with("# EOF\n"), "no # EOF at the end");
    let mut seen = std::collections::HashSet::new();
    let mut current = String::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let name = l.split(['{', ' ']).next().unwrap_or_default().to_string();
        if name != current {
            assert!(seen.insert(name.clone()), "family {name} is interleaved");
            current = name;
        }
    }
}

#[tokio::test]
async fn interrupted_backfill_resumes_without_refetching() {
    let now = utc("2025-03-10T04:00:00Z"); // 12:00 Beijing
    let mut mp = mp_app("shop");
    mp.page_limit = 3;
    let s = setup(now, vec![mp, oa_app("news")]).await;
    let to = latest_day(now);
    let from = to - Duration::days(9);
    let dir = tempfile::tempdir().unwrap();

    // Uninterrupted.
    let a = dir.path().join("a.om");
    let report = backfill::run(&s.config, &opts(from, to, &a), s.clock.clone())
        .await
        .expect("backfill completes");
    assert!(report.failures.is_empty(), "{}", report.summary());
    let calls_a = data_calls(&s.sim);
    assert_eq!(report.calls as usize, calls_a);
    let text_a = std::fs::read_to_string(&a).unwrap();
    check_openmetrics(&text_a);

    // Interrupted twice by the call budget, then completed.
    s.sim.clear_requests();
    let b = dir.path().join("b.om");
    let mut o = opts(from, to, &b);
    o.max_calls = Some(5);
    let err = backfill::run(&s.config, &o, s.clock.clone())
        .await
        .expect_err("stops at the budget");
    assert!(
        matches!(err, BackfillError::Stopped { calls: 5, .. }),
        "{err}"
    );
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("run the same command again"));
    assert!(!b.exists(), "no partial output");
    o.max_calls = Some(11);
    backfill::run(&s.config, &o, s.clock.clone())
        .await
        .expect_err("stops again");
    o.max_calls = None;
    let report = backfill::run(&s.config, &o, s.clock.clone())
        .await
        .expect("completes");
    assert_eq!(report.resumed, 16);
    assert_eq!(data_calls(&s.sim), calls_a, "no unit fetched twice");
    same_text(&std::fs::read_to_string(&b).unwrap(), &text_a);

    // A finished progress file re-renders without calls.
    s.sim.clear_requests();
    backfill::run(&s.config, &o, s.clock.clone()).await.unwrap();
    assert_eq!(data_calls(&s.sim), 0);
    same_text(&std::fs::read_to_string(&b).unwrap(), &text_a);

    // Other arguments over the same progress file are refused.
    let other = opts(from + Duration::days(1), to, &b);
    let err = backfill::run(&s.config, &other, s.clock.clone())
        .await
        .expect_err("refused");
    assert!(matches!(err, BackfillError::Progress { .. }), "{err}");
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn the_last_three_hours_are_never_written() {
    let now = utc("2025-03-10T04:00:00Z"); // 12:00 Beijing, 10 March
    let mut mp = mp_app("shop");
    mp.apis = Some(vec![Api::DailyVisitTrend]);
    let s = setup(now, vec![mp]).await;
    let to = latest_day(now);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.om");
    backfill::run(
        &s.config,
        &opts(to - Duration::days(2), to, &out),
        s.clock.clone(),
    )
    .await
    .unwrap();
    let ts = timestamps(&std::fs::read_to_string(&out).unwrap());
    let limit = (now - Duration::hours(3)).timestamp();
    let max = *ts.iter().max().unwrap();
    assert!(max < limit, "sample at {max} inside the last 3 hours");
    // Yesterday's value is there right up to the margin.
    assert!(max >= limit - 240);
}

#[tokio::test]
async fn ranges_are_validated_naming_the_flag() {
    let now = utc("2025-03-10T04:00:00Z");
    let config = Config {
        apps: vec![mp_app("shop")],
        ..Config::default()
    };
    let raw = |from: &str, to: &str| RawArgs {
        from: from.into(),
        to: to.into(),
        output: PathBuf::from("unused.om"),
        step: 120,
        rate: 5.0,
        max_calls: None,
        split_days: 0,
        job: backfill::DEFAULT_JOB.into(),
        instance: backfill::DEFAULT_INSTANCE.into(),
        labels: vec![],
    };
    for (r, flag) in [
        (raw("2025-03-01", "2025-03-10"), "--to"), // today is not complete
        (raw("2025-03-05", "2025-03-01"), "--from"),
        (raw("2016-12-31", "2025-03-01"), "--from"), // before MP analytics
        (raw("2025-3-1", "2025-03-01"), "--from"),
        (
            RawArgs {
                step: 300,
                ..raw("2025-03-01", "2025-03-09")
            },
            "--step",
        ),
    ] {
        let e = backfill::validate(&r, &config, now).expect_err("invalid");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with(flag), "{e}");
    }
    assert!(backfill::validate(&raw("2025-03-01", "2025-03-09"), &config, now).is_ok());

    // Through the binary: exit 2 and the flag in the message. Validation
    // happens before any call, so the default (real) API URL is never used.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, MP_SECRET).unwrap();
    let cfg = dir.path().join("c.yml");
    std::fs::write(
        &cfg,
        format!(
            "apps:\n  - name: shop\n    type: miniprogram\n    appid: {MP_APPID}\n    secret_file: {}\n",
            secret.display()
        ),
    )
    .unwrap();
    let tomorrow = (latest_day(Utc::now()) + Duration::days(2)).to_string();
    for (from, to, flag) in [
        ("2024-01-01", tomorrow.as_str(), "--to"),
        ("2024-02-01", "2024-01-01", "--from"),
        ("2016-01-01", "2024-01-01", "--from"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wechat-exporter"))
            .args(["backfill", "--config.file"])
            .arg(&cfg)
            .args(["--from", from, "--to", to, "--output"])
            .arg(dir.path().join("o.om"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(flag), "{stderr}");
    }
}

#[tokio::test]
async fn target_label_flags_are_validated_naming_the_flag() {
    let now = utc("2025-03-10T04:00:00Z");
    let config = Config {
        apps: vec![mp_app("shop")],
        ..Config::default()
    };
    let raw = |job: &str, instance: &str, labels: &[&str]| RawArgs {
        from: "2025-03-01".into(),
        to: "2025-03-09".into(),
        output: PathBuf::from("unused.om"),
        step: 240,
        rate: 5.0,
        max_calls: None,
        split_days: 0,
        job: job.into(),
        instance: instance.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    };
    for (r, flag, why) in [
        (raw("", "h:1", &[]), "--job", "empty"),
        (raw("j", "", &[]), "--instance", "empty"),
        (raw("j", "h:1", &["env"]), "--label", "NAME=VALUE"),
        (raw("j", "h:1", &["1env=x"]), "--label", "not a label name"),
        (raw("j", "h:1", &["en-v=x"]), "--label", "not a label name"),
        (raw("j", "h:1", &["__name__=x"]), "--label", "reserved"),
        (raw("j", "h:1", &["job=x"]), "--label", "--job"),
        (raw("j", "h:1", &["instance=x"]), "--label", "--instance"),
        (raw("j", "h:1", &["app=x"]), "--label", "exporter's own"),
        (raw("j", "h:1", &["period=x"]), "--label", "exporter's own"),
        (raw("j", "h:1", &["env=a", "env=b"]), "--label", "twice"),
        (raw("j", "h:1", &["env="]), "--label", "empty"),
    ] {
        let e = backfill::validate(&r, &config, now).expect_err("invalid");
        assert_eq!(e.exit_code(), 2, "{e}");
        let msg = e.to_string();
        assert!(msg.starts_with(flag), "{msg}");
        assert!(msg.contains(why), "{msg}");
    }
    let ok = backfill::validate(
        &raw("wx", "10.0.0.1:10240", &["env=prod", "region=sh=1"]),
        &config,
        now,
    )
    .expect("valid");
    assert_eq!(
        ok.target_labels,
        vec![
            ("job".to_string(), "wx".to_string()),
            ("instance".to_string(), "10.0.0.1:10240".to_string()),
            ("env".to_string(), "prod".to_string()),
            // Only the first '=' separates: values may contain '='.
            ("region".to_string(), "sh=1".to_string()),
        ]
    );

    // Through the binary: a reserved name exits 2 naming the flag, before
    // any call (the default, real, API URL is never used).
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, MP_SECRET).unwrap();
    let cfg = dir.path().join("c.yml");
    std::fs::write(
        &cfg,
        format!(
            "apps:\n  - name: shop\n    type: miniprogram\n    appid: {MP_APPID}\n    secret_file: {}\n",
            secret.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wechat-exporter"))
        .args(["backfill", "--config.file"])
        .arg(&cfg)
        .args([
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--label",
            "app=x",
            "--output",
        ])
        .arg(dir.path().join("o.om"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--label"), "{stderr}");
    assert!(!dir.path().join("o.om.progress").exists());
}

#[tokio::test]
async fn every_series_carries_the_target_labels_of_the_live_scrape() {
    let now = utc("2025-03-10T04:00:00Z");
    let mut mp = mp_app("shop");
    mp.apis = Some(vec![Api::DailyVisitTrend, Api::DailyRetention]);
    let s = setup(now, vec![mp, oa_app("news")]).await;
    let to = latest_day(now);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.om");
    let mut o = opts(to - Duration::days(2), to, &out);
    o.target_labels = vec![
        ("job".into(), "wx".into()),
        ("instance".into(), "host:1".into()),
        ("env".into(), "a \"quoted\" value".into()),
    ];
    backfill::run(&s.config, &o, s.clock.clone()).await.unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    check_openmetrics(&text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(lines.len() > 100, "{} lines", lines.len());
    let want = r#"{job="wx",instance="host:1",env="a \"quoted\" value","#;
    for l in &lines {
        assert!(l.contains(want), "line without the target labels: {l}");
        // Once each, never twice.
        assert_eq!(l.matches("job=").count(), 1, "{l}");
    }
    for family in [
        "wechat_miniprogram_visitors{",
        "wechat_miniprogram_retained_users{",
        "wechat_official_account_followers{",
        "wechat_data_date_timestamp_seconds{",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(family)), "{family}");
    }
}

/// A Prometheus child process, killed on drop.
struct Prom {
    child: std::process::Child,
    url: String,
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prom {
    async fn start(bin: &Path, tsdb: &Path, dir: &Path) -> Prom {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, "global: {}\n").unwrap();
        let child = std::process::Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=10y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus starts");
        let prom = Prom {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/-/ready", prom.url)).send().await {
                if r.status().is_success() {
                    return prom;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "prometheus not ready: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
    }

    /// The single value of an instant query at `t`.
    async fn value(&self, query: &str, t: DateTime<Utc>) -> f64 {
        let v: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query), ("time", &t.timestamp().to_string())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let result = &v["data"]["result"];
        assert_eq!(
            result.as_array().map(Vec::len),
            Some(1),
            "{query} at {t}: {v}"
        );
        result[0]["value"][1]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{query}: {v}"))
    }
}

fn noon_after(d: NaiveDate) -> DateTime<Utc> {
    beijing_midnight(d + Duration::days(1)) + Duration::hours(12)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_days_through_promtool_into_prometheus() {
    let _heavy = crate::common::heavy();
    let (Some(promtool), Some(prometheus)) = (tool("promtool"), tool("prometheus")) else {
        return;
    };
    // Blocks must be recent for Prometheus' retention: simulate today.
    let now = Utc::now();
    let mut mp = mp_app("shop");
    // The APIs under test only: promtool 2.42 reads its whole input once
    // per 2-hour block, so the test keeps the file small.
    mp.apis = Some(vec![
        Api::DailyVisitTrend,
        Api::WeeklyVisitTrend,
        Api::MonthlyVisitTrend,
        Api::DailyRetention,
    ]);
    // Followers only: the hourly message and callback families alone
    // would be hundreds of MB over 60 days (tests/it/backfill_oa.rs
    // covers them).
    let mut oa = oa_app("news");
    oa.apis = Some(vec![Api::UserCumulate, Api::UserSummary]);
    let s = setup(now, vec![mp, oa]).await;
    let to = latest_day(now);
    let from = to - Duration::days(59);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.om");
    let mut o = opts(from, to, &out);
    o.split_days = 1;
    let report = backfill::run(&s.config, &o, s.clock.clone())
        .await
        .expect("backfill");
    assert!(report.failures.is_empty(), "{}", report.summary());
    let limit = (now - Duration::hours(3)).timestamp();
    let blocks = dir.path().join("blocks");
    for (part, _) in &report.files {
        let text = std::fs::read_to_string(part).unwrap();
        check_openmetrics(&text);
        assert!(timestamps(&text).iter().all(|t| *t < limit));
        let st = std::process::Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
            .arg(part)
            .arg(&blocks)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "promtool on {}: {}",
            part.display(),
            String::from_utf8_lossy(&st.stderr)
        );
    }
    let prom = Prom::start(&prometheus, &blocks, dir.path()).await;

    let appid = MP_APPID;
    let day = to - Duration::days(10);
    let t = noon_after(day);
    let want = s
        .sim
        .visit_trend(appid, DateRange::day(day), Period::Daily)
        .visit_uv
        .unwrap();
    let q = r#"wechat_miniprogram_visitors{app="shop",period="daily"}"#;
    assert_eq!(prom.value(q, t).await, want);
    // Still day `day` just before the next midnight, the next day after it.
    let next = s
        .sim
        .visit_trend(
            appid,
            DateRange::day(day + Duration::days(1)),
            Period::Daily,
        )
        .visit_uv
        .unwrap();
    assert_eq!(prom.value(q, t + Duration::minutes(719)).await, want);
    assert_eq!(prom.value(q, t + Duration::minutes(721)).await, next);
    let dd = r#"wechat_data_date_timestamp_seconds{app="shop",api="daily_visit_trend"}"#;
    assert_eq!(
        prom.value(dd, t).await,
        beijing_midnight(day).timestamp() as f64
    );

    // A week: shown from the Monday after it.
    let week = DateRange::week_of(to - Duration::days(20));
    let want = s
        .sim
        .visit_trend(appid, week, Period::Weekly)
        .visit_uv
        .unwrap();
    let q = r#"wechat_miniprogram_visitors{app="shop",period="weekly"}"#;
    assert_eq!(
        prom.value(q, noon_after(week.end + Duration::days(2)))
            .await,
        want
    );

    // A month that ended in the range, a few days into the next month.
    let month = DateRange::month_of(to - Duration::days(40));
    let month = if month.end < from {
        month.shift(1, Period::Monthly)
    } else {
        month
    };
    let want = s
        .sim
        .visit_trend(appid, month, Period::Monthly)
        .visit_uv
        .unwrap();
    let q = r#"wechat_miniprogram_visitors{app="shop",period="monthly"}"#;
    assert_eq!(prom.value(q, noon_after(month.end)).await, want);

    // Day-7 retention of `day` is key 7 of the cohort 7 days before.
    let cohort = DateRange::day(day - Duration::days(7));
    let r = s.sim.retention(appid, cohort, Period::Daily);
    let want = r.visit_uv.iter().find(|kv| kv.key == 7.0).unwrap().value;
    let q = r#"wechat_miniprogram_retained_users{app="shop",period="daily",cohort="active",offset="7"}"#;
    assert_eq!(prom.value(q, t).await, want);

    // Official Account: followers and new followers by source.
    let want = s.sim.user_cumulate(OA_APPID, day).cumulate_user.unwrap();
    let q = r#"wechat_official_account_followers{app="news"}"#;
    assert_eq!(prom.value(q, t).await, want);
    let rows = s.sim.user_summary(OA_APPID, day);
    for (source, _) in OA_SOURCES {
        let want: f64 = rows
            .iter()
            .filter(|r| r.user_source == *source as f64)
            .filter_map(|r| r.new_user)
            .sum();
        let q = format!(r#"wechat_official_account_new_followers{{app="news",source="{source}"}}"#);
        assert_eq!(prom.value(&q, t).await, want, "source {source}");
    }
}

/// The 365-day figures in docs/backfill.md: one Mini Program, every API,
/// page_limit as configured below. Run with
/// `cargo test --test it measure_365_days -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "measurement, writes hundreds of MB"]
async fn measure_365_days() {
    let now = utc("2025-03-10T04:00:00Z");
    let page_limit: usize = std::env::var("PAGE_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut mp = mp_app("shop");
    mp.page_limit = page_limit;
    let s = setup(now, vec![mp]).await;
    let to = latest_day(now);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("year.om");
    let started = std::time::Instant::now();
    let report = backfill::run(
        &s.config,
        &opts(to - Duration::days(364), to, &out),
        s.clock.clone(),
    )
    .await
    .unwrap();
    eprintln!(
        "365 days, page_limit {page_limit}, step 240 s: {} calls, {} lines, {} bytes, {:.1} s wall\n{}",
        data_calls(&s.sim),
        report.lines,
        std::fs::metadata(&out).unwrap().len(),
        started.elapsed().as_secs_f64(),
        report.summary()
    );
}

/// An app-scoped failure of one app (here its secret is wrong) costs only
/// that app: the apps after it are fetched in full, as when it is not
/// there, and the run stops naming it, so a rerun asks for its units alone.
#[tokio::test]
async fn one_apps_stop_costs_no_other_app_its_history() {
    let now = utc("2025-03-10T04:00:00Z"); // 12:00 Beijing
    let to = latest_day(now);
    let from = to - Duration::days(2);
    let dir = tempfile::tempdir().unwrap();
    let calls_of = |sim: &Simulator, appid: &str| {
        sim.requests()
            .iter()
            .filter(|r| r.api.is_some() && r.appid.as_deref() == Some(appid))
            .count()
    };
    let mut shop = mp_app("shop");
    shop.page_limit = 3;
    let good = setup(now, vec![shop.clone(), oa_app("news")]).await;
    backfill::run(
        &good.config,
        &opts(from, to, &dir.path().join("good.om")),
        good.clock.clone(),
    )
    .await
    .expect("backfill completes");
    let (shop_calls, news_calls) = (calls_of(&good.sim, MP_APPID), calls_of(&good.sim, OA_APPID));
    assert!(shop_calls > 0 && news_calls > 0);

    let mut bad = oa_app("bad");
    bad.resolved_secret = wechat_exporter::secret::Secret::new("not-the-secret");
    let s = setup(now, vec![bad, shop, oa_app("news")]).await;
    let err = backfill::run(
        &s.config,
        &opts(from, to, &dir.path().join("b.om")),
        s.clock.clone(),
    )
    .await
    .expect_err("the bad app stops the run");
    let BackfillError::Stopped { reason, .. } = &err else {
        panic!("{err}");
    };
    assert!(reason.starts_with("bad: "), "{reason}");
    assert_eq!(
        calls_of(&s.sim, MP_APPID),
        shop_calls,
        "shop after the bad app"
    );
    // news shares the bad app's appid: its calls are all of the appid's.
    assert_eq!(
        calls_of(&s.sim, OA_APPID),
        news_calls,
        "news after the bad app"
    );
}
