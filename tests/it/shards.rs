//! Sharding end to end: one config file of many apps, N replicas built the
//! way `run` builds them (flags parsed by the real CLI, `run::load_config`,
//! `run::new_poller`), each polling the simulator. Together the shards must
//! publish every app exactly once, and label their own gauges.

use crate::common::*;
use clap::Parser;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use wechat_exporter::api::AppKind;
use wechat_exporter::cli::run;
use wechat_exporter::cli::Cli;
use wechat_exporter::clock::Clock;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::{generated_apps, SimConfig, Simulator};

const APPS: usize = 300;
const SHARDS: u32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_together_poll_every_app_exactly_once() {
    let clock = Clock::manual(utc("2025-01-15T03:00:00Z"));
    let sim_apps = generated_apps(APPS);
    let sim = Simulator::new(SimConfig {
        clock: clock.clone(),
        apps: sim_apps.clone(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");

    // The config a user would write: one secret file per app, one cheap
    // API each so that the test stays fast.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = format!(
        "wechat:\n  api_url: {}\n  retry_delay: 5ms\npoll:\n  concurrency: 32\napps:\n",
        server.url()
    );
    for (i, a) in sim_apps.iter().enumerate() {
        let secret = dir.path().join(format!("secret-{i}"));
        std::fs::write(&secret, &a.secret).expect("write secret");
        let (kind, api) = match a.kind {
            AppKind::Miniprogram => ("miniprogram", "daily_summary"),
            AppKind::OfficialAccount => ("official_account", "user_cumulate"),
        };
        yaml.push_str(&format!(
            "  - name: app-{i}\n    type: {kind}\n    appid: {}\n    secret_file: {}\n    apis: [{api}]\n",
            a.appid,
            secret.display()
        ));
    }
    let path = dir.path().join("config.yml");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(yaml.as_bytes()))
        .expect("write config");

    let mut owner: BTreeMap<String, u32> = BTreeMap::new();
    let mut sizes = Vec::new();
    for shard in 0..SHARDS {
        let cli = Cli::try_parse_from([
            "wechat-exporter".to_string(),
            format!("--config.file={}", path.display()),
            format!("--shard={shard}"),
            format!("--total-shards={SHARDS}"),
        ])
        .expect("flags parse");
        let config = run::load_config(&path, &cli.run).expect("config loads");
        let poller = run::new_poller(
            &config,
            clock.clone(),
            Arc::new(SelfMetrics::new()),
            &cli.run,
        );
        poller.poll_once().await;
        assert!(poller.ready());
        let m = Exposition::parse(&String::from_utf8_lossy(&poller.store.load().body.to_vec()));
        let shard_s = shard.to_string();
        let total_s = SHARDS.to_string();
        let labels = [
            ("shard", shard_s.as_str()),
            ("total_shards", total_s.as_str()),
        ];
        let n = m.must("wechat_exporter_apps", &labels) as usize;
        m.must("wechat_exporter_poll_duration_seconds", &labels);
        // Apps whose data this replica published.
        let mut published = 0;
        for (_, l, _) in m.samples.iter().filter(|(name, _, _)| {
            name == "wechat_miniprogram_cumulative_visitors"
                || name == "wechat_official_account_followers"
        }) {
            let app = l["app"].clone();
            if let Some(other) = owner.insert(app.clone(), shard) {
                panic!("{app} is published by shard {other} and shard {shard}");
            }
            published += 1;
        }
        assert_eq!(published, n, "shard {shard} publishes all it owns");
        sizes.push(n);
    }
    assert_eq!(owner.len(), APPS, "every app is published by some shard");
    for i in 0..APPS {
        assert!(owner.contains_key(&format!("app-{i}")), "app-{i} missing");
    }
    // FNV-1a spreads names evenly enough: no shard is starved.
    assert!(
        sizes.iter().all(|&n| n >= APPS / SHARDS as usize / 2),
        "{sizes:?}"
    );
    // Every app was asked for exactly once: one token and one data call.
    assert_eq!(sim.requests().len(), 2 * APPS);
}

#[test]
fn unsharded_replicas_carry_no_shard_labels() {
    let cli = Cli::try_parse_from(["wechat-exporter"]).expect("flags parse");
    let config = wechat_exporter::config::Config::default();
    let poller = run::new_poller(
        &config,
        Clock::manual(utc("2025-01-15T03:00:00Z")),
        Arc::new(SelfMetrics::new()),
        &cli.run,
    );
    let m = Exposition::parse(&String::from_utf8_lossy(&poller.store.load().body.to_vec()));
    assert_eq!(m.must("wechat_exporter_apps", &[]), 0.0);
}
