//! The exporter end to end against the simulator on a manual clock: every
//! published value equals what the simulator served, for the right Beijing
//! windows, over 30 simulated days; no call is spent twice.

use crate::common::*;
use chrono::{Datelike, Duration, NaiveDate};
use wechat_exporter::api::Api;
use wechat_exporter::dates::{beijing_midnight, DateRange, Period};

fn key(k: f64) -> String {
    format!("{}", k as i64)
}

/// Checks every Mini Program and Official Account value for the state at `now`.
fn assert_matches_simulator(h: &Harness, m: &Exposition, now: chrono::DateTime<chrono::Utc>) {
    let y = wechat_exporter::dates::latest_day(now);
    // Visit trends: daily, weekly, monthly.
    for period in [Period::Daily, Period::Weekly, Period::Monthly] {
        let range = period.latest(now);
        let row = h.sim.visit_trend(MP_APPID, range, period);
        let l = [("app", "shop"), ("period", period.label())];
        for (name, v) in [
            ("wechat_miniprogram_sessions", row.session_cnt),
            ("wechat_miniprogram_visits", row.visit_pv),
            ("wechat_miniprogram_visitors", row.visit_uv),
            ("wechat_miniprogram_new_visitors", row.visit_uv_new),
            (
                "wechat_miniprogram_stay_per_visitor_seconds",
                row.stay_time_uv,
            ),
            (
                "wechat_miniprogram_stay_per_session_seconds",
                row.stay_time_session,
            ),
            ("wechat_miniprogram_visit_depth_pages", row.visit_depth),
        ] {
            assert_eq!(m.get(name, &l), v, "{name} {period:?} at {now}");
        }
        let api = match period {
            Period::Daily => "daily_visit_trend",
            Period::Weekly => "weekly_visit_trend",
            Period::Monthly => "monthly_visit_trend",
        };
        assert_eq!(
            m.must(
                "wechat_data_date_timestamp_seconds",
                &[("app", "shop"), ("api", api)]
            ),
            beijing_midnight(range.begin).timestamp() as f64,
            "{api} data date at {now}"
        );
    }
    // Retention: offset k from the cohort k periods back; ratio within it.
    for period in [Period::Daily, Period::Weekly, Period::Monthly] {
        for &k in period.retention_offsets() {
            let cohort = period.retention_cohort(now, k);
            let r = h.sim.retention(MP_APPID, cohort, period);
            for (label, values) in [("new", &r.visit_uv_new), ("active", &r.visit_uv)] {
                let at = |key: u32| {
                    values
                        .iter()
                        .find(|kv| kv.key == key as f64)
                        .map(|kv| kv.value)
                };
                let kept = at(k).unwrap_or_else(|| panic!("simulator has key {k} for {cohort:?}"));
                let size = at(0).expect("key 0");
                let offset = k.to_string();
                let l = [
                    ("app", "shop"),
                    ("period", period.label()),
                    ("cohort", label),
                    ("offset", offset.as_str()),
                ];
                assert_eq!(
                    m.must("wechat_miniprogram_retained_users", &l),
                    kept,
                    "{l:?} at {now}"
                );
                let ratio = m.must("wechat_miniprogram_retention_ratio", &l);
                assert!((ratio - kept / size).abs() < 1e-12, "{l:?} ratio");
            }
        }
    }
    // Visit distribution, with names for known keys.
    let dist = h.sim.visit_distribution(MP_APPID, y);
    let mut n = 0;
    for idx in &dist.list {
        for kv in &idx.item_list {
            let k = key(kv.key);
            let s = m
                .samples
                .iter()
                .find(|(name, l, _)| {
                    name == "wechat_miniprogram_visit_distribution"
                        && l["index"] == idx.index
                        && l["key"] == k
                        && l["app"] == "shop"
                })
                .unwrap_or_else(|| panic!("distribution {} {k}", idx.index));
            assert_eq!(s.2, kv.value);
            n += 1;
        }
    }
    assert_eq!(m.count("wechat_miniprogram_visit_distribution"), n);
    // Pages: all 200, values equal.
    let pages = h.sim.visit_page(MP_APPID, y);
    assert_eq!(
        m.count("wechat_miniprogram_page_visits"),
        pages.list.len().min(200)
    );
    for p in pages.list.iter().take(5) {
        let l = [("app", "shop"), ("page", p.page_path.as_str())];
        assert_eq!(m.get("wechat_miniprogram_page_visits", &l), p.page_visit_pv);
        assert_eq!(m.get("wechat_miniprogram_page_exits", &l), p.exitpage_pv);
    }
    // Daily summary.
    let s = h.sim.daily_summary(MP_APPID, y);
    assert_eq!(
        m.get("wechat_miniprogram_cumulative_visitors", &[("app", "shop")]),
        s.visit_total
    );
    assert_eq!(
        m.get(
            "wechat_miniprogram_shares",
            &[("app", "shop"), ("period", "daily")]
        ),
        s.share_pv
    );
    // Portrait, 7-day window.
    let range = DateRange {
        begin: y - Duration::days(6),
        end: y,
    };
    let p = h.sim.user_portrait(MP_APPID, range);
    let group = p.visit_uv.expect("active portrait");
    let first = &group.province[0];
    assert_eq!(
        m.get(
            "wechat_miniprogram_portrait_visitors",
            &[
                ("app", "shop"),
                ("window", "7d"),
                ("cohort", "active"),
                ("dimension", "province"),
                ("name", first.name.as_str())
            ]
        ),
        first.value
    );
    // Official Account: followers, and follows by source with zeros.
    let cum = h.sim.user_cumulate(OA_APPID, y);
    assert_eq!(
        m.get("wechat_official_account_followers", &[("app", "news")]),
        cum.cumulate_user
    );
    let rows = h.sim.user_summary(OA_APPID, y);
    for (source, name) in [
        (0u32, "other"),
        (1, "search"),
        (17, "profile card share"),
        (30, "QR code"),
        (78, "Moments ad"),
    ] {
        let want: f64 = rows
            .iter()
            .filter(|r| r.user_source == source as f64)
            .map(|r| r.new_user.unwrap_or(0.0))
            .sum();
        let src = source.to_string();
        assert_eq!(
            m.must(
                "wechat_official_account_new_followers",
                &[
                    ("app", "news"),
                    ("source", src.as_str()),
                    ("source_name", name)
                ]
            ),
            want,
            "source {source} on {y}"
        );
    }
    for r in &rows {
        let src = key(r.user_source);
        let got: f64 = m
            .with_label("wechat_official_account_unfollowers", "source", &src)
            .iter()
            .map(|s| s.2)
            .sum();
        assert_eq!(
            got,
            r.cancel_user.unwrap_or(0.0),
            "unfollowers source {src}"
        );
    }
}

/// Checks the Official Account message and interface analysis at `now`:
/// the latest day, week and month, and yesterday's hours.
fn assert_messages_match_simulator(
    h: &Harness,
    m: &Exposition,
    now: chrono::DateTime<chrono::Utc>,
) {
    let y = wechat_exporter::dates::latest_day(now);
    let app = ("app", "news");
    for period in [Period::Daily, Period::Weekly, Period::Monthly] {
        let range = period.latest(now);
        let rows = h.sim.upstream_msg(OA_APPID, range);
        for (t, name) in [
            ("1", "text"),
            ("2", "image"),
            ("3", "voice"),
            ("4", "video"),
            ("6", "link"),
        ] {
            let row = rows.iter().find(|r| key(r.msg_type) == t);
            let l = [
                app,
                ("period", period.label()),
                ("msg_type", t),
                ("msg_type_name", name),
            ];
            let ctx = format!("{period:?} type {t} on {y}");
            assert_eq!(
                m.must("wechat_official_account_messages", &l),
                row.and_then(|r| r.msg_count).unwrap_or(0.0),
                "{ctx}"
            );
            assert_eq!(
                m.must("wechat_official_account_message_senders", &l),
                row.and_then(|r| r.msg_user).unwrap_or(0.0),
                "{ctx}"
            );
        }
        let dist = h.sim.upstream_msg_dist(OA_APPID, range);
        assert!(!dist.is_empty());
        for r in &dist {
            let k = key(r.count_interval);
            let name = ["0", "1-5", "6-10", ">10"][r.count_interval as usize];
            assert_eq!(
                m.get(
                    "wechat_official_account_message_senders_by_interval",
                    &[
                        app,
                        ("period", period.label()),
                        ("count_interval", k.as_str()),
                        ("count_interval_name", name)
                    ]
                ),
                r.msg_user,
                "{period:?} interval {k} on {y}"
            );
        }
    }
    let hours = h.sim.upstream_msg_hour(OA_APPID, y);
    assert!(hours.len() > 24, "several types an hour");
    for r in &hours {
        let hour = format!("{:02}", r.ref_hour.unwrap_or(0.0) as i64 / 100);
        let t = key(r.msg_type);
        let name = match t.as_str() {
            "1" => "text",
            "2" => "image",
            "3" => "voice",
            "4" => "video",
            _ => "link",
        };
        let l = [
            app,
            ("hour", hour.as_str()),
            ("msg_type", t.as_str()),
            ("msg_type_name", name),
        ];
        assert_eq!(
            m.get("wechat_official_account_messages_by_hour", &l),
            r.msg_count,
            "{l:?}"
        );
        assert_eq!(
            m.get("wechat_official_account_message_senders_by_hour", &l),
            r.msg_user,
            "{l:?}"
        );
    }
    assert_eq!(
        m.samples
            .iter()
            .filter(
                |(n, l, _)| n == "wechat_official_account_messages_by_hour" && l["app"] == "news"
            )
            .count(),
        hours.len(),
        "one series per row"
    );
    // The publish numbers settle at noon Beijing: provisional before.
    let delayed = wechat_exporter::dates::beijing_hour(h.clock.now())
        < wechat_exporter::simulator::PUBLISH_FINAL_HOUR;
    let publish = h.sim.biz_summary(OA_APPID, y, delayed);
    for (family, field) in [
        ("wechat_official_account_publish_readers", "read_user"),
        ("wechat_official_account_publish_sharers", "share_user"),
        ("wechat_official_account_publish_likes", "like_user"),
        ("wechat_official_account_publish_hearts", "zaikan_user"),
        ("wechat_official_account_publish_comments", "comment_count"),
    ] {
        assert_eq!(
            m.get(family, &[app]),
            publish.detail[field].as_f64(),
            "{family} on {y}"
        );
    }
    assert_eq!(
        m.get(
            "wechat_exporter_data_final",
            &[app, ("api", "publish_summary")]
        ),
        Some(if delayed { 0.0 } else { 1.0 })
    );
    let day = h.sim.interface_summary(OA_APPID, y);
    let ms = |v: Option<f64>| v.map(|v| v / 1000.0);
    assert_eq!(
        m.get("wechat_official_account_callbacks", &[app]),
        day.callback_count
    );
    assert_eq!(
        m.get("wechat_official_account_callback_failures", &[app]),
        day.fail_count
    );
    assert_eq!(
        m.get("wechat_official_account_callback_time_seconds", &[app]),
        ms(day.total_time_cost)
    );
    assert_eq!(
        m.get("wechat_official_account_callback_max_time_seconds", &[app]),
        ms(day.max_time_cost)
    );
    for r in h.sim.interface_summary_hour(OA_APPID, y) {
        let hour = format!("{:02}", r.ref_hour.unwrap_or(0.0) as i64 / 100);
        let l = [app, ("hour", hour.as_str())];
        assert_eq!(
            m.get("wechat_official_account_callbacks_by_hour", &l),
            r.callback_count,
            "{l:?}"
        );
        assert_eq!(
            m.get("wechat_official_account_callback_failures_by_hour", &l),
            r.fail_count,
            "{l:?}"
        );
        assert_eq!(
            m.get("wechat_official_account_callback_time_by_hour_seconds", &l),
            ms(r.total_time_cost),
            "{l:?}"
        );
        assert_eq!(
            m.get(
                "wechat_official_account_callback_max_time_by_hour_seconds",
                &l
            ),
            ms(r.max_time_cost),
            "{l:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_match_the_simulator_and_spend_the_call_floor() {
    // Monday 20 January 2025, 11:00 Beijing; 30 days cross January's end.
    let h = Harness::new(
        "2025-01-20T03:00:00Z",
        10.0,
        10.0,
        vec![mp_app("shop"), oa_app("news")],
    )
    .await;
    let start = crate::common::utc("2025-01-20T03:00:00Z");
    let m = h.poll_at("2025-01-20T03:00:00Z").await;
    assert_matches_simulator(&h, &m, start);
    assert_messages_match_simulator(&h, &m, start);
    let mut per_day = Vec::new();
    for day in 1..30 {
        let now = start + Duration::days(day);
        let before = h.data_calls();
        h.clock.set(now);
        h.poller.poll_once().await;
        // A second round the same day finds nothing due.
        h.clock.set(now + Duration::hours(2));
        h.poller.poll_once().await;
        let m = h.metrics();
        let today = wechat_exporter::dates::beijing_date(now);
        let calls = h.data_calls() - before;
        // The floor: one call per (API, period) with new data. Mini
        // Program: summary, daily trend, distribution, page (1 each),
        // 10 retention offsets, 3 portrait windows; weekly trend + 5
        // weekly retention offsets on Mondays; monthly trend + 2 monthly
        // retention offsets on the 1st. Official Account: followers (2),
        // messages, hourly messages, message distribution, callbacks and
        // hourly callbacks (5); the published-articles list (1); the
        // publish summary, article reads and shares twice each (at 11:00
        // their numbers have not settled, at 13:00 they are final; the
        // totals are not asked before 2025-11-01, where WeChat's storage
        // starts: articles:: counts theirs);
        // weekly messages and distribution on Mondays; monthly ones on
        // the 1st. Mini Program performance: 5 modules, one call each.
        let mut floor = 1 + 1 + 1 + 1 + 10 + 3 + 5 + 2 + 5 + 1 + 3 * 2;
        if today.weekday() == chrono::Weekday::Mon {
            floor += 6 + 2;
        }
        if today.day() == 1 {
            floor += 3 + 2;
        }
        assert_eq!(calls, floor, "calls on {today}");
        per_day.push(calls);
        assert_matches_simulator(&h, &m, now);
        assert_messages_match_simulator(&h, &m, now);
        // The totals ask for nothing before 2025-11-01: no poll, no
        // poll_success (articles:: covers them); the hourly operations
        // APIs are off unless asked for (quota:: and feedback:: cover them).
        for api in Api::ALL
            .into_iter()
            .filter(|a| *a != Api::ArticleTotalDetail && !a.opt_in())
        {
            assert_eq!(
                m.get(
                    "wechat_exporter_poll_success",
                    &[
                        (
                            "app",
                            if api.app_kind() == wechat_exporter::api::AppKind::Miniprogram {
                                "shop"
                            } else {
                                "news"
                            }
                        ),
                        ("api", api.label())
                    ]
                ),
                Some(1.0),
                "{api:?}"
            );
        }
    }
    let total: usize = per_day.iter().sum();
    eprintln!(
        "steady state: {total} data calls in {} days for 1 Mini Program + 1 Official Account ({:.2}/day)",
        per_day.len(),
        total as f64 / per_day.len() as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_release_is_picked_up_after_release_and_not_before() {
    // WeChat releases at 15:00 today; the poller starts asking at 10:00.
    let h = Harness::new("2025-03-10T03:00:00Z", 15.0, 10.0, vec![mp_app("shop")]).await;
    // 11:00 Beijing 10 March: yesterday (9 March) not released; the
    // exporter shows 8 March meanwhile, and says data is not ready.
    let m = h.poll_at("2025-03-10T03:00:00Z").await;
    let l = [("app", "shop"), ("period", "daily")];
    let d8 = NaiveDate::from_ymd_opt(2025, 3, 8).unwrap();
    let d9 = NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
    assert_eq!(
        m.get("wechat_miniprogram_visitors", &l),
        h.sim
            .visit_trend(MP_APPID, DateRange::day(d8), Period::Daily)
            .visit_uv
    );
    let ready = [("app", "shop"), ("api", "daily_visit_trend")];
    assert_eq!(m.must("wechat_exporter_data_ready", &ready), 0.0);
    assert_eq!(
        m.must("wechat_exporter_poll_success", &ready),
        1.0,
        "not ready is not a failure"
    );
    assert_eq!(
        m.must("wechat_data_date_timestamp_seconds", &ready),
        beijing_midnight(d8).timestamp() as f64
    );
    // Retried with growing delays: nothing is due 5 minutes later.
    let before = h.data_calls();
    h.poll_at("2025-03-10T03:05:00Z").await;
    assert_eq!(h.data_calls(), before, "no call before the retry delay");
    // 14:30 Beijing: still not released; the value stays 8 March's.
    let m = h.poll_at("2025-03-10T06:30:00Z").await;
    assert_eq!(m.must("wechat_exporter_data_ready", &ready), 0.0);
    assert_eq!(
        m.get("wechat_miniprogram_visitors", &l),
        h.sim
            .visit_trend(MP_APPID, DateRange::day(d8), Period::Daily)
            .visit_uv
    );
    // 15:40 Beijing: released; the retry picks it up.
    let m = h.poll_at("2025-03-10T07:40:00Z").await;
    assert_eq!(m.must("wechat_exporter_data_ready", &ready), 1.0);
    assert_eq!(
        m.get("wechat_miniprogram_visitors", &l),
        h.sim
            .visit_trend(MP_APPID, DateRange::day(d9), Period::Daily)
            .visit_uv
    );
    assert_eq!(
        m.must("wechat_data_date_timestamp_seconds", &ready),
        beijing_midnight(d9).timestamp() as f64
    );
    // Not-ready calls for the daily trend on 10 March stay few.
    let not_ready = h
        .sim
        .requests()
        .iter()
        .filter(|r| {
            r.api == Some(Api::DailyVisitTrend)
                && r.begin_date.as_deref() == Some("20250309")
                && r.errcode != 0
        })
        .count();
    assert!((1..=6).contains(&not_ready), "{not_ready} not-ready calls");
    eprintln!("late release: {not_ready} not-ready calls for the daily trend before 15:00 release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_asked_before_the_release_hour_once_data_is_shown() {
    let h = Harness::new("2025-03-10T03:00:00Z", 10.0, 10.0, vec![mp_app("shop")]).await;
    h.poll_at("2025-03-10T03:00:00Z").await;
    // Next day 01:00..09:30 Beijing: data for 10 March can't exist yet.
    let before = h.data_calls();
    for t in [
        "2025-03-10T17:00:00Z",
        "2025-03-10T20:00:00Z",
        "2025-03-11T01:30:00Z",
    ] {
        h.poll_at(t).await;
    }
    assert_eq!(h.data_calls(), before);
    // 10:30 Beijing: everything daily is asked once (17 datacube calls
    // and the 5 performance modules).
    h.poll_at("2025-03-11T02:30:00Z").await;
    assert_eq!(h.data_calls() - before, 17 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_exposition() {
    let h = Harness::new(
        "2025-03-10T03:00:00Z",
        10.0,
        10.0,
        vec![mp_app("shop"), oa_app("news")],
    )
    .await;
    let m = h.poll_at("2025-03-10T03:00:00Z").await;
    assert!(m.count("wechat_miniprogram_visitors") == 3);
    assert!(!m.text.contains(MP_SECRET) && !m.text.contains(OA_SECRET));
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(m.text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check metrics: {text}");
    assert!(text.trim().is_empty(), "promtool lint findings: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_account_late_release_is_never_zero_and_spans_stay_within_7_days() {
    // WeChat releases at 14:00; the poller starts asking at 10:00.
    let h = Harness::new(
        "2025-03-10T03:00:00Z",
        14.0,
        10.0,
        vec![oa_app("news"), mp_app("shop")],
    )
    .await;
    let d8 = NaiveDate::from_ymd_opt(2025, 3, 8).unwrap();
    let d9 = NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
    // 11:00 Beijing: 9 March not released. The exporter shows 8 March, and
    // never zeros for 9 March.
    let m = h.poll_at("2025-03-10T03:00:00Z").await;
    assert_eq!(
        m.get("wechat_official_account_followers", &[("app", "news")]),
        h.sim.user_cumulate(OA_APPID, d8).cumulate_user
    );
    for api in ["user_summary", "user_cumulate"] {
        let l = [("app", "news"), ("api", api)];
        assert_eq!(m.must("wechat_exporter_data_ready", &l), 0.0, "{api}");
        assert_eq!(m.must("wechat_exporter_poll_success", &l), 1.0, "{api}");
        assert_eq!(
            m.must("wechat_data_date_timestamp_seconds", &l),
            beijing_midnight(d8).timestamp() as f64
        );
    }
    let rows8 = h.sim.user_summary(OA_APPID, d8);
    let total8: f64 = rows8.iter().map(|r| r.new_user.unwrap_or(0.0)).sum();
    let published: f64 = m
        .samples
        .iter()
        .filter(|(n, l, _)| n == "wechat_official_account_new_followers" && l["app"] == "news")
        .map(|s| s.2)
        .sum();
    assert_eq!(
        published, total8,
        "8 March's follows, not zeros for 9 March"
    );
    // 15:00 Beijing: released and picked up.
    let m = h.poll_at("2025-03-10T07:00:00Z").await;
    assert_eq!(
        m.get("wechat_official_account_followers", &[("app", "news")]),
        h.sim.user_cumulate(OA_APPID, d9).cumulate_user
    );
    let rows9 = h.sim.user_summary(OA_APPID, d9);
    let src = key(rows9[0].user_source);
    let want: f64 = rows9
        .iter()
        .filter(|r| key(r.user_source) == src)
        .map(|r| r.new_user.unwrap_or(0.0))
        .sum();
    let got: f64 = m
        .with_label("wechat_official_account_new_followers", "source", &src)
        .iter()
        .map(|s| s.2)
        .sum();
    assert_eq!(got, want);
    // Every Official Account call asked for a span of at most 7 days.
    let oa_calls: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| matches!(r.api, Some(Api::UserSummary | Api::UserCumulate)))
        .collect();
    assert!(!oa_calls.is_empty());
    for r in oa_calls {
        let b = wechat_exporter::dates::parse_dashed(r.begin_date.as_deref().unwrap()).unwrap();
        let e = wechat_exporter::dates::parse_dashed(r.end_date.as_deref().unwrap()).unwrap();
        assert!((e - b).num_days() < 7 && e >= b, "{r:?}");
        assert_ne!(r.errcode, 61501, "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_lists_before_release_are_not_ready_not_zero() {
    let h = Harness::new(
        "2025-03-10T03:00:00Z",
        14.0,
        10.0,
        vec![oa_app("news"), mp_app("shop")],
    )
    .await;
    h.sim
        .set_not_ready(wechat_exporter::simulator::NotReady::EmptyList);
    let d8 = NaiveDate::from_ymd_opt(2025, 3, 8).unwrap();
    let m = h.poll_at("2025-03-10T03:00:00Z").await;
    let total8: f64 = h
        .sim
        .user_summary(OA_APPID, d8)
        .iter()
        .map(|r| r.new_user.unwrap_or(0.0))
        .sum();
    let published: f64 = m
        .samples
        .iter()
        .filter(|(n, l, _)| n == "wechat_official_account_new_followers" && l["app"] == "news")
        .map(|s| s.2)
        .sum();
    assert!(total8 > 0.0);
    assert_eq!(published, total8);
    for api in [
        "user_summary",
        "daily_visit_trend",
        "visit_page",
        "visit_distribution",
        "daily_retention",
    ] {
        let app = if api == "user_summary" {
            "news"
        } else {
            "shop"
        };
        assert_eq!(
            m.must("wechat_exporter_data_ready", &[("app", app), ("api", api)]),
            0.0,
            "{api}"
        );
    }
    assert_eq!(
        m.get(
            "wechat_miniprogram_visitors",
            &[("app", "shop"), ("period", "daily")]
        ),
        h.sim
            .visit_trend(MP_APPID, DateRange::day(d8), Period::Daily)
            .visit_uv
    );
}
