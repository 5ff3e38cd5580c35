//! Daily summary: cumulative visitors, shares and sharers of yesterday.

use super::common::{
    latest_period, not_ready_unless_skipped, parse, Collected, Collector, Ctx, Plan, ShapeError,
    Target,
};
use crate::dates::{compact, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::ListResponse;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DailySummaryRow {
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_uv: Option<f64>,
}

pub struct DailySummary;

impl Collector for DailySummary {
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
        let resp: ListResponse<DailySummaryRow> = parse(body)?;
        let want = compact(target.range.begin);
        let Some(row) = resp.list.iter().find(|r| r.ref_date == want) else {
            return not_ready_unless_skipped("list", &resp.list);
        };
        let app = [("app", ctx.app)];
        let daily = [("app", ctx.app), ("period", "daily")];
        let mut out = Vec::with_capacity(3);
        if let Some(v) = row.visit_total {
            out.push(Sample::new(Family::MpCumulativeVisitors, &app, v));
        }
        if let Some(v) = row.share_pv {
            out.push(Sample::new(Family::MpShares, &daily, v));
        }
        if let Some(v) = row.share_uv {
            out.push(Sample::new(Family::MpSharers, &daily, v));
        }
        Ok(Collected::Samples(out))
    }
}
