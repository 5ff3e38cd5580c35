//! Daily, weekly and monthly visit trend: opens, visits, visitors, new
//! visitors, stay and depth of the latest complete period.

use super::common::{
    latest_period, not_ready_unless_skipped, parse, Collected, Collector, Ctx, Plan, ShapeError,
    Target,
};
use crate::dates::{mp_ref_date, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::ListResponse;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitTrendRow {
    pub ref_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_cnt: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_uv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_uv_new: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_time_uv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_time_session: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_depth: Option<f64>,
}

pub struct VisitTrend(pub Period);

impl Collector for VisitTrend {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        latest_period(self.0, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let resp: ListResponse<VisitTrendRow> = parse(body)?;
        let want = mp_ref_date(&target.range, self.0);
        // Rows of other dates have been seen; only the asked one counts.
        let Some(row) = resp.list.iter().find(|r| r.ref_date == want) else {
            return not_ready_unless_skipped("list", &resp.list);
        };
        let labels = [("app", ctx.app), ("period", self.0.label())];
        let fields = [
            (Family::MpSessions, row.session_cnt),
            (Family::MpVisits, row.visit_pv),
            (Family::MpVisitors, row.visit_uv),
            (Family::MpNewVisitors, row.visit_uv_new),
            (Family::MpStayPerVisitor, row.stay_time_uv),
            (Family::MpStayPerSession, row.stay_time_session),
            (Family::MpVisitDepth, row.visit_depth),
        ];
        // A missing field is an absent series, never 0.
        Ok(Collected::Samples(
            fields
                .into_iter()
                .filter_map(|(f, v)| v.map(|v| Sample::new(f, &labels, v)))
                .collect(),
        ))
    }
}
