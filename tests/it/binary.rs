//! The `wechat-exporter` binary as a user runs it: `--config.check`, the
//! demo (no config), the landing page, `simulate` answered by a plain HTTP
//! client, and a clean exit on SIGTERM.

use crate::common::*;
use std::process::{Command, Stdio};

fn check(yaml: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(exporter_bin())
        .args(["--config.check", "--config.file"])
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn config_check_exit_codes_and_field_names() {
    let good = "apps:\n  - name: shop\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n";
    let (code, text) = check(good, &[("SHOP_SECRET", "Sekr1t-Value-77")]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("valid, 1 app"), "{text}");
    assert!(!text.contains("Sekr1t-Value-77"));
    let (code, text) = check(good, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("apps[0].secret") && text.contains("SHOP_SECRET"),
        "{text}"
    );
    let (code, text) = check("poll:\n  interval: 1x\n", &[]);
    assert_eq!(code, 2);
    assert!(text.contains("interval"), "{text}");
    let (code, text) = check("apps:\n  - name: a\n    type: mini\n", &[]);
    assert_eq!(code, 2);
    assert!(text.contains("type") || text.contains("mini"), "{text}");
    // A missing file is a config error too.
    let out = Command::new(exporter_bin())
        .args(["--config.check", "--config.file", "/nonexistent/wechat.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Unknown flags: exit 2 (clap), as Prometheus exporters do.
    let out = Command::new(exporter_bin())
        .arg("--no.such-flag")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_metrics_landing_page_and_stops_on_sigterm() {
    let port = free_port();
    let child = Command::new(exporter_bin())
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_ok(&format!("{base}/-/healthy"), 20).await;
    wait_ok(&format!("{base}/-/ready"), 20).await;
    let body = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m = Exposition::parse(&body);
    for family in [
        "wechat_miniprogram_visitors",
        "wechat_miniprogram_retention_ratio",
        "wechat_miniprogram_visit_distribution",
        "wechat_miniprogram_page_visits",
        "wechat_miniprogram_portrait_visitors",
        "wechat_official_account_followers",
        "wechat_official_account_new_followers",
        // The families of issue 12, on the Official Account's first poll.
        "wechat_official_account_messages",
        "wechat_official_account_message_senders",
        "wechat_official_account_messages_by_hour",
        "wechat_official_account_message_senders_by_hour",
        "wechat_official_account_message_senders_by_interval",
        "wechat_official_account_callbacks",
        "wechat_official_account_callback_failures",
        "wechat_official_account_callback_time_seconds",
        "wechat_official_account_callback_max_time_seconds",
        "wechat_official_account_callbacks_by_hour",
        "wechat_official_account_publish_readers",
        "wechat_official_account_publish_sharers",
        "wechat_official_account_publish_likes",
        "wechat_official_account_publish_hearts",
        "wechat_official_account_publish_comments",
        // Per-article publish analytics and their titles.
        "wechat_official_account_article_readers",
        "wechat_official_account_article_readers_by_source",
        "wechat_official_account_article_cumulative_readers",
        "wechat_official_account_article_published_timestamp_seconds",
        "wechat_official_account_article_info",
        // Mini Program performance, every module.
        "wechat_miniprogram_performance_open_ratio",
        "wechat_miniprogram_performance_launch_seconds",
        "wechat_miniprogram_performance_page_switch_seconds",
        "wechat_miniprogram_performance_memory_bytes",
        "wechat_miniprogram_performance_memory_anomaly",
        "wechat_data_date_timestamp_seconds",
        "wechat_exporter_build_info",
    ] {
        assert!(m.count(family) > 0, "{family} missing from the demo");
    }
    let oa = ("app", "demo-official-account");
    for (family, labels) in [
        (
            "wechat_official_account_messages",
            vec![
                oa,
                ("period", "daily"),
                ("msg_type", "1"),
                ("msg_type_name", "text"),
            ],
        ),
        ("wechat_official_account_callbacks", vec![oa]),
        ("wechat_official_account_publish_readers", vec![oa]),
    ] {
        assert!(m.must(family, &labels) > 0.0, "{family} of the demo is 0");
    }
    // Whether the demo's publish numbers are still provisional depends on
    // the hour; that they say which is not.
    let fin = m.must(
        "wechat_exporter_data_final",
        &[oa, ("api", "publish_summary")],
    );
    assert!(fin == 0.0 || fin == 1.0, "{fin}");
    // Named keys: the demo's visit distribution names its sources.
    assert!(
        m.get(
            "wechat_miniprogram_visit_distribution",
            &[
                ("app", "demo-miniprogram"),
                ("period", "daily"),
                ("index", "access_source_session_cnt"),
                ("key", "29"),
                ("key_name", "task bar - recently used"),
            ]
        )
        .is_some(),
        "key 29 is named in the demo"
    );
    assert!(
        m.must(
            "wechat_miniprogram_visitors",
            &[("app", "demo-miniprogram"), ("period", "daily")]
        ) > 0.0
    );
    // gzip is served to clients that ask, and decodes to the same body.
    let gz = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let bytes = gz.bytes().await.unwrap();
    let mut plain = String::new();
    use std::io::Read;
    // One gzip member (some clients decode only the first): the
    // snapshot's copy with process_* of this scrape inside it.
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut plain)
        .unwrap();
    let snapshot_part = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.contains("process_"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        snapshot_part(&plain),
        snapshot_part(&body),
        "same snapshot, gzip copy"
    );
    assert!(plain.contains("process_resident_memory_bytes "), "{plain}");
    let landing = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(landing.contains("demo-miniprogram") && landing.contains("demo-official-account"));
    assert!(landing.contains("/metrics"));
    // SIGTERM: graceful stop, exit 0.
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("level=info"), "logfmt logs: {err}");
    assert!(
        !err.contains(wechat_exporter::simulator::DEMO_MINIPROGRAM_SECRET),
        "secret in logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_answers_plain_http_as_the_docs_say() {
    let port = free_port();
    let _child = ChildGuard(
        Command::new(exporter_bin())
            .args([
                "simulate",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--release-hour",
                "0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut token = None;
    for _ in 0..100 {
        if let Ok(r) = http
            .post(format!("{base}/cgi-bin/stable_token"))
            .json(&serde_json::json!({
                "grant_type": "client_credential",
                "appid": wechat_exporter::simulator::DEMO_MINIPROGRAM_APPID,
                "secret": wechat_exporter::simulator::DEMO_MINIPROGRAM_SECRET,
            }))
            .send()
            .await
        {
            let v: serde_json::Value = r.json().await.unwrap();
            token = v["access_token"].as_str().map(str::to_string);
            assert!(v["expires_in"].as_f64().unwrap() > 0.0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = token.expect("simulator answers");
    let yesterday = wechat_exporter::dates::latest_day(chrono::Utc::now());
    let d = wechat_exporter::dates::compact(yesterday);
    let v: serde_json::Value = http
        .post(format!(
            "{base}/datacube/getweanalysisappiddailyvisittrend?access_token={token}"
        ))
        .json(&serde_json::json!({"begin_date": d, "end_date": d}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["list"][0]["ref_date"], d.as_str());
    assert!(
        v["list"][0]["visit_uv"].is_u64(),
        "counts are integers: {v}"
    );
    // WeChat's validation: a two-day range for a daily API is 61501.
    let e: serde_json::Value = http
        .post(format!(
            "{base}/datacube/getweanalysisappiddailyvisittrend?access_token={token}"
        ))
        .json(&serde_json::json!({"begin_date": "20250101", "end_date": "20250102"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["errcode"], 61501);
    assert!(e["errmsg"].as_str().unwrap().contains("rid:"));
}
