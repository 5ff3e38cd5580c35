//! The titles of the account's newest published articles
//! (`freepublish/batchget`), as one info series per article:
//! `wechat_official_account_article_info{app,msgid,title,published} 1`.
//! Titles change, so they live on this one series instead of on every
//! per-article series; dashboards join them on `(app, msgid)`. The join
//! key comes from the article's URL: `mid=<msg_data_id>&idx=<index>` is
//! the datacube's `msgid` `<msg_data_id>_<index>`.

use super::common::latest_period;
use super::common::{parse, skipped_notes, Collected, Collector, Ctx, Plan, ShapeError, Target};
use crate::dates::Period;
use crate::families::{Family, Sample};
use crate::wechat::types::Lenient;
use chrono::DateTime;

use serde::{Deserialize, Serialize};
// The answer's types (the simulator serialises the same ones).

/// One article of a free-publish entry; only what the exporter reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct NewsItem {
    #[serde(default)]
    pub title: String,
    /// `…/s?__biz=…&mid=<msg_data_id>&idx=<index>&sn=…`.
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_deleted: Option<bool>,
}

/// The publication's articles and, in real answers, its times (Unix
/// seconds): the doc page puts `update_time` on the item, real answers
/// put `create_time` and `update_time` here (docs/wechat-quirks.md).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PublishedContent {
    #[serde(default)]
    pub news_item: Lenient<NewsItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<f64>,
}

/// One entry of `freepublish/batchget`: one publication.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PublishedItem {
    #[serde(default)]
    pub article_id: String,
    #[serde(default)]
    pub content: PublishedContent,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<f64>,
}

/// The answer of `freepublish/batchget`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PublishedList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_count: Option<f64>,
    #[serde(default)]
    pub item: Lenient<PublishedItem>,
}

/// Publications asked for per call: WeChat's maximum (1–20).
pub const COUNT: u32 = 20;

/// Titles longer than this are cut (label values are kept readable).
const MAX_TITLE_CHARS: usize = 120;

/// The datacube `msgid` of an article URL, from its `mid` and `idx`.
pub fn msgid_of_url(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    let mut mid = None;
    let mut idx = None;
    for pair in query.split('&') {
        // URLs copied out of HTML keep `&amp;`.
        let pair = pair.strip_prefix("amp;").unwrap_or(pair);
        match pair.split_once('=') {
            Some(("mid", v)) if is_number(v) => mid = Some(v),
            Some(("idx", v)) if is_number(v) => idx = Some(v),
            _ => {}
        }
    }
    Some(format!("{}_{}", mid?, idx?))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn short_title(t: &str) -> String {
    match t.char_indices().nth(MAX_TITLE_CHARS) {
        Some((cut, _)) => format!("{}…", &t[..cut]),
        None => t.to_string(),
    }
}

pub struct PublishedArticles;

impl Collector for PublishedArticles {
    /// The list is not dated: one call a day, with yesterday's data.
    fn plan(&self, p: &Plan) -> Vec<Target> {
        let now = p.now;
        latest_period(Period::Daily, now)
    }

    fn collect(
        &self,
        ctx: &Ctx,
        _target: &Target,
        body: serde_json::Value,
    ) -> Result<Collected, ShapeError> {
        let resp: PublishedList = parse(body)?;
        let mut skipped = Vec::new();
        skipped_notes("item", &resp.item, &mut skipped);
        let mut out = Vec::new();
        // One series per article even if WeChat lists it twice (an
        // edited title would otherwise make two).
        let mut seen = std::collections::HashSet::new();
        for (i, item) in resp.item.indexed() {
            skipped_notes(
                &format!("item[{i}].content.news_item"),
                &item.content.news_item,
                &mut skipped,
            );
            // Wherever WeChat put a time: the item (the page) or its
            // content (real answers), update first.
            let published = item
                .update_time
                .or(item.content.update_time)
                .or(item.content.create_time)
                .and_then(|t| DateTime::from_timestamp(t as i64, 0))
                .map(|t| crate::dates::dashed(crate::dates::beijing_date(t)))
                .unwrap_or_default();
            for news in item.content.news_item.iter() {
                if news.is_deleted == Some(true) {
                    continue;
                }
                // A URL without mid/idx names no datacube article: no join.
                let Some(msgid) = msgid_of_url(&news.url) else {
                    continue;
                };
                if !seen.insert(msgid.clone()) {
                    continue;
                }
                out.push(Sample::new(
                    Family::OaArticleInfo,
                    &[
                        ("app", ctx.app),
                        ("msgid", &msgid),
                        ("title", &short_title(&news.title)),
                        ("published", &published),
                    ],
                    1.0,
                ));
            }
        }
        Ok(Collected::with_skipped(out, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::DateRange;
    use serde_json::json;

    #[test]
    fn the_msgid_is_mid_and_idx_of_the_url() {
        assert_eq!(
            msgid_of_url("http://mp.weixin.qq.com/s?__biz=MzA3&mid=2247483720&idx=2&sn=ab#rd")
                .as_deref(),
            Some("2247483720_2")
        );
        assert_eq!(
            msgid_of_url("https://mp.weixin.qq.com/s?__biz=x&amp;mid=12003&amp;idx=3").as_deref(),
            Some("12003_3")
        );
        assert_eq!(msgid_of_url("https://mp.weixin.qq.com/s/AbCdEf"), None);
        assert_eq!(msgid_of_url("https://x/s?mid=&idx=1"), None);
    }

    #[test]
    fn every_article_gets_one_info_series_with_its_title() {
        let url = |mid: u64, idx: u32| {
            format!("http://mp.weixin.qq.com/s?__biz=MzA&mid={mid}&idx={idx}&sn=1#rd")
        };
        let body = json!({"total_count": 3, "item_count": 2, "item": [
            {"article_id": "a", "update_time": 1762772400u64, "content": {"news_item": [
                {"title": "早报 \"一\"", "url": url(2247490098, 1)},
                {"title": "二", "url": url(2247490098, 2), "is_deleted": true},
                {"title": "短链", "url": "https://mp.weixin.qq.com/s/x"},
                {"title": 5, "url": url(2247490098, 3)}
            ]}},
            // The real shape: the times inside `content` (WxJava's test
            // of getPublicationRecords records one such answer).
            {"article_id": "b", "content": {"create_time": 1762686000u64,
                "update_time": 1762686000u64, "news_item": [
                {"title": "晚报", "url": url(2247490097, 1)}
            ]}},
            {"article_id": "c", "content": {"create_time": 1762599600u64, "news_item": [
                {"title": "旧闻", "url": url(2247490096, 1)}
            ]}},
            {"article_id": "d", "content": {"news_item": [
                {"title": "无时", "url": url(2247490095, 1)}
            ]}}
        ]});
        let d = DateRange::day("2025-11-10".parse().unwrap());
        let t = Target {
            slot: 0,
            range: d,
            data_period: d,
        };
        let ctx = Ctx {
            app: "news",
            page_limit: 200,
            oa_released_day: None,
            article_limit: 20,
            slot_names: Vec::new(),
        };
        let Collected::Partial { samples, skipped } =
            PublishedArticles.collect(&ctx, &t, body).unwrap()
        else {
            panic!("one news item has a number for a title");
        };
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].starts_with("item[0].content.news_item[3].title"));
        let labels: Vec<&str> = samples.iter().map(|s| s.labels.as_str()).collect();
        assert_eq!(
            labels,
            [
                // 1762772400 is 2025-11-10 19:00 Beijing.
                r#"app="news",msgid="2247490098_1",title="早报 \"一\"",published="2025-11-10""#,
                r#"app="news",msgid="2247490097_1",title="晚报",published="2025-11-09""#,
                r#"app="news",msgid="2247490096_1",title="旧闻",published="2025-11-08""#,
                r#"app="news",msgid="2247490095_1",title="无时",published="""#,
            ]
        );
        assert!(samples.iter().all(|s| s.value == 1.0));
    }
}
