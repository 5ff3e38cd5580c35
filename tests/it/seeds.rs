//! The example responses of WeChat's own documentation (`shared/seeds/`,
//! copied to `tests/fixtures/seeds/` with their source named) parse and
//! give the documented values, missing fields staying absent.

use std::collections::HashMap;
use wechat_exporter::api::Api;
use wechat_exporter::collectors::{collector, Collected, Ctx, Target};
use wechat_exporter::dates::{parse_compact, parse_dashed, DateRange};
use wechat_exporter::families::Family;

fn samples(api: Api) -> HashMap<(Family, String), f64> {
    let path = format!(
        "{}/tests/fixtures/seeds/{}.json",
        env!("CARGO_MANIFEST_DIR"),
        api.label()
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let req = &fixture["request"];
    let parse = if api.dashed_dates() {
        parse_dashed
    } else {
        parse_compact
    };
    let range = DateRange {
        begin: parse(req["begin_date"].as_str().unwrap()).unwrap(),
        end: parse(req["end_date"].as_str().unwrap()).unwrap(),
    };
    // The doc examples are of the first cohort, so the offset is key 0 or 1.
    let slot = match api {
        Api::WeeklyRetention => 1,
        _ => 0,
    };
    let target = Target {
        slot,
        range,
        data_period: range,
    };
    let ctx = Ctx {
        app: "doc",
        page_limit: 200,
        article_limit: 20,
        oa_released_day: Some(range.end),
        slot_names: Vec::new(),
    };
    match collector(api)
        .collect(&ctx, &target, fixture["response"].clone())
        .unwrap()
    {
        Collected::Samples(s) => s
            .into_iter()
            .map(|s| ((s.family, s.labels), s.value))
            .collect(),
        Collected::NotReady => panic!("{api:?} example read as not ready"),
        Collected::Partial { skipped, .. } => panic!("{api:?} example partly skipped: {skipped:?}"),
        Collected::Provisional(_) => panic!("{api:?} example read as provisional"),
    }
}

fn get(m: &HashMap<(Family, String), f64>, f: Family, labels: &str) -> Option<f64> {
    m.get(&(f, labels.to_string())).copied()
}

#[test]
fn visit_trend_examples() {
    let d = samples(Api::DailyVisitTrend);
    let l = r#"app="doc",period="daily""#;
    assert_eq!(get(&d, Family::MpVisitors, l), Some(55500.0));
    assert_eq!(get(&d, Family::MpSessions, l), Some(142549.0));
    assert_eq!(get(&d, Family::MpVisitDepth, l), Some(1.9838));
    assert_eq!(get(&d, Family::MpStayPerSession, l), Some(0.0));
    // The doc's example has no stay_time_uv: absent, not 0.
    assert_eq!(get(&d, Family::MpStayPerVisitor, l), None);
    let w = samples(Api::WeeklyVisitTrend);
    assert_eq!(
        get(&w, Family::MpVisitors, r#"app="doc",period="weekly""#),
        Some(189405.0)
    );
    let m = samples(Api::MonthlyVisitTrend);
    assert_eq!(
        get(&m, Family::MpVisitors, r#"app="doc",period="monthly""#),
        Some(48659.0)
    );
}

#[test]
fn distribution_retention_and_page_examples() {
    let d = samples(Api::VisitDistribution);
    assert_eq!(
        get(
            &d,
            Family::MpVisitDistribution,
            r#"app="doc",period="daily",index="access_source_session_cnt",key="1",key_name="history list""#
        ),
        Some(116578.0)
    );
    assert!(d.len() > 10);
    let r = samples(Api::DailyRetention);
    assert_eq!(
        get(
            &r,
            Family::MpRetainedUsers,
            r#"app="doc",period="daily",cohort="new",offset="0""#
        ),
        Some(5464.0)
    );
    assert_eq!(
        get(
            &r,
            Family::MpRetentionRatio,
            r#"app="doc",period="daily",cohort="active",offset="0""#
        ),
        Some(1.0)
    );
    // The weekly example's key 0 is 0: the ratio is left out, not infinite.
    let w = samples(Api::WeeklyRetention);
    assert_eq!(
        get(
            &w,
            Family::MpRetainedUsers,
            r#"app="doc",period="weekly",cohort="active",offset="1""#
        ),
        Some(99310.0)
    );
    assert!(w.keys().all(|(f, _)| *f != Family::MpRetentionRatio));
    let p = samples(Api::VisitPage);
    assert_eq!(
        get(
            &p,
            Family::MpPageStayPerVisit,
            r#"app="doc",page="pages/main/main.html""#
        ),
        Some(8.139198)
    );
    samples(Api::MonthlyRetention);
}

#[test]
fn official_account_examples() {
    let s = samples(Api::UserSummary);
    // Source 0 has a row of zeros; every other known source is 0 too.
    assert_eq!(
        get(
            &s,
            Family::OaNewFollowers,
            r#"app="doc",source="0",source_name="other""#
        ),
        Some(0.0)
    );
    assert_eq!(
        get(
            &s,
            Family::OaUnfollowers,
            r#"app="doc",source="78",source_name="Moments ad""#
        ),
        Some(0.0)
    );
    let c = samples(Api::UserCumulate);
    assert_eq!(
        get(&c, Family::OaFollowers, r#"app="doc""#),
        Some(1217056.0)
    );
}
