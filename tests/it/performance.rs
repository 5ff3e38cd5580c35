//! Mini Program performance (`/wxa/business/performance/boot`): over 30
//! simulated days across a month end every performance series equals what
//! the simulator served for yesterday (Beijing), one call per module per
//! day; one bad table costs that table alone; one module failing forever
//! costs no other module and no datacube API; the simulator validates as
//! documented.

use crate::common::*;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wechat_exporter::api::Api;
use wechat_exporter::api::PERFORMANCE_PATH;
use wechat_exporter::dates::{beijing_date, beijing_midnight, compact};
use wechat_exporter::simulator::Faults;

/// The performance APIs, with their family and the documented conversion
/// of WeChat's value to the family's unit (docs/metrics.md): multiplied by
/// the first number, divided by the second.
const MODULES: [(Api, &str, (f64, f64)); 5] = [
    (
        Api::PerformanceOpenRate,
        "wechat_miniprogram_performance_open_ratio",
        (1.0, 100.0),
    ),
    (
        Api::PerformanceLaunch,
        "wechat_miniprogram_performance_launch_seconds",
        (1.0, 1000.0),
    ),
    (
        Api::PerformancePageSwitch,
        "wechat_miniprogram_performance_page_switch_seconds",
        (1.0, 1000.0),
    ),
    (
        Api::PerformanceMemory,
        "wechat_miniprogram_performance_memory_bytes",
        (1_048_576.0, 1.0),
    ),
    (
        Api::PerformanceMemoryAnomaly,
        "wechat_miniprogram_performance_memory_anomaly",
        (1.0, 1.0),
    ),
];

/// Every series of `api` equals the simulator's whole-population value of
/// `day`, and there is no other series of its family.
fn assert_module_matches(h: &Harness, m: &Exposition, api: Api, day: NaiveDate) {
    let (_, family, (mul, div)) = MODULES
        .iter()
        .find(|(a, _, _)| *a == api)
        .copied()
        .expect("a performance API");
    let tables = h.sim.performance(MP_APPID, api, day, &[]);
    assert!(!tables.is_empty(), "{api:?}: the simulator serves tables");
    for t in &tables {
        let served = t.lines[0].fields[0].value;
        assert_eq!(t.lines[0].fields[0].refdate, compact(day));
        let labels = [
            ("app", "shop"),
            ("table", t.id.as_str()),
            ("networktype", "all"),
            ("device_level", "all"),
            ("device", "all"),
        ];
        assert_eq!(
            m.get(family, &labels),
            Some(served * mul / div),
            "{api:?} {} on {day}",
            t.id
        );
    }
    assert_eq!(
        m.count(family),
        tables.len(),
        "{api:?}: one series per table"
    );
}

fn perf_calls(h: &Harness) -> Vec<wechat_exporter::simulator::RecordedRequest> {
    h.sim
        .requests()
        .into_iter()
        .filter(|r| r.path == PERFORMANCE_PATH)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_match_the_simulator_one_call_per_module_per_day() {
    // Monday 20 January 2025, 11:00 Beijing; 30 days cross January's end.
    let start = utc("2025-01-20T03:00:00Z");
    let h = Harness::new("2025-01-20T03:00:00Z", 10.0, 10.0, vec![mp_app("shop")]).await;
    let mut per_day = Vec::new();
    for day in 0..30 {
        let now = start + Duration::days(day);
        let seen = perf_calls(&h).len();
        h.clock.set(now);
        h.poller.poll_once().await;
        // A second round the same day finds nothing due.
        h.clock.set(now + Duration::hours(2));
        h.poller.poll_once().await;
        let m = h.metrics();
        let yesterday = beijing_date(now) - Duration::days(1);
        let calls: Vec<_> = perf_calls(&h)[seen..].to_vec();
        per_day.push(calls.len());
        for (api, _, _) in MODULES {
            let mine: Vec<_> = calls.iter().filter(|r| r.api == Some(api)).collect();
            assert_eq!(mine.len(), 1, "{api:?}: one call on day {day}");
            // Asked for yesterday alone, Beijing time.
            assert_eq!(
                mine[0].begin_date.as_deref(),
                Some(compact(yesterday).as_str())
            );
            assert_eq!(
                mine[0].end_date.as_deref(),
                Some(compact(yesterday).as_str())
            );
            assert_eq!(mine[0].errcode, 0, "{api:?}");
            assert_module_matches(&h, &m, api, yesterday);
            let sel = [("app", "shop"), ("api", api.label())];
            assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0);
            assert_eq!(
                m.must("wechat_data_date_timestamp_seconds", &sel),
                beijing_midnight(yesterday).timestamp() as f64
            );
        }
    }
    assert!(per_day.iter().all(|n| *n == MODULES.len()), "{per_day:?}");
    eprintln!(
        "performance: {} calls in 30 days ({:.2}/day) for 1 Mini Program",
        per_day.iter().sum::<usize>(),
        per_day.iter().sum::<usize>() as f64 / 30.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_table_keeps_the_rest() {
    let h = Harness::new("2025-08-31T03:00:00Z", 10.0, 10.0, vec![mp_app("shop")]).await;
    h.sim.set_faults(Faults {
        only_api: Some(Api::PerformanceMemory),
        bad_item: 1,
        ..Faults::default()
    });
    let (m, logs) = logged(h.poll_at("2025-08-31T03:00:00Z")).await;
    let y = NaiveDate::from_ymd_opt(2025, 8, 30).expect("date");
    let sel = [("app", "shop"), ("api", "performance_memory")];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0);
    assert_eq!(
        m.must("wechat_exporter_answer_parts_skipped_total", &sel),
        1.0
    );
    // The first table's value was spoiled: the others are published.
    let tables = h.sim.performance(MP_APPID, Api::PerformanceMemory, y, &[]);
    assert!(tables.len() >= 2);
    let family = "wechat_miniprogram_performance_memory_bytes";
    assert!(m.with_label(family, "table", &tables[0].id).is_empty());
    for t in &tables[1..] {
        let got = m.with_label(family, "table", &t.id);
        assert_eq!(got.len(), 1, "{}", t.id);
        assert_eq!(got[0].2, t.lines[0].fields[0].value * 1_048_576.0);
    }
    let line = logs
        .lines()
        .find(|l| l.contains("answer partly skipped") && l.contains("performance_memory"))
        .unwrap_or_else(|| panic!("no log line in {logs}"));
    assert!(
        line.contains("data.body.tables[0].lines[0].fields[0]"),
        "{line}"
    );
    // The other modules are whole.
    for (api, _, _) in MODULES
        .into_iter()
        .filter(|(a, _, _)| *a != Api::PerformanceMemory)
    {
        assert_module_matches(&h, &m, api, y);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_failing_forever_costs_no_other_api() {
    let h = Harness::new("2025-08-31T03:00:00Z", 10.0, 10.0, vec![mp_app("shop")]).await;
    h.sim.set_faults(Faults {
        only_api: Some(Api::PerformanceLaunch),
        always_errcode: Some(-1),
        ..Faults::default()
    });
    let m = h.poll_at("2025-08-31T03:00:00Z").await;
    let y = NaiveDate::from_ymd_opt(2025, 8, 30).expect("date");
    let sel = [("app", "shop"), ("api", "performance_launch")];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 0.0);
    assert_eq!(
        m.count("wechat_miniprogram_performance_launch_seconds"),
        0,
        "nothing published for the broken module"
    );
    for api in mp_app("shop")
        .enabled_apis()
        .into_iter()
        .filter(|a| *a != Api::PerformanceLaunch)
    {
        let sel = [("app", "shop"), ("api", api.label())];
        assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0, "{api:?}");
        assert_eq!(m.must("wechat_exporter_data_ready", &sel), 1.0, "{api:?}");
    }
    for (api, _, _) in MODULES
        .into_iter()
        .filter(|(a, _, _)| *a != Api::PerformanceLaunch)
    {
        assert_module_matches(&h, &m, api, y);
    }
    assert_eq!(
        m.must(
            "wechat_miniprogram_sessions",
            &[("app", "shop"), ("period", "daily")]
        ),
        h.sim
            .visit_trend(
                MP_APPID,
                wechat_exporter::dates::DateRange::day(y),
                wechat_exporter::dates::Period::Daily
            )
            .session_cnt
            .expect("sessions")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_validates_as_documented() {
    // 11:00 Beijing on 31 August 2025: 30 August is released.
    let h = Harness::new("2025-08-31T03:00:00Z", 10.0, 10.0, vec![]).await;
    let url = h.server.url();
    let tok = stable_token(&url, MP_APPID, MP_SECRET).await;
    let client = reqwest::Client::new();
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
    let ts = |d: NaiveDate| beijing_midnight(d).timestamp();
    let post = |body: Value| {
        let client = client.clone();
        let url = format!("{url}{PERFORMANCE_PATH}?access_token={tok}");
        async move {
            let v: Value = client
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("call")
                .json()
                .await
                .expect("json");
            v
        }
    };
    let body = |module: &str, b: i64, e: i64, params: Value| json!({"time": {"begin_timestamp": b, "end_timestamp": e}, "module": module, "params": params});
    let all = json!([{"field": "device_level", "value": "-1"}, {"field": "device", "value": "-1"}]);
    let errcode = |v: &Value| v["errcode"].as_i64().unwrap_or(0);

    // The docs' example shape: two days, both ends included, values as
    // strings, `data` an object; the module as a string or a number.
    let (d1, d2) = (day(2025, 8, 29), day(2025, 8, 30));
    for module in [json!("10022"), json!(10022)] {
        let mut b = body("10022", ts(d1), ts(d2), all.clone());
        b["module"] = module;
        let v = post(b).await;
        assert_eq!(errcode(&v), 0, "{v}");
        let tables = v["data"]["body"]["tables"].as_array().expect("tables");
        let ids: Vec<&str> = tables.iter().filter_map(|t| t["id"].as_str()).collect();
        assert_eq!(ids, ["memorydiff", "memory"]);
        let fields = tables[1]["lines"][0]["fields"].as_array().expect("fields");
        let dates: Vec<&str> = fields
            .iter()
            .filter_map(|f| f["refdate"].as_str())
            .collect();
        assert_eq!(dates, ["20250829", "20250830"]);
        let served: Vec<f64> = fields
            .iter()
            .map(|f| {
                f["value"]
                    .as_str()
                    .expect("a string")
                    .parse()
                    .expect("a number")
            })
            .collect();
        let want: Vec<f64> = [d1, d2]
            .iter()
            .map(|d| {
                h.sim.performance(MP_APPID, Api::PerformanceMemory, *d, &[])[1].lines[0].fields[0]
                    .value
            })
            .collect();
        assert_eq!(served, want);
        assert_eq!(v["data"]["body"]["count"], json!(2));
    }

    // A dimension's value is its own population, as the accessor says.
    let wifi = post(body(
        "10016",
        ts(d2),
        ts(d2) + 86_399,
        json!([{"field": "networktype", "value": "wifi"}]),
    ))
    .await;
    let served: f64 = wifi["data"]["body"]["tables"][0]["lines"][0]["fields"][0]["value"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a value");
    let of = |p: &[(&str, &str)]| {
        h.sim.performance(MP_APPID, Api::PerformanceOpenRate, d2, p)[0].lines[0].fields[0].value
    };
    assert_eq!(served, of(&[("networktype", "wifi")]));
    assert_ne!(of(&[("networktype", "wifi")]), of(&[]));
    assert_eq!(of(&[("networktype", "-1")]), of(&[]), "-1 is everyone");

    // Errors.
    let cases = [
        // 31 days.
        (
            body("10017", ts(day(2025, 7, 31)), ts(d2), all.clone()),
            61501,
        ),
        // Begin after end.
        (body("10017", ts(d2), ts(d1), all.clone()), 61501),
        // Today is not released, and never servable.
        (
            body("10017", ts(d2), ts(day(2025, 8, 31)), all.clone()),
            61501,
        ),
        (body("10099", ts(d2), ts(d2), all.clone()), 40097),
        (
            body(
                "10017",
                ts(d2),
                ts(d2),
                json!([{"field": "networktype", "value": "5g"}]),
            ),
            40097,
        ),
        (
            body(
                "10017",
                ts(d2),
                ts(d2),
                json!([{"field": "device", "value": "3"}]),
            ),
            40097,
        ),
        (
            body(
                "10017",
                ts(d2),
                ts(d2),
                json!([{"field": "city", "value": "-1"}]),
            ),
            40097,
        ),
        (json!({"module": "10017", "params": []}), 47001),
        (
            json!({"module": "10017", "time": {"begin_timestamp": ts(d2), "end_timestamp": ts(d2)}}),
            47001,
        ),
        (
            body("10017", ts(d2), ts(d2), json!([{"field": "device"}])),
            47001,
        ),
        (
            json!({"module": "10017", "params": [], "time": {"begin_timestamp": "soon", "end_timestamp": ts(d2)}}),
            61500,
        ),
    ];
    for (b, want) in cases {
        let v = post(b.clone()).await;
        assert_eq!(errcode(&v), want, "{b} -> {v}");
    }

    // 30 days is fine.
    let v = post(body("10017", ts(day(2025, 8, 1)), ts(d2), all.clone())).await;
    assert_eq!(errcode(&v), 0, "{v}");

    // Before the release hour yesterday is not ready, like the other Mini
    // Program endpoints.
    h.clock.set(utc("2025-09-01T01:00:00Z"));
    let tok = stable_token(&url, MP_APPID, MP_SECRET).await;
    let v: Value = client
        .post(format!("{url}{PERFORMANCE_PATH}?access_token={tok}"))
        .json(&body(
            "10017",
            ts(day(2025, 8, 31)),
            ts(day(2025, 8, 31)),
            all.clone(),
        ))
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 61503, "{v}");

    // The request log names each module's API and the Beijing days asked.
    let log: BTreeMap<_, _> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path == PERFORMANCE_PATH && r.errcode == 0)
        .map(|r| (r.api, (r.begin_date, r.end_date)))
        .collect();
    assert_eq!(
        log.get(&Some(Api::PerformanceOpenRate)),
        Some(&(Some("20250830".to_string()), Some("20250830".to_string())))
    );
}

/// `backfill` over 35 days: 30-day chunks (two calls per module), and at
/// every written instant each value is the simulator's for the day that
/// instant's `wechat_data_date_timestamp_seconds` names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_serves_each_day_in_thirty_day_chunks() {
    use wechat_exporter::backfill::{self, Options};
    use wechat_exporter::clock::Clock;
    use wechat_exporter::config::{Config, WechatSettings};
    use wechat_exporter::simulator::{SimConfig, Simulator};

    let now = utc("2025-03-10T04:00:00Z");
    let clock = Clock::manual(now);
    let sim = Simulator::new(SimConfig {
        seed: 7,
        clock: clock.clone(),
        release_hour: 0.0,
        apps: sim_apps(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
    let mut app = mp_app("shop");
    app.apis = Some(MODULES.iter().map(|(a, _, _)| *a).collect());
    let config = Config {
        wechat: WechatSettings {
            api_url: server.url(),
            timeout: std::time::Duration::from_secs(5),
            retry_delay: std::time::Duration::from_millis(5),
            ..WechatSettings::default()
        },
        apps: vec![app],
        ..Config::default()
    };
    let to = wechat_exporter::dates::latest_day(now);
    let from = to - Duration::days(34);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("perf.om");
    let o = Options {
        from,
        to,
        output: out.clone(),
        step: 240,
        rate: 10_000.0,
        max_calls: None,
        split_days: 0,
        progress: false,
        target_labels: vec![("job".into(), "wx".into())],
    };
    let report = backfill::run(&config, &o, clock).await.expect("backfill");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Two chunks (30 + 5 days) per module.
    let calls: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == PERFORMANCE_PATH)
        .collect();
    assert_eq!(calls.len(), 2 * MODULES.len());
    for (api, _, _) in MODULES {
        let mut ranges: Vec<_> = calls
            .iter()
            .filter(|r| r.api == Some(api))
            .map(|r| (r.begin_date.clone(), r.end_date.clone()))
            .collect();
        ranges.sort();
        let d = |x: NaiveDate| Some(compact(x));
        assert_eq!(
            ranges,
            vec![
                (d(from), d(from + Duration::days(29))),
                (d(from + Duration::days(30)), d(to)),
            ],
            "{api:?}"
        );
    }

    // (name, labels without job, timestamp) -> value.
    let text = std::fs::read_to_string(&out).expect("output");
    let mut by_key: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = l.rsplitn(3, ' ');
        let (Some(ts), Some(v), Some(series)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let labels = labels.trim_end_matches('}').replace("job=\"wx\",", "");
        by_key.insert(
            (name.to_string(), labels, ts.to_string()),
            v.parse().expect("a value"),
        );
    }
    let mut days_seen = std::collections::BTreeSet::new();
    for (api, family, (mul, div)) in MODULES {
        let date_labels = format!("app=\"shop\",api=\"{}\"", api.label());
        let instants: Vec<(String, f64)> = by_key
            .iter()
            .filter(|((n, l, _), _)| n == "wechat_data_date_timestamp_seconds" && *l == date_labels)
            .map(|((_, _, ts), v)| (ts.clone(), *v))
            .collect();
        assert!(!instants.is_empty(), "{api:?}: no data dates");
        for (ts, date) in instants {
            let day =
                beijing_date(chrono::DateTime::from_timestamp(date as i64, 0).expect("a date"));
            days_seen.insert(day);
            for t in h_tables(&sim, api, day) {
                let labels = format!(
                    "app=\"shop\",table=\"{}\",networktype=\"all\",device_level=\"all\",device=\"all\"",
                    t.0
                );
                assert_eq!(
                    by_key.get(&(family.to_string(), labels, ts.clone())),
                    Some(&(t.1 * mul / div)),
                    "{api:?} {} at {ts} ({day})",
                    t.0
                );
            }
        }
    }
    assert_eq!(days_seen.len(), 35, "every day of the range is written");
}

/// (table id, value) of the simulator's whole-population answer.
fn h_tables(
    sim: &wechat_exporter::simulator::Simulator,
    api: Api,
    day: NaiveDate,
) -> Vec<(String, f64)> {
    sim.performance(MP_APPID, api, day, &[])
        .into_iter()
        .map(|t| (t.id.clone(), t.lines[0].fields[0].value))
        .collect()
}

/// `performance.dimensions: [networktype, device]` adds exactly one call
/// per value a module takes (networktype only to 10016 and 10017), never
/// the cross product, and each value's series equal what the simulator
/// serves for that population, over days that cross a month end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dimension_breakdown_adds_one_call_per_value_and_matches() {
    let mut app = mp_app("shop");
    app.performance.dimensions = vec!["networktype".into(), "device".into()];
    // 11:00 Beijing on 31 January 2025; then 1 and 2 February.
    let start = utc("2025-01-31T03:00:00Z");
    let h = Harness::new("2025-01-31T03:00:00Z", 10.0, 10.0, vec![app]).await;
    let values: [(&str, &str, &str); 5] = [
        ("networktype", "3g", "3g"),
        ("networktype", "4g", "4g"),
        ("networktype", "wifi", "wifi"),
        ("device", "1", "ios"),
        ("device", "2", "android"),
    ];
    for day in 0..3 {
        let now = start + Duration::days(day);
        let seen = perf_calls(&h).len();
        h.clock.set(now);
        h.poller.poll_once().await;
        h.clock.set(now + Duration::hours(2));
        h.poller.poll_once().await;
        let m = h.metrics();
        let yesterday = beijing_date(now) - Duration::days(1);
        let calls: Vec<_> = perf_calls(&h)[seen..].to_vec();
        let mut total = 0;
        for (api, family, (mul, div)) in MODULES {
            let takes_network = matches!(api, Api::PerformanceOpenRate | Api::PerformanceLaunch);
            let mine = calls.iter().filter(|r| r.api == Some(api)).count();
            let want = 1 + 2 + if takes_network { 3 } else { 0 };
            assert_eq!(mine, want, "{api:?} on {yesterday}");
            total += mine;
            // The whole population, as without a breakdown.
            assert_module_matches_with(&h, &m, api, yesterday, family, (mul, div), takes_network);
            for (field, value, label) in values {
                let tables = h
                    .sim
                    .performance(MP_APPID, api, yesterday, &[(field, value)]);
                for t in &tables {
                    let mut labels = vec![
                        ("app", "shop"),
                        ("table", t.id.as_str()),
                        ("networktype", "all"),
                        ("device_level", "all"),
                        ("device", "all"),
                    ];
                    for l in labels.iter_mut().filter(|l| l.0 == field) {
                        l.1 = label;
                    }
                    let got = m.get(family, &labels);
                    if field == "networktype" && !takes_network {
                        assert_eq!(got, None, "{api:?}: no networktype call");
                    } else {
                        assert_eq!(
                            got,
                            Some(t.lines[0].fields[0].value * mul / div),
                            "{api:?} {labels:?} on {yesterday}"
                        );
                    }
                }
            }
        }
        assert_eq!(total, 2 * 6 + 3 * 3, "calls on {yesterday}");
        assert_eq!(calls.len(), total);
    }
}

/// The whole-population series of `api` equal the simulator's, and the
/// family has one series per table and population asked.
fn assert_module_matches_with(
    h: &Harness,
    m: &Exposition,
    api: Api,
    day: NaiveDate,
    family: &str,
    (mul, div): (f64, f64),
    takes_network: bool,
) {
    let tables = h.sim.performance(MP_APPID, api, day, &[]);
    for t in &tables {
        let labels = [
            ("app", "shop"),
            ("table", t.id.as_str()),
            ("networktype", "all"),
            ("device_level", "all"),
            ("device", "all"),
        ];
        assert_eq!(
            m.get(family, &labels),
            Some(t.lines[0].fields[0].value * mul / div)
        );
    }
    let populations = 1 + 2 + if takes_network { 3 } else { 0 };
    assert_eq!(m.count(family), tables.len() * populations, "{api:?}");
}
