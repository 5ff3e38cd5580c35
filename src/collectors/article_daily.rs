//! Official Account publish analytics (2025) per article, for yesterday:
//! readers (`getarticleread`, with where they came from) and sharers
//! (`getarticleshare`). Only the `article_limit` articles with the most
//! readers (sharers) are published, ties broken by `msgid`, so the
//! series stay bounded however much an account publishes. `is_delay`
//! makes the numbers provisional, like `getbizsummary`'s.

use super::common::latest_period;
use super::common::{
    dated_rows, dedup, is_delay, skipped_notes, Collected, Collector, Ctx, DatedRows, Plan,
    ShapeError, Target,
};
use crate::dates::Period;
use crate::families::{Family, Sample};
use crate::wechat::types::no_items;
use crate::wechat::types::Lenient;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// One entry of `read_user_source`: readers from one scene, named in
/// Chinese (`公众号消息`, `全部`, …); the set is open.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ReadSource {
    pub scene_desc: String,
    #[serde(default)]
    pub user_count: Option<f64>,
}

/// `detail` of a `getarticleread` or `getarticleshare` row.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleDayDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_user: Option<f64>,
    #[serde(default, skip_serializing_if = "no_items")]
    pub read_user_source: Lenient<ReadSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_user: Option<f64>,
}

/// A row of `getarticleread` / `getarticleshare`: one article on one day.
/// `msgid` is `<msg_data_id>_<index>`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ArticleDayRow {
    pub ref_date: String,
    pub msgid: String,
    #[serde(default)]
    pub detail: ArticleDayDetail,
}

/// `scene_desc` values WeChat sends, and their `source` label values.
/// `全部` (all) is the article's total, published as its readers.
const SCENES: [(&str, &str); 7] = [
    ("公众号消息", "message"),
    ("公众号主页", "profile"),
    ("聊天会话", "chat"),
    ("朋友圈", "moments"),
    ("推荐", "recommended"),
    ("搜一搜", "search"),
    ("其他", "other"),
];

/// The `scene_desc` of the total.
pub(crate) const ALL_SCENES: &str = "全部";

/// The `source` label of a `scene_desc`: a stable English name for the
/// known ones, the text itself for any other.
pub fn source_label(scene_desc: &str) -> &str {
    SCENES
        .iter()
        .find(|(k, _)| *k == scene_desc)
        .map_or(scene_desc, |(_, v)| v)
}

/// The `limit` items with the largest `value`, ties broken by `id`: the
/// same articles every time for the same numbers.
pub(crate) fn top<T>(
    mut items: Vec<T>,
    limit: usize,
    value: impl Fn(&T) -> f64,
    id: impl Fn(&T) -> &str,
) -> Vec<T> {
    items.sort_by(|a, b| value(b).total_cmp(&value(a)).then_with(|| id(a).cmp(id(b))));
    items.truncate(limit);
    items
}

/// The rows of yesterday, `None` when WeChat has not released it. An
/// empty list is "no article read (shared)" once the day is known to be
/// released, or when the answer carries `is_delay`: WeChat documents
/// "empty when nothing changed" for these endpoints.
fn rows_of_day(
    ctx: &Ctx,
    target: &Target,
    body: serde_json::Value,
) -> Result<Option<DatedRows<ArticleDayRow>>, ShapeError> {
    let answered = body.get("is_delay").is_some();
    Ok(
        match dated_rows::<ArticleDayRow>(ctx, target, body, |r| &r.ref_date)? {
            Some(found) => Some(found),
            None if answered => Some((Vec::new(), Vec::new())),
            None => None,
        },
    )
}

/// `getarticleread`: readers per article, and by source.
pub struct ArticleReads;

impl Collector for ArticleReads {
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
        let delayed = is_delay(&body);
        let Some((rows, mut skipped)) = rows_of_day(ctx, target, body)? else {
            return Ok(Collected::NotReady);
        };
        let readers = |r: &ArticleDayRow| {
            r.detail.read_user.or_else(|| {
                r.detail
                    .read_user_source
                    .iter()
                    .find(|s| s.scene_desc == ALL_SCENES)
                    .and_then(|s| s.user_count)
            })
        };
        let rows = top(
            rows,
            ctx.article_limit,
            |r| readers(r).unwrap_or(0.0),
            |r| &r.msgid,
        );
        let mut out = Vec::new();
        for r in &rows {
            let labels = [("app", ctx.app), ("msgid", r.msgid.as_str())];
            if let Some(v) = readers(r) {
                out.push(Sample::new(Family::OaArticleReaders, &labels, v));
            }
            for s in r.detail.read_user_source.iter() {
                let Some(v) = s.user_count else { continue };
                if s.scene_desc == ALL_SCENES {
                    continue;
                }
                out.push(Sample::new(
                    Family::OaArticleReadersBySource,
                    &[
                        ("app", ctx.app),
                        ("msgid", r.msgid.as_str()),
                        ("source", source_label(&s.scene_desc)),
                    ],
                    v,
                ));
            }
            skipped_notes(
                &format!("list[msgid={}].detail.read_user_source", r.msgid),
                &r.detail.read_user_source,
                &mut skipped,
            );
        }
        Ok(Collected::settled(dedup(out), skipped, delayed))
    }
}

/// `getarticleshare`: sharers per article.
pub struct ArticleShares;

impl Collector for ArticleShares {
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
        let delayed = is_delay(&body);
        let Some((rows, skipped)) = rows_of_day(ctx, target, body)? else {
            return Ok(Collected::NotReady);
        };
        let rows = top(
            rows,
            ctx.article_limit,
            |r| r.detail.share_user.unwrap_or(0.0),
            |r| &r.msgid,
        );
        let out = rows
            .iter()
            .filter_map(|r| {
                let v = r.detail.share_user?;
                Some(Sample::new(
                    Family::OaArticleSharers,
                    &[("app", ctx.app), ("msgid", r.msgid.as_str())],
                    v,
                ))
            })
            .collect();
        Ok(Collected::settled(dedup(out), skipped, delayed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::collectors::common::fixtures::{day_target, value as get};

    fn target() -> Target {
        day_target("2025-11-10")
    }

    fn ctx(limit: usize) -> Ctx<'static> {
        crate::collectors::common::fixtures::ctx("news", limit)
    }

    #[test]
    fn readers_and_sources_are_named_and_unknown_scenes_kept() {
        let body = json!({"list": [
            {"ref_date": "2025-11-10", "msgid": "2247490098_1", "detail": {
                "read_user": 4123,
                "read_user_source": [
                    {"scene_desc": "全部", "user_count": 4123},
                    {"scene_desc": "公众号消息", "user_count": 3000},
                    {"scene_desc": "搜一搜", "user_count": 100},
                    {"scene_desc": "视频号", "user_count": 23}
                ]}},
            {"ref_date": "2025-11-09", "msgid": "1_1", "detail": {"read_user": 9}}
        ], "is_delay": false});
        let Collected::Samples(s) = ArticleReads.collect(&ctx(20), &target(), body).unwrap() else {
            panic!("final numbers");
        };
        assert_eq!(
            get(&s, Family::OaArticleReaders, "msgid=\"2247490098_1\""),
            Some(4123.0)
        );
        assert_eq!(
            get(&s, Family::OaArticleReadersBySource, "source=\"message\""),
            Some(3000.0)
        );
        assert_eq!(
            get(&s, Family::OaArticleReadersBySource, "source=\"search\""),
            Some(100.0)
        );
        // An unknown scene keeps its text; the total is not repeated.
        assert_eq!(
            get(&s, Family::OaArticleReadersBySource, "source=\"视频号\""),
            Some(23.0)
        );
        assert_eq!(s.len(), 4, "another day's row is not yesterday's: {s:?}");
    }

    #[test]
    fn only_the_top_articles_are_published_ties_by_msgid() {
        let row = |id: &str, n: u32| json!({"ref_date": "2025-11-10", "msgid": id, "detail": {"share_user": n}});
        let body = json!({"list": [row("3_1", 5), row("1_1", 7), row("2_1", 7), row("4_1", 1)], "is_delay": true});
        let Collected::Provisional(s) = ArticleShares.collect(&ctx(2), &target(), body).unwrap()
        else {
            panic!("is_delay: provisional");
        };
        let ids: Vec<&str> = s.iter().map(|x| x.labels.as_str()).collect();
        assert_eq!(
            ids,
            ["app=\"news\",msgid=\"1_1\"", "app=\"news\",msgid=\"2_1\""]
        );
    }

    #[test]
    fn an_empty_answer_is_nothing_shared_not_unreleased() {
        // With `is_delay`, WeChat answered for the day: nothing changed.
        let got = ArticleShares
            .collect(&ctx(20), &target(), json!({"list": [], "is_delay": false}))
            .unwrap();
        assert_eq!(got, Collected::Samples(Vec::new()));
        // Without it, and without a released day, the day is not out yet.
        let got = ArticleShares
            .collect(&ctx(20), &target(), json!({"list": []}))
            .unwrap();
        assert_eq!(got, Collected::NotReady);
    }

    #[test]
    fn a_bad_article_costs_only_itself() {
        let body = json!({"list": [
            {"ref_date": "2025-11-10", "msgid": "1_1", "detail": {"read_user": "n/a"}},
            {"ref_date": "2025-11-10", "msgid": "2_1", "detail": {"read_user": 8,
                "read_user_source": [{"scene_desc": "朋友圈", "user_count": "x"},
                                     {"scene_desc": "推荐", "user_count": 3}]}}
        ], "is_delay": false});
        let Collected::Partial { samples, skipped } =
            ArticleReads.collect(&ctx(20), &target(), body).unwrap()
        else {
            panic!("partial");
        };
        assert_eq!(
            get(&samples, Family::OaArticleReaders, "msgid=\"2_1\""),
            Some(8.0)
        );
        assert_eq!(
            get(&samples, Family::OaArticleReadersBySource, "recommended"),
            Some(3.0)
        );
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(
            skipped[0].starts_with("list[0].detail.read_user"),
            "{skipped:?}"
        );
    }
}
