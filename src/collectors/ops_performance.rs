//! Mini Program performance as the operations centre (运维中心) reports it
//! (`getPerformance`, `POST /wxaapi/log/get_performance`): yesterday's
//! launch, code download and first render time, one call per kind
//! (`cost_time_type` 1, 2, 3 = the target's slot), so 3 calls a day,
//! asked once after release like every daily API.
//!
//! The answer's `default_time_data` is a JSON-encoded string (page and
//! SDKs agree) holding `{"list":[{"ref_date","cost_time_type","cost_time"}]}`,
//! one entry per Beijing day, `cost_time` in milliseconds; an object is
//! read too. A `cost_time` of 0 is "no data" (WeChat answers 0 for days
//! We分析 shows data for: docs/wechat-quirks.md), never zero seconds, so
//! it is skipped and counted, not published.

use super::common::{
    latest_period, parse, skipped_error, skipped_notes, Collected, Collector, Ctx, Plan,
    ShapeError, Target,
};
use super::performance::{number_in_string, object_or_json_string};
use crate::dates::{compact, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::ListResponse;
use serde::{Deserialize, Serialize};

/// The page's `cost_time_type` values, with the `kind` label of each:
/// 1 启动总耗时, 2 下载耗时, 3 初次渲染耗时.
pub const KINDS: [(u32, &str); 3] = [(1, "launch"), (2, "download"), (3, "first_render")];

/// The answer of `/wxaapi/log/get_performance`; `compare_time_data` (a
/// comparison period the exporter never asks for) is not read.
#[derive(Debug, Deserialize)]
pub struct OpsPerformanceResponse {
    #[serde(deserialize_with = "object_or_json_string")]
    pub default_time_data: ListResponse<CostTime>,
}

/// One day of one kind (the page's `strbody`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CostTime {
    /// `yyyymmdd`, Beijing.
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_time_type: Option<u32>,
    /// Milliseconds; a number in a string is read too.
    #[serde(deserialize_with = "number_in_string")]
    pub cost_time: f64,
}

pub struct OpsPerformance;

impl Collector for OpsPerformance {
    /// Yesterday, once per kind.
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let day = latest_period(Period::Daily, p.now);
        KINDS
            .iter()
            .flat_map(|(slot, _)| day.iter().map(|t| Target { slot: *slot, ..*t }))
            .collect()
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some((slot, kind)) = KINDS.iter().find(|(s, _)| *s == target.slot) else {
            return Ok(Collected::NotReady);
        };
        let resp: OpsPerformanceResponse = parse(body)?;
        let list = &resp.default_time_data.list;
        let want = compact(target.range.begin);
        let mut skipped = Vec::new();
        skipped_notes("default_time_data.list", list, &mut skipped);
        let mut out = Vec::new();
        let mut seen = false;
        for (i, e) in list.indexed().filter(|(_, e)| e.ref_date == want) {
            let at = format!("default_time_data.list[{i}]");
            if e.cost_time_type.is_some_and(|t| t != *slot) {
                let t = e.cost_time_type.unwrap_or_default();
                skipped.push(format!("{at}: cost_time_type {t}, asked for {slot}"));
            } else if e.cost_time == 0.0 {
                seen = true;
                skipped.push(format!("{at}.cost_time: 0 is no data, not published"));
            } else if out.is_empty() {
                seen = true;
                let labels = [("app", ctx.app), ("kind", *kind)];
                // A division, so that 1250 ms is exactly 1.25 s.
                let s = Sample::new(Family::MpOpsPerformance, &labels, e.cost_time / 1000.0);
                out.push(s);
            }
        }
        if !seen {
            return match skipped_error("default_time_data.list", list) {
                Some(e) => Err(e),
                None if skipped.is_empty() => Ok(Collected::NotReady),
                None => Err(ShapeError {
                    path: "default_time_data.list".into(),
                    reason: skipped.join("; "),
                    excerpt: want,
                }),
            };
        }
        Ok(Collected::with_skipped(out, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Api, AppKind};
    use crate::collectors::common::fixtures::{app, ctx, value};
    use serde_json::json;

    fn targets() -> Vec<Target> {
        let a = app(AppKind::Miniprogram);
        // 01:00 Beijing on 30 October 2019: yesterday is the 29th.
        let now = "2019-10-29T17:00:00Z".parse().expect("instant");
        OpsPerformance.plan(&Plan::new(now, Api::OpsPerformance, &a))
    }

    /// The page's example answer (download time, two days), as sent:
    /// `default_time_data` a JSON string.
    fn example() -> serde_json::Value {
        json!({"default_time_data": "{\"list\":[{\"ref_date\":\"20191029\",\"cost_time_type\":2,\"cost_time\":1533},{\"ref_date\":\"20191030\",\"cost_time_type\":2,\"cost_time\":1682}]}",
               "compare_time_data": "", "errcode": 0})
    }

    fn samples(c: Collected) -> Vec<Sample> {
        match c {
            Collected::Samples(s) => s,
            other => panic!("samples: {other:?}"),
        }
    }

    #[test]
    fn yesterday_once_per_kind() {
        let t = targets();
        assert_eq!(t.iter().map(|t| t.slot).collect::<Vec<_>>(), [1, 2, 3]);
        let day = chrono::NaiveDate::from_ymd_opt(2019, 10, 29).expect("date");
        assert!(t.iter().all(|t| t.range.begin == day && t.range.end == day));
        let body = Api::OpsPerformance.spec().body_for(t[1].range, t[1].slot);
        assert_eq!(
            body,
            json!({"cost_time_type": 2, "default_start_time": 1572278400i64,
                   "default_end_time": 1572364799i64, "device": "@_all",
                   "is_download_code": "@_all", "scene": "@_all", "networktype": "@_all"})
        );
    }

    #[test]
    fn the_days_milliseconds_as_seconds_from_a_string_or_an_object() {
        let t = targets();
        let s = samples(
            OpsPerformance
                .collect(&ctx("shop", 20), &t[1], example())
                .unwrap(),
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels, r#"app="shop",kind="download""#);
        assert_eq!(value(&s, Family::MpOpsPerformance, "download"), Some(1.533));
        let mut v = example();
        let inner: serde_json::Value =
            serde_json::from_str(v["default_time_data"].as_str().unwrap()).unwrap();
        v["default_time_data"] = inner;
        let o = samples(OpsPerformance.collect(&ctx("shop", 20), &t[1], v).unwrap());
        assert_eq!(o, s);
    }

    #[test]
    fn zero_is_no_data_skipped_and_counted() {
        let t = targets();
        let body = json!({"default_time_data":
            "{\"list\":[{\"ref_date\":\"20191029\",\"cost_time_type\":1,\"cost_time\":0}]}"});
        match OpsPerformance.collect(&ctx("shop", 20), &t[0], body) {
            Ok(Collected::Partial { samples, skipped }) => {
                assert!(samples.is_empty());
                assert_eq!(skipped.len(), 1);
                assert!(skipped[0].contains("list[0].cost_time: 0"), "{skipped:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_entry_for_the_day_is_not_ready_and_a_bad_shape_is_an_error() {
        let t = targets();
        let other_day = json!({"default_time_data":
            "{\"list\":[{\"ref_date\":\"20191030\",\"cost_time_type\":1,\"cost_time\":900}]}"});
        assert_eq!(
            OpsPerformance.collect(&ctx("shop", 20), &t[0], other_day),
            Ok(Collected::NotReady)
        );
        for bad in [
            json!({"default_time_data": 5}),
            json!({"default_time_data": "{not json"}),
            json!({"default_time_data": "{\"list\":5}"}),
            json!({"errcode": 0}),
            // The day's one entry spoilt, or of another kind.
            json!({"default_time_data": {"list": [{"ref_date": "20191029", "cost_time": "n/a"}]}}),
            json!({"default_time_data": {"list": [
                {"ref_date": "20191029", "cost_time_type": 3, "cost_time": 420}]}}),
        ] {
            assert!(
                OpsPerformance
                    .collect(&ctx("shop", 20), &t[0], bad.clone())
                    .is_err(),
                "{bad}"
            );
        }
    }
}
