//! Key names on real-looking answers: the traffic-source keys that carry
//! most sessions in real Mini Program answers (22, 23, 29, 36) and the
//! newer Official Account follow sources get names through the public
//! collectors; keys no table lists keep their number.

use wechat_exporter::api::Api;
use wechat_exporter::collectors::{collector, Collected, Ctx, Target};
use wechat_exporter::dates::{parse_compact, parse_dashed, DateRange};
use wechat_exporter::families::Family;

fn collect(api: Api, day: DateRange, body: serde_json::Value) -> Vec<(Family, String, f64)> {
    let ctx = Ctx {
        app: "real",
        page_limit: 200,
        article_limit: 20,
        oa_released_day: Some(day.end),
        slot_names: Vec::new(),
    };
    let target = Target {
        slot: 0,
        range: day,
        data_period: day,
    };
    match collector(api).collect(&ctx, &target, body) {
        Ok(Collected::Samples(s)) => s
            .into_iter()
            .map(|s| (s.family, s.labels, s.value))
            .collect(),
        other => panic!("{api:?}: {other:?}"),
    }
}

/// The `key_name` of a sample of `index` and `key`, and its value.
fn named(samples: &[(Family, String, f64)], index: &str, key: &str) -> Option<(String, f64)> {
    let want = format!(r#"index="{index}",key="{key}",key_name=""#);
    samples.iter().find_map(|(_, labels, v)| {
        let at = labels.find(&want)? + want.len();
        let name = labels[at..].split('"').next()?;
        Some((name.to_string(), *v))
    })
}

#[test]
fn busiest_traffic_sources_of_a_real_answer_are_named() {
    // The shape and keys of real answers as developers post them (keys 36
    // and 29 first, as WeChat orders by key descending), with the keys that
    // carry most sessions in real payloads, two keys the table does not
    // list (58, 1001), and a key sent as a float.
    let body = serde_json::json!({
        "ref_date": "20251110",
        "list": [
            {"index": "access_source_session_cnt", "item_list": [
                {"key": 1001, "value": 3},
                {"key": 58, "value": 2},
                {"key": 36, "value": 5120},
                {"key": 29, "value": 8310},
                {"key": 23.0, "value": 1733},
                {"key": 22, "value": 2410},
                {"key": 2, "value": 402},
                {"key": 1, "value": 96}
            ]},
            {"index": "access_source_visit_uv", "item_list": [
                {"key": 36, "value": 2210},
                {"key": 29, "value": 3004},
                {"key": 23, "value": 880},
                {"key": 22, "value": 1290}
            ]},
            {"index": "access_staytime_info", "item_list": [
                {"key": 8, "value": 4}, {"key": 7, "value": 3}
            ]},
            {"index": "access_depth_info", "item_list": [
                {"key": 6, "value": 1}, {"key": 2, "value": 6}
            ]}
        ]
    });
    let day = DateRange::day(parse_compact("20251110").unwrap());
    let s = collect(Api::VisitDistribution, day, body);
    for (key, name, sessions, uv) in [
        ("22", "other mini program", 2410.0, 1290.0),
        ("23", "back from other mini program", 1733.0, 880.0),
        ("29", "task bar - recently used", 8310.0, 3004.0),
        ("36", "task bar - my mini programs", 5120.0, 2210.0),
    ] {
        assert_eq!(
            named(&s, "access_source_session_cnt", key),
            Some((name.to_string(), sessions)),
            "{s:?}"
        );
        assert_eq!(
            named(&s, "access_source_visit_uv", key),
            Some((name.to_string(), uv))
        );
    }
    // The busiest four carry 97% of this answer's sessions, all named:
    // only the unlisted keys keep their number.
    let unnamed: f64 = s
        .iter()
        .filter(|(_, l, _)| l.contains(r#"index="access_source_session_cnt""#))
        .filter(|(_, l, _)| {
            let key = l.split(r#"key=""#).nth(1).and_then(|r| r.split('"').next());
            key.is_some_and(|k| l.contains(&format!(r#"key_name="{k}""#)))
        })
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(unnamed, 5.0, "only keys 58 and 1001 stay numbers");
    assert_eq!(
        named(&s, "access_source_session_cnt", "58"),
        Some(("58".to_string(), 2.0))
    );
    assert_eq!(
        named(&s, "access_source_session_cnt", "1001"),
        Some(("1001".to_string(), 3.0))
    );
    assert_eq!(
        named(&s, "access_staytime_info", "8"),
        Some((">100s".to_string(), 4.0))
    );
    assert_eq!(
        named(&s, "access_depth_info", "6"),
        Some(("6-10 pages".to_string(), 1.0))
    );
}

#[test]
fn newer_follow_sources_are_named_and_unknown_ones_stay_numbers() {
    let body = serde_json::json!({"list": [
        {"ref_date": "2025-11-10", "user_source": 0, "new_user": 40, "cancel_user": 31},
        {"ref_date": "2025-11-10", "user_source": 149, "new_user": 7, "cancel_user": 1},
        {"ref_date": "2025-11-10", "user_source": 161, "new_user": 3, "cancel_user": 0},
        {"ref_date": "2025-11-10", "user_source": 200, "new_user": 12, "cancel_user": 2},
        {"ref_date": "2025-11-10", "user_source": 201, "new_user": 5, "cancel_user": 0},
        {"ref_date": "2025-11-10", "user_source": 176, "new_user": 2, "cancel_user": 0}
    ]});
    let day = DateRange::day(parse_dashed("2025-11-10").unwrap());
    let s = collect(Api::UserSummary, day, body);
    let new = |source: &str, name: &str| {
        let labels = format!(r#"app="real",source="{source}",source_name="{name}""#);
        s.iter()
            .find(|(f, l, _)| *f == Family::OaNewFollowers && *l == labels)
            .map(|(_, _, v)| *v)
    };
    assert_eq!(new("149", "mini program"), Some(7.0));
    assert_eq!(new("161", "reprinted by others"), Some(3.0));
    assert_eq!(new("200", "Channels"), Some(12.0));
    assert_eq!(new("201", "live"), Some(5.0));
    // No official table names 176: it stays a number.
    assert_eq!(new("176", "176"), Some(2.0));
    // A documented source without a row is 0, under its name.
    assert_eq!(new("100", "WeChat ads"), Some(0.0));
}
