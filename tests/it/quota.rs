//! `api_quota` (getApiQuota) against the simulator over 30 simulated
//! days, polled every hour: each path's `used` equals the calls of that
//! path the simulator logged that Beijing day up to the quota call that
//! asked (counted here from the request log, not from the simulator's own
//! counter), `daily_limit` its limit and `remaining` the difference; every
//! path is asked exactly once an hour (24 × paths a day); a listed path
//! the simulator has a smaller limit for warns the way the alert reads it.

use crate::common::*;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;
use wechat_exporter::api::Api;
use wechat_exporter::collectors::api_quota::paths;
use wechat_exporter::dates::beijing_date;
use wechat_exporter::simulator::quota::DEFAULT_PATH_QUOTA;
use wechat_exporter::simulator::RecordedRequest;

const SEND: &str = "/cgi-bin/message/subscribe/send";

/// What the simulator served for `path` at its latest quota call: the
/// authenticated calls of that path on that Beijing day up to and
/// including that call.
fn served_used(log: &[RecordedRequest], appid: &str, path: &str) -> Option<(NaiveDate, usize)> {
    let at = log.iter().rposition(|r| {
        r.appid.as_deref() == Some(appid)
            && r.api == Some(Api::ApiQuota)
            && r.cgi_path.as_deref() == Some(path)
            && r.errcode == 0
    })?;
    let day = beijing_date(log[at].at);
    let used = log[..=at]
        .iter()
        .filter(|r| {
            r.appid.as_deref() == Some(appid)
                && r.path == path
                && beijing_date(r.at) == day
                // Calls WeChat turned away before the token check count nothing.
                && !matches!(r.errcode, 40001 | 40014 | 41001 | 42001)
        })
        .count();
    Some((day, used))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_series_equal_what_the_simulator_served_for_30_days() {
    let _heavy = crate::common::heavy();
    let mut shop = mp_app("shop");
    shop.quota_paths = vec![SEND.into()];
    // The largest exposition, and not needed here: 30 × 24 scrapes.
    shop.exclude_apis = vec![Api::VisitPage];
    let mut sim_apps = sim_apps();
    for a in sim_apps.iter_mut().filter(|a| a.appid == MP_APPID) {
        a.path_quota.insert(SEND.into(), 40);
    }
    // 00:05 Beijing on 1 December 2026.
    let start = "2026-11-30T16:05:00Z";
    let h = Harness::with(start, 10.0, 10.0, vec![shop.clone()], sim_apps).await;
    let asked = paths(&shop);
    assert!(asked.len() >= 12, "own paths and the listed one: {asked:?}");
    let mut calls_per_day: HashMap<NaiveDate, usize> = HashMap::new();
    let mut checked = 0;
    for hour in 0..30 * 24 {
        let now = utc(start) + Duration::hours(hour);
        if hour % 24 == 0 {
            // A new Beijing day: the counts start again, and so may the log.
            h.sim.clear_requests();
        }
        let seen = h.sim.requests().len();
        let m = h.poll_at(&now.to_rfc3339()).await;
        let log = h.sim.requests();
        let quota_calls = log[seen..]
            .iter()
            .filter(|r| r.api == Some(Api::ApiQuota))
            .count();
        *calls_per_day.entry(beijing_date(now)).or_default() += quota_calls;
        // The send path stands for the business: it is called by the app
        // itself, 1 to 3 times an hour.
        for _ in 0..(hour % 3 + 1) {
            h.sim.record_business_call(MP_APPID, SEND);
        }
        for path in &asked {
            let labels = [("app", "shop"), ("path", path.as_str())];
            let (day, used) = served_used(&log, MP_APPID, path)
                .unwrap_or_else(|| panic!("{path} never asked by {now}"));
            assert_eq!(day, beijing_date(now), "{path} asked today");
            let limit = if path == SEND { 40 } else { DEFAULT_PATH_QUOTA };
            let ctx = format!("{path} at {now}");
            assert_eq!(
                m.must("wechat_api_quota_used", &labels),
                used as f64,
                "{ctx}"
            );
            assert_eq!(
                m.must("wechat_api_quota_daily_limit", &labels),
                f64::from(limit),
                "{ctx}"
            );
            assert_eq!(
                m.must("wechat_api_quota_remaining", &labels),
                f64::from(limit).max(used as f64) - used as f64,
                "{ctx}"
            );
            let rl = [("app", "shop"), ("path", path.as_str()), ("caller", "app")];
            assert_eq!(m.must("wechat_api_rate_limit_window_seconds", &rl), 60.0);
            checked += 1;
        }
        assert_eq!(
            m.must(
                "wechat_exporter_poll_success",
                &[("app", "shop"), ("api", "api_quota")]
            ),
            1.0
        );
        assert_eq!(
            m.must(
                "wechat_exporter_data_final",
                &[("app", "shop"), ("api", "api_quota")]
            ),
            0.0,
            "counts that move all day are never final"
        );
    }
    // Every path once an hour: the documented 24 × paths a day.
    for (day, n) in &calls_per_day {
        assert_eq!(*n, 24 * asked.len(), "quota calls on {day}");
    }
    assert_eq!(calls_per_day.len(), 30);
    assert_eq!(checked, 30 * 24 * asked.len());
}

/// The alert's reading of the series: the listed path with a small limit
/// crosses 80% within the day, and the next Beijing day starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_near_its_limit_crosses_the_alert_ratio_and_resets_at_midnight() {
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::ApiQuota]);
    shop.quota_paths = vec![SEND.into()];
    let mut sim_apps = sim_apps();
    for a in sim_apps.iter_mut().filter(|a| a.appid == MP_APPID) {
        a.path_quota.insert(SEND.into(), 10);
    }
    let start = "2026-12-01T02:00:00Z";
    let h = Harness::with(start, 10.0, 10.0, vec![shop], sim_apps).await;
    let labels = [("app", "shop"), ("path", SEND)];
    let ratio = |m: &Exposition| {
        m.must("wechat_api_quota_used", &labels) / m.must("wechat_api_quota_daily_limit", &labels)
    };
    let m = h.poll_at(start).await;
    assert_eq!(ratio(&m), 0.0);
    for _ in 0..9 {
        h.sim.record_business_call(MP_APPID, SEND);
    }
    // Not asked again before the hour is up: the last reading stays.
    let m = h.poll_at("2026-12-01T02:30:00Z").await;
    assert_eq!(ratio(&m), 0.0);
    let m = h.poll_at("2026-12-01T03:00:00Z").await;
    assert!(ratio(&m) > 0.8, "9 of 10 used: {}", ratio(&m));
    assert_eq!(m.must("wechat_api_quota_remaining", &labels), 1.0);
    // 00:00 Beijing on 2 December: a new day's count.
    let m = h.poll_at("2026-12-01T16:00:00Z").await;
    assert_eq!(ratio(&m), 0.0);
}

/// A listed path WeChat does not have (76021) costs only itself: the
/// app's other paths are asked and published every hour, `poll_success`
/// says the round failed, and the unknown path is asked again after 1 h,
/// then 2 h, 4 h (not every hour), and on the new Beijing day at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_quota_path_costs_only_itself() {
    const UNKNOWN: &str = "/cgi-bin/no/such/api";
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::DailyVisitTrend, Api::ApiQuota]);
    shop.quota_paths = vec![UNKNOWN.into(), SEND.into()];
    // 00:05 Beijing on 1 December 2026.
    let start = "2026-11-30T16:05:00Z";
    let h = Harness::new(start, 10.0, 10.0, vec![shop.clone()]).await;
    let known: Vec<String> = paths(&shop).into_iter().filter(|p| p != UNKNOWN).collect();
    let mut unknown_asked_at = Vec::new();
    for hour in 0..26 {
        let now = utc(start) + Duration::hours(hour);
        let seen = h.sim.requests().len();
        let m = h.poll_at(&now.to_rfc3339()).await;
        let log = h.sim.requests();
        let quota: Vec<_> = log[seen..]
            .iter()
            .filter(|r| r.api == Some(Api::ApiQuota))
            .collect();
        let asked = |p: &str| {
            quota
                .iter()
                .filter(|r| r.cgi_path.as_deref() == Some(p))
                .count()
        };
        for p in &known {
            assert_eq!(asked(p), 1, "{p} at hour {hour}");
            let (_, used) = served_used(&log, MP_APPID, p).expect("answered");
            let labels = [("app", "shop"), ("path", p.as_str())];
            assert_eq!(m.must("wechat_api_quota_used", &labels), used as f64, "{p}");
        }
        if asked(UNKNOWN) > 0 {
            assert!(quota.iter().any(|r| r.errcode == 76021));
            unknown_asked_at.push(hour);
        }
        let success = [("app", "shop"), ("api", "api_quota")];
        assert_eq!(
            m.must("wechat_exporter_poll_success", &success),
            if asked(UNKNOWN) > 0 { 0.0 } else { 1.0 },
            "hour {hour}"
        );
        assert!(m
            .get(
                "wechat_api_quota_used",
                &[("app", "shop"), ("path", UNKNOWN)]
            )
            .is_none());
        // The other API of the app is untouched.
        assert_eq!(
            m.must(
                "wechat_exporter_poll_success",
                &[("app", "shop"), ("api", "daily_visit_trend")]
            ),
            1.0
        );
    }
    // 00:05, 01:05, 03:05, 07:05, 15:05; the next day's target at 00:05, 01:05.
    assert_eq!(unknown_asked_at, [0, 1, 3, 7, 15, 24, 25]);
}
