//! The WeChat API simulator over plain HTTP: tokens, every endpoint,
//! validation, release, retention, quotas, faults, request log.
//!
//! Every test runs a simulator on 127.0.0.1 with a manual clock, so
//! simulated days pass in microseconds and nothing leaves the machine.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use wechat_exporter::clock::Clock;
use wechat_exporter::dates::{DateRange, Period};
use wechat_exporter::simulator::*;
use wechat_exporter::wechat::api::Api;
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
        sources.len() < 11 || s.list.len() < 77,
        "some sources have no row some days"
    );

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
