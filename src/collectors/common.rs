//! What every collector shares: the [`Collector`] interface, its input
//! ([`Ctx`], [`Target`]) and output ([`Collected`], [`ShapeError`]), and
//! the helpers that parse answers item by item.

use crate::api::Api;
use crate::config::AppConfig;
use crate::dates::DateRange;
use crate::dates::Period;
use crate::families::Sample;
use crate::wechat::types::{excerpt, Lenient};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

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
    /// At most this many articles are published by each per-article API.
    pub article_limit: usize,
    /// What the targets' slots name, for an API whose targets come from
    /// the config: `api_quota`'s paths, `js_errors`' releases ([`slot_names`]).
    pub slot_names: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// The context of an answer of `api` for `app`: the one builder the
    /// poller and backfill share. `cumulate_days` are the days
    /// `getusercumulate` has answered for (see [`released_day`]).
    pub fn new(
        app: &'a AppConfig,
        api: Api,
        cumulate_days: impl IntoIterator<Item = NaiveDate>,
        body: &serde_json::Value,
    ) -> Self {
        Ctx {
            app: &app.name,
            page_limit: app.page_limit,
            article_limit: app.article_limit,
            oa_released_day: released_day(api, cumulate_days, body),
            slot_names: slot_names(app, api),
        }
    }
}

/// What the slots of `api`'s targets name for `app`: the paths of
/// `api_quota` (slot: [`super::api_quota::slot_of`]), the releases of
/// `js_errors` (slot `i` is the `i`-th; 0 is every release); nothing for
/// the others.
pub fn slot_names(app: &AppConfig, api: Api) -> Vec<String> {
    match api {
        Api::ApiQuota => super::quota_paths::paths(app),
        Api::JsErrors => app.js_error_versions.clone(),
        _ => Vec::new(),
    }
}

/// The one "released day" rule: an empty Official Account answer means
/// "nothing happened" only for a day known to be released, which
/// `getusercumulate` (asked first) shows by answering for it, or a row of
/// the same answer dated on it or later. `None` for APIs whose empty
/// answers mean "not ready" ([`released_day_matters`]).
pub fn released_day(
    api: Api,
    cumulate_days: impl IntoIterator<Item = NaiveDate>,
    body: &serde_json::Value,
) -> Option<NaiveDate> {
    if !released_day_matters(api) {
        return None;
    }
    let from_rows = body
        .get("list")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .filter_map(|row| row.get("ref_date")?.as_str())
        .filter_map(crate::dates::parse_dashed)
        .max();
    cumulate_days.into_iter().max().max(from_rows)
}

/// The outcome of one answer.
#[derive(Debug, PartialEq)]
pub enum Collected {
    /// WeChat answered but has not released this period yet.
    NotReady,
    Samples(Vec<Sample>),
    /// Samples of the parts that fit; `skipped` says, per part that did
    /// not, its JSON path, why and what it held.
    Partial {
        samples: Vec<Sample>,
        skipped: Vec<String>,
    },
    /// Samples WeChat says may still change (`is_delay`): published, and
    /// asked for again until final.
    Provisional(Vec<Sample>),
}

impl Collected {
    /// `Samples`, or `Partial` when some part was skipped.
    pub fn with_skipped(samples: Vec<Sample>, skipped: Vec<String>) -> Self {
        if skipped.is_empty() {
            Collected::Samples(samples)
        } else {
            Collected::Partial { samples, skipped }
        }
    }

    /// The samples of an answer that says whether its numbers may still
    /// change (`is_delay`, see [`is_delay`]): provisional ones are asked
    /// for again until final. Skipped parts of a provisional answer are
    /// reported by the final one, which is asked for anyway.
    pub fn settled(samples: Vec<Sample>, skipped: Vec<String>, delayed: bool) -> Self {
        if delayed {
            Collected::Provisional(samples)
        } else {
            Collected::with_skipped(samples, skipped)
        }
    }
}

/// Whether an answer of the 2025 publish analytics says its numbers may
/// still change (`"is_delay": true`).
pub(crate) fn is_delay(body: &serde_json::Value) -> bool {
    body.get("is_delay").and_then(serde_json::Value::as_bool) == Some(true)
}

/// A WeChat answer that does not have the documented shape.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unexpected answer shape at `{path}`: {reason} (near: {excerpt})")]
pub struct ShapeError {
    /// The JSON path of what did not fit, `.` for the whole answer.
    pub path: String,
    pub reason: String,
    pub excerpt: String,
}

/// What a plan may look at: the instant, the app's settings and which of
/// this API's days answered with nothing.
pub struct Plan<'a> {
    pub now: DateTime<Utc>,
    pub api: Api,
    pub app: &'a AppConfig,
    /// Targets of this API whose final answer held nothing (a day nothing
    /// was published): a plan may keep them instead of asking again.
    pub empty: &'a [Target],
}

impl<'a> Plan<'a> {
    /// A plan of `api` for `app` at `now`, knowing nothing fetched yet.
    pub fn new(now: DateTime<Utc>, api: Api, app: &'a AppConfig) -> Self {
        Plan {
            now,
            api,
            app,
            empty: &[],
        }
    }
}

pub trait Collector: Send + Sync {
    /// The calls whose data should be on `/metrics` at `p.now`.
    fn plan(&self, p: &Plan) -> Vec<Target>;
    /// Turns the JSON body of a successful call for `target` into samples.
    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError>;
}

/// Whether an empty answer of `api` is told from an unreleased one by the
/// day `getusercumulate` has shown released (`Ctx::oa_released_day`).
pub fn released_day_matters(api: Api) -> bool {
    api.kind() == crate::api::ApiKind::OfficialAccount && api != Api::UserCumulate
}

/// The collector of `api`, from its row of the API table.
pub fn collector(api: Api) -> &'static dyn Collector {
    api.spec().collector
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

/// One target per slot for today (Beijing): the counts of an operations
/// API, read as they are now (`poll::schedule` asks a period not over
/// yet at once) and again hourly while provisional.
pub(crate) fn today_targets(
    now: DateTime<Utc>,
    slots: impl IntoIterator<Item = u32>,
) -> Vec<Target> {
    day_targets(crate::dates::beijing_date(now), slots)
}

/// One target per slot for the Beijing day `day`.
pub(crate) fn day_targets(day: NaiveDate, slots: impl IntoIterator<Item = u32>) -> Vec<Target> {
    let day = DateRange::day(day);
    slots
        .into_iter()
        .map(|slot| Target {
            slot,
            range: day,
            data_period: day,
        })
        .collect()
}

/// Two numbers of `rows` summed per key, every `known` key starting at 0:
/// WeChat sends no row for a key with nothing to count (that is 0, not
/// missing), and a key can repeat.
pub(crate) fn sum_pairs<R, K: Ord>(
    known: impl IntoIterator<Item = K>,
    rows: impl IntoIterator<Item = R>,
    key: impl Fn(&R) -> K,
    pair: impl Fn(&R) -> (Option<f64>, Option<f64>),
) -> std::collections::BTreeMap<K, (f64, f64)> {
    let mut sums: std::collections::BTreeMap<K, (f64, f64)> =
        known.into_iter().map(|k| (k, (0.0, 0.0))).collect();
    for r in rows {
        let (a, b) = pair(&r);
        let e = sums.entry(key(&r)).or_default();
        e.0 += a.unwrap_or(0.0);
        e.1 += b.unwrap_or(0.0);
    }
    sums
}

/// `hhmm` (0, 100, …, 2300) as a two-digit Beijing hour label.
pub(crate) fn hour_label(ref_hour: Option<f64>) -> String {
    format!("{:02}", (ref_hour.unwrap_or(0.0) / 100.0).floor() as i64)
}

/// Parses a typed body; on failure, says where and what did not fit.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
) -> Result<T, ShapeError> {
    serde_path_to_error::deserialize::<_, T>(&body).map_err(|e| {
        let path = e.path().to_string();
        let near = value_at(&body, e.path()).unwrap_or(&body);
        ShapeError {
            reason: e.inner().to_string(),
            excerpt: excerpt(near),
            path,
        }
    })
}

/// The value at a serde path, when the path exists in `v`.
fn value_at<'a>(
    v: &'a serde_json::Value,
    path: &serde_path_to_error::Path,
) -> Option<&'a serde_json::Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(v, |v, seg| match seg {
        Segment::Seq { index } => v.get(*index),
        Segment::Map { key } => v.get(key.as_str()),
        Segment::Enum { .. } | Segment::Unknown => Some(v),
    })
}

/// Notes for the items of `list` (at JSON path `at`) that were skipped.
pub(crate) fn skipped_notes<T>(at: &str, list: &Lenient<T>, out: &mut Vec<String>) {
    for s in &list.skipped {
        let inner = if s.path == "." {
            String::new()
        } else {
            format!(".{}", s.path)
        };
        out.push(format!(
            "{at}[{}]{inner}: {} (near: {})",
            s.index, s.reason, s.excerpt
        ));
    }
}

/// When the wanted part of an answer is missing and some item of `list`
/// was skipped, the answer did not fit: the first skipped item says how.
pub(crate) fn skipped_error<T>(at: &str, list: &Lenient<T>) -> Option<ShapeError> {
    list.skipped.first().map(|s| ShapeError {
        path: if s.path == "." {
            format!("{at}[{}]", s.index)
        } else {
            format!("{at}[{}].{}", s.index, s.path)
        },
        reason: s.reason.clone(),
        excerpt: s.excerpt.clone(),
    })
}

/// `NotReady`, unless items were skipped: then the answer did not fit.
pub(crate) fn not_ready_unless_skipped<T>(
    at: &str,
    list: &Lenient<T>,
) -> Result<Collected, ShapeError> {
    match skipped_error(at, list) {
        Some(e) => Err(e),
        None => Ok(Collected::NotReady),
    }
}

/// The rows of the asked day, and notes on the items skipped.
pub(crate) type DatedRows<T> = (Vec<T>, Vec<String>);

/// The rows of an Official Account `{"list": [...]}` answer dated on the
/// asked day, and notes on the items skipped; `None` when the answer says
/// "not ready": an empty answer is "nothing happened" only for a period
/// `getusercumulate` has shown released.
pub(crate) fn dated_rows<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    target: &Target,
    body: serde_json::Value,
    date_of: impl Fn(&T) -> &str,
) -> Result<Option<DatedRows<T>>, ShapeError> {
    let resp: crate::wechat::types::ListResponse<T> = parse(body)?;
    let want = crate::dates::dashed(target.range.begin);
    let mut skipped = Vec::new();
    skipped_notes("list", &resp.list, &mut skipped);
    if let Some(e) = skipped_error("list", &resp.list) {
        if !resp.list.iter().any(|r| date_of(r) == want) {
            return Err(e);
        }
    }
    let rows: Vec<T> = resp
        .list
        .into_items()
        .into_iter()
        .filter(|r| date_of(r) == want)
        .collect();
    let released = ctx
        .oa_released_day
        .is_some_and(|d| d >= target.data_period.end);
    if rows.is_empty() && !released {
        return Ok(None);
    }
    Ok(Some((rows, skipped)))
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

/// What the collectors' unit tests share: a one-day target, a context,
/// and a sample lookup.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Ctx, Target};
    use crate::dates::DateRange;
    use crate::families::{Family, Sample};

    /// The target of one day, `yyyy-mm-dd`.
    pub fn day_target(day: &str) -> Target {
        let d = DateRange::day(day.parse().expect("a yyyy-mm-dd date"));
        Target {
            slot: 0,
            range: d,
            data_period: d,
        }
    }

    pub fn ctx(app: &'static str, article_limit: usize) -> Ctx<'static> {
        Ctx {
            app,
            page_limit: 200,
            article_limit,
            oa_released_day: None,
            slot_names: Vec::new(),
        }
    }

    /// An app of `kind` with every default.
    pub fn app(kind: crate::api::AppKind) -> crate::config::AppConfig {
        crate::config::AppConfig::new("app", kind, "wx0000000000000000", Default::default())
    }

    /// The value of the first sample of `f` whose labels contain `labels`.
    pub fn value(s: &[Sample], f: Family, labels: &str) -> Option<f64> {
        s.iter()
            .find(|x| x.family == f && x.labels.contains(labels))
            .map(|x| x.value)
    }
}
