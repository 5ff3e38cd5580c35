//! One collector per WeChat API family, each in its own file, behind one
//! small interface: which periods it needs at a given instant (`plan`), and
//! how one answer becomes samples (`collect`). Scheduling, retries and
//! state live in the poller; collectors are pure functions of their input.

use crate::dates::{DateRange, Period};
use crate::families::Sample;
use crate::wechat::api::Api;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub mod daily_summary;
pub mod names;
pub mod retention;
pub mod user_analysis;
pub mod user_portrait;
pub mod visit_distribution;
pub mod visit_page;
pub mod visit_trend;

/// One call's worth of data to publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// Which published slot this fills: the retention offset, the portrait
    /// window in days, 0 where an API publishes one period.
    pub slot: u32,
    /// The `begin_date`..`end_date` of the call.
    pub range: DateRange,
    /// The day, week or month the published values belong to; its end
    /// decides when WeChat releases the data.
    pub data_period: DateRange,
}

/// What a collector needs to know about the app.
pub struct Ctx<'a> {
    pub app: &'a str,
    /// At most this many pages of `visit_page` are published.
    pub page_limit: usize,
    /// For Official Accounts: the latest day `getusercumulate` has shown to be
    /// released, which tells an empty `getusersummary` (no follows) from an
    /// unreleased one.
    pub oa_released_day: Option<NaiveDate>,
}

/// The outcome of one answer.
#[derive(Debug, PartialEq)]
pub enum Collected {
    /// WeChat answered but has not released this period yet.
    NotReady,
    Samples(Vec<Sample>),
}

/// A WeChat answer that does not have the documented shape.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unexpected answer shape: {0}")]
pub struct ShapeError(pub String);

pub trait Collector: Send + Sync {
    /// The calls whose data should be on `/metrics` at `now`.
    fn plan(&self, now: DateTime<Utc>) -> Vec<Target>;
    /// Turns the JSON body of a successful call for `target` into samples.
    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError>;
}

/// The collector of `api`.
pub fn collector(api: Api) -> &'static dyn Collector {
    match api {
        Api::DailySummary => &daily_summary::DailySummary,
        Api::DailyVisitTrend => &visit_trend::VisitTrend(Period::Daily),
        Api::WeeklyVisitTrend => &visit_trend::VisitTrend(Period::Weekly),
        Api::MonthlyVisitTrend => &visit_trend::VisitTrend(Period::Monthly),
        Api::VisitDistribution => &visit_distribution::VisitDistribution,
        Api::DailyRetention => &retention::Retention(Period::Daily),
        Api::WeeklyRetention => &retention::Retention(Period::Weekly),
        Api::MonthlyRetention => &retention::Retention(Period::Monthly),
        Api::VisitPage => &visit_page::VisitPage,
        Api::UserPortrait => &user_portrait::UserPortrait,
        Api::UserSummary => &user_analysis::UserSummary,
        Api::UserCumulate => &user_analysis::UserCumulate,
    }
}

/// The single target of an API that publishes the latest period only.
pub(crate) fn latest_period(period: Period, now: DateTime<Utc>) -> Vec<Target> {
    let range = period.latest(now);
    vec![Target {
        slot: 0,
        range,
        data_period: range,
    }]
}

/// Parses a typed body, naming the API on failure.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
) -> Result<T, ShapeError> {
    serde_json::from_value(body).map_err(|e| ShapeError(e.to_string()))
}

/// Drops repeated label sets, keeping the first: a duplicate series would
/// make Prometheus reject the whole scrape.
pub(crate) fn dedup(mut samples: Vec<Sample>) -> Vec<Sample> {
    let mut seen = HashSet::with_capacity(samples.len());
    samples.retain(|s| seen.insert((s.family, s.labels.clone())));
    samples
}

/// Formats an opaque numeric key (scene, bucket, source) as a label value.
pub(crate) fn key_label(k: f64) -> String {
    if k.fract() == 0.0 && k.abs() < 1e15 {
        format!("{}", k as i64)
    } else {
        format!("{k}")
    }
}
