//! Official Account user analysis: yesterday's follows and unfollows by
//! source (`getusersummary`) and the follower count (`getusercumulate`).
//!
//! `getusersummary` has no row for a source with no change, and no rows at
//! all for a day without follows, which looks exactly like an unreleased
//! day. `getusercumulate` has a row for every released day, so an empty
//! summary counts as zeros only once the cumulate call showed the day.

use super::{
    dated_rows, dedup, key_label, latest_period, names, not_ready_unless_skipped, parse, Collected,
    Collector, Ctx, ShapeError, Target,
};
use crate::dates::{dashed, Period};
use crate::families::{Family, Sample};
use crate::wechat::types::{ListResponse, UserCumulateRow, UserSummaryRow};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

pub struct UserSummary;
pub struct UserCumulate;

impl Collector for UserSummary {
    fn plan(&self, now: DateTime<Utc>) -> Vec<Target> {
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
        // Known sources start at 0; rows add to them (a source can repeat).
        let mut by_source: BTreeMap<String, (f64, f64)> = names::OA_SOURCES
            .iter()
            .map(|(k, _)| (k.to_string(), (0.0, 0.0)))
            .collect();
        for r in rows {
            let e = by_source.entry(key_label(r.user_source)).or_default();
            e.0 += r.new_user.unwrap_or(0.0);
            e.1 += r.cancel_user.unwrap_or(0.0);
        }
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
    fn plan(&self, now: DateTime<Utc>) -> Vec<Target> {
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
