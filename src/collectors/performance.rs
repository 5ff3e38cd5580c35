//! Mini Program performance (`/wxa/business/performance/boot`,
//! getPerformanceData): one API row per module, each answer a list of
//! indicator tables whose lines hold one `{refdate, value}` per day, values
//! in strings. One call per module and day asks for yesterday over the
//! whole population (every param `-1`, slot 0), published with the
//! dimension labels at `all`; an app's `performance.dimensions` add one
//! call (one slot) per value of each listed dimension. Values are
//! converted to base units where the module's unit is known (see
//! docs/metrics.md).

use super::common::latest_period;
use super::common::Target;
use super::common::{
    dedup, parse, skipped_error, skipped_notes, Collected, Collector, Ctx, Plan, ShapeError,
};
use crate::api::Api;
use crate::dates::{compact, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::excerpt;
use crate::wechat::types::Lenient;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// The answer's types (the simulator serialises the same ones).

/// The answer of `/wxa/business/performance/boot` (getPerformanceData):
/// `data.body.tables[].lines[].fields[]`. The docs show `data` as an
/// object; some WeChat APIs send such a part as a JSON-encoded string, so
/// both are read.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceResponse {
    #[serde(deserialize_with = "object_or_json_string")]
    pub data: PerformanceData,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceData {
    pub body: PerformanceBody,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceBody {
    #[serde(default)]
    pub tables: Lenient<PerformanceTable>,
    /// The number of tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
}

/// One indicator (`id`, e.g. `memory`) with its Chinese name (`zh`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceTable {
    pub id: String,
    #[serde(default)]
    pub lines: Lenient<PerformanceLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceLine {
    #[serde(default)]
    pub fields: Lenient<PerformanceField>,
}

/// One day's value: `refdate` is `yyyymmdd`, `value` a number in a string
/// (`"70.7778"`); a bare number is read too.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PerformanceField {
    pub refdate: String,
    #[serde(
        deserialize_with = "number_in_string",
        serialize_with = "number_as_string"
    )]
    pub value: f64,
}

/// An object, or the same object encoded as a JSON string.
pub(super) fn object_or_json_string<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => serde_json::from_str(&s).map_err(D::Error::custom),
        v @ serde_json::Value::Object(_) => serde_json::from_value(v).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "expected an object or a JSON string, found {}",
            excerpt(&other)
        ))),
    }
}

/// A finite number, sent as a string (`"314"`) or as a number.
pub(super) fn number_in_string<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::de::Error;
    let v = match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    };
    v.filter(|x| x.is_finite())
        .ok_or_else(|| D::Error::custom("expected a number or a number in a string"))
}

fn number_as_string<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

/// The collector of one module, by the family it publishes.
pub struct Performance(pub Family);

/// A value of the module in the family's unit. Divisions, not
/// multiplications by 0.001, so that `1250` ms is exactly `1.25` s.
pub fn to_unit(family: Family, v: f64) -> f64 {
    match family {
        // "打开率": a percentage, as the Mini Program Assistant shows it.
        Family::MpPerfOpenRatio => v / 100.0,
        // Times in milliseconds, like every WeChat performance time.
        Family::MpPerfLaunch | Family::MpPerfPageSwitch => v / 1000.0,
        // Memory in MB (the docs' example: 内存均值 "314").
        Family::MpPerfMemory => v * 1_048_576.0,
        _ => v,
    }
}

/// The name a family shipped under before it was renamed, still
/// published for one release.
fn deprecated_name(family: Family) -> Option<Family> {
    match family {
        Family::MpPerfMemoryAnomalyRate => Some(Family::MpPerfMemoryAnomaly),
        _ => None,
    }
}

/// The documented `params` fields, in label order.
pub const DIMENSIONS: [&str; 3] = ["networktype", "device_level", "device"];

/// The slots of a breakdown: (slot, field, value sent, label value). Slot 0
/// is the whole population. The page: `networktype` `3g`, `4g`, `wifi`;
/// `device_level` 1 high-end, 2 mid-range, 3 low-end; `device` 1 iOS, 2
/// Android.
pub const SLOTS: [(u32, &str, &str, &str); 8] = [
    (1, "networktype", "3g", "3g"),
    (2, "networktype", "4g", "4g"),
    (3, "networktype", "wifi", "wifi"),
    (4, "device_level", "1", "high"),
    (5, "device_level", "2", "mid"),
    (6, "device_level", "3", "low"),
    (7, "device", "1", "ios"),
    (8, "device", "2", "android"),
];

/// The `(field, value)` a slot sets, `None` for slot 0 (everyone).
pub fn slot_param(slot: u32) -> Option<(&'static str, &'static str)> {
    SLOTS
        .iter()
        .find(|s| s.0 == slot)
        .map(|(_, field, value, _)| (*field, *value))
}

/// The dimension labels of a slot: `all` but for the slot's dimension.
fn labels_of(slot: u32) -> [(&'static str, &'static str); 3] {
    let mut out = DIMENSIONS.map(|d| (d, "all"));
    if let Some((_, field, _, label)) = SLOTS.iter().find(|s| s.0 == slot) {
        for l in out.iter_mut().filter(|l| l.0 == *field) {
            l.1 = label;
        }
    }
    out
}

/// Whether module `api` takes `field`: `networktype` only 10016 and 10017
/// ("params字段可传入网络类型和机型"); the device fields every module.
pub fn takes(api: Api, field: &str) -> bool {
    match api.spec().request {
        crate::api::Request::Performance { networktype, .. } => {
            field != "networktype" || networktype
        }
        crate::api::Request::Dates
        | crate::api::Request::Latest { .. }
        | crate::api::Request::Quota
        | crate::api::Request::Feedback
        | crate::api::Request::JsErrors
        | crate::api::Request::OpsPerformance => false,
    }
}

/// `plan` for an app: for a performance API, each whole-population target
/// plus one per value of each of `dimensions` the module takes; other
/// APIs' plans unchanged.
pub fn with_dimensions(api: Api, dimensions: &[String], plan: Vec<Target>) -> Vec<Target> {
    if dimensions.is_empty() || api.spec().module().is_none() {
        return plan;
    }
    let mut out = Vec::with_capacity(plan.len() * (1 + SLOTS.len()));
    for t in plan {
        out.push(t);
        for (slot, field, _, _) in SLOTS {
            if dimensions.iter().any(|d| d == field) && takes(api, field) {
                out.push(Target { slot, ..t });
            }
        }
    }
    out
}

impl Collector for Performance {
    /// The whole population of yesterday, and one target per value of
    /// each of the app's `performance.dimensions` the module takes.
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let dims = &p.app.performance.dimensions;
        with_dimensions(p.api, dims, latest_period(Period::Daily, p.now))
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let resp: PerformanceResponse = parse(body)?;
        let tables = &resp.data.body.tables;
        let want = compact(target.range.begin);
        let mut skipped = Vec::new();
        skipped_notes("data.body.tables", tables, &mut skipped);
        let mut first_error = skipped_error("data.body.tables", tables);
        let mut out = Vec::new();
        for (ti, table) in tables.indexed() {
            let at = format!("data.body.tables[{ti}].lines");
            skipped_notes(&at, &table.lines, &mut skipped);
            first_error = first_error.or_else(|| skipped_error(&at, &table.lines));
            for (li, line) in table.lines.indexed() {
                let at = format!("data.body.tables[{ti}].lines[{li}].fields");
                skipped_notes(&at, &line.fields, &mut skipped);
                first_error = first_error.or_else(|| skipped_error(&at, &line.fields));
                for f in line.fields.iter().filter(|f| f.refdate == want) {
                    let mut labels = vec![("app", ctx.app), ("table", table.id.as_str())];
                    labels.extend(labels_of(target.slot));
                    let v = to_unit(self.0, f.value);
                    out.push(Sample::new(self.0, &labels, v));
                    if let Some(old) = deprecated_name(self.0) {
                        out.push(Sample::new(old, &labels, v));
                    }
                }
            }
        }
        if out.is_empty() {
            return match first_error {
                Some(e) => Err(e),
                None => Ok(Collected::NotReady),
            };
        }
        Ok(Collected::with_skipped(dedup(out), skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::DateRange;
    use chrono::NaiveDate;
    use serde_json::json;

    fn target() -> Target {
        let d = NaiveDate::from_ymd_opt(2021, 1, 3).unwrap();
        Target {
            slot: 0,
            range: DateRange::day(d),
            data_period: DateRange::day(d),
        }
    }

    fn ctx() -> Ctx<'static> {
        crate::collectors::common::fixtures::ctx("shop", 20)
    }

    /// The docs' example answer (module 10022).
    fn example() -> serde_json::Value {
        json!({"errcode": 0, "errmsg": "ok", "data": {"body": {"tables": [
            {"id": "memorydiff", "zh": "内存增长均值", "lines": [{"fields": [
                {"refdate": "20210103", "value": "70.7778"},
                {"refdate": "20210104", "value": "72.0446"}]}]},
            {"id": "memory", "zh": "内存均值", "lines": [{"fields": [
                {"refdate": "20210103", "value": "314"},
                {"refdate": "20210104", "value": "302.3218"}]}]}
        ], "count": 2}}})
    }

    fn values(c: Collected) -> Vec<(String, f64)> {
        let samples = match c {
            Collected::Samples(s) | Collected::Partial { samples: s, .. } => s,
            other => panic!("no samples: {other:?}"),
        };
        samples.into_iter().map(|s| (s.labels, s.value)).collect()
    }

    #[test]
    fn string_values_of_the_asked_day_in_base_units() {
        let c = Performance(Family::MpPerfMemory)
            .collect(&ctx(), &target(), example())
            .unwrap();
        let mb = 1_048_576.0;
        assert_eq!(
            values(c),
            vec![
                (
                    r#"app="shop",table="memorydiff",networktype="all",device_level="all",device="all""#.to_string(),
                    70.7778 * mb
                ),
                (
                    r#"app="shop",table="memory",networktype="all",device_level="all",device="all""#.to_string(),
                    314.0 * mb
                ),
            ]
        );
    }

    #[test]
    fn data_as_a_json_string_reads_the_same() {
        let mut v = example();
        let data = v["data"].to_string();
        v["data"] = json!(data);
        let c = Performance(Family::MpPerfMemory);
        assert_eq!(
            values(c.collect(&ctx(), &target(), v).unwrap()),
            values(c.collect(&ctx(), &target(), example()).unwrap())
        );
    }

    #[test]
    fn milliseconds_and_percent() {
        let body = json!({"data": {"body": {"tables": [{"id": "t", "lines": [{"fields": [
            {"refdate": "20210103", "value": "1250"}]}]}]}}});
        let s = values(
            Performance(Family::MpPerfLaunch)
                .collect(&ctx(), &target(), body.clone())
                .unwrap(),
        );
        assert_eq!(s[0].1, 1.25);
        let s = values(
            Performance(Family::MpPerfOpenRatio)
                .collect(&ctx(), &target(), body)
                .unwrap(),
        );
        assert_eq!(s[0].1, 12.5);
    }

    #[test]
    fn a_bad_value_costs_that_value_alone() {
        let mut v = example();
        v["data"]["body"]["tables"][0]["lines"][0]["fields"][0]["value"] = json!("n/a");
        match Performance(Family::MpPerfMemory)
            .collect(&ctx(), &target(), v)
            .unwrap()
        {
            Collected::Partial { samples, skipped } => {
                assert_eq!(samples.len(), 1);
                assert!(samples[0].labels.contains(r#"table="memory""#));
                assert_eq!(skipped.len(), 1);
                assert!(
                    skipped[0].starts_with("data.body.tables[0].lines[0].fields[0]"),
                    "{skipped:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_table_without_an_id_keeps_the_others() {
        let mut v = example();
        v["data"]["body"]["tables"][0] = json!({"lines": 5});
        let c = Performance(Family::MpPerfMemory)
            .collect(&ctx(), &target(), v)
            .unwrap();
        assert!(matches!(c, Collected::Partial { ref samples, .. } if samples.len() == 1));
    }

    #[test]
    fn a_slot_labels_its_dimension_and_plans_only_what_the_module_takes() {
        let mut t = target();
        t.slot = 5;
        let c = Performance(Family::MpPerfMemory)
            .collect(&ctx(), &t, example())
            .unwrap();
        assert!(values(c)[0]
            .0
            .ends_with(r#"networktype="all",device_level="mid",device="all""#));
        let dims = vec!["networktype".to_string(), "device".to_string()];
        let slots = |api| -> Vec<u32> {
            with_dimensions(api, &dims, vec![target()])
                .iter()
                .map(|t| t.slot)
                .collect()
        };
        assert_eq!(slots(Api::PerformanceLaunch), [0, 1, 2, 3, 7, 8]);
        assert_eq!(slots(Api::PerformanceMemory), [0, 7, 8]);
        assert_eq!(slots(Api::DailySummary), [0]);
        assert_eq!(slot_param(4), Some(("device_level", "1")));
        assert_eq!(slot_param(0), None);
    }

    #[test]
    fn no_value_for_the_day_is_not_ready_and_a_wrong_shape_is_an_error() {
        let empty = json!({"data": {"body": {"tables": [], "count": 0}}});
        assert_eq!(
            Performance(Family::MpPerfMemory).collect(&ctx(), &target(), empty),
            Ok(Collected::NotReady)
        );
        for bad in [json!({"data": 5}), json!({"data": "{not json"}), json!({})] {
            assert!(Performance(Family::MpPerfMemory)
                .collect(&ctx(), &target(), bad)
                .is_err());
        }
        // Every value of the day spoiled: an error, not "not ready".
        let mut v = example();
        for t in 0..2 {
            v["data"]["body"]["tables"][t]["lines"][0]["fields"][0]["value"] = json!([]);
        }
        assert!(Performance(Family::MpPerfMemory)
            .collect(&ctx(), &target(), v)
            .is_err());
    }
}
