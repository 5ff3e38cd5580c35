//! Property tests: no input panics a response parser or the config parser.
//! Every collector's `collect` gets arbitrary JSON (nested objects, arrays,
//! numbers, strings, with WeChat's field names) and real simulator bodies
//! with random nodes replaced; `Config::from_yaml` gets arbitrary strings
//! and mutated valid YAML. Cases and time are printed.

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use std::time::Instant;
use wechat_exporter::api::Api;
use wechat_exporter::collectors::{collector, Ctx};
use wechat_exporter::config::Config;

const NOW: &str = "2025-03-10T03:00:00Z";

const KEYS: &[&str] = &[
    "list",
    "ref_date",
    "errcode",
    "errmsg",
    "visit_uv",
    "visit_uv_new",
    "visit_pv",
    "session_cnt",
    "stay_time_uv",
    "stay_time_session",
    "visit_depth",
    "visit_total",
    "share_pv",
    "share_uv",
    "key",
    "value",
    "index",
    "item_list",
    "page_path",
    "page_visit_pv",
    "page_visit_uv",
    "entrypage_pv",
    "exitpage_pv",
    "page_staytime_pv",
    "page_share_pv",
    "province",
    "city",
    "genders",
    "platforms",
    "devices",
    "ages",
    "id",
    "name",
    "user_source",
    "new_user",
    "cancel_user",
    "cumulate_user",
    "begin_date",
    "end_date",
];

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        (0u32..300).prop_map(Value::from),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        Just(json!(u64::MAX)),
    ]
}

fn string() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("20250309")),
        Just(Value::from("2025-03-09")),
        Just(Value::from("20250303-20250309")),
        Just(Value::from("202502")),
        Just(Value::from("")),
        "[a-z/]{1,30}".prop_map(Value::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        string(),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(str::to_string),
                        "[a-z_]{1,8}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Runs every collector on `body` for every planned target.
fn collect_all(body: &Value) -> usize {
    let now = utc(NOW);
    let mut n = 0;
    for api in Api::ALL {
        let c = collector(api);
        for target in crate::common::plan(api, now) {
            for oa_released_day in [None, Some(target.range.begin)] {
                let ctx = Ctx {
                    app: "fuzz",
                    page_limit: 200,
                    article_limit: 20,
                    oa_released_day,
                    // The paths `plan`'s app has, so quota answers are parsed.
                    slot_names: crate::common::slot_names(api),
                };
                let _ = c.collect(&ctx, &target, body.clone());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn collectors_never_panic_on_arbitrary_json() {
    let started = Instant::now();
    let cases = 1500;
    let mut runner = TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let calls = std::cell::Cell::new(0usize);
    runner
        .run(&arb_json(), |v| {
            calls.set(calls.get() + collect_all(&v));
            // The same value as a `list` of the documented envelope.
            calls.set(
                calls.get() + collect_all(&json!({ "list": [v.clone()], "ref_date": "20250309" })),
            );
            calls.set(calls.get() + collect_all(&json!({ "list": v })));
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz: {cases} arbitrary JSON values, {} collect calls in {:?}",
        calls.get(),
        started.elapsed()
    );
}

/// Real answers of every API, as the simulator serves them.
fn real_bodies() -> &'static Vec<(Api, Value)> {
    static BODIES: OnceLock<Vec<(Api, Value)>> = OnceLock::new();
    BODIES.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let h = Harness::new(NOW, 10.0, 10.0, vec![]).await;
            let client = reqwest::Client::new();
            let url = h.server.url();
            let mut out = Vec::new();
            for (appid, secret) in [(MP_APPID, MP_SECRET), (OA_APPID, OA_SECRET)] {
                let token = stable_token(&url, appid, secret).await;
                for api in Api::ALL.into_iter().filter(|a| {
                    (a.app_kind() == wechat_exporter::api::AppKind::Miniprogram)
                        == (appid == MP_APPID)
                }) {
                    for target in crate::common::plan(api, utc(NOW)) {
                        let call = api.spec().call(target.range, target.slot);
                        let at = format!("{url}{}?access_token={token}", api.path());
                        // A body makes it a POST; none, a GET with the query.
                        let req = match &call.body {
                            Some(b) => client.post(&at).json(b),
                            None => client.get(&at).query(&call.query),
                        };
                        let v: Value = req.send().await.unwrap().json().await.unwrap();
                        // Absent, or 0 as in the performance answer.
                        assert!(v.get("errcode").map_or(true, |c| c == 0), "{api:?}: {v}");
                        out.push((api, v));
                    }
                }
            }
            out
        })
    })
}

/// Replaces the `at`-th node (pre-order) of `v` with `with`, or removes it
/// from its parent when `with` is None.
fn mutate(v: &mut Value, at: &mut usize, with: &Option<Value>) -> bool {
    if *at == 0 {
        if let Some(w) = with {
            *v = w.clone();
        } else {
            *v = Value::Null;
        }
        return true;
    }
    *at -= 1;
    match v {
        Value::Array(a) => {
            for i in 0..a.len() {
                if *at == 0 && with.is_none() {
                    a.remove(i);
                    return true;
                }
                if mutate(&mut a[i], at, with) {
                    return true;
                }
            }
            false
        }
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if *at == 0 && with.is_none() {
                    m.remove(&k);
                    return true;
                }
                if mutate(m.get_mut(&k).unwrap(), at, with) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

#[test]
fn collectors_never_panic_on_mutated_real_bodies() {
    let bodies = real_bodies();
    assert!(bodies.len() > 20, "{} real bodies", bodies.len());
    // Unmutated, every body gives samples.
    for (api, body) in bodies.iter() {
        let c = collector(*api);
        let ok = crate::common::plan(*api, utc(NOW)).iter().any(|t| {
            matches!(
                c.collect(
                    &Ctx {
                        app: "a",
                        page_limit: 200,
                        article_limit: 20,
                        oa_released_day: Some(t.range.begin),
                        slot_names: crate::common::slot_names(*api),
                    },
                    t,
                    body.clone()
                ),
                // Numbers WeChat has not settled yet are samples too.
                Ok(wechat_exporter::collectors::Collected::Samples(_))
                    | Ok(wechat_exporter::collectors::Collected::Provisional(_))
            )
        });
        assert!(ok, "{api:?} real body gives samples");
    }
    let started = Instant::now();
    let cases = 3000;
    let mut runner = TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let strategy = (
        0..bodies.len(),
        prop::collection::vec(
            (0usize..5000, prop::option::weighted(0.8, arb_json())),
            1..4,
        ),
    );
    let calls = std::cell::Cell::new(0usize);
    runner
        .run(&strategy, |(i, edits)| {
            let (api, body) = &bodies[i];
            let mut b = body.clone();
            for (at, with) in &edits {
                let mut at = *at;
                mutate(&mut b, &mut at, with);
            }
            let c = collector(*api);
            for t in crate::common::plan(*api, utc(NOW)) {
                for released in [None, Some(t.range.begin)] {
                    let ctx = Ctx {
                        app: "a",
                        page_limit: 7,
                        article_limit: 20,
                        oa_released_day: released,
                        slot_names: crate::common::slot_names(*api),
                    };
                    let _ = c.collect(&ctx, &t, b.clone());
                    calls.set(calls.get() + 1);
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz: {cases} mutated real bodies, {} collect calls in {:?}",
        calls.get(),
        started.elapsed()
    );
}

const VALID: &str = "wechat:\n  api_url: http://127.0.0.1:1\n  timeout: 5s\n  attempts: 3\n  retry_delay: 100ms\npoll:\n  interval: 5m\n  concurrency: 4\n  release_hour: 10.5\n  jitter: 1s\napps:\n  - name: shop\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    apis: [daily_summary, visit_page]\n    exclude_apis: [visit_page]\n    page_limit: 50\n  - name: news\n    type: official_account\n    appid: wx1234567890abcdee\n    secret: ${NEWS}\n    token:\n      source: stable\n";

fn env(_: &str) -> Option<String> {
    Some("fuzz-secret".into())
}

#[test]
fn config_parser_never_panics() {
    assert!(Config::from_yaml(VALID, "f.yml", &env).is_ok());
    let started = Instant::now();
    let cases = 3000;
    let mut runner = TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    });
    runner
        .run(
            &prop_oneof![".{0,200}", "[a-z_:\\-\\[\\]{}$ \n0-9.]{0,200}"],
            |s| {
                let _ = Config::from_yaml(&s, "f.yml", &env);
                Ok(())
            },
        )
        .unwrap();
    // Mutated valid YAML: characters replaced, inserted or deleted.
    let alphabet: Vec<char> = " :-\n[]{}$#&*!|>'\"%@`0123456789.abcwx_~".chars().collect();
    let edit = (0..VALID.len(), 0u8..3, prop::sample::select(alphabet));
    let mut runner = TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let valid = std::cell::Cell::new(0);
    runner
        .run(&prop::collection::vec(edit, 1..6), |edits| {
            let mut s: Vec<char> = VALID.chars().collect();
            for (at, op, c) in edits {
                let at = at.min(s.len().saturating_sub(1));
                match op {
                    0 => s[at] = c,
                    1 => s.insert(at, c),
                    _ => {
                        s.remove(at);
                    }
                }
            }
            let text: String = s.into_iter().collect();
            if Config::from_yaml(&text, "f.yml", &env).is_ok() {
                valid.set(valid.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz: {} config strings ({cases} arbitrary, {cases} mutated, {} of those still valid) in {:?}",
        2 * cases,
        valid.get(),
        started.elapsed()
    );
}
