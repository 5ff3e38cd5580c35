//! Yesterday's top pages: visits, visitors, stay, entries, exits, shares.
//! WeChat sends the top 200; the app's `page_limit` keeps fewer.

use self::VisitPage as Body;
use super::common::{
    dedup, latest_period, not_ready_unless_skipped, parse, skipped_notes, Collected, Collector,
    Ctx, Plan, ShapeError, Target,
};
use crate::dates::{compact, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::Lenient;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PageRow {
    pub page_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_visit_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_visit_uv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_staytime_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypage_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exitpage_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_share_pv: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_share_uv: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct VisitPage {
    #[serde(default)]
    pub ref_date: Option<String>,
    #[serde(default)]
    pub list: Lenient<PageRow>,
}

pub struct Pages;

impl Collector for Pages {
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
        let mut resp: Body = parse(body)?;
        if resp
            .ref_date
            .as_deref()
            .is_some_and(|d| d != compact(target.range.begin))
        {
            return Ok(Collected::NotReady);
        }
        if resp.list.is_empty() {
            return not_ready_unless_skipped("list", &resp.list);
        }
        let mut skipped = Vec::new();
        skipped_notes("list", &resp.list, &mut skipped);
        // WeChat sorts by visits, but nothing promises it; the limit must
        // keep the busiest pages.
        resp.list.sort_by(|a, b| {
            b.page_visit_pv
                .unwrap_or(0.0)
                .total_cmp(&a.page_visit_pv.unwrap_or(0.0))
        });
        let mut out = Vec::new();
        for row in resp.list.iter().take(ctx.page_limit) {
            let labels = [("app", ctx.app), ("page", row.page_path.as_str())];
            for (f, v) in [
                (Family::MpPageVisits, row.page_visit_pv),
                (Family::MpPageVisitors, row.page_visit_uv),
                (Family::MpPageStayPerVisit, row.page_staytime_pv),
                (Family::MpPageEntries, row.entrypage_pv),
                (Family::MpPageExits, row.exitpage_pv),
                (Family::MpPageShares, row.page_share_pv),
                (Family::MpPageSharers, row.page_share_uv),
            ] {
                if let Some(v) = v {
                    out.push(Sample::new(f, &labels, v));
                }
            }
        }
        Ok(Collected::with_skipped(dedup(out), skipped))
    }
}
