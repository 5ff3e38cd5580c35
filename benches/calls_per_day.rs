//! WeChat calls per app per simulated day, against the floor of one call
//! per distinct (API, period) with new data.
//!
//! Runs the real poller against the in-process simulator on a manual clock
//! over `BENCH_DAYS` (default 14) days from Monday 20 January 2025 (so a
//! Monday and a 1st are crossed) with `BENCH_APPS` (default 40, half Mini
//! Programs, half Official Accounts) apps, polling twice a day like
//! `tests/exporter.rs`. Prints one `RESULT` line that `benches/run.sh`
//! collects. Run alone with `cargo bench --bench calls_per_day`.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use wechat_exporter::clock::Clock;
use wechat_exporter::config::{Config, PollSettings, WechatSettings};
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::{generated_apps, SimConfig, Simulator};

#[path = "common/mod.rs"]
mod common;
use common::{app_configs, env_usize, floor};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n_apps = env_usize("BENCH_APPS", 40);
    let days = env_usize("BENCH_DAYS", 14) as i64;
    let start: DateTime<Utc> = "2025-01-20T03:00:00Z".parse().expect("valid time");
    let clock = Clock::manual(start);
    let sim_apps = generated_apps(n_apps);
    let sim = Simulator::new(SimConfig {
        seed: 3,
        clock: clock.clone(),
        apps: sim_apps.clone(),
        ..SimConfig::default()
    });
    let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
    let apps = app_configs(&sim_apps);
    let config = Config {
        wechat: WechatSettings {
            api_url: server.url(),
            ..WechatSettings::default()
        },
        poll: PollSettings {
            concurrency: 16,
            ..PollSettings::default()
        },
        apps,
        ..Config::default()
    };
    let poller = Poller::new(&config, clock.clone(), Arc::new(SelfMetrics::new()));
    // Day 0 fills everything (history included): not steady state.
    poller.poll_once().await;
    sim.clear_requests();
    let t0 = std::time::Instant::now();
    let (mut data, mut tokens, mut floor_total) = (0usize, 0usize, 0usize);
    for day in 1..=days {
        let now = start + Duration::days(day);
        clock.set(now);
        poller.poll_once().await;
        clock.set(now + Duration::hours(2));
        poller.poll_once().await;
        let today = wechat_exporter::dates::beijing_date(now);
        // Polled at 11:00 (publish numbers provisional) and 13:00 (final).
        floor_total += sim_apps
            .iter()
            .map(|a| floor(a.kind, today, 2))
            .sum::<usize>();
        for r in sim.requests() {
            // Data calls: every API of the table: datacube, performance and the free-publish list (a /cgi-bin/ path).
            if r.api.is_some() {
                data += 1;
            } else if r.path.starts_with("/cgi-bin/") {
                tokens += 1;
            }
        }
        sim.clear_requests();
    }
    let app_days = (n_apps as i64 * days) as f64;
    println!(
        "RESULT calls_per_day apps={n_apps} days={days} data_per_app_day={:.3} token_per_app_day={:.3} floor_per_app_day={:.3} ratio={:.3} seconds={:.2}",
        data as f64 / app_days,
        tokens as f64 / app_days,
        floor_total as f64 / app_days,
        data as f64 / floor_total as f64,
        t0.elapsed().as_secs_f64()
    );
}
