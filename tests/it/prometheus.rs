//! A real Prometheus scrapes the exporter (the binary, configured from a
//! file, polling a simulator) and answers PromQL with the simulator's values.

use crate::common::*;
use std::process::{Command, Stdio};
use wechat_exporter::dates::{latest_day, DateRange, Period};
use wechat_exporter::simulator::{SimConfig, Simulator};

async fn query(prom: &str, q: &str) -> Option<f64> {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{prom}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_answers_promql_with_the_simulators_values() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let sim = Simulator::new(SimConfig {
        seed: 42,
        release_hour: 0.0,
        apps: sim_apps(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mp.secret"), MP_SECRET).unwrap();
    let config = dir.path().join("wechat.yml");
    std::fs::write(
        &config,
        format!(
            "wechat:\n  api_url: {}\npoll:\n  release_hour: 0\napps:\n  - name: shop\n    type: miniprogram\n    appid: {MP_APPID}\n    secret_file: {}\n  - name: news\n    type: official_account\n    appid: {OA_APPID}\n    secret: ${{NEWS_SECRET}}\n",
            server.url(),
            dir.path().join("mp.secret").display()
        ),
    )
    .unwrap();
    let port = free_port();
    let _exporter = ChildGuard(
        Command::new(exporter_bin())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .env("NEWS_SECRET", OA_SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_ok(&format!("http://127.0.0.1:{port}/-/ready"), 30).await;
    let prom_port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: wechat-exporter\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let _prom = ChildGuard(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");
    let now = chrono::Utc::now();
    let want = sim
        .visit_trend(MP_APPID, DateRange::day(latest_day(now)), Period::Daily)
        .visit_uv
        .unwrap();
    let mut got = None;
    for _ in 0..300 {
        got = query(
            &prom,
            r#"wechat_miniprogram_visitors{job="wechat-exporter",app="shop",period="daily"}"#,
        )
        .await;
        if got.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        got,
        Some(want),
        "PromQL answers the simulator's daily visitors"
    );
    let week = Period::Weekly.latest(now);
    assert_eq!(
        query(
            &prom,
            r#"wechat_miniprogram_visitors{app="shop",period="weekly"}"#
        )
        .await,
        sim.visit_trend(MP_APPID, week, Period::Weekly).visit_uv
    );
    assert_eq!(
        query(&prom, r#"wechat_official_account_followers{app="news"}"#).await,
        sim.user_cumulate(OA_APPID, latest_day(now)).cumulate_user
    );
    // A ratio PromQL could not compute itself, checked against its inputs.
    let cohort = Period::Daily.retention_cohort(now, 7);
    let r = sim.retention(MP_APPID, cohort, Period::Daily);
    let at = |k: f64| r.visit_uv_new.iter().find(|kv| kv.key == k).unwrap().value;
    let ratio = query(
        &prom,
        r#"wechat_miniprogram_retention_ratio{app="shop",period="daily",cohort="new",offset="7"}"#,
    )
    .await
    .unwrap();
    assert!((ratio - at(7.0) / at(0.0)).abs() < 1e-9);
    assert_eq!(
        query(&prom, r#"up{job="wechat-exporter"}"#).await,
        Some(1.0)
    );
}
