//! Simulated articles of an Official Account and their daily numbers:
//! most days one publication of 1–3 articles (`msgid`
//! `<msg_data_id>_<index>`, `msg_data_id` = 2247490000 + days since
//! 2024-01-01), read for two weeks with a fading audience; shares follow
//! reads; totals are the sums of the daily numbers since publication.
//! The free-publish list holds the publications made without a mass
//! notification (`publish_type` 1 and 2), as WeChat's does.

use super::generator::{epoch, r4, Gen};
use crate::collectors::article_daily::{ArticleDayDetail, ArticleDayRow, ReadSource};
use crate::collectors::article_totals::{ArticleTotalRow, ArticleTotalStat, WINDOW_DAYS};
use crate::collectors::published_articles::{NewsItem, PublishedContent, PublishedItem};
use crate::dates::{beijing_midnight, dashed};
use chrono::{DateTime, Duration, NaiveDate, Utc};

const S_ARTICLE: u64 = 19;
const S_ARTICLE_READ: u64 = 20;
const S_ARTICLE_SHARE: u64 = 21;
const S_ARTICLE_SOURCE: u64 = 22;

/// The first `msg_data_id`, of 2024-01-01's publication.
pub const MSG_DATA_ID_BASE: u64 = 2_247_490_000;
/// Days an article is read after its publication day.
const READ_DAYS: i64 = 14;
/// Publications happen at 20:00 Beijing.
const PUBLISH_HOUR: i64 = 20;

/// The scenes of `read_user_source` and their weights; the last is not in
/// the exporter's table (it is kept as its text).
const SCENES: [(&str, f64); 8] = [
    ("公众号消息", 5.0),
    ("公众号主页", 1.0),
    ("聊天会话", 2.0),
    ("朋友圈", 1.5),
    ("推荐", 1.0),
    ("搜一搜", 0.5),
    ("其他", 0.3),
    ("视频号", 0.2),
];

const TOPICS: [&str; 6] = [
    "早报",
    "城市漫步",
    "科技观察",
    "周末读书",
    "深度 \"访谈\"",
    "Q&A, 读者来信",
];

/// One simulated article.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Article {
    pub day: NaiveDate,
    pub index: u32,
}

impl Article {
    pub fn msg_data_id(&self) -> u64 {
        MSG_DATA_ID_BASE + (self.day - epoch()).num_days().max(0) as u64
    }

    pub fn msgid(&self) -> String {
        format!("{}_{}", self.msg_data_id(), self.index)
    }

    fn key(&self) -> u64 {
        self.msg_data_id() * 16 + self.index as u64
    }
}

impl Gen {
    /// The articles published on `d` (none on about one day in seven).
    pub fn articles_on(&self, d: NaiveDate) -> Vec<Article> {
        let u = self.u(S_ARTICLE, Self::dn(d), 0);
        let n = if u < 0.15 {
            0
        } else {
            (1 + ((u - 0.15) / 0.85 * 3.0) as u32).min(3)
        };
        (1..=n).map(|index| Article { day: d, index }).collect()
    }

    /// 0 notified (mass send), 1 published without notification, and 2,
    /// which real answers hold though the docs do not list it.
    pub fn publish_type(&self, a: Article) -> u32 {
        let u = self.u(S_ARTICLE, a.key(), 1);
        if u < 0.25 {
            0
        } else if u < 0.9 {
            1
        } else {
            2
        }
    }

    pub fn article_title(&self, a: Article) -> String {
        let t =
            TOPICS[(self.u(S_ARTICLE, a.key(), 2) * TOPICS.len() as f64) as usize % TOPICS.len()];
        format!("{t} · {} 第{}篇", dashed(a.day), a.index)
    }

    /// Readers of `a` on `d`; `delayed`: before the numbers settle.
    fn article_reads(&self, a: Article, d: NaiveDate, delayed: bool) -> f64 {
        let age = (d - a.day).num_days();
        if !(0..READ_DAYS).contains(&age) {
            return 0.0;
        }
        let lead = if a.index == 1 { 1.0 } else { 0.45 };
        let base = 1500.0 * self.scale * self.app_factor() * lead;
        let noise = 0.7 + 0.6 * self.u(S_ARTICLE_READ, a.key(), Self::dn(d));
        let settle = if delayed { 0.9 } else { 1.0 };
        (base * 0.55f64.powi(age as i32) * noise * settle).round()
    }

    /// Sharers of `a` on `d`: none at all on about one day in eight.
    fn article_shares(&self, a: Article, d: NaiveDate, delayed: bool) -> f64 {
        if self.u(S_ARTICLE_SHARE, Self::dn(d), 0) < 0.12 {
            return 0.0;
        }
        let reads = self.article_reads(a, d, delayed);
        (reads * 0.06 * (0.5 + self.u(S_ARTICLE_SHARE, a.key(), Self::dn(d)))).round()
    }

    /// The articles that may be read on `d`, newest first.
    fn articles_read_on(&self, d: NaiveDate) -> Vec<Article> {
        (0..READ_DAYS)
            .flat_map(|age| self.articles_on(d - Duration::days(age)))
            .collect()
    }

    fn sources(&self, total: f64, salt: u64, n: u64) -> Vec<ReadSource> {
        let weights: Vec<f64> = SCENES.iter().map(|(_, w)| *w).collect();
        let parts = self.split(total, &weights, salt, n);
        std::iter::once(ReadSource {
            scene_desc: "全部".into(),
            user_count: Some(total),
        })
        .chain(SCENES.iter().zip(parts).map(|((s, _), v)| ReadSource {
            scene_desc: (*s).into(),
            user_count: Some(v),
        }))
        .collect()
    }

    /// `getarticleread`'s rows for `d`: every article read that day.
    pub fn article_read(&self, d: NaiveDate, delayed: bool) -> Vec<ArticleDayRow> {
        self.articles_read_on(d)
            .into_iter()
            .filter_map(|a| {
                let read = self.article_reads(a, d, delayed);
                (read > 0.0).then(|| ArticleDayRow {
                    ref_date: dashed(d),
                    msgid: a.msgid(),
                    detail: ArticleDayDetail {
                        read_user: Some(read),
                        read_user_source: self
                            .sources(read, S_ARTICLE_SOURCE, a.key() ^ Self::dn(d))
                            .into(),
                        share_user: None,
                    },
                })
            })
            .collect()
    }

    /// `getarticleshare`'s rows for `d`: every article shared that day
    /// (none before 2025-11-01, when WeChat's storage starts).
    pub fn article_share(&self, d: NaiveDate, delayed: bool) -> Vec<ArticleDayRow> {
        if d < NaiveDate::from_ymd_opt(2025, 11, 1).unwrap_or_default() {
            return Vec::new();
        }
        self.articles_read_on(d)
            .into_iter()
            .filter_map(|a| {
                let share = self.article_shares(a, d, delayed);
                (share > 0.0).then(|| ArticleDayRow {
                    ref_date: dashed(d),
                    msgid: a.msgid(),
                    detail: ArticleDayDetail {
                        share_user: Some(share),
                        ..Default::default()
                    },
                })
            })
            .collect()
    }

    /// `getarticletotaldetail`'s rows for the articles published on
    /// `day`, each with one entry per day from publication to `last`, at
    /// most [`WINDOW_DAYS`] (as real answers: not the page's "every
    /// article published in the range"); the numbers of `last` are not
    /// settled when `delayed`.
    pub fn article_totals(
        &self,
        day: NaiveDate,
        last: NaiveDate,
        delayed: bool,
    ) -> Vec<ArticleTotalRow> {
        let until = last.min(day + Duration::days(WINDOW_DAYS - 1));
        // "数据存储起始时间为2025-11-01": nothing before.
        if crate::api::Api::ArticleTotalDetail
            .spec()
            .data_since()
            .is_some_and(|s| day < s)
        {
            return Vec::new();
        }
        self.articles_on(day)
            .into_iter()
            .map(|a| {
                let mut reads = 0.0;
                let mut shares = 0.0;
                let detail_list = a
                    .day
                    .iter_days()
                    .take_while(|d| *d <= until)
                    .map(|d| {
                        let late = delayed && d == last;
                        reads += self.article_reads(a, d, late);
                        shares += self.article_shares(a, d, late);
                        self.article_stat(a, d, reads, shares)
                    })
                    .collect::<Vec<_>>();
                ArticleTotalRow {
                    ref_date: dashed(a.day),
                    msgid: a.msgid(),
                    publish_type: Some(self.publish_type(a) as f64),
                    title: Some(self.article_title(a)),
                    content_url: Some(Self::article_url(a)),
                    detail_list: detail_list.into(),
                }
            })
            .collect()
    }

    fn article_url(a: Article) -> String {
        format!(
            "http://mp.weixin.qq.com/s?__biz=MzSimulated==&mid={}&idx={}&sn=0#rd",
            a.msg_data_id(),
            a.index
        )
    }

    fn article_stat(&self, a: Article, d: NaiveDate, reads: f64, shares: f64) -> ArticleTotalStat {
        let u = |k: u64| self.u(S_ARTICLE, a.key(), 10 + k);
        let part = |share: f64, k: u64| serde_json::json!((reads * share * (0.5 + u(k))).round());
        let mut fields = serde_json::Map::new();
        fields.insert("read_user".into(), serde_json::json!(reads));
        fields.insert("share_user".into(), serde_json::json!(shares));
        fields.insert("like_user".into(), part(0.04, 1));
        fields.insert("zaikan_user".into(), part(0.02, 2));
        fields.insert("comment_count".into(), part(0.005, 3));
        fields.insert("collection_user".into(), part(0.01, 4));
        fields.insert("read_subscribe_user".into(), part(0.6, 5));
        fields.insert("praise_money".into(), serde_json::json!(0));
        fields.insert(
            "read_finish_rate".into(),
            serde_json::json!(r4(0.3 + 0.5 * u(6))),
        );
        fields.insert(
            "read_delivery_rate".into(),
            serde_json::json!(r4(0.02 + 0.1 * u(7))),
        );
        fields.insert(
            "read_avg_activetime".into(),
            serde_json::json!(r4(0.5 + 2.0 * u(8))),
        );
        fields.insert(
            "read_jump_position".into(),
            serde_json::json!([{"position": 1, "rate": 0}, {"position": 5, "rate": 1}]),
        );
        ArticleTotalStat {
            stat_date: dashed(d),
            read_user_source: self.sources(reads, S_ARTICLE_SOURCE, a.key()).into(),
            fields,
        }
    }

    /// When `a`'s publication happened.
    pub fn published_at(a: Article) -> DateTime<Utc> {
        beijing_midnight(a.day) + Duration::hours(PUBLISH_HOUR)
    }

    /// The free-publish list at `now`: publications without a mass
    /// notification, newest first, `count` from `offset`, and how many
    /// there are in all.
    pub fn published(
        &self,
        now: DateTime<Utc>,
        offset: usize,
        count: usize,
    ) -> (usize, Vec<PublishedItem>) {
        let today = crate::dates::beijing_date(now);
        let listed = |d: NaiveDate| {
            let articles: Vec<Article> = self
                .articles_on(d)
                .into_iter()
                .filter(|a| Self::published_at(*a) <= now)
                .collect();
            // One publication has one notification setting: its lead's.
            (!articles.is_empty() && self.publish_type(articles[0]) != 0).then_some(articles)
        };
        let days = (today - epoch()).num_days().max(0);
        let all: Vec<Vec<Article>> = (0..=days)
            .map(|back| today - Duration::days(back))
            .filter_map(listed)
            .collect();
        let items = all
            .iter()
            .skip(offset)
            .take(count)
            .map(|articles| {
                let first = articles[0];
                // The shape of real answers, not the page's: the times in
                // `content`, none on the item.
                let at = Self::published_at(first).timestamp() as f64;
                PublishedItem {
                    article_id: format!("sim-{}", first.msg_data_id()),
                    update_time: None,
                    content: PublishedContent {
                        create_time: Some(at),
                        update_time: Some(at),
                        news_item: articles
                            .iter()
                            .map(|a| NewsItem {
                                title: self.article_title(*a),
                                url: Self::article_url(*a),
                                is_deleted: Some(false),
                            })
                            .collect::<Vec<_>>()
                            .into(),
                    },
                }
            })
            .collect();
        (all.len(), items)
    }
}
