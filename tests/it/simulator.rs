//! The WeChat API simulator over plain HTTP: tokens, every endpoint,
//! validation, release, retention, quotas, faults, request log.
//!
//! Every test runs a simulator on 127.0.0.1 with a manual clock, so
//! simulated days pass in microseconds and nothing leaves the machine.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use wechat_exporter::api::{Api, AppKind};
use wechat_exporter::clock::Clock;
use wechat_exporter::collectors::daily_summary::DailySummaryRow;
use wechat_exporter::collectors::retention::Retention;
use wechat_exporter::collectors::user_analysis::{UserCumulateRow, UserSummaryRow};
use wechat_exporter::collectors::user_portrait::UserPortrait;
use wechat_exporter::collectors::visit_distribution::VisitDistribution;
use wechat_exporter::collectors::visit_page::VisitPage;
use wechat_exporter::collectors::visit_trend::VisitTrendRow;
use wechat_exporter::dates::{DateRange, Period};
use wechat_exporter::simulator::*;
use wechat_exporter::wechat::types::*;

const MP: &str = DEMO_MINIPROGRAM_APPID;
const OA: &str = DEMO_OFFICIAL_ACCOUNT_APPID;
/// Monday 10 March 2025, 12:00 Beijing: yesterday (Sunday) is released.
const NOON: &str = "2025-03-10T04:00:00Z";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn errcode(v: &Value) -> i64 {
    v.get("errcode").and_then(Value::as_i64).unwrap_or(0)
}

struct H {
    sim: Simulator,
    srv: SimServer,
    http: reqwest::Client,
    clock: Clock,
}

async fn setup(start: &str) -> H {
    let clock = Clock::manual(utc(start));
    setup_with(SimConfig {
        clock,
        ..SimConfig::default()
    })
    .await
}

async fn setup_with(cfg: SimConfig) -> H {
    let clock = cfg.clock.clone();
    let sim = Simulator::new(cfg);
    let srv = sim.spawn("127.0.0.1:0").await.unwrap();
    H {
        sim,
        srv,
        http: reqwest::Client::new(),
        clock,
    }
}

fn secret_of(appid: &str) -> &'static str {
    match appid {
        MP => DEMO_MINIPROGRAM_SECRET,
        OA => DEMO_OFFICIAL_ACCOUNT_SECRET,
        _ => "secret",
    }
}

impl H {
    async fn post_json(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.srv.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    async fn stable(&self, appid: &str, secret: &str, force: bool) -> Value {
        self.post_json(
            "/cgi-bin/stable_token",
            json!({"grant_type":"client_credential","appid":appid,"secret":secret,"force_refresh":force}),
        )
        .await
    }

    async fn legacy(&self, appid: &str, secret: &str) -> Value {
        let url = format!(
            "{}/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={secret}",
            self.srv.url()
        );
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn token(&self, appid: &str) -> String {
        let v = self.stable(appid, secret_of(appid), false).await;
        v["access_token"].as_str().unwrap().to_string()
    }

    /// Raw status and body of a data call.
    async fn raw(&self, token: &str, api: Api, begin: &str, end: &str) -> (u16, String) {
        let r = self
            .http
            .post(format!(
                "{}{}?access_token={token}",
                self.srv.url(),
                api.path()
            ))
            .json(&json!({"begin_date": begin, "end_date": end}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn call(&self, token: &str, api: Api, begin: &str, end: &str) -> Value {
        serde_json::from_str(&self.raw(token, api, begin, end).await.1).unwrap()
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test]
async fn every_miniprogram_endpoint_serves_what_the_accessors_say() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let day = d(2025, 3, 9);
    let week = DateRange {
        begin: d(2025, 3, 3),
        end: day,
    };
    let month = DateRange::month_of(d(2025, 2, 1));

    let v = h.call(&t, Api::DailySummary, "20250309", "20250309").await;
    let s: ListResponse<DailySummaryRow> = parse(&v);
    assert_eq!(s.list, vec![h.sim.daily_summary(MP, day)]);
    assert_eq!(s.list[0].ref_date, "20250309");

    for (api, r, p, ref_date) in [
        (
            Api::DailyVisitTrend,
            DateRange::day(day),
            Period::Daily,
            "20250309",
        ),
        (
            Api::WeeklyVisitTrend,
            week,
            Period::Weekly,
            "20250303-20250309",
        ),
        (Api::MonthlyVisitTrend, month, Period::Monthly, "202502"),
    ] {
        let (b, e) = r.compact();
        let v: ListResponse<VisitTrendRow> = parse(&h.call(&t, api, &b, &e).await);
        assert_eq!(v.list.len(), 1, "{api:?}");
        assert_eq!(v.list[0], h.sim.visit_trend(MP, r, p));
        assert_eq!(v.list[0].ref_date, ref_date);
        assert!(v.list[0].stay_time_uv.is_some() && v.list[0].visit_depth.is_some());
    }

    let v: VisitDistribution = parse(
        &h.call(&t, Api::VisitDistribution, "20250309", "20250309")
            .await,
    );
    assert_eq!(v, h.sim.visit_distribution(MP, day));
    let idx: Vec<&str> = v.list.iter().map(|i| i.index.as_str()).collect();
    for want in [
        "access_source_session_cnt",
        "access_staytime_info",
        "access_depth_info",
        "access_source_visit_uv",
    ] {
        assert!(idx.contains(&want), "{want} missing from {idx:?}");
    }
    let scenes = &v.list[0].item_list;
    assert!(scenes.iter().any(|kv| kv.key == 1001.0) && scenes.iter().any(|kv| kv.key == 29.0));
    let sessions = h
        .sim
        .visit_trend(MP, DateRange::day(day), Period::Daily)
        .session_cnt
        .unwrap();
    assert_eq!(scenes.iter().map(|kv| kv.value).sum::<f64>(), sessions);

    for (api, r, p) in [
        (
            Api::DailyRetention,
            DateRange::day(d(2025, 3, 1)),
            Period::Daily,
        ),
        (
            Api::WeeklyRetention,
            DateRange::week_of(d(2025, 2, 3)),
            Period::Weekly,
        ),
        (
            Api::MonthlyRetention,
            DateRange::month_of(d(2025, 1, 1)),
            Period::Monthly,
        ),
    ] {
        let (b, e) = r.compact();
        let v: Retention = parse(&h.call(&t, api, &b, &e).await);
        assert_eq!(v, h.sim.retention(MP, r, p), "{api:?}");
        assert!(v.visit_uv.len() > 1 && v.visit_uv_new.len() == v.visit_uv.len());
    }

    let v: VisitPage = parse(&h.call(&t, Api::VisitPage, "20250309", "20250309").await);
    assert_eq!(v, h.sim.visit_page(MP, day));
    assert_eq!(v.list.len(), 200);
    assert_eq!(v.list[0].page_path, "pages/index/index");

    for days in [1, 7, 30] {
        let r = DateRange {
            begin: day - Duration::days(days - 1),
            end: day,
        };
        let (b, e) = r.compact();
        let v: UserPortrait = parse(&h.call(&t, Api::UserPortrait, &b, &e).await);
        assert_eq!(v, h.sim.user_portrait(MP, r));
        assert_eq!(v.ref_date.as_deref(), Some(format!("{b}-{e}").as_str()));
        let g = v.visit_uv.unwrap();
        assert!(g.genders.iter().any(|i| i.name == "女"));
        assert!(g.province.iter().any(|i| i.name == "广东省"));
        assert!(g.devices.iter().all(|i| i.id.is_none()) && !g.devices.is_empty());
        assert!(g.ages.iter().all(|i| i.id.is_some()));
    }
}

#[tokio::test]
async fn official_account_endpoints_and_consistency() {
    let h = setup(NOON).await;
    let t = h.token(OA).await;
    let v = h
        .call(&t, Api::UserSummary, "2025-03-03", "2025-03-09")
        .await;
    let s: ListResponse<UserSummaryRow> = parse(&v);
    let want: Vec<UserSummaryRow> = d(2025, 3, 3)
        .iter_days()
        .take(7)
        .flat_map(|x| h.sim.user_summary(OA, x))
        .collect();
    assert_eq!(s.list, want);
    assert!(s.list.len() > 7, "several sources per day");
    let sources: std::collections::BTreeSet<i64> =
        s.list.iter().map(|r| r.user_source as i64).collect();
    assert!(sources.contains(&0) && sources.contains(&30));
    assert!(
        sources.contains(&149) || sources.contains(&200),
        "{sources:?}"
    );
    // Known sources without changes on a day have no row that day.
    let days_with_a_known_source_missing = d(2025, 3, 3)
        .iter_days()
        .take(7)
        .filter(|x| {
            let on_day: Vec<i64> = h
                .sim
                .user_summary(OA, *x)
                .iter()
                .map(|r| r.user_source as i64)
                .collect();
            [0, 1, 17, 30, 43, 51, 57, 75, 78]
                .iter()
                .any(|s| !on_day.contains(s))
        })
        .count();
    assert!(days_with_a_known_source_missing > 0);

    let c: ListResponse<UserCumulateRow> = parse(
        &h.call(&t, Api::UserCumulate, "2025-03-03", "2025-03-09")
            .await,
    );
    assert_eq!(c.list.len(), 7);
    assert_eq!(c.list[0].ref_date, "2025-03-03");
    for w in c.list.windows(2) {
        let day = parse_dashed_day(&w[1].ref_date);
        let net: f64 = h
            .sim
            .user_summary(OA, day)
            .iter()
            .map(|r| r.new_user.unwrap() - r.cancel_user.unwrap())
            .sum();
        assert_eq!(
            w[1].cumulate_user.unwrap(),
            w[0].cumulate_user.unwrap() + net
        );
        assert_eq!(w[1], h.sim.user_cumulate(OA, day));
    }
}

fn parse_dashed_day(s: &str) -> NaiveDate {
    wechat_exporter::dates::parse_dashed(s).unwrap()
}

#[tokio::test]
async fn date_validation_errors() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let cases: &[(Api, &str, &str, i64)] = &[
        (Api::DailyVisitTrend, "2025-03-09", "2025-03-09", 61500),
        (Api::DailyVisitTrend, "2025039", "2025039", 61500),
        (Api::DailyVisitTrend, "20250230", "20250230", 61500),
        (Api::DailyVisitTrend, "20250310", "20250310", 61501), // today
        (Api::DailyVisitTrend, "20250320", "20250320", 61501), // future
        (Api::DailyVisitTrend, "20250308", "20250309", 61501), // not one day
        (Api::DailySummary, "20250301", "20250302", 61501),
        (Api::VisitPage, "20250308", "20250309", 61501),
        (Api::DailyVisitTrend, "20141130", "20141130", 61501),
        (Api::WeeklyVisitTrend, "20250304", "20250310", 61501), // Tue..Mon
        (Api::WeeklyVisitTrend, "20250302", "20250308", 61501), // Sun..Sat
        (Api::WeeklyRetention, "20250303", "20250308", 61501),
        (Api::WeeklyVisitTrend, "20250310", "20250316", 61501), // this week
        (Api::MonthlyVisitTrend, "20250202", "20250301", 61501),
        (Api::MonthlyVisitTrend, "20250201", "20250227", 61501),
        (Api::MonthlyVisitTrend, "20250301", "20250331", 61501), // not complete
        (Api::UserPortrait, "20250224", "20250309", 61501),      // 14 days
        (Api::UserPortrait, "20250301", "20250307", 61501),      // ends 3 days ago
        (Api::WeeklyVisitTrend, "20241230", "20250105", 0),      // week across the year
        (Api::MonthlyVisitTrend, "20250201", "20250228", 0),
        (Api::UserPortrait, "20250302", "20250308", 0), // 7 days ending the day before
    ];
    for (api, b, e, want) in cases {
        let v = h.call(&t, *api, b, e).await;
        assert_eq!(errcode(&v), *want, "{api:?} {b}..{e}: {v}");
        if *want != 0 {
            assert!(v["errmsg"].as_str().unwrap().contains(" rid: "));
        }
    }
    // Missing or non-string dates are format errors too.
    for body in [
        json!({"begin_date": "20250309"}),
        json!({"begin_date": 20250309, "end_date": 20250309}),
        json!({}),
    ] {
        let r = h
            .http
            .post(format!(
                "{}{}?access_token={t}",
                h.srv.url(),
                Api::DailyVisitTrend.path()
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(errcode(&r.json().await.unwrap()), 61500, "{body}");
    }

    let t = h.token(OA).await;
    let oa: &[(Api, &str, &str, i64)] = &[
        (Api::UserSummary, "2025-03-01", "2025-03-08", 61501), // 8 days
        (Api::UserSummary, "2025-03-02", "2025-03-08", 0),     // 7 days
        (Api::UserCumulate, "2025-03-09", "2025-03-08", 61501), // end before begin
        (Api::UserCumulate, "2025-03-09", "2025-03-10", 61501), // includes today
        (Api::UserCumulate, "2014-11-30", "2014-12-01", 61501),
        (Api::UserCumulate, "2014-12-01", "2014-12-07", 0),
        (Api::UserSummary, "20250301", "20250302", 61500),
    ];
    for (api, b, e, want) in oa {
        let v = h.call(&t, *api, b, e).await;
        assert_eq!(errcode(&v), *want, "{api:?} {b}..{e}: {v}");
    }
}

#[tokio::test]
async fn leap_day_is_a_valid_day() {
    let h = setup("2024-03-01T04:00:00Z").await;
    let t = h.token(MP).await;
    let v = h
        .call(&t, Api::DailyVisitTrend, "20240229", "20240229")
        .await;
    let v: ListResponse<VisitTrendRow> = parse(&v);
    assert_eq!(v.list[0].ref_date, "20240229");
    let m = h
        .call(&t, Api::MonthlyVisitTrend, "20240201", "20240229")
        .await;
    assert_eq!(
        parse::<ListResponse<VisitTrendRow>>(&m).list[0].ref_date,
        "202402"
    );
}

#[tokio::test]
async fn stable_token_is_shared_and_counts_down() {
    let h = setup(NOON).await;
    let a = h.stable(MP, DEMO_MINIPROGRAM_SECRET, false).await;
    let tok = a["access_token"].as_str().unwrap().to_string();
    assert!(tok.len() >= 100, "token looks real: {tok}");
    assert_eq!(a["expires_in"], json!(7200));
    h.clock.advance(Duration::seconds(100));
    let b = h.stable(MP, DEMO_MINIPROGRAM_SECRET, false).await;
    assert_eq!(b["access_token"].as_str().unwrap(), tok);
    assert_eq!(b["expires_in"], json!(7100));
    // Fewer than 300 s left: a new token, the old one still works until expiry.
    h.clock.advance(Duration::seconds(6850));
    let c = h.stable(MP, DEMO_MINIPROGRAM_SECRET, false).await;
    let tok2 = c["access_token"].as_str().unwrap().to_string();
    assert_ne!(tok2, tok);
    assert_eq!(c["expires_in"], json!(7200));
    let v = h
        .call(&tok, Api::DailySummary, "20250309", "20250309")
        .await;
    assert_eq!(errcode(&v), 0);
    // Past its expiry: 42001.
    h.clock.advance(Duration::seconds(300));
    let v = h
        .call(&tok, Api::DailySummary, "20250309", "20250309")
        .await;
    assert_eq!(errcode(&v), 42001, "{v}");
    let v = h
        .call(&tok2, Api::DailySummary, "20250309", "20250309")
        .await;
    assert_eq!(errcode(&v), 0);
}

#[tokio::test]
async fn force_refresh_rules() {
    let h = setup(NOON).await;
    let old = h.token(MP).await;
    let f = h.stable(MP, DEMO_MINIPROGRAM_SECRET, true).await;
    let new = f["access_token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let v = h
        .call(&old, Api::DailySummary, "20250309", "20250309")
        .await;
    assert_eq!(errcode(&v), 40001);
    assert!(v["errmsg"]
        .as_str()
        .unwrap()
        .starts_with("invalid credential, access_token is invalid or not latest rid: "));
    assert_eq!(
        errcode(
            &h.call(&new, Api::DailySummary, "20250309", "20250309")
                .await
        ),
        0
    );
    // Normal mode now hands out the forced token.
    assert_eq!(h.token(MP).await, new);
    // A forced refresh leaves legacy tokens alone.
    let legacy = h.legacy(MP, DEMO_MINIPROGRAM_SECRET).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Twice within 30 s: 45011.
    h.clock.advance(Duration::seconds(10));
    assert_eq!(
        errcode(&h.stable(MP, DEMO_MINIPROGRAM_SECRET, true).await),
        45011
    );
    // 20 a day: 19 more succeed 31 s apart, the 21st is refused.
    for i in 0..19 {
        h.clock.advance(Duration::seconds(31));
        let v = h.stable(MP, DEMO_MINIPROGRAM_SECRET, true).await;
        assert_eq!(errcode(&v), 0, "force #{}: {v}", i + 2);
    }
    h.clock.advance(Duration::seconds(31));
    assert_eq!(
        errcode(&h.stable(MP, DEMO_MINIPROGRAM_SECRET, true).await),
        45009
    );
    assert_eq!(
        errcode(
            &h.call(&legacy, Api::DailySummary, "20250309", "20250309")
                .await
        ),
        0
    );
    // The limit is per Beijing day.
    h.clock.set(utc("2025-03-10T16:00:01Z"));
    assert_eq!(
        errcode(&h.stable(MP, DEMO_MINIPROGRAM_SECRET, true).await),
        0
    );
}

#[tokio::test]
async fn legacy_tokens_rotate_with_five_minutes_grace() {
    let h = setup(NOON).await;
    let stable = h.token(MP).await;
    let l1 = h.legacy(MP, DEMO_MINIPROGRAM_SECRET).await;
    let l1 = l1["access_token"].as_str().unwrap().to_string();
    let l2 = h.legacy(MP, DEMO_MINIPROGRAM_SECRET).await;
    assert_eq!(l2["expires_in"], json!(7200));
    let l2 = l2["access_token"].as_str().unwrap().to_string();
    assert_ne!(l1, l2);
    h.clock.advance(Duration::seconds(299));
    assert_eq!(
        errcode(&h.call(&l1, Api::DailySummary, "20250309", "20250309").await),
        0
    );
    h.clock.advance(Duration::seconds(2));
    assert_eq!(
        errcode(&h.call(&l1, Api::DailySummary, "20250309", "20250309").await),
        40001
    );
    assert_eq!(
        errcode(&h.call(&l2, Api::DailySummary, "20250309", "20250309").await),
        0
    );
    // Legacy calls never break the stable token.
    assert_eq!(
        errcode(
            &h.call(&stable, Api::DailySummary, "20250309", "20250309")
                .await
        ),
        0
    );
    assert_eq!(h.token(MP).await, stable);
}

#[tokio::test]
async fn token_errors() {
    let h = setup(NOON).await;
    let s = DEMO_MINIPROGRAM_SECRET;
    assert_eq!(
        errcode(&h.stable("wx0000000000000000", s, false).await),
        40013
    );
    assert_eq!(errcode(&h.stable(MP, "wrong", false).await), 40125);
    assert_eq!(errcode(&h.stable("", s, false).await), 41002);
    assert_eq!(errcode(&h.stable(MP, "", false).await), 41004);
    let v = h
        .post_json(
            "/cgi-bin/stable_token",
            json!({"grant_type":"password","appid":MP,"secret":s}),
        )
        .await;
    assert_eq!(errcode(&v), 40002);
    assert_eq!(errcode(&h.legacy("wx0000000000000000", s).await), 40013);
    assert_eq!(errcode(&h.legacy(MP, "nope").await), 40125);
    let url = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={MP}",
        h.srv.url()
    );
    let v: Value = h.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&v), 41004);
    let url = format!("{}/cgi-bin/token?grant_type=client_credential", h.srv.url());
    let v: Value = h.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&v), 41002);
    // Not JSON at all.
    let r = h
        .http
        .post(format!("{}/cgi-bin/stable_token", h.srv.url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(errcode(&r.json().await.unwrap()), 47001);
    // Data calls without a token, or with a made-up one.
    let r = h
        .http
        .post(format!("{}{}", h.srv.url(), Api::DailySummary.path()))
        .json(&json!({"begin_date":"20250309","end_date":"20250309"}))
        .send()
        .await
        .unwrap();
    assert_eq!(errcode(&r.json().await.unwrap()), 41001);
    assert_eq!(
        errcode(
            &h.call("86_madeup", Api::DailySummary, "20250309", "20250309")
                .await
        ),
        40001
    );
}

#[tokio::test]
async fn not_ready_before_the_release_hour() {
    // 09:00 Beijing on Monday 10 March: Sunday's data is not out yet.
    let h = setup("2025-03-10T01:00:00Z").await;
    let t = h.token(MP).await;
    for (api, b, e) in [
        (Api::DailyVisitTrend, "20250309", "20250309"),
        (Api::WeeklyVisitTrend, "20250303", "20250309"),
        (Api::DailyRetention, "20250309", "20250309"),
        (Api::UserPortrait, "20250309", "20250309"),
    ] {
        let v = h.call(&t, api, b, e).await;
        assert_eq!(errcode(&v), 61503, "{api:?}: {v}");
    }
    // The day before is out, and a 7-day OA range serves its released days.
    let v = h
        .call(&t, Api::DailyVisitTrend, "20250308", "20250308")
        .await;
    assert_eq!(errcode(&v), 0);
    let to = h.token(OA).await;
    let c: ListResponse<UserCumulateRow> = parse(
        &h.call(&to, Api::UserCumulate, "2025-03-03", "2025-03-09")
            .await,
    );
    assert_eq!(c.list.len(), 6);
    assert_eq!(c.list.last().unwrap().ref_date, "2025-03-08");
    let s: ListResponse<UserSummaryRow> = parse(
        &h.call(&to, Api::UserSummary, "2025-03-03", "2025-03-09")
            .await,
    );
    assert!(s.list.iter().all(|r| r.ref_date.as_str() <= "2025-03-08"));
    assert!(s.list.iter().any(|r| r.ref_date == "2025-03-08"));
    assert_eq!(
        errcode(
            &h.call(&to, Api::UserSummary, "2025-03-09", "2025-03-09")
                .await
        ),
        61503
    );

    // EmptyList style: success with empty lists / arrays.
    h.sim.set_not_ready(NotReady::EmptyList);
    let v = h
        .call(&t, Api::DailyVisitTrend, "20250309", "20250309")
        .await;
    assert_eq!(v, json!({"list": []}));
    let r: Retention = parse(
        &h.call(&t, Api::DailyRetention, "20250309", "20250309")
            .await,
    );
    assert!(r.visit_uv.is_empty() && r.visit_uv_new.is_empty());
    let dist = h
        .call(&t, Api::VisitDistribution, "20250309", "20250309")
        .await;
    assert_eq!(dist["list"], json!([]));
    let c = h
        .call(&to, Api::UserCumulate, "2025-03-09", "2025-03-09")
        .await;
    assert_eq!(c, json!({"list": []}));

    // After 10:00 the data is there.
    h.clock.advance(Duration::hours(1) + Duration::seconds(1));
    let v: ListResponse<VisitTrendRow> = parse(
        &h.call(&t, Api::DailyVisitTrend, "20250309", "20250309")
            .await,
    );
    assert_eq!(v.list[0].ref_date, "20250309");
    let w = h
        .call(&t, Api::WeeklyVisitTrend, "20250303", "20250309")
        .await;
    assert_eq!(errcode(&w), 0);
    assert_eq!(w["list"].as_array().unwrap().len(), 1);

    // A later release hour moves it back out.
    h.sim.set_release_hour(15.0);
    h.sim.set_not_ready(NotReady::Errcode61503);
    let v = h
        .call(&t, Api::DailyVisitTrend, "20250309", "20250309")
        .await;
    assert_eq!(errcode(&v), 61503);
    h.sim.set_release_hour(0.0);
    assert_eq!(
        errcode(
            &h.call(&t, Api::DailyVisitTrend, "20250309", "20250309")
                .await
        ),
        0
    );
}

fn keys(kv: &[KeyValue]) -> Vec<u32> {
    kv.iter().map(|k| k.key as u32).collect()
}

#[tokio::test]
async fn retention_keys_only_for_passed_periods() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let ret = |b: String, e: String, api: Api| {
        let h = &h;
        let t = t.clone();
        async move { parse::<Retention>(&h.call(&t, api, &b, &e).await) }
    };
    let yesterday = d(2025, 3, 9);
    let day = |n: i64| wechat_exporter::dates::compact(yesterday - Duration::days(n));

    let r = ret(day(0), day(0), Api::DailyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0]);
    assert_eq!(keys(&r.visit_uv_new), vec![0]);
    let r = ret(day(1), day(1), Api::DailyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1]);
    let r = ret(day(7), day(7), Api::DailyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1, 2, 3, 4, 5, 6, 7]);
    let r = ret(day(14), day(14), Api::DailyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1, 2, 3, 4, 5, 6, 7, 14]);
    let r = ret(day(30), day(30), Api::DailyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1, 2, 3, 4, 5, 6, 7, 14, 30]);
    assert_eq!(r.ref_date.as_deref(), Some(day(30).as_str()));
    for series in [&r.visit_uv, &r.visit_uv_new] {
        for w in series.windows(2) {
            assert!(w[1].value <= w[0].value, "non-increasing: {series:?}");
        }
    }
    assert!(r.visit_uv_new[0].value <= r.visit_uv[0].value);
    assert!(r.visit_uv[10 - 1].value > 0.0);

    // Weekly: last week has key 0 only, five weeks ago 0..4.
    let r = ret("20250303".into(), "20250309".into(), Api::WeeklyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0]);
    let r = ret("20250203".into(), "20250209".into(), Api::WeeklyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1, 2, 3, 4]);
    assert_eq!(r.ref_date.as_deref(), Some("20250203-20250209"));
    // Monthly: February has key 0 only, January 0..1.
    let r = ret("20250201".into(), "20250228".into(), Api::MonthlyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0]);
    let r = ret("20250101".into(), "20250131".into(), Api::MonthlyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1]);
    assert_eq!(r.ref_date.as_deref(), Some("202501"));

    // Before today's release, the 8-day-old cohort lacks key 7.
    h.clock.set(utc("2025-03-10T01:00:00Z"));
    let r = ret(day(7), day(7), Api::DailyRetention).await;
    assert_eq!(keys(&r.visit_uv), vec![0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(
        r,
        h.sim.retention(
            MP,
            DateRange::day(yesterday - Duration::days(7)),
            Period::Daily
        )
    );
}

#[tokio::test]
async fn daily_quota_then_reset_at_beijing_midnight() {
    let h = setup(NOON).await;
    let mut app = SimApp::new("wxquota000000001", "s3cret", AppKind::Miniprogram);
    app.daily_quota = Some(3);
    h.sim.add_app(app);
    let tok = |v: Value| v["access_token"].as_str().unwrap().to_string();
    let t = tok(h.stable("wxquota000000001", "s3cret", false).await);
    for _ in 0..3 {
        assert_eq!(
            errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
            0
        );
        // Token calls do not count.
        h.stable("wxquota000000001", "s3cret", false).await;
    }
    let v = h.call(&t, Api::DailySummary, "20250309", "20250309").await;
    assert_eq!(errcode(&v), 45009);
    assert_eq!(
        errcode(&h.call(&t, Api::VisitPage, "20250309", "20250309").await),
        45009
    );
    // Other apps are unaffected.
    let other = h.token(MP).await;
    assert_eq!(
        errcode(
            &h.call(&other, Api::DailySummary, "20250309", "20250309")
                .await
        ),
        0
    );
    // 23:59 Beijing: still refused; 00:00: a fresh quota.
    h.clock.set(utc("2025-03-10T15:59:00Z"));
    let t = tok(h.stable("wxquota000000001", "s3cret", false).await);
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        45009
    );
    h.clock.set(utc("2025-03-10T16:00:00Z"));
    let t = tok(h.stable("wxquota000000001", "s3cret", false).await);
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        0
    );
}

#[tokio::test]
async fn wrong_app_kind_and_unauthorized_apis_answer_48001() {
    let h = setup(NOON).await;
    let mp = h.token(MP).await;
    let oa = h.token(OA).await;
    assert_eq!(
        errcode(
            &h.call(&mp, Api::UserSummary, "2025-03-09", "2025-03-09")
                .await
        ),
        48001
    );
    assert_eq!(
        errcode(&h.call(&oa, Api::DailySummary, "20250309", "20250309").await),
        48001
    );
    let mut app = SimApp::new("wxnoportrait0001", "pw", AppKind::Miniprogram);
    app.unauthorized = vec![Api::UserPortrait];
    h.sim.add_app(app);
    let v = h.stable("wxnoportrait0001", "pw", false).await;
    let t = v["access_token"].as_str().unwrap();
    assert_eq!(
        errcode(&h.call(t, Api::UserPortrait, "20250309", "20250309").await),
        48001
    );
    assert_eq!(
        errcode(&h.call(t, Api::DailySummary, "20250309", "20250309").await),
        0
    );
}

#[tokio::test]
async fn revoke_tokens_invalidates_every_token_of_the_app() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let l = h.legacy(MP, DEMO_MINIPROGRAM_SECRET).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let oa = h.token(OA).await;
    h.sim.revoke_tokens(MP);
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        40001
    );
    assert_eq!(
        errcode(&h.call(&l, Api::DailySummary, "20250309", "20250309").await),
        40001
    );
    assert_eq!(
        errcode(
            &h.call(&oa, Api::UserCumulate, "2025-03-09", "2025-03-09")
                .await
        ),
        0
    );
    let t2 = h.token(MP).await;
    assert_ne!(t2, t);
    assert_eq!(
        errcode(&h.call(&t2, Api::DailySummary, "20250309", "20250309").await),
        0
    );
}

async fn set_and_call(h: &H, t: &str) -> Result<reqwest::Response, reqwest::Error> {
    h.http
        .post(format!(
            "{}{}?access_token={t}",
            h.srv.url(),
            Api::DailySummary.path()
        ))
        .json(&json!({"begin_date":"20250309","end_date":"20250309"}))
        .send()
        .await
}

#[tokio::test]
async fn faults_of_every_kind() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let ok = |v: &Value| errcode(v) == 0 && v["list"].is_array();

    // Latency is added to the response.
    h.sim.set_faults(Faults {
        latency: Some(std::time::Duration::from_millis(150)),
        ..Default::default()
    });
    let start = std::time::Instant::now();
    assert!(ok(&h
        .call(&t, Api::DailySummary, "20250309", "20250309")
        .await));
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));

    // HTTP 500 twice, then normal.
    h.sim.set_faults(Faults {
        http_500: 2,
        ..Default::default()
    });
    for _ in 0..2 {
        assert_eq!(set_and_call(&h, &t).await.unwrap().status().as_u16(), 500);
    }
    assert_eq!(set_and_call(&h, &t).await.unwrap().status().as_u16(), 200);

    // A dropped connection is a client error, not a response.
    h.sim.set_faults(Faults {
        drop_connections: 1,
        ..Default::default()
    });
    assert!(set_and_call(&h, &t).await.is_err());
    assert!(ok(&set_and_call(&h, &t)
        .await
        .unwrap()
        .json()
        .await
        .unwrap()));

    // Malformed JSON: 200, but the body does not parse.
    h.sim.set_faults(Faults {
        malformed_json: 1,
        ..Default::default()
    });
    let r = set_and_call(&h, &t).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());

    // A burst of 3 busy answers, then data.
    h.sim.set_faults(Faults {
        busy: 3,
        ..Default::default()
    });
    for _ in 0..3 {
        let v = h.call(&t, Api::DailySummary, "20250309", "20250309").await;
        assert_eq!(errcode(&v), -1);
        assert!(v["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("system error rid: "));
    }
    assert!(ok(&h
        .call(&t, Api::DailySummary, "20250309", "20250309")
        .await));

    // A chosen errcode N times.
    h.sim.set_faults(Faults {
        errcode: Some((40164, 2)),
        ..Default::default()
    });
    let v = h.call(&t, Api::DailySummary, "20250309", "20250309").await;
    assert_eq!(errcode(&v), 40164);
    assert!(v["errmsg"].as_str().unwrap().contains("not in whitelist"));
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        40164
    );
    assert!(ok(&h
        .call(&t, Api::DailySummary, "20250309", "20250309")
        .await));

    // Always, until replaced; faults also hit token calls.
    h.sim.set_faults(Faults {
        always_errcode: Some(89503),
        ..Default::default()
    });
    for _ in 0..4 {
        assert_eq!(
            errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
            89503
        );
    }
    assert_eq!(
        errcode(&h.stable(MP, DEMO_MINIPROGRAM_SECRET, false).await),
        89503
    );
    h.sim.set_faults(Faults::default());
    assert!(ok(&h
        .call(&t, Api::DailySummary, "20250309", "20250309")
        .await));

    // only_appid: the Official Account fails, the Mini Program does not.
    let to = h.token(OA).await;
    h.sim.set_faults(Faults {
        always_errcode: Some(-1),
        only_appid: Some(OA.into()),
        ..Default::default()
    });
    assert!(ok(&h
        .call(&t, Api::DailySummary, "20250309", "20250309")
        .await));
    assert_eq!(
        errcode(
            &h.call(&to, Api::UserCumulate, "2025-03-09", "2025-03-09")
                .await
        ),
        -1
    );
    assert_eq!(
        errcode(&h.stable(OA, DEMO_OFFICIAL_ACCOUNT_SECRET, false).await),
        -1
    );

    // only_path: one endpoint fails, its sibling does not.
    h.sim.set_faults(Faults {
        always_errcode: Some(61503),
        only_path: Some("/datacube/getusersummary".into()),
        ..Default::default()
    });
    assert_eq!(
        errcode(
            &h.call(&to, Api::UserSummary, "2025-03-09", "2025-03-09")
                .await
        ),
        61503
    );
    assert_eq!(
        errcode(
            &h.call(&to, Api::UserCumulate, "2025-03-09", "2025-03-09")
                .await
        ),
        0
    );

    // The log has the faulted answers with their codes.
    let codes: Vec<i64> = h.sim.requests().iter().map(|r| r.errcode).collect();
    for c in [-500, -2, -3, -1, 40164, 89503, 61503] {
        assert!(codes.contains(&c), "{c} in {codes:?}");
    }
}

#[tokio::test]
async fn invariants_over_sixty_days() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let yesterday = d(2025, 3, 9);
    let mut prev_total = 0.0;
    let mut daily = std::collections::HashMap::new();
    for n in (0..60).rev() {
        let day = yesterday - Duration::days(n);
        let c = wechat_exporter::dates::compact(day);
        let (_, raw) = h.raw(&t, Api::DailyVisitTrend, &c, &c).await;
        let v: Value = serde_json::from_str(&raw).unwrap();
        for f in ["session_cnt", "visit_pv", "visit_uv", "visit_uv_new"] {
            assert!(v["list"][0][f].is_u64(), "{f} is an integer in {raw}");
        }
        assert!(!raw.contains(".0,") && !raw.contains(".0}"), "{raw}");
        assert!(v["list"][0]["stay_time_session"].is_f64());
        let row: VisitTrendRow = parse(&v["list"][0]);
        let (uv_new, uv) = (row.visit_uv_new.unwrap(), row.visit_uv.unwrap());
        let (sess, pv) = (row.session_cnt.unwrap(), row.visit_pv.unwrap());
        assert!(uv_new <= uv && uv <= sess && sess <= pv, "{row:?}");
        assert!(uv > 20_000.0 && uv < 150_000.0, "about 50k visitors: {uv}");
        let depth = row.visit_depth.unwrap();
        assert_eq!((depth * 10_000.0).round() / 10_000.0, depth);
        daily.insert(day, row);

        let s: ListResponse<DailySummaryRow> = parse(&h.call(&t, Api::DailySummary, &c, &c).await);
        let s = &s.list[0];
        assert!(s.share_pv.unwrap() >= s.share_uv.unwrap());
        assert!(s.visit_total.unwrap() >= prev_total);
        prev_total = s.visit_total.unwrap();
    }
    // Weekends are busier than weekdays on average.
    let avg = |weekend: bool| {
        let xs: Vec<f64> = daily
            .iter()
            .filter(|(day, _)| {
                use chrono::Datelike;
                (day.weekday().num_days_from_monday() >= 5) == weekend
            })
            .map(|(_, r)| r.visit_uv.unwrap())
            .collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    assert!(avg(true) > avg(false));
    // Weekly: sessions and visits are sums, visitors de-duplicated.
    for w in 0..8 {
        let week = DateRange::week_of(d(2025, 3, 3) - Duration::weeks(w));
        let (b, e) = week.compact();
        let v: ListResponse<VisitTrendRow> =
            parse(&h.call(&t, Api::WeeklyVisitTrend, &b, &e).await);
        let row = &v.list[0];
        let days: Vec<&VisitTrendRow> =
            week.begin.iter_days().take(7).map(|x| &daily[&x]).collect();
        let sum =
            |f: fn(&VisitTrendRow) -> Option<f64>| days.iter().map(|r| f(r).unwrap()).sum::<f64>();
        assert_eq!(row.session_cnt.unwrap(), sum(|r| r.session_cnt));
        assert_eq!(row.visit_pv.unwrap(), sum(|r| r.visit_pv));
        assert!(row.visit_uv.unwrap() < sum(|r| r.visit_uv));
        assert!(row.visit_uv_new.unwrap() < sum(|r| r.visit_uv_new));
        assert!(row.visit_uv_new.unwrap() <= row.visit_uv.unwrap());
        let max_day = days.iter().map(|r| r.visit_uv.unwrap()).fold(0.0, f64::max);
        assert!(row.visit_uv.unwrap() >= max_day);
    }
    // Pages: top 200, sorted, integers; page uv never above pv.
    for n in [0, 13, 41] {
        let c = wechat_exporter::dates::compact(yesterday - Duration::days(n));
        let (_, raw) = h.raw(&t, Api::VisitPage, &c, &c).await;
        let v: Value = serde_json::from_str(&raw).unwrap();
        assert!(v["list"][0]["page_visit_pv"].is_u64());
        let p: VisitPage = parse(&v);
        assert_eq!(p.list.len(), 200);
        for w in p.list.windows(2) {
            assert!(w[0].page_visit_pv >= w[1].page_visit_pv);
        }
        for r in &p.list {
            assert!(r.page_visit_uv <= r.page_visit_pv && r.page_share_uv <= r.page_share_pv);
            assert!(r.entrypage_pv <= r.page_visit_pv);
        }
    }
    // Retention falls with k and new users never exceed active ones.
    for n in 30..60 {
        let cohort = DateRange::day(yesterday - Duration::days(n));
        let r = h.sim.retention(MP, cohort, Period::Daily);
        assert_eq!(r.visit_uv.len(), 10);
        for s in [&r.visit_uv, &r.visit_uv_new] {
            assert!(s.windows(2).all(|w| w[1].value <= w[0].value), "{s:?}");
        }
        assert!(r.visit_uv_new[0].value <= r.visit_uv[0].value);
    }
}

#[tokio::test]
async fn same_seed_same_bodies() {
    let a = setup(NOON).await;
    let b = setup(NOON).await;
    let c = setup_with(SimConfig {
        seed: 2,
        clock: Clock::manual(utc(NOON)),
        ..SimConfig::default()
    })
    .await;
    let (ta, tb, tc) = (a.token(MP).await, b.token(MP).await, c.token(MP).await);
    assert_eq!(ta, tb, "tokens are deterministic too");
    assert_ne!(ta, tc);
    for (api, x, y) in [
        (Api::DailySummary, "20250309", "20250309"),
        (Api::WeeklyVisitTrend, "20250303", "20250309"),
        (Api::VisitDistribution, "20250309", "20250309"),
        (Api::VisitPage, "20250301", "20250301"),
        (Api::UserPortrait, "20250208", "20250309"),
        (Api::DailyRetention, "20250201", "20250201"),
    ] {
        let ra = a.raw(&ta, api, x, y).await;
        assert_eq!(ra, b.raw(&tb, api, x, y).await, "{api:?}");
        assert_ne!(ra, c.raw(&tc, api, x, y).await, "{api:?} differs by seed");
    }
    let (oa, ob) = (a.token(OA).await, b.token(OA).await);
    assert_eq!(
        a.raw(&oa, Api::UserSummary, "2025-03-01", "2025-03-07")
            .await,
        b.raw(&ob, Api::UserSummary, "2025-03-01", "2025-03-07")
            .await
    );
}

#[tokio::test]
async fn request_log_and_control_plane() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    h.call(&t, Api::WeeklyVisitTrend, "20250303", "20250309")
        .await;
    h.call(&t, Api::DailyVisitTrend, "20250310", "20250310")
        .await;
    h.legacy(MP, DEMO_MINIPROGRAM_SECRET).await;
    h.stable(MP, DEMO_MINIPROGRAM_SECRET, true).await;
    let log = h.sim.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].path, "/cgi-bin/stable_token");
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].token_kind.as_deref(), Some("stable"));
    assert_eq!(log[0].appid.as_deref(), Some(MP));
    assert_eq!(log[0].at, utc(NOON));
    assert_eq!(log[1].api, Some(Api::WeeklyVisitTrend));
    assert_eq!(log[1].appid.as_deref(), Some(MP));
    assert_eq!(log[1].begin_date.as_deref(), Some("20250303"));
    assert_eq!(log[1].end_date.as_deref(), Some("20250309"));
    assert_eq!(log[1].errcode, 0);
    assert_eq!(log[2].errcode, 61501);
    assert_eq!(log[3].token_kind.as_deref(), Some("legacy"));
    assert_eq!(log[3].method, "GET");
    assert_eq!(log[4].token_kind.as_deref(), Some("stable_force"));

    // Over HTTP, for out-of-process benchmarks.
    let url = format!("{}/simulator/requests", h.srv.url());
    let remote: Vec<RecordedRequest> = h.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(remote, log);
    let r = h
        .http
        .post(format!("{}/simulator/faults", h.srv.url()))
        .json(&json!({"busy": 1, "only_path": "/datacube/getweanalysisappiddailysummarytrend"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let t = h.token(MP).await;
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        -1
    );
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        0
    );
    h.http.delete(&url).send().await.unwrap();
    assert!(h.sim.requests().is_empty());
    h.call(&t, Api::DailySummary, "20250309", "20250309").await;
    assert_eq!(h.sim.requests().len(), 1);
    h.sim.clear_requests();
    assert!(h.sim.requests().is_empty());
}

#[tokio::test]
async fn hostile_input_gets_errors_not_panics() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let url = |p: &str| format!("{}{p}", h.srv.url());
    let r = h.http.get(url("/nope")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.json::<Value>().await.unwrap()["errmsg"].is_string());
    let r = h
        .http
        .post(url(&format!("/datacube/getnothing?access_token={t}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    for body in [
        b"{\"begin_date\":".to_vec(),
        vec![0xff, 0xfe, 0x00],
        b"[1,2,3]".to_vec(),
        Vec::new(),
    ] {
        let r = h
            .http
            .post(url(&format!(
                "{}?access_token={t}",
                Api::DailySummary.path()
            )))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(errcode(&r.json().await.unwrap()), 47001);
    }
    let r = h
        .http
        .post(url("/cgi-bin/stable_token"))
        .json(&json!({"grant_type":"client_credential","appid":MP,"secret":DEMO_MINIPROGRAM_SECRET,"force_refresh":"yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(errcode(&r.json().await.unwrap()), 47001);
    let r = h
        .http
        .get(url("/cgi-bin/token?%zz=%%"))
        .send()
        .await
        .unwrap();
    assert_eq!(errcode(&r.json().await.unwrap()), 40002);
    // The server is still alive and well.
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        0
    );
}

#[tokio::test]
async fn a_thousand_apps() {
    use futures::StreamExt;
    let h = setup(NOON).await;
    for i in 0..1000 {
        let kind = if i % 2 == 0 {
            AppKind::Miniprogram
        } else {
            AppKind::OfficialAccount
        };
        let mut app = SimApp::new(format!("wxbench{i:011}"), format!("s{i}"), kind);
        app.scale = 0.01 + (i as f64) / 1000.0;
        h.sim.add_app(app);
    }
    let codes: Vec<i64> = futures::stream::iter(0..1000)
        .map(|i| {
            let h = &h;
            async move {
                let v = h
                    .stable(&format!("wxbench{i:011}"), &format!("s{i}"), false)
                    .await;
                let t = v["access_token"].as_str().unwrap().to_string();
                let v = if i % 2 == 0 {
                    h.call(&t, Api::DailyVisitTrend, "20250309", "20250309")
                        .await
                } else {
                    h.call(&t, Api::UserCumulate, "2025-03-09", "2025-03-09")
                        .await
                };
                errcode(&v)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(codes.iter().all(|c| *c == 0));
    assert_eq!(h.sim.requests().len(), 2000);
    // Small apps stay coherent too.
    let tiny = h.sim.visit_trend(
        "wxbench00000000000",
        DateRange::day(d(2025, 3, 9)),
        Period::Daily,
    );
    assert!(tiny.visit_uv.unwrap() >= 2.0 && tiny.visit_uv.unwrap() < 2000.0);
}

#[tokio::test]
async fn dropping_the_server_stops_serving() {
    let h = setup(NOON).await;
    let t = h.token(MP).await;
    let url = h.srv.url();
    // Keep-alive connection is open; it must close too.
    assert_eq!(
        errcode(&h.call(&t, Api::DailySummary, "20250309", "20250309").await),
        0
    );
    let H { srv, http, .. } = h;
    drop(srv);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let r = http
        .post(format!("{url}/cgi-bin/stable_token"))
        .body("{}")
        .send()
        .await;
    assert!(r.is_err(), "still serving: {r:?}");
}

#[tokio::test]
async fn empty_list_mode_keeps_object_shapes() {
    let clock = Clock::manual(utc("2025-03-10T01:00:00Z"));
    let h = setup_with(SimConfig {
        clock,
        not_ready: NotReady::EmptyList,
        ..SimConfig::default()
    })
    .await;
    let t = h.token(MP).await;
    let v = h.call(&t, Api::UserPortrait, "20250303", "20250309").await;
    let p: UserPortrait = parse(&v);
    assert_eq!(p.ref_date.as_deref(), Some("20250303-20250309"));
    assert!(p.visit_uv.unwrap().province.is_empty());
    let v: VisitPage = parse(&h.call(&t, Api::VisitPage, "20250309", "20250309").await);
    assert!(v.list.is_empty());
    let v = h
        .call(&t, Api::MonthlyVisitTrend, "20250201", "20250228")
        .await;
    assert_eq!(
        v["list"].as_array().unwrap().len(),
        1,
        "February is long released"
    );
}
