//! Official Account publish analytics (2025): every article published in
//! the last 30 days with its numbers summed from publication to yesterday
//! (`getarticletotaldetail`). One call a day asks for the 30 days ending
//! yesterday; each article's newest `stat_date` is published, for the
//! `article_limit` articles with the most readers (ties by `msgid`).

use super::article_daily::top;
use super::article_daily::ReadSource;
use super::common::{
    dedup, is_delay, parse, skipped_notes, Collected, Collector, Ctx, Plan, ShapeError, Target,
};
use crate::dates::{beijing_midnight, latest_day, DateRange};
use crate::families::{Family, Sample};
use crate::wechat::types::no_items;
use crate::wechat::types::Lenient;
use crate::wechat::types::ListResponse;
use chrono::{Duration, NaiveDate};

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
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleTotalRow {
    pub ref_date: String,
    pub msgid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_type: Option<f64>,
    #[serde(default)]
    pub detail_list: Lenient<ArticleTotalStat>,
}

/// The window one call covers: WeChat's maximum ("最大30天").
pub const WINDOW_DAYS: i64 = 30;

/// The documented numbers of a `detail_list` entry, and their families.
const KNOWN: [(&str, Family); 8] = [
    ("read_user", Family::OaArticleCumulativeReaders),
    ("share_user", Family::OaArticleCumulativeSharers),
    ("like_user", Family::OaArticleCumulativeLikes),
    ("zaikan_user", Family::OaArticleCumulativeHearts),
    ("comment_count", Family::OaArticleCumulativeComments),
    ("collection_user", Family::OaArticleCumulativeCollections),
    (
        "read_finish_rate",
        Family::OaArticleCumulativeReadFinishRatio,
    ),
    (
        "read_delivery_rate",
        Family::OaArticleCumulativeReadDeliveryRatio,
    ),
];

pub struct ArticleTotals;

impl Collector for ArticleTotals {
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        let y = latest_day(now);
        vec![Target {
            slot: 0,
            range: DateRange {
                begin: y - Duration::days(WINDOW_DAYS - 1),
                end: y,
            },
            // The published numbers are as of yesterday.
            data_period: DateRange::day(y),
        }]
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
        let want = crate::dates::dashed(target.range.end);
        // Each article with its newest entry.
        let mut latest: Vec<(ArticleTotalRow, ArticleTotalStat)> = Vec::new();
        for (i, mut row) in resp.list.indexed().map(|(i, r)| (i, r.clone())) {
            skipped_notes(
                &format!("list[{i}].detail_list"),
                &row.detail_list,
                &mut skipped,
            );
            let newest = std::mem::take(&mut row.detail_list)
                .into_items()
                .into_iter()
                .max_by(|a, b| a.stat_date.cmp(&b.stat_date));
            if let Some(stat) = newest {
                latest.push((row, stat));
            }
        }
        // An answer whose articles all stop before yesterday is an older
        // state than asked for: yesterday is not released yet.
        if !latest.is_empty() && !latest.iter().any(|(_, s)| s.stat_date == want) {
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
            let msgid = row.msgid.as_str();
            let labels = [("app", ctx.app), ("msgid", msgid)];
            for (field, family) in KNOWN {
                if let Some(v) = stat.fields.get(field).and_then(serde_json::Value::as_f64) {
                    out.push(Sample::new(family, &labels, v));
                }
            }
            for (field, v) in &stat.fields {
                if KNOWN.iter().any(|(k, _)| k == field) {
                    continue;
                }
                if let Some(v) = v.as_f64() {
                    out.push(Sample::new(
                        Family::OaArticleCumulativeDetail,
                        &[("app", ctx.app), ("msgid", msgid), ("field", field)],
                        v,
                    ));
                }
            }
            // Documented 0 or 1; 2 occurs in real answers: kept a number.
            if let Some(t) = row.publish_type {
                out.push(Sample::new(
                    Family::OaArticleCumulativeDetail,
                    &[
                        ("app", ctx.app),
                        ("msgid", msgid),
                        ("field", "publish_type"),
                    ],
                    t,
                ));
            }
            if let Ok(day) = row.ref_date.parse::<NaiveDate>() {
                out.push(Sample::new(
                    Family::OaArticlePublishedTimestamp,
                    &labels,
                    beijing_midnight(day).timestamp() as f64,
                ));
            }
        }
        Ok(Collected::settled(dedup(out), skipped, delayed))
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
                "praise_money": 0, "comment_count": 0, "collection_user": 2,
                "read_jump_position": [{"position": 1, "rate": 0}, {"position": 5, "rate": 1}]})
        };
        json!({"list": [
            {"ref_date": "2026-03-09", "msgid": "2247483720_1", "publish_type": 2,
             "detail_list": [stat("2026-03-09", 3), stat("2026-03-10", 5)]},
            {"ref_date": "2026-03-10", "msgid": "2247483721_1", "publish_type": 0,
             "detail_list": [stat("2026-03-10", 9)]},
            {"ref_date": "2026-02-12", "msgid": "2247483700_2", "publish_type": 1,
             "detail_list": [stat("2026-03-10", 1)]}
        ], "is_delay": false})
    }

    #[test]
    fn the_newest_stat_date_of_each_article_is_published() {
        assert_eq!(target().range.days(), 30);
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
        assert_eq!(detail("read_avg_activetime"), Some(0.10000000149));
        assert_eq!(detail("praise_money"), Some(0.0));
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
