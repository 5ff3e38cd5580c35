//! Daily, weekly and monthly retention of new and active users.
//!
//! WeChat returns only the keys whose period has passed, so offset k is
//! read from the cohort k periods before the latest one (day-7 retention is
//! the cohort of 8 days ago): one call per offset, each its own slot. The
//! ratio divides by key 0 of the same answer, i.e. of the same cohort.

use self::Retention as Body;
use super::common::{
    parse, skipped_error, skipped_notes, Collected, Collector, Ctx, Plan, ShapeError, Target,
};
use crate::dates::{mp_ref_date, DateRange, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::KeyValue;
use crate::wechat::types::Lenient;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Retention {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub visit_uv_new: Lenient<KeyValue>,
    #[serde(default)]
    pub visit_uv: Lenient<KeyValue>,
}

pub struct Retained(pub Period);

impl Collector for Retained {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        let latest = self.0.latest(now);
        self.0
            .retention_offsets()
            .iter()
            .map(|&k| Target {
                slot: k,
                range: self.0.retention_cohort(now, k),
                // The newest period that key k measures is the latest one.
                data_period: latest,
            })
            .collect()
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let resp: Body = parse(body)?;
        if resp
            .ref_date
            .as_deref()
            .is_some_and(|d| d != mp_ref_date(&target.range, self.0))
        {
            return Ok(Collected::NotReady);
        }
        let mut skipped = Vec::new();
        skipped_notes("visit_uv_new", &resp.visit_uv_new, &mut skipped);
        skipped_notes("visit_uv", &resp.visit_uv, &mut skipped);
        let offset = target.slot.to_string();
        let mut out = Vec::with_capacity(4);
        for (cohort, values) in [("new", &resp.visit_uv_new), ("active", &resp.visit_uv)] {
            let (Some(size), Some(kept)) = (value_at(values, 0), value_at(values, target.slot))
            else {
                continue;
            };
            let labels = [
                ("app", ctx.app),
                ("period", self.0.label()),
                ("cohort", cohort),
                ("offset", offset.as_str()),
            ];
            out.push(Sample::new(Family::MpRetainedUsers, &labels, kept));
            if size > 0.0 {
                out.push(Sample::new(Family::MpRetentionRatio, &labels, kept / size));
            }
        }
        if out.is_empty() {
            if let Some(e) = skipped_error("visit_uv_new", &resp.visit_uv_new)
                .or_else(|| skipped_error("visit_uv", &resp.visit_uv))
            {
                return Err(e);
            }
            // The key for this offset has not been released yet.
            return Ok(Collected::NotReady);
        }
        Ok(Collected::with_skipped(out, skipped))
    }
}

fn value_at(values: &[KeyValue], key: u32) -> Option<f64> {
    values
        .iter()
        .find(|kv| kv.key == key as f64)
        .map(|kv| kv.value)
}

/// The cohort whose key `offset` is measured in `latest`.
pub fn cohort_for(latest: DateRange, period: Period, offset: u32) -> DateRange {
    latest.shift(-(offset as i32), period)
}
