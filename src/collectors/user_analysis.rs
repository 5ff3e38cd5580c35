//! Official Account user analysis: yesterday's follows and unfollows by
//! source (`getusersummary`) and the follower count (`getusercumulate`).
//!
//! `getusersummary` has no row for a source with no change, and no rows at
//! all for a day without follows, which looks exactly like an unreleased
//! day. `getusercumulate` has a row for every released day, so an empty
//! summary counts as zeros only once the cumulate call showed the day.

use super::common::{
    dated_rows, dedup, key_label, latest_period, not_ready_unless_skipped, parse, sum_pairs,
    Collected, Collector, Ctx, Plan, ShapeError, Target,
};
use super::names;
use crate::dates::{dashed, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::ListResponse;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UserSummaryRow {
    pub ref_date: String,
    pub user_source: f64,
    #[serde(default)]
    pub new_user: Option<f64>,
    #[serde(default)]
    pub cancel_user: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct UserCumulateRow {
    pub ref_date: String,
    #[serde(default)]
    pub cumulate_user: Option<f64>,
}

pub struct UserSummary;
pub struct UserCumulate;

impl Collector for UserSummary {
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
            dated_rows::<UserSummaryRow>(ctx, target, body, |r| &r.ref_date)?
        else {
            return Ok(Collected::NotReady);
        };
        let by_source = sum_pairs(
            names::OA_SOURCES.iter().map(|(k, _)| k.to_string()),
            rows,
            |r| key_label(r.user_source),
            |r| (r.new_user, r.cancel_user),
        );
        let mut out = Vec::with_capacity(by_source.len() * 2);
        for (source, (new, cancel)) in &by_source {
            let name = names::oa_source_name(source);
            let labels = [
                ("app", ctx.app),
                ("source", source.as_str()),
                ("source_name", name.as_str()),
            ];
            out.push(Sample::new(Family::OaNewFollowers, &labels, *new));
            out.push(Sample::new(Family::OaUnfollowers, &labels, *cancel));
        }
        Ok(Collected::with_skipped(dedup(out), skipped))
    }
}

impl Collector for UserCumulate {
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
        let resp: ListResponse<UserCumulateRow> = parse(body)?;
        let want = dashed(target.range.begin);
        match resp
            .list
            .iter()
            .find(|r| r.ref_date == want)
            .and_then(|r| r.cumulate_user)
        {
            Some(v) => Ok(Collected::Samples(vec![Sample::new(
                Family::OaFollowers,
                &[("app", ctx.app)],
                v,
            )])),
            None => not_ready_unless_skipped("list", &resp.list),
        }
    }
}
