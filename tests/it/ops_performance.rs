//! `ops_performance` (getPerformance) against the simulator over 30
//! simulated days, polled every hour: each kind's published time equals
//! what the simulator served for yesterday (Beijing) and the datacube
//! `performance_launch` table of the same day, as real WeChat shows both
//! from one source; each kind is asked once a day, after the release
//! (3 calls a day).

use crate::common::*;
use chrono::{Duration, NaiveDate};
use std::collections::BTreeMap;
use wechat_exporter::api::Api;
use wechat_exporter::collectors::ops_performance::KINDS;
use wechat_exporter::dates::{beijing_date, compact};

/// The datacube 10017 table of each kind.
fn table_of(kind: &str) -> &'static str {
    match kind {
        "launch" => "launch",
        "download" => "download",
        _ => "firstrender",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_times_equal_the_simulator_and_the_datacube_for_30_days() {
    let _heavy = crate::common::heavy();
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::PerformanceLaunch, Api::OpsPerformance]);
    // 10:05 Beijing on 1 December 2026, just after the release hour.
    let start = "2026-12-01T02:05:00Z";
    let h = Harness::new(start, 10.0, 10.0, vec![shop]).await;
    let mut calls_per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    // To 23:05 on 30 December: 30 Beijing days, each with its release hour.
    for hour in 0..30 * 24 - 10 {
        let now = utc(start) + Duration::hours(hour);
        let seen = h.sim.requests().len();
        let m = h.poll_at(&now.to_rfc3339()).await;
        let log = h.sim.requests();
        // The newest day released at 10:00 Beijing.
        let day = beijing_date(now - Duration::hours(10)) - Duration::days(1);
        let asked: Vec<_> = log[seen..]
            .iter()
            .filter(|r| r.api == Some(Api::OpsPerformance))
            .collect();
        for r in &asked {
            assert_eq!((r.method.as_str(), r.errcode), ("POST", 0), "{now}");
            assert_eq!(r.begin_date.as_deref(), Some(compact(day).as_str()));
            assert_eq!(r.end_date.as_deref(), Some(compact(day).as_str()));
        }
        *calls_per_day.entry(beijing_date(now)).or_default() += asked.len();
        h.sim.clear_requests();
        for (slot, kind) in KINDS {
            let served = h
                .sim
                .ops_performance(MP_APPID, slot, day)
                .expect("the simulator serves every kind");
            let ops = m.must(
                "wechat_miniprogram_ops_performance_seconds",
                &[("app", "shop"), ("kind", kind)],
            );
            assert_eq!(ops, served / 1000.0, "{kind} on {day}, at {now}");
            let datacube = m.must(
                "wechat_miniprogram_performance_launch_seconds",
                &[
                    ("app", "shop"),
                    ("table", table_of(kind)),
                    ("networktype", "all"),
                    ("device_level", "all"),
                    ("device", "all"),
                ],
            );
            assert_eq!(ops, datacube, "{kind}: ops and datacube on {day}");
        }
        assert_eq!(m.count("wechat_miniprogram_ops_performance_seconds"), 3);
    }
    assert_eq!(calls_per_day.len(), 30);
    for (day, n) in &calls_per_day {
        assert_eq!(*n, KINDS.len(), "ops_performance calls on {day}");
    }
    eprintln!(
        "ops_performance: {} calls in 30 days",
        calls_per_day.values().sum::<usize>()
    );
}

/// The simulator answers as the page shows: `default_time_data` a JSON
/// string of one entry per released day of the range, the datacube's
/// numbers; a body without the documented fields is 47001 (our choice:
/// the page lists no errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_answers_a_string_of_released_days() {
    use serde_json::{json, Value};
    use wechat_exporter::dates::DateRange;
    // 11:00 Beijing on 10 December 2026: the 9th is released, today not.
    let h = Harness::new("2026-12-10T03:00:00Z", 10.0, 10.0, vec![]).await;
    let http = reqwest::Client::new();
    let url = h.server.url();
    let token = stable_token(&url, MP_APPID, MP_SECRET).await;
    let at = format!("{url}{}?access_token={}", Api::OpsPerformance.path(), token);
    let post = |body: Value| {
        let (http, at) = (http.clone(), at.clone());
        async move {
            let r = http.post(at).json(&body).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let d = |day: u32| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
    // 1 to 10 December, first render.
    let spec = Api::OpsPerformance.spec();
    let a = post(spec.body_for(
        DateRange {
            begin: d(1),
            end: d(10),
        },
        3,
    ))
    .await;
    assert_eq!(a["errcode"], 0);
    assert_eq!(a["compare_time_data"], "");
    let inner: Value = serde_json::from_str(a["default_time_data"].as_str().expect("a string"))
        .expect("JSON in the string");
    let list = inner["list"].as_array().unwrap();
    assert_eq!(list.len(), 9, "released days only: {inner}");
    for (i, e) in list.iter().enumerate() {
        let day = d(1 + i as u32);
        assert_eq!(e["ref_date"], compact(day));
        assert_eq!(e["cost_time_type"], 3);
        let tables = h
            .sim
            .performance(MP_APPID, Api::PerformanceLaunch, day, &[]);
        let firstrender = tables.iter().find(|t| t.id == "firstrender").unwrap();
        assert_eq!(
            e["cost_time"].as_f64(),
            Some(firstrender.lines[0].fields[0].value)
        );
        assert_eq!(
            e["cost_time"].as_f64(),
            h.sim.ops_performance(MP_APPID, 3, day)
        );
    }
    let good = spec.body_for(DateRange::day(d(9)), 1);
    let spoilt = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for bad in [
        spoilt("cost_time_type", json!(0)),
        spoilt("cost_time_type", json!(4)),
        spoilt("default_start_time", json!("yesterday")),
        spoilt("default_end_time", json!(0)),
        spoilt("networktype", Value::Null),
        json!({}),
    ] {
        assert_eq!(post(bad.clone()).await["errcode"], 47001, "{bad}");
    }
    assert_eq!(post(good).await["errcode"], 0);
}

/// WeChat answering 0 for every day (docs/wechat-quirks.md): no ops
/// series is published, each 0 is counted as a skipped part, the day is
/// not asked again (still 3 calls a day), and the datacube family keeps
/// the day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_is_no_data_counted_and_asked_once() {
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::PerformanceLaunch, Api::OpsPerformance]);
    let mut sim_apps = sim_apps();
    sim_apps[0].ops_zero = true;
    let start = "2026-12-01T02:05:00Z";
    let h = Harness::with(start, 10.0, 10.0, vec![shop], sim_apps).await;
    let sel = [("app", "shop"), ("api", "ops_performance")];
    for hour in 0..3 * 24 {
        let now = utc(start) + Duration::hours(hour);
        let m = h.poll_at(&now.to_rfc3339()).await;
        assert_eq!(m.count("wechat_miniprogram_ops_performance_seconds"), 0);
        assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0);
        let days = hour / 24 + 1;
        assert_eq!(
            m.must("wechat_exporter_answer_parts_skipped_total", &sel),
            (3 * days) as f64,
            "at {now}"
        );
        assert!(m.count("wechat_miniprogram_performance_launch_seconds") > 0);
    }
    let calls = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.api == Some(Api::OpsPerformance))
        .count();
    assert_eq!(calls, 3 * 3, "once per kind and day");
}

/// The samples of `family` in an OpenMetrics text whose labels hold
/// `has`: (timestamp, value, the line's labels).
fn samples<'a>(text: &'a str, family: &str, has: &str) -> Vec<(String, f64, &'a str)> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) && l.contains(has))
        .filter_map(|l| {
            let (labels, rest) = l.split_once("} ")?;
            let mut it = rest.split(' ');
            let value = it.next()?.parse().ok()?;
            Some((it.next()?.to_string(), value, labels))
        })
        .collect()
}

/// `backfill` writes every kind of every day, 3 calls a day: each kind's
/// value equals the simulator's for the day and, at the same instant, the
/// datacube 10017 table's; a run cut short by `--max-calls` resumes and
/// asks no (day, kind) twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_writes_every_kind_of_every_day() {
    use wechat_exporter::backfill;
    use wechat_exporter::dates::latest_day;
    let now = utc("2026-12-01T04:00:00Z"); // 12:00 Beijing
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::PerformanceLaunch, Api::OpsPerformance]);
    let s = crate::backfill::setup(now, vec![shop]).await;
    let to = latest_day(now);
    let from = to - Duration::days(6);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("ops.om");
    let mut o = crate::backfill::opts(from, to, &out);
    // Cut short part-way, then resumed.
    o.max_calls = Some(10);
    backfill::run(&s.config, &o, s.clock.clone())
        .await
        .expect_err("stops at the budget");
    o.max_calls = None;
    let report = backfill::run(&s.config, &o, s.clock.clone())
        .await
        .expect("completes");
    assert!(report.failures.is_empty(), "{}", report.summary());
    let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
    for r in s.sim.requests() {
        if r.api == Some(Api::OpsPerformance) {
            assert_eq!(r.begin_date, r.end_date, "one day per call");
            *per_day.entry(r.begin_date.unwrap_or_default()).or_default() += 1;
        }
    }
    assert_eq!(per_day.len(), 7, "{per_day:?}");
    assert!(per_day.values().all(|n| *n == KINDS.len()), "{per_day:?}");

    let text = std::fs::read_to_string(&out).expect("output written");
    for (slot, kind) in KINDS {
        let ops = samples(
            &text,
            "wechat_miniprogram_ops_performance_seconds",
            &format!("kind=\"{kind}\""),
        );
        let table = format!("table=\"{}\"", table_of(kind));
        let datacube: BTreeMap<String, f64> = samples(
            &text,
            "wechat_miniprogram_performance_launch_seconds",
            &table,
        )
        .into_iter()
        .filter(|(_, _, l)| {
            ["networktype", "device_level", "device"]
                .iter()
                .all(|k| l.contains(&format!("{k}=\"all\"")))
        })
        .map(|(t, v, _)| (t, v))
        .collect();
        assert!(!ops.is_empty(), "{kind} written");
        for (t, v, _) in &ops {
            assert_eq!(datacube.get(t), Some(v), "{kind} at {t}");
        }
        let mut written: Vec<f64> = ops.iter().map(|(_, v, _)| *v).collect();
        written.dedup();
        let served: Vec<f64> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|d| s.sim.ops_performance(MP_APPID, slot, d).expect("served") / 1000.0)
            .collect();
        assert_eq!(written, served, "{kind}: one value per day, in order");
    }
}
