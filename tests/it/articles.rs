//! Per-article publish analytics (`article_reads`, `article_shares`,
//! `article_totals`) and their titles (`published_articles`): over 30
//! simulated days across a month end, every article series equals what the
//! simulator served for yesterday (Beijing), only the top `article_limit`
//! articles are published, titles join on `msgid`, provisional numbers
//! turn final once, and each API costs its floor of calls.

use crate::common::*;
use chrono::{Duration, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};
use wechat_exporter::collectors::article_daily::ArticleDayRow;
use wechat_exporter::collectors::article_totals::{ArticleTotalRow, ArticleTotalStat};
use wechat_exporter::dates::{beijing_date, beijing_midnight};
use wechat_exporter::simulator::Faults;

const READS: &str = "/datacube/getarticleread";
const SHARES: &str = "/datacube/getarticleshare";
const TOTALS: &str = "/datacube/getarticletotaldetail";
const LIST: &str = "/cgi-bin/freepublish/batchget";

/// Small enough that most days have more articles than published.
const LIMIT: usize = 8;

fn app() -> wechat_exporter::config::AppConfig {
    let mut a = oa_app("news");
    a.article_limit = LIMIT;
    a
}

/// The `limit` largest by value, ties by msgid: the contract's top N.
fn top<T: Clone>(items: &[T], value: impl Fn(&T) -> f64, id: impl Fn(&T) -> String) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort_by(|a, b| value(b).total_cmp(&value(a)).then(id(a).cmp(&id(b))));
    v.truncate(LIMIT);
    v
}

/// `name{app="news",msgid=…}` → value, for every series of `name`.
fn by_msgid(m: &Exposition, name: &str) -> BTreeMap<String, f64> {
    m.samples
        .iter()
        .filter(|(n, l, _)| n == name && l.get("app").map(String::as_str) == Some("news"))
        .map(|(_, l, v)| (l["msgid"].clone(), *v))
        .collect()
}

fn day_rows_map(
    rows: &[ArticleDayRow],
    value: impl Fn(&ArticleDayRow) -> f64,
) -> BTreeMap<String, f64> {
    top(rows, &value, |r| r.msgid.clone())
        .iter()
        .map(|r| (r.msgid.clone(), value(r)))
        .collect()
}

/// Each article of a totals answer with its newest entry.
fn newest(rows: &[ArticleTotalRow]) -> Vec<(ArticleTotalRow, ArticleTotalStat)> {
    rows.iter()
        .filter_map(|r| {
            let s = r
                .detail_list
                .iter()
                .max_by(|a, b| a.stat_date.cmp(&b.stat_date))?;
            Some((r.clone(), s.clone()))
        })
        .collect()
}

fn num(s: &ArticleTotalStat, f: &str) -> f64 {
    s.fields[f].as_f64().expect("a number")
}

/// The msgid a simulated URL names (`mid=…&idx=…`), read independently of
/// the exporter's parser.
fn url_msgid(url: &str) -> String {
    let field = |k: &str| {
        url.split(['?', '&', '#'])
            .find_map(|p| p.strip_prefix(k))
            .expect("field in url")
            .to_string()
    };
    format!("{}_{}", field("mid="), field("idx="))
}

/// Everything the exporter shows for yesterday equals what the simulator
/// serves for it, `delayed` (before noon) or final.
fn assert_articles_match(h: &Harness, m: &Exposition, y: NaiveDate, delayed: bool, ctx: &str) {
    // Reads: readers and readers by source of the top articles.
    let reads = h.sim.article_read(OA_APPID, y, delayed);
    let want = day_rows_map(&reads, |r| r.detail.read_user.unwrap_or(0.0));
    assert!(!want.is_empty(), "{ctx}: articles were read");
    assert_eq!(
        by_msgid(m, "wechat_official_account_article_readers"),
        want,
        "{ctx}: readers"
    );
    for r in reads.iter().filter(|r| want.contains_key(&r.msgid)) {
        for s in r.detail.read_user_source.iter() {
            let source = match s.scene_desc.as_str() {
                "全部" => continue,
                "公众号消息" => "message",
                "公众号主页" => "profile",
                "聊天会话" => "chat",
                "朋友圈" => "moments",
                "推荐" => "recommended",
                "搜一搜" => "search",
                "其他" => "other",
                other => other,
            };
            assert_eq!(
                m.get(
                    "wechat_official_account_article_readers_by_source",
                    &[("app", "news"), ("msgid", &r.msgid), ("source", source)]
                ),
                s.user_count,
                "{ctx}: {} from {source}",
                r.msgid
            );
        }
    }
    let sources = m.count("wechat_official_account_article_readers_by_source");
    assert!(sources <= LIMIT * 8, "{ctx}: {sources} source series");

    // Shares: the top sharers (none on a day nothing was shared).
    let shares = h.sim.article_share(OA_APPID, y, delayed);
    assert_eq!(
        by_msgid(m, "wechat_official_account_article_sharers"),
        day_rows_map(&shares, |r| r.detail.share_user.unwrap_or(0.0)),
        "{ctx}: sharers"
    );

    // Totals: per publish date of the 30 days ending yesterday (none
    // before 2025-11-01, where WeChat's storage starts), its top articles
    // by cumulative readers, at their newest stat_date, which is
    // yesterday.
    let mut top_totals = Vec::new();
    for d in totals_dates(y) {
        let totals = newest(&h.sim.article_totals(OA_APPID, d, y, delayed));
        let top_day = top(
            &totals,
            |(_, s)| num(s, "read_user"),
            |(r, _)| r.msgid.clone(),
        );
        assert_eq!(top_day.len(), LIMIT.min(totals.len()));
        top_totals.extend(top_day);
    }
    assert!(!top_totals.is_empty(), "{ctx}: articles in 30 days");
    for (name, field, factor) in [
        ("cumulative_readers", "read_user", 1.0),
        ("cumulative_sharers", "share_user", 1.0),
        ("cumulative_likes", "like_user", 1.0),
        ("cumulative_hearts", "zaikan_user", 1.0),
        ("cumulative_comments", "comment_count", 1.0),
        ("cumulative_collections", "collection_user", 1.0),
        ("cumulative_read_finish_ratio", "read_finish_rate", 1.0),
        ("cumulative_read_delivery_ratio", "read_delivery_rate", 1.0),
        // Sent in fen and in minutes.
        ("cumulative_praise_yuan", "praise_money", 0.01),
        (
            "cumulative_read_duration_average_seconds",
            "read_avg_activetime",
            60.0,
        ),
    ] {
        let name = format!("wechat_official_account_article_{name}");
        let want: BTreeMap<String, f64> = top_totals
            .iter()
            .map(|(r, s)| (r.msgid.clone(), num(s, field) * factor))
            .collect();
        assert_eq!(by_msgid(m, &name), want, "{ctx}: {name}");
    }
    let titles: BTreeMap<String, (String, String)> = m
        .samples
        .iter()
        .filter(|(n, _, _)| n == "wechat_official_account_article_cumulative_info")
        .map(|(_, l, _)| {
            (
                l["msgid"].clone(),
                (l["title"].clone(), l["published"].clone()),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, String)> = top_totals
        .iter()
        .map(|(r, _)| {
            let title = r.title.clone().expect("the simulator answers titles");
            (r.msgid.clone(), (title, r.ref_date.clone()))
        })
        .collect();
    assert_eq!(titles, want, "{ctx}: titles of the totals");
    for (r, s) in &top_totals {
        assert_eq!(s.stat_date, wechat_exporter::dates::dashed(y), "{ctx}");
        let l = |f: &'static str| [("app", "news"), ("msgid", r.msgid.as_str()), ("field", f)];
        assert_eq!(
            m.get(
                "wechat_official_account_article_cumulative_detail",
                &l("publish_type")
            ),
            r.publish_type,
            "{ctx}: publish type of {}",
            r.msgid
        );
        for field in ["read_subscribe_user", "praise_money", "read_avg_activetime"] {
            assert_eq!(
                m.get(
                    "wechat_official_account_article_cumulative_detail",
                    &l(field)
                ),
                Some(num(s, field)),
                "{ctx}: {field} as sent"
            );
        }
        let day: NaiveDate = r.ref_date.parse().expect("date");
        assert_eq!(
            m.get(
                "wechat_official_account_article_published_timestamp_seconds",
                &[("app", "news"), ("msgid", &r.msgid)]
            ),
            Some(beijing_midnight(day).timestamp() as f64),
            "{ctx}"
        );
    }
}

/// The publish dates whose totals are shown on the day after `y`.
fn totals_dates(y: NaiveDate) -> Vec<NaiveDate> {
    let since = NaiveDate::from_ymd_opt(2025, 11, 1).expect("date");
    (0..30)
        .map(|back| y - Duration::days(back))
        .filter(|d| *d >= since)
        .collect()
}

/// When a free-publish entry was published: the item's time (the doc
/// page) or its content's (real answers).
fn item_time(item: &wechat_exporter::collectors::published_articles::PublishedItem) -> f64 {
    item.update_time
        .or(item.content.update_time)
        .or(item.content.create_time)
        .expect("a time")
}

/// The info series equal the simulator's free-publish list at its clock.
fn assert_titles_match(h: &Harness, m: &Exposition, ctx: &str) -> BTreeSet<String> {
    let (_, items) = h.sim.published_articles(OA_APPID, 0, 20);
    let mut want = BTreeMap::new();
    for item in &items {
        let t = chrono::DateTime::from_timestamp(item_time(item) as i64, 0).expect("time");
        let day = wechat_exporter::dates::dashed(beijing_date(t));
        for n in item.content.news_item.iter() {
            want.insert(url_msgid(&n.url), (n.title.clone(), day.clone()));
        }
    }
    let got: BTreeMap<String, (String, String)> = m
        .samples
        .iter()
        .filter(|(n, _, _)| n == "wechat_official_account_article_info")
        .map(|(_, l, v)| {
            assert_eq!(*v, 1.0);
            (
                l["msgid"].clone(),
                (l["title"].clone(), l["published"].clone()),
            )
        })
        .collect();
    assert_eq!(got, want, "{ctx}: titles");
    got.into_keys().collect()
}

/// `v` with every number as an f64.
fn numbers_as_f64(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| serde_json::json!(f)),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        other => other,
    }
}

fn calls(h: &Harness, path: &str) -> usize {
    h.sim.requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_of_articles_match_the_simulator_at_the_call_floor() {
    // Monday 17 November 2025, 11:00 Beijing; 30 days cross November's end.
    let start = utc("2025-11-17T03:00:00Z");
    let h = Harness::new("2025-11-17T03:00:00Z", 10.0, 10.0, vec![app()]).await;
    let paths = [READS, SHARES, TOTALS, LIST];
    let mut titled_reads = 0;
    let mut untitled_reads = 0;
    let mut quiet_share_days = 0;
    let mut totals_calls = Vec::new();
    for day in 0..30 {
        let now = start + Duration::days(day);
        let today = beijing_date(now);
        let y = today - Duration::days(1);
        let ctx = format!("{today}");
        let before = paths.map(|p| calls(&h, p));

        // 11:00 Beijing: yesterday's numbers are out but not settled.
        h.clock.set(now);
        h.poller.poll_once().await;
        let m = h.metrics();
        assert_articles_match(&h, &m, y, true, &format!("{ctx} 11:00"));
        for api in ["article_reads", "article_shares", "article_totals"] {
            let sel = [("app", "news"), ("api", api)];
            assert_eq!(
                m.must("wechat_exporter_data_final", &sel),
                0.0,
                "{ctx} {api}"
            );
            assert_eq!(
                m.must("wechat_exporter_data_ready", &sel),
                1.0,
                "{ctx} {api}"
            );
        }
        assert_titles_match(&h, &m, &ctx);

        // 13:00: asked again, final now; 16:00: nothing left to ask.
        h.clock.set(now + Duration::hours(2));
        h.poller.poll_once().await;
        let m = h.metrics();
        assert_articles_match(&h, &m, y, false, &format!("{ctx} 13:00"));
        for api in [
            "article_reads",
            "article_shares",
            "article_totals",
            "published_articles",
        ] {
            let sel = [("app", "news"), ("api", api)];
            assert_eq!(
                m.must("wechat_exporter_poll_success", &sel),
                1.0,
                "{ctx} {api}"
            );
            if api != "published_articles" {
                assert_eq!(
                    m.must("wechat_exporter_data_final", &sel),
                    1.0,
                    "{ctx} {api}"
                );
            }
        }
        let titled = assert_titles_match(&h, &m, &ctx);
        for id in by_msgid(&m, "wechat_official_account_article_readers").keys() {
            if titled.contains(id) {
                titled_reads += 1;
            } else {
                untitled_reads += 1;
            }
        }
        if h.sim.article_share(OA_APPID, y, false).is_empty() {
            quiet_share_days += 1;
        }
        h.clock.set(now + Duration::hours(5));
        h.poller.poll_once().await;

        // The floor: each publish API twice (provisional, final), the
        // title list once; the totals twice per publish date with
        // articles, once for a date without (the first time it is seen:
        // yesterday, or every date on the first day), then never.
        let spent = paths.map(|p| calls(&h, p));
        let per_api: Vec<usize> = spent.iter().zip(before).map(|(a, b)| a - b).collect();
        let totals_floor: usize = totals_dates(y)
            .into_iter()
            .map(|d| {
                match (
                    h.sim.articles_on(OA_APPID, d).is_empty(),
                    day == 0 || d == y,
                ) {
                    (false, _) => 2,
                    (true, true) => 1,
                    (true, false) => 0,
                }
            })
            .sum();
        assert_eq!(
            per_api,
            [2, 2, totals_floor, 1],
            "{ctx}: calls to {paths:?}"
        );
        totals_calls.push(totals_floor);
    }
    let m = h.metrics();
    let article_series = m
        .samples
        .iter()
        .filter(|(n, _, _)| n.starts_with("wechat_official_account_article_"))
        .count();
    // Reads (readers and 8 sources), shares, 16 series per article of the
    // totals (10 families, 4 details, published, title), 20 titles.
    let last_y = beijing_date(h.clock.now()) - Duration::days(1);
    let window_articles: usize = totals_dates(last_y)
        .into_iter()
        .map(|d| h.sim.articles_on(OA_APPID, d).len().min(LIMIT))
        .sum();
    let bound = LIMIT * (1 + 8) + LIMIT + window_articles * 16 + 160;
    assert!(article_series <= bound, "{article_series} > {bound}");
    eprintln!("articles: {article_series} per-article series at article_limit {LIMIT}");
    // The data exercised what the contract promises: titles joined for
    // most articles, none for mass sends the list does not hold.
    assert!(
        titled_reads > 0 && untitled_reads > 0,
        "{titled_reads} / {untitled_reads}"
    );
    let total: usize = totals_calls.iter().sum();
    eprintln!(
        "articles: reads 2, shares 2, list 1 call a day; totals {totals_calls:?} calls a day ({total} in 30 days); {titled_reads} titled and {untitled_reads} untitled reader series over 30 days; {quiet_share_days} days without shares"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_without_shares_is_released_and_empty_not_missing() {
    let h = Harness::new("2025-11-01T00:00:00Z", 10.0, 10.0, vec![app()]).await;
    // The first day after 2025-11-01 on which nothing was shared.
    let quiet = (0..200)
        .map(|i| NaiveDate::from_ymd_opt(2025, 11, 1).expect("date") + Duration::days(i))
        .find(|d| h.sim.article_share(OA_APPID, *d, false).is_empty())
        .expect("a quiet day in 200");
    // 13:00 Beijing the day after: released and settled.
    let noon = beijing_midnight(quiet + Duration::days(1)) + Duration::hours(13);
    let m = h.poll_at(&noon.to_rfc3339()).await;
    let sel = [("app", "news"), ("api", "article_shares")];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0);
    assert_eq!(
        m.must("wechat_exporter_data_ready", &sel),
        1.0,
        "released, not waiting"
    );
    assert_eq!(m.must("wechat_exporter_data_final", &sel), 1.0);
    assert_eq!(m.count("wechat_official_account_article_sharers"), 0);
    // Readers that day exist: the quiet day is about shares only.
    assert!(m.count("wechat_official_account_article_readers") > 0);
    // Not asked again as "not ready".
    h.poll_at(&(noon + Duration::hours(2)).to_rfc3339()).await;
    assert_eq!(calls(&h, SHARES), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_article_costs_only_that_article() {
    let t = "2025-11-20T05:00:00Z";
    let y = NaiveDate::from_ymd_opt(2025, 11, 19).expect("date");
    let h = Harness::new(t, 10.0, 10.0, vec![app()]).await;
    h.sim.set_faults(Faults {
        only_path: Some(READS.to_string()),
        bad_item: 1,
        ..Faults::default()
    });
    let (m, logs) = logged(h.poll_at(t)).await;
    let sel = [("app", "news"), ("api", "article_reads")];
    assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0);
    assert_eq!(
        m.must("wechat_exporter_answer_parts_skipped_total", &sel),
        1.0
    );
    assert!(logs.contains("list[0].detail.read_user"), "{logs}");
    // The first article's readers were spoiled; the others are the top N.
    let rows = h.sim.article_read(OA_APPID, y, false);
    let want = day_rows_map(&rows[1..], |r| r.detail.read_user.unwrap_or(0.0));
    assert_eq!(
        by_msgid(&m, "wechat_official_account_article_readers"),
        want
    );
    // The other APIs are untouched.
    for api in [
        "article_shares",
        "article_totals",
        "published_articles",
        "publish_summary",
    ] {
        let sel = [("app", "news"), ("api", api)];
        assert_eq!(m.must("wechat_exporter_poll_success", &sel), 1.0, "{api}");
        assert_eq!(m.must("wechat_exporter_data_ready", &sel), 1.0, "{api}");
    }
}

/// The simulator's article endpoints: WeChat's spans (61501), the list's
/// `count` (1–20), `is_delay` before noon, shares empty before 2025-11-01,
/// and bodies equal to the accessors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_serves_articles_with_the_documented_rules() {
    use serde_json::{json, Value};
    // 11:00 Beijing on 20 November 2025.
    let h = Harness::new("2025-11-20T03:00:00Z", 10.0, 10.0, vec![app()]).await;
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let http = http.clone();
        async move {
            http.post(path)
                .json(&body)
                .send()
                .await
                .expect("simulator answers")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let base = h.server.url();
    let tok = post(
        format!("{base}/cgi-bin/stable_token"),
        json!({"grant_type": "client_credential", "appid": OA_APPID, "secret": OA_SECRET}),
    )
    .await["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let call = |path: &str, body: Value| post(format!("{base}{path}?access_token={tok}"), body);
    let dates = |b: &str, e: &str| json!({"begin_date": b, "end_date": e});
    let code = |v: &Value| v["errcode"].as_i64().unwrap_or(0);

    // One day for reads and shares; at most 30 for totals; never today.
    assert_eq!(
        code(&call(READS, dates("2025-11-18", "2025-11-19")).await),
        61501
    );
    assert_eq!(
        code(&call(SHARES, dates("2025-11-18", "2025-11-19")).await),
        61501
    );
    // Totals: the page allows 30 days; WeChat answers one publish date.
    for (b, e) in [("2025-10-21", "2025-11-19"), ("2025-11-13", "2025-11-18")] {
        let v = call(TOTALS, dates(b, e)).await;
        assert_eq!(code(&v), 61501, "{b}..{e}");
        let msg = v["errmsg"].as_str().unwrap_or_default();
        assert!(msg.starts_with("dataRange error"), "{msg}");
    }
    assert_eq!(
        code(&call(READS, dates("2025-11-20", "2025-11-20")).await),
        61501
    );
    assert_eq!(
        code(&call(READS, json!({"begin_date": "20251119"})).await),
        61500
    );

    // Yesterday before noon: served, not settled.
    let y = NaiveDate::from_ymd_opt(2025, 11, 19).expect("date");
    let v = call(READS, dates("2025-11-19", "2025-11-19")).await;
    assert_eq!(v["is_delay"], json!(true));
    assert_eq!(
        serde_json::from_value::<Vec<ArticleDayRow>>(v["list"].clone()).expect("rows"),
        h.sim.article_read(OA_APPID, y, true)
    );
    // The day before is settled.
    let v = call(SHARES, dates("2025-11-18", "2025-11-18")).await;
    assert_eq!(v["is_delay"], json!(false));
    let y2 = y - Duration::days(1);
    assert_eq!(
        serde_json::from_value::<Vec<ArticleDayRow>>(v["list"].clone()).expect("rows"),
        h.sim.article_share(OA_APPID, y2, false)
    );
    // No shares are kept before 2025-11-01: an empty answer, not an error.
    let v = call(SHARES, dates("2025-10-31", "2025-10-31")).await;
    assert_eq!((code(&v), v["list"].clone()), (0, json!([])));
    assert!(!h
        .sim
        .article_read(OA_APPID, y2 - Duration::days(20), false)
        .is_empty());

    // One publish date: its articles, each with an entry per day since
    // then up to yesterday, with titles; yesterday's not settled.
    let mut rows = Vec::new();
    for d in totals_dates(y) {
        let day = wechat_exporter::dates::dashed(d);
        let v = call(TOTALS, dates(&day, &day)).await;
        assert_eq!(code(&v), 0, "{day}");
        assert_eq!(v["is_delay"], json!(true), "{day}");
        let want = h.sim.article_totals(OA_APPID, d, y, true);
        assert_eq!(want.is_empty(), h.sim.articles_on(OA_APPID, d).is_empty());
        // Numbers compared as numbers: `17` on the wire is the generator's 17.0.
        assert_eq!(
            numbers_as_f64(v["list"].clone()),
            numbers_as_f64(serde_json::to_value(&want).expect("json")),
            "{day}"
        );
        let day_rows: Vec<ArticleTotalRow> =
            serde_json::from_value(v["list"].clone()).expect("rows");
        for r in &day_rows {
            assert_eq!(r.ref_date, day);
            assert!(
                r.title.as_deref().is_some_and(|t| !t.is_empty()),
                "{}",
                r.msgid
            );
            assert_eq!(url_msgid(r.content_url.as_deref().expect("url")), r.msgid);
            assert_eq!(
                r.detail_list.len() as i64,
                (y - d).num_days() + 1,
                "{}",
                r.msgid
            );
            let reads: Vec<f64> = r.detail_list.iter().map(|s| num(s, "read_user")).collect();
            assert!(reads.windows(2).all(|w| w[0] <= w[1]), "{reads:?}");
        }
        rows.extend(day_rows);
    }
    assert!(rows.len() > 10, "{} articles in the window", rows.len());
    assert!(
        rows.iter().any(|r| r.publish_type == Some(2.0)),
        "publish_type 2 occurs"
    );
    // Before 2025-11-01 nothing is kept: an empty answer, not an error.
    let v = call(TOTALS, dates("2025-10-21", "2025-10-21")).await;
    assert_eq!((code(&v), v["list"].clone()), (0, json!([])));
    assert!(
        !h.sim
            .articles_on(OA_APPID, "2025-10-21".parse().expect("date"))
            .is_empty()
            || !h
                .sim
                .articles_on(OA_APPID, "2025-10-22".parse().expect("date"))
                .is_empty()
    );

    // The free-publish list: count 1–20, newest first, titles as named.
    for bad in [
        json!({"offset": 0, "count": 0}),
        json!({"offset": 0, "count": 21}),
        json!({"count": 5}),
    ] {
        assert_eq!(code(&call(LIST, bad.clone()).await), 47001, "{bad}");
    }
    let v = call(LIST, json!({"offset": 0, "count": 20, "no_content": 1})).await;
    let (total, items) = h.sim.published_articles(OA_APPID, 0, 20);
    assert_eq!(v["total_count"], json!(total));
    assert_eq!(v["item_count"], json!(20));
    assert_eq!(
        numbers_as_f64(v["item"].clone()),
        numbers_as_f64(serde_json::to_value(&items).expect("json"))
    );
    // The real shape: the times inside `content`, none on the item.
    assert!(items.iter().all(|i| i.update_time.is_none()));
    let times: Vec<f64> = items.iter().map(item_time).collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Every listed article is one the datacube knows, by msgid.
    for item in &items {
        for n in item.content.news_item.iter() {
            let id = url_msgid(&n.url);
            let day = beijing_date(
                chrono::DateTime::from_timestamp(item_time(item) as i64, 0).expect("t"),
            );
            assert!(
                h.sim
                    .articles_on(OA_APPID, day)
                    .iter()
                    .any(|a| a.msgid() == id),
                "{id} published on {day}"
            );
        }
    }
}
