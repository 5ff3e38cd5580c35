//! Official Account interface analysis: how WeChat's callbacks to the
//! account's own server went yesterday (`getinterfacesummary`) and by hour
//! (`getinterfacesummaryhour`). WeChat reports times in milliseconds; they
//! are published in seconds.

use super::common::{dated_rows, Collected, Collector, Ctx, Plan, ShapeError, Target};
use super::common::{hour_label, latest_period};
use crate::dates::Period;
use crate::families::{Family, Sample};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// A row of `getinterfacesummary` and `…hour`. Times are milliseconds.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct InterfaceSummaryRow {
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_hour: Option<f64>,
    #[serde(default)]
    pub callback_count: Option<f64>,
    #[serde(default)]
    pub fail_count: Option<f64>,
    #[serde(default)]
    pub total_time_cost: Option<f64>,
    #[serde(default)]
    pub max_time_cost: Option<f64>,
}

/// The four values of a row (or of the sum of rows), in base units.
fn values(rows: &[InterfaceSummaryRow]) -> [f64; 4] {
    let sum =
        |f: fn(&InterfaceSummaryRow) -> Option<f64>| -> f64 { rows.iter().filter_map(f).sum() };
    let max = rows
        .iter()
        .filter_map(|r| r.max_time_cost)
        .fold(0.0, f64::max);
    [
        sum(|r| r.callback_count),
        sum(|r| r.fail_count),
        sum(|r| r.total_time_cost) / 1000.0,
        max / 1000.0,
    ]
}

/// Yesterday's callbacks, failures and times.
pub struct InterfaceSummary;

impl Collector for InterfaceSummary {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        latest_period(Period::Daily, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some((rows, skipped)) =
            dated_rows::<InterfaceSummaryRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        let labels = [("app", ctx.app)];
        let families = [
            Family::OaCallbacks,
            Family::OaCallbackFailures,
            Family::OaCallbackTime,
            Family::OaCallbackMaxTime,
        ];
        let out = families
            .into_iter()
            .zip(values(&rows))
            .map(|(f, v)| Sample::new(f, &labels, v))
            .collect();
        Ok(Collected::with_skipped(out, skipped))
    }
}

/// The same by Beijing hour of yesterday.
pub struct InterfaceSummaryHour;

impl Collector for InterfaceSummaryHour {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        latest_period(Period::Daily, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let Some((rows, skipped)) =
            dated_rows::<InterfaceSummaryRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        let mut by_hour: BTreeMap<String, Vec<InterfaceSummaryRow>> = BTreeMap::new();
        for r in rows {
            by_hour.entry(hour_label(r.ref_hour)).or_default().push(r);
        }
        let families = [
            Family::OaCallbacksByHour,
            Family::OaCallbackFailuresByHour,
            Family::OaCallbackTimeByHour,
            Family::OaCallbackMaxTimeByHour,
        ];
        let mut out = Vec::with_capacity(by_hour.len() * 4);
        for (hour, rows) in &by_hour {
            let labels = [("app", ctx.app), ("hour", hour.as_str())];
            for (f, v) in families.into_iter().zip(values(rows)) {
                out.push(Sample::new(f, &labels, v));
            }
        }
        Ok(Collected::with_skipped(out, skipped))
    }
}
