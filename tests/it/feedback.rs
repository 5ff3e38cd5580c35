//! `feedback` (getFeedback) against the simulator over 30 simulated days,
//! polled every hour: each type's count equals what the simulator's
//! feedback box held at the call, every type is asked once an hour
//! (24 × 8 calls a day), and no personal field of an item reaches
//! `/metrics`.

use crate::common::*;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;
use wechat_exporter::api::Api;
use wechat_exporter::collectors::feedback::TYPES;
use wechat_exporter::dates::beijing_date;
use wechat_exporter::simulator::feedback::total;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_counts_equal_the_simulators_box_for_30_days() {
    let _heavy = crate::common::heavy();
    let mut shop = mp_app("shop");
    shop.apis = Some(vec![Api::DailyVisitTrend, Api::Feedback]);
    // 00:05 Beijing on 1 December 2026.
    let start = "2026-11-30T16:05:00Z";
    let h = Harness::new(start, 10.0, 10.0, vec![shop]).await;
    let mut calls_per_day: HashMap<NaiveDate, usize> = HashMap::new();
    for hour in 0..30 * 24 {
        let now = utc(start) + Duration::hours(hour);
        let (m, asked) = h.poll_calls(now, Api::Feedback).await;
        assert!(asked.iter().all(|r| r.method == "GET" && r.errcode == 0));
        *calls_per_day.entry(beijing_date(now)).or_default() += asked.len();
        for (t, name) in TYPES {
            let labels = [
                ("app", "shop"),
                ("type", &t.to_string()),
                ("type_name", name),
            ];
            assert_eq!(
                m.must("wechat_miniprogram_feedback_items", &labels),
                total(7, MP_APPID, t, now) as f64,
                "type {t} at {now}"
            );
        }
        if hour == 0 {
            let text = String::from_utf8_lossy(&h.poller.store.load().body.to_vec()).into_owned();
            for personal in ["oSIM", "1880000", "反馈用户", "页面打不开"] {
                assert!(!text.contains(personal), "{personal} published");
            }
        }
    }
    for (day, n) in &calls_per_day {
        assert_eq!(*n, 24 * TYPES.len(), "feedback calls on {day}");
    }
    assert_eq!(calls_per_day.len(), 30);
}
