//! `js_errors` (getJsErrList) against the simulator over 30 simulated
//! days, polled every hour: every release's numbers (and every release's
//! together) equal what the simulator's errors were at the call, today's
//! so far and yesterday's whole day; the top messages are the 10 most
//! frequent of each day's answer; every release is asked once an hour for
//! today and once for yesterday (25 × (1 + releases) calls a day); and
//! neither a stack nor a message's second line reaches `/metrics`.

use crate::common::*;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;
use wechat_exporter::api::Api;
use wechat_exporter::collectors::js_errors::{message_label, LIMIT, TOP_MESSAGES};
use wechat_exporter::dates::beijing_date;
use wechat_exporter::simulator::js_errors::{errors, SimError};

const RELEASES: [&str; 2] = ["2.1.0", "2.0.3"];

/// What one answer of the simulator for `day` held at `now`: its 30 most
/// frequent errors, as it orders them, and how many there were.
fn served(
    version: &str,
    day: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<SimError>, usize) {
    let mut all = errors(7, MP_APPID, version, day, now);
    all.sort_by(|a, b| (b.pv, &b.md5).cmp(&(a.pv, &a.md5)));
    let n = all.len();
    all.truncate(LIMIT as usize);
    (all, n)
}

fn ratio(e: &SimError) -> f64 {
    e.uv_percent()
        .trim_end_matches('%')
        .parse::<f64>()
        .expect("percent")
        / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_errors_equal_the_simulators_for_30_days() {
    let _heavy = crate::common::heavy();
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::DailyVisitTrend, Api::JsErrors]);
    shop.js_error_versions = RELEASES.iter().map(|v| v.to_string()).collect();
    // 00:05 Beijing on 1 December 2026.
    let start = "2026-11-30T16:05:00Z";
    let h = Harness::new(start, 10.0, 10.0, vec![shop]).await;
    let mut calls_per_day: HashMap<NaiveDate, usize> = HashMap::new();
    let mut truncated = 0;
    for hour in 0..30 * 24 {
        let now = utc(start) + Duration::hours(hour);
        let (m, asked) = h.poll_calls(now, Api::JsErrors).await;
        assert!(asked.iter().all(|r| r.method == "POST" && r.errcode == 0));
        *calls_per_day.entry(beijing_date(now)).or_default() += asked.len();
        let today = beijing_date(now);
        // Yesterday is asked once, at the first poll of the day: the log
        // is whole at midnight (no release hour to wait for).
        let yesterday = today - Duration::days(1);
        let releases = [
            ("0", "all"),
            (RELEASES[0], RELEASES[0]),
            (RELEASES[1], RELEASES[1]),
        ];
        let days = [(today, "today"), (yesterday, "yesterday")];
        for ((version, label), (day, day_label)) in releases
            .into_iter()
            .flat_map(|r| days.into_iter().map(move |d| (r, d)))
        {
            let (top, kinds) = served(version, day, now);
            truncated += usize::from(kinds > top.len());
            let labels = [("app", "shop"), ("version", label), ("day", day_label)];
            let at = format!("{label} {day_label} at {now}");
            assert_eq!(
                m.must("wechat_miniprogram_js_errors", &labels),
                top.iter().map(|e| e.pv).sum::<u64>() as f64,
                "{at}"
            );
            assert_eq!(
                m.must("wechat_miniprogram_js_error_kinds", &labels),
                kinds as f64,
                "{at}"
            );
            assert_eq!(
                m.must("wechat_miniprogram_js_error_top_user_ratio", &labels),
                top.iter().map(ratio).fold(0.0, f64::max),
                "{at}"
            );
        }
        for (rank, v) in RELEASES.iter().enumerate() {
            let labels = [("app", "shop"), ("version", v), ("rank", &rank.to_string())];
            assert_eq!(
                m.must("wechat_miniprogram_js_error_version_info", &labels),
                1.0
            );
        }
        // Each day's top messages: the answer's most frequent, digest as
        // the id, under its day.
        let mut listed = 0;
        for (day, day_label) in days {
            let (mut top, _) = served("0", day, now);
            top.sort_by(|a, b| b.pv.cmp(&a.pv).then_with(|| a.md5.cmp(&b.md5)));
            top.truncate(TOP_MESSAGES);
            listed += top.len();
            for e in &top {
                let id = [
                    ("app", "shop"),
                    ("digest", e.md5.as_str()),
                    ("day", day_label),
                ];
                let message = message_label(&e.message);
                let info = [
                    ("app", "shop"),
                    ("digest", e.md5.as_str()),
                    ("day", day_label),
                    ("message", &message),
                ];
                let at = format!("{} {day_label} at {now}", e.md5);
                assert_eq!(
                    m.must("wechat_miniprogram_js_error_message_info", &info),
                    1.0,
                    "{at}"
                );
                assert_eq!(
                    m.must("wechat_miniprogram_js_error_message_occurrences", &id),
                    e.pv as f64,
                    "{at}"
                );
                assert_eq!(
                    m.must("wechat_miniprogram_js_error_message_users", &id),
                    e.uv as f64,
                    "{at}"
                );
            }
        }
        assert_eq!(
            m.count("wechat_miniprogram_js_error_message_info"),
            listed,
            "at {now}"
        );
        // Yesterday's whole day names its errors even at 00:05 (every 24th
        // poll from the start), when today's list may still be empty.
        if hour % 24 == 0 {
            assert!(listed >= TOP_MESSAGES, "at {now}");
        }
        if hour == 12 {
            let text = String::from_utf8_lossy(&h.poller.store.load().body.to_vec()).into_owned();
            for private in ["Object.onLoad", "index.js:"] {
                assert!(!text.contains(private), "{private} published");
            }
        }
    }
    for (day, n) in &calls_per_day {
        // Hourly for today, once for yesterday.
        assert_eq!(*n, 25 * (1 + RELEASES.len()), "js_errors calls on {day}");
    }
    assert_eq!(calls_per_day.len(), 30);
    // The all-releases answer held more than one call returns, some hours.
    assert!(truncated > 0);
}
