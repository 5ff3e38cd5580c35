//! Publish analytics (`getbizsummary`): numbers WeChat marks `is_delay` are
//! published at once as provisional, asked for again every hour until they
//! are final, then never again.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisional_numbers_are_refetched_until_final_then_never() {
    // 10:30 Beijing on 1 September 2025: yesterday's numbers not settled.
    let h = Harness::new("2025-09-01T02:30:00Z", 10.0, 10.0, vec![oa_app("news")]).await;
    let y = chrono::NaiveDate::from_ymd_opt(2025, 8, 31).expect("date");
    let path = "/datacube/getbizsummary";
    let calls = |h: &Harness| h.sim.requests().iter().filter(|r| r.path == path).count();
    let sel = [("app", "news"), ("api", "publish_summary")];
    let readers = |m: &Exposition| {
        m.get(
            "wechat_official_account_publish_readers",
            &[("app", "news")],
        )
    };
    let value =
        |delayed: bool| h.sim.biz_summary(OA_APPID, y, delayed).detail["read_user"].as_f64();

    let m = h.poll_at("2025-09-01T02:30:00Z").await;
    assert_eq!(calls(&h), 1);
    assert_eq!(readers(&m), value(true), "provisional numbers published");
    assert_eq!(m.must("wechat_exporter_data_final", &sel), 0.0);
    assert_eq!(m.must("wechat_exporter_data_ready", &sel), 1.0);

    // Not asked again within the hour...
    h.poll_at("2025-09-01T03:20:00Z").await;
    assert_eq!(calls(&h), 1, "no call before the hour is over");
    // ...asked again after it: still before noon, still provisional.
    let m = h.poll_at("2025-09-01T03:31:00Z").await;
    assert_eq!(calls(&h), 2);
    assert_eq!(m.must("wechat_exporter_data_final", &sel), 0.0);

    // After noon Beijing the next ask gets the final numbers.
    let m = h.poll_at("2025-09-01T04:35:00Z").await;
    assert_eq!(calls(&h), 3);
    assert_eq!(
        readers(&m),
        value(false),
        "final numbers replace provisional ones"
    );
    assert_ne!(value(true), value(false));
    assert_eq!(m.must("wechat_exporter_data_final", &sel), 1.0);

    // Final data is never asked for again that day.
    for t in [
        "2025-09-01T06:00:00Z",
        "2025-09-01T10:00:00Z",
        "2025-09-01T15:00:00Z",
    ] {
        h.poll_at(t).await;
    }
    assert_eq!(calls(&h), 3, "final numbers are fetched once");
    let series = h
        .metrics()
        .samples
        .iter()
        .filter(|(n, _, _)| n == "wechat_official_account_publish_readers")
        .count();
    assert_eq!(series, 1, "one series, replaced, not duplicated");
}
