//! The simulator's `getPerformance` (`POST /wxaapi/log/get_performance`):
//! one entry per released Beijing day of the asked range, for one
//! `cost_time_type`. The numbers are the datacube 10017 module's tables
//! `launch`, `download` and `firstrender` of the same app and day (the
//! whole population): real WeChat shows both from one source (We分析),
//! and the tests hold the exporter's two families to that.
//!
//! [`answer`] builds `default_time_data` as an object; the server encodes
//! it as the JSON string WeChat sends once the faults had their say.
//!
//! Validation (the page lists no errors; the simulator's choice):
//! `cost_time_type` 1–3, `default_start_time` and `default_end_time`
//! numbers with start ≤ end, and the four filters (`device`,
//! `is_download_code`, `scene`, `networktype`) present as strings;
//! otherwise 47001.

use super::data::{performance_tables, Gen};
use super::types::SimApp;
use crate::collectors::ops_performance::CostTime;
use crate::dates::{beijing_date, compact, DateRange};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

/// The 10017 table of each `cost_time_type`.
const TABLES: [(u32, &str); 3] = [(1, "launch"), (2, "download"), (3, "firstrender")];

/// The filters every call carries (`"@_all"` or a value).
const FILTERS: [&str; 4] = ["device", "is_download_code", "scene", "networktype"];

/// The milliseconds served for `kind` (1–3) on `day`: the 10017 table's
/// value of that day.
pub(crate) fn cost_time(gen: &Gen, kind: u32, day: NaiveDate) -> Option<f64> {
    let (_, id) = TABLES.iter().find(|(k, _)| *k == kind)?;
    let table = performance_tables("10017")
        .iter()
        .position(|(t, _, _)| t == id)?;
    gen.performance_value(day, "10017", table, &[])?
        .parse()
        .ok()
}

/// The kind and the Beijing days a call asks for, or 47001.
fn request(obj: &Map<String, Value>) -> Result<(u32, DateRange), i64> {
    let kind = obj
        .get("cost_time_type")
        .and_then(Value::as_u64)
        .filter(|k| (1..=3).contains(k))
        .ok_or(47001)?;
    let at = |k: &str| {
        obj.get(k)
            .and_then(Value::as_i64)
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
            .ok_or(47001)
    };
    let (begin, end) = (at("default_start_time")?, at("default_end_time")?);
    if begin > end
        || FILTERS
            .iter()
            .any(|f| !obj.get(*f).is_some_and(Value::is_string))
    {
        return Err(47001);
    }
    let range = DateRange {
        begin: beijing_date(begin),
        end: beijing_date(end),
    };
    Ok((kind as u32, range))
}

/// The answer of `seed`'s simulator to a call of `app` with body `json`,
/// `last` the newest released day; every `cost_time` 0 for an app with
/// `ops_zero`.
pub(crate) fn answer(
    seed: u64,
    app: &SimApp,
    json: Option<&Value>,
    last: NaiveDate,
) -> Result<Value, i64> {
    let (gen, zero) = (Gen::new(seed, &app.appid, app.scale), app.ops_zero);
    let obj = json.and_then(Value::as_object).ok_or(47001)?;
    let (kind, range) = request(obj)?;
    let list: Vec<CostTime> = range
        .begin
        .iter_days()
        .take_while(|d| *d <= range.end && *d <= last)
        .filter_map(|d| {
            Some(CostTime {
                ref_date: compact(d),
                cost_time_type: Some(kind),
                cost_time: if zero { 0.0 } else { cost_time(&gen, kind, d)? },
            })
        })
        .collect();
    Ok(json!({
        "errcode": 0,
        "default_time_data": {"list": list},
        "compare_time_data": "",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: Value, start: Value, drop: Option<&str>) -> Value {
        let mut b = json!({"cost_time_type": kind, "default_start_time": start,
            "default_end_time": 1572364799i64, "device": "@_all",
            "is_download_code": "@_all", "scene": "@_all", "networktype": "@_all"});
        if let Some(f) = drop {
            b.as_object_mut().map(|m| m.remove(f));
        }
        b
    }

    #[test]
    fn one_entry_per_released_day_with_the_datacube_value() {
        let app = SimApp::new("wxsim", "s", crate::api::AppKind::Miniprogram);
        let g = Gen::new(7, "wxsim", 1.0);
        let last = NaiveDate::from_ymd_opt(2019, 10, 29).unwrap();
        // 28 and 29 October (Beijing), and nothing past the released day.
        let b = body(json!(2), json!(1572192000i64), None);
        let a = answer(7, &app, Some(&b), last).unwrap();
        let list = a["default_time_data"]["list"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1]["ref_date"], "20191029");
        let served = g
            .performance_value(last, "10017", 1, &[])
            .and_then(|v| v.parse::<f64>().ok());
        assert_eq!(list[1]["cost_time"].as_f64(), served);
        let zero_app = SimApp {
            ops_zero: true,
            ..app.clone()
        };
        let zero = answer(7, &zero_app, Some(&b), last).unwrap();
        assert_eq!(zero["default_time_data"]["list"][1]["cost_time"], 0.0);
        let early = answer(7, &app, Some(&b), last - chrono::Duration::days(2)).unwrap();
        assert_eq!(early["default_time_data"]["list"], json!([]));
    }

    #[test]
    fn a_bad_body_is_47001() {
        let app = SimApp::new("wxsim", "s", crate::api::AppKind::Miniprogram);
        let last = NaiveDate::from_ymd_opt(2019, 10, 29).unwrap();
        let start = json!(1572192000i64);
        for b in [
            body(json!(0), start.clone(), None),
            body(json!(4), start.clone(), None),
            body(json!("1"), start.clone(), None),
            body(json!(1), json!("1572192000"), None),
            body(json!(1), json!(1572364800i64), None),
            body(json!(1), start.clone(), Some("scene")),
            body(json!(1), start.clone(), Some("default_end_time")),
        ] {
            assert_eq!(answer(7, &app, Some(&b), last), Err(47001), "{b}");
        }
        assert_eq!(answer(7, &app, None, last), Err(47001));
    }
}
