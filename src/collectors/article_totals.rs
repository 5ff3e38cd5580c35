//! Official Account publish analytics (2025): every article published in
//! the last 30 days with its numbers summed from publication to yesterday
//! (`getarticletotaldetail`).
//!
//! WeChat answers only a one-day range, the **publish date**
//! (`begin_date` = `end_date`), with a `detail_list` entry for every day
//! since then (at most 30): its doc page says any range up to 30 days,
//! but real answers refuse more than one day ("dataRange error"), see
//! docs/wechat-quirks.md. So the plan is one call per publish date of the
//! last 30 days, each asking for the numbers as of yesterday, and a day
//! that answered "nothing published" is never asked again: calls per day
//! are 1 + the number of days among the previous 29 with articles (30 on
//! the first start). Each article's newest `stat_date` is published, for
//! the `article_limit` articles of each publish date with the most readers
//! (ties by `msgid`).

use super::article_daily::top;
use super::article_daily::ReadSource;
use super::common::{
    dedup, is_delay, parse, skipped_notes, Collected, Collector, Ctx, Plan, ShapeError, Target,
};
use crate::dates::{beijing_midnight, dashed, latest_day, DateRange};
use crate::families::{Family, Sample};
use crate::wechat::types::no_items;
use crate::wechat::types::Lenient;
use crate::wechat::types::ListResponse;
use chrono::{Datelike, Duration, NaiveDate};

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// One `detail_list` entry of `getarticletotaldetail`: the article's
/// numbers summed from its publication to `stat_date`. Every number is
/// kept (`fields`): the documented ones get their own families.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleTotalStat {
    pub stat_date: String,
    #[serde(default, skip_serializing_if = "no_items")]
    pub read_user_source: Lenient<ReadSource>,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A row of `getarticletotaldetail`: one article published on `ref_date`.
/// `publish_type` is documented as 0 or 1, but 2 occurs: kept a number.
/// `title` and `content_url` are in answers since 2026-03 (and in SDKs'
/// copies of the page), not in older ones: both optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleTotalRow {
    pub ref_date: String,
    pub msgid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_type: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_url: Option<String>,
    #[serde(default)]
    pub detail_list: Lenient<ArticleTotalStat>,
}

/// How far back articles still gain numbers: WeChat's `detail_list` runs
/// at most 30 days from the publish date.
pub const WINDOW_DAYS: i64 = 30;

/// The documented numbers of a `detail_list` entry, their families, and
/// the factor to the family's unit.
const KNOWN: [(&str, Family, f64); 10] = [
    ("read_user", Family::OaArticleCumulativeReaders, 1.0),
    ("share_user", Family::OaArticleCumulativeSharers, 1.0),
    ("like_user", Family::OaArticleCumulativeLikes, 1.0),
    ("zaikan_user", Family::OaArticleCumulativeHearts, 1.0),
    ("comment_count", Family::OaArticleCumulativeComments, 1.0),
    (
        "collection_user",
        Family::OaArticleCumulativeCollections,
        1.0,
    ),
    (
        "read_finish_rate",
        Family::OaArticleCumulativeReadFinishRatio,
        1.0,
    ),
    (
        "read_delivery_rate",
        Family::OaArticleCumulativeReadDeliveryRatio,
        1.0,
    ),
    // "赞赏金额，单位分": fen, 1/100 yuan.
    ("praise_money", Family::OaArticleCumulativePraiseYuan, 0.01),
    // "平均阅读时长，单位(min)".
    (
        "read_avg_activetime",
        Family::OaArticleCumulativeReadDurationAverage,
        60.0,
    ),
];

/// Numbers that have a family of their own and still appear, as sent,
/// under `…_cumulative_detail{field}` for one release (deprecated).
const DEPRECATED_DETAIL: [&str; 2] = ["praise_money", "read_avg_activetime"];

/// The slot of a publish date: `yyyymmdd`.
pub fn slot_of(d: NaiveDate) -> u32 {
    d.year().max(0) as u32 * 10_000 + d.month() * 100 + d.day()
}

pub struct ArticleTotals;

impl Collector for ArticleTotals {
    /// Per publish date of the last 30 days: the call for its totals as
    /// of yesterday, or, for a date that answered "nothing published",
    /// that answer (held, so not asked again).
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let y = latest_day(p.now);
        let since = p.api.spec().data_since();
        (0..WINDOW_DAYS)
            .map(|back| y - Duration::days(back))
            .filter(|d| since.map_or(true, |s| *d >= s))
            .map(|d| {
                let slot = slot_of(d);
                p.empty
                    .iter()
                    .find(|t| t.slot == slot)
                    .copied()
                    .unwrap_or(Target {
                        slot,
                        range: DateRange::day(d),
                        // The published numbers are as of yesterday.
                        data_period: DateRange::day(y),
                    })
            })
            .collect()
    }

    fn collect(
        &self,
        ctx: &Ctx,
        target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let delayed = is_delay(&body);
        let resp: ListResponse<ArticleTotalRow> = parse(body)?;
        let mut skipped = Vec::new();
        skipped_notes("list", &resp.list, &mut skipped);
        let latest = newest_entries(&resp.list, &mut skipped);
        if latest.is_empty() {
            // Nothing published that day, once the day is known released;
            // before, WeChat may answer an empty list for "not yet".
            let day = target.range.end;
            // Final even if `is_delay`: late numbers do not add articles.
            return Ok(if ctx.oa_released_day.is_some_and(|r| r >= day) {
                Collected::with_skipped(Vec::new(), skipped)
            } else {
                Collected::NotReady
            });
        }
        // An answer whose articles all stop before the asked day is an
        // older state than asked for: that day is not released yet.
        let want = dashed(target.data_period.end);
        if !latest.iter().any(|(_, s)| s.stat_date == want) {
            return Ok(Collected::NotReady);
        }
        let readers = |(_, s): &(ArticleTotalRow, ArticleTotalStat)| {
            s.fields
                .get("read_user")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0)
        };
        let latest = top(latest, ctx.article_limit, readers, |(r, _)| &r.msgid);
        let mut out = Vec::new();
        for (row, stat) in &latest {
            article_samples(ctx.app, row, stat, &mut out);
        }
        Ok(Collected::settled(dedup(out), skipped, delayed))
    }
}

/// Each article with its newest `detail_list` entry.
fn newest_entries(
    list: &Lenient<ArticleTotalRow>,
    skipped: &mut Vec<String>,
) -> Vec<(ArticleTotalRow, ArticleTotalStat)> {
    let mut latest = Vec::new();
    for (i, mut row) in list.indexed().map(|(i, r)| (i, r.clone())) {
        skipped_notes(&format!("list[{i}].detail_list"), &row.detail_list, skipped);
        let newest = std::mem::take(&mut row.detail_list)
            .into_items()
            .into_iter()
            .max_by(|a, b| a.stat_date.cmp(&b.stat_date));
        if let Some(stat) = newest {
            latest.push((row, stat));
        }
    }
    latest
}

/// One article's series.
fn article_samples(
    app: &str,
    row: &ArticleTotalRow,
    stat: &ArticleTotalStat,
    out: &mut Vec<Sample>,
) {
    let msgid = row.msgid.as_str();
    let labels = [("app", app), ("msgid", msgid)];
    for (field, family, factor) in KNOWN {
        if let Some(v) = stat.fields.get(field).and_then(serde_json::Value::as_f64) {
            out.push(Sample::new(family, &labels, v * factor));
        }
    }
    for (field, v) in &stat.fields {
        let known = KNOWN.iter().any(|(k, _, _)| k == field);
        if known && !DEPRECATED_DETAIL.contains(&field.as_str()) {
            continue;
        }
        if let Some(v) = v.as_f64() {
            let labels = [("app", app), ("msgid", msgid), ("field", field)];
            out.push(Sample::new(Family::OaArticleCumulativeDetail, &labels, v));
        }
    }
    // Documented 0 or 1; 2 occurs in real answers: kept a number.
    if let Some(t) = row.publish_type {
        let labels = [("app", app), ("msgid", msgid), ("field", "publish_type")];
        out.push(Sample::new(Family::OaArticleCumulativeDetail, &labels, t));
    }
    let day = row.ref_date.parse::<NaiveDate>().ok();
    if let Some(day) = day {
        let at = beijing_midnight(day).timestamp() as f64;
        out.push(Sample::new(
            Family::OaArticlePublishedTimestamp,
            &labels,
            at,
        ));
    }
    if let Some(title) = row.title.as_deref().filter(|t| !t.trim().is_empty()) {
        let published = day.map(dashed).unwrap_or_default();
        let title = super::published_articles::short_title(title);
        let labels = [
            ("app", app),
            ("msgid", msgid),
            ("title", title.as_str()),
            ("published", published.as_str()),
        ];
        out.push(Sample::new(Family::OaArticleCumulativeInfo, &labels, 1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(limit: usize) -> Ctx<'static> {
        crate::collectors::common::fixtures::ctx("news", limit)
    }

    fn target() -> Target {
        // 11:00 Beijing on 11 March 2026: the window ends on the 10th.
        let now = "2026-03-11T03:00:00Z".parse().expect("instant");
        let app = crate::collectors::common::fixtures::app(crate::api::AppKind::OfficialAccount);
        ArticleTotals.plan(&Plan::new(now, crate::api::Api::ArticleTotalDetail, &app))[0]
    }

    use crate::collectors::common::fixtures::value as get;

    /// The answer quoted in a WeChat community thread (shortened), with a
    /// second day added.
    fn real() -> serde_json::Value {
        let stat = |d: &str, read: u32| {
            json!({"stat_date": d, "read_user": read, "read_user_source": [
                {"user_count": 2, "scene_desc": "公众号消息"},
                {"user_count": read, "scene_desc": "全部"}],
                "share_user": 0, "read_subscribe_user": 0,
                "read_delivery_rate": 0.0689655169845, "read_finish_rate": 0.666666686535,
                "read_avg_activetime": 0.10000000149, "zaikan_user": 0, "like_user": 1,
                "praise_money": 250, "comment_count": 0, "collection_user": 2,
                "read_jump_position": [{"position": 1, "rate": 0}, {"position": 5, "rate": 1}]})
        };
        json!({"list": [
            {"ref_date": "2026-03-09", "msgid": "2247483720_1", "publish_type": 2,
             "title": "早报", "content_url": "http://mp.weixin.qq.com/s?__biz=x&mid=2247483720&idx=1",
             "detail_list": [stat("2026-03-09", 3), stat("2026-03-10", 5)]},
            {"ref_date": "2026-03-10", "msgid": "2247483721_1", "publish_type": 0,
             "detail_list": [stat("2026-03-10", 9)]},
            {"ref_date": "2026-02-12", "msgid": "2247483700_2", "publish_type": 1,
             "detail_list": [stat("2026-03-10", 1)]}
        ], "is_delay": false})
    }

    fn plan_at(now: &str, empty: &[Target]) -> Vec<Target> {
        let now = now.parse().expect("instant");
        let app = crate::collectors::common::fixtures::app(crate::api::AppKind::OfficialAccount);
        let mut p = Plan::new(now, crate::api::Api::ArticleTotalDetail, &app);
        p.empty = empty;
        ArticleTotals.plan(&p)
    }

    #[test]
    fn one_call_per_publish_date_and_none_for_a_day_known_empty() {
        let plan = plan_at("2026-03-11T03:00:00Z", &[]);
        assert_eq!(plan.len(), 30);
        let y: NaiveDate = "2026-03-10".parse().unwrap();
        for (back, t) in plan.iter().enumerate() {
            let d = y - Duration::days(back as i64);
            assert_eq!(t.range, DateRange::day(d), "begin = end = the publish date");
            assert_eq!(t.data_period, DateRange::day(y), "as of yesterday");
            assert_eq!(t.slot, slot_of(d));
        }
        assert_eq!(slot_of(y), 20260310);
        // A day that answered "nothing published" keeps that answer.
        let quiet = plan[3];
        let next = plan_at("2026-03-12T03:00:00Z", &[quiet]);
        assert_eq!(next.len(), 30);
        assert!(next.contains(&quiet), "kept, not asked again");
        assert_eq!(next.iter().filter(|t| t.data_period.end == y).count(), 1);
        // Nothing before WeChat's storage starts (2025-11-01).
        let early = plan_at("2025-11-10T03:00:00Z", &[]);
        assert_eq!(early.len(), 9);
    }

    #[test]
    fn an_empty_answer_is_final_only_for_a_released_day() {
        let t = target();
        let empty = json!({"list": [], "is_delay": true});
        assert_eq!(
            ArticleTotals.collect(&ctx(20), &t, empty.clone()).unwrap(),
            Collected::NotReady
        );
        let mut released = ctx(20);
        released.oa_released_day = Some(t.range.end);
        assert_eq!(
            ArticleTotals.collect(&released, &t, empty).unwrap(),
            Collected::Samples(Vec::new()),
            "nothing published: final, whatever is_delay says"
        );
    }

    #[test]
    fn the_newest_stat_date_of_each_article_is_published() {
        assert_eq!(target().range.days(), 1);
        let Collected::Samples(s) = ArticleTotals.collect(&ctx(20), &target(), real()).unwrap()
        else {
            panic!("final");
        };
        let a = "msgid=\"2247483720_1\"";
        assert_eq!(get(&s, Family::OaArticleCumulativeReaders, a), Some(5.0));
        assert_eq!(get(&s, Family::OaArticleCumulativeLikes, a), Some(1.0));
        assert_eq!(
            get(&s, Family::OaArticleCumulativeCollections, a),
            Some(2.0)
        );
        assert_eq!(
            get(&s, Family::OaArticleCumulativeReadFinishRatio, a),
            Some(0.666666686535)
        );
        // An undocumented number keeps its name; publish_type 2 stays 2.
        let detail = |f: &str| {
            s.iter()
                .find(|x| {
                    x.family == Family::OaArticleCumulativeDetail
                        && x.labels.contains(a)
                        && x.labels.contains(&format!("field=\"{f}\""))
                })
                .map(|x| x.value)
        };
        // Deprecated, as sent, for one release; in base units beside.
        assert_eq!(detail("read_avg_activetime"), Some(0.10000000149));
        assert_eq!(detail("praise_money"), Some(250.0));
        assert_eq!(get(&s, Family::OaArticleCumulativePraiseYuan, a), Some(2.5));
        assert_eq!(
            get(&s, Family::OaArticleCumulativeReadDurationAverage, a),
            Some(0.10000000149 * 60.0)
        );
        assert_eq!(
            detail("read_user"),
            None,
            "a number with a family is not repeated"
        );
        let title = s
            .iter()
            .find(|x| x.family == Family::OaArticleCumulativeInfo && x.labels.contains(a));
        assert_eq!(
            title.map(|x| x.labels.as_str()),
            Some(r#"app="news",msgid="2247483720_1",title="早报",published="2026-03-09""#)
        );
        let untitled = "msgid=\"2247483721_1\"";
        assert!(
            !s.iter().any(|x| x.family == Family::OaArticleCumulativeInfo && x.labels.contains(untitled)),
            "no title, no info series: dashboards fall back to the free-publish list"
        );
        assert_eq!(detail("publish_type"), Some(2.0));
        assert_eq!(detail("read_jump_position"), None, "lists are not numbers");
        let day: NaiveDate = "2026-03-09".parse().unwrap();
        assert_eq!(
            get(&s, Family::OaArticlePublishedTimestamp, a),
            Some(beijing_midnight(day).timestamp() as f64)
        );
    }

    #[test]
    fn top_articles_by_cumulative_readers() {
        let Collected::Samples(s) = ArticleTotals.collect(&ctx(2), &target(), real()).unwrap()
        else {
            panic!("final");
        };
        let mut ids: Vec<&str> = s
            .iter()
            .filter(|x| x.family == Family::OaArticleCumulativeReaders)
            .map(|x| x.labels.as_str())
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "app=\"news\",msgid=\"2247483720_1\"",
                "app=\"news\",msgid=\"2247483721_1\""
            ]
        );
    }

    #[test]
    fn an_answer_that_stops_before_yesterday_is_not_ready() {
        let body = json!({"list": [{"ref_date": "2026-03-09", "msgid": "1_1",
            "detail_list": [{"stat_date": "2026-03-09", "read_user": 1}]}], "is_delay": false});
        assert_eq!(
            ArticleTotals.collect(&ctx(20), &target(), body).unwrap(),
            Collected::NotReady
        );
    }

    #[test]
    fn a_bad_article_costs_only_itself() {
        let mut body = real();
        body["list"][0]["msgid"] = json!(17);
        let Collected::Partial { samples, skipped } =
            ArticleTotals.collect(&ctx(20), &target(), body).unwrap()
        else {
            panic!("partial");
        };
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(get(&samples, Family::OaArticleCumulativeReaders, "2247483721_1").is_some());
    }
}
