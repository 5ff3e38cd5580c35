//! Platform mode at full size: `BENCH_AUTHORIZED` (default 1,000) apps
//! that authorized a simulated third-party platform (every tenth without
//! the analytics permission, so 900 polled), discovered and polled by the
//! real runner and poller against the in-process simulator on a manual
//! clock, for `BENCH_DAYS` (default 7) days from Monday 20 January 2025.
//!
//! Like a running exporter: discovery every hour (`rediscover_interval`
//! default), a poll round every 30 minutes (`poll.interval` default), a
//! fresh ticket every 10 minutes. Prints one `RESULT` line:
//! * `start_to_ready_s`: wall time of the first discovery and the first
//!   round (history included) until `Poller::ready()`;
//! * `token_calls_per_hour`: component + authorizer token calls, steady
//!   state (day 1 on);
//! * `discovery_calls_per_hour`: list + info calls, steady state;
//! * `data_per_app_day` against `floor_per_app_day` (one call per
//!   distinct API and period with new data).
//!
//! Run with `cargo bench --bench platform` (or `benches/platform.sh`).

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use wechat_exporter::api::AppKind;
use wechat_exporter::clock::Clock;
use wechat_exporter::config::Config;
use wechat_exporter::poll::discovery::PlatformRunner;
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::platform::{authorized_apps, DEMO_COMPONENT_APPID};
use wechat_exporter::simulator::{start_platform, write_ticket_file, SimConfig, Simulator};

#[path = "common/mod.rs"]
mod common;
use common::{env_usize, floor};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_usize("BENCH_AUTHORIZED", 1000);
    let days = env_usize("BENCH_DAYS", 7) as i64;
    // 11:00 Beijing: yesterday is released.
    let start: DateTime<Utc> = "2025-01-20T03:00:00Z".parse().expect("valid time");
    let clock = Clock::manual(start);
    let sim = Simulator::new(SimConfig {
        seed: 5,
        clock: clock.clone(),
        apps: Vec::new(),
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let ticket = dir.path().join("ticket");
    start_platform(&sim, n, None).expect("platform");
    let write_ticket =
        || write_ticket_file(&ticket, &sim.push_ticket().unwrap_or_default()).expect("ticket file");
    write_ticket();
    let secret = dir.path().join("secret");
    std::fs::write(
        &secret,
        wechat_exporter::simulator::platform::DEMO_COMPONENT_SECRET,
    )
    .expect("secret file");
    let server = sim.spawn("127.0.0.1:0").await.expect("simulator binds");
    let yaml = format!(
        "wechat:\n  api_url: {}\npoll:\n  concurrency: 16\nplatform:\n  component_appid: {DEMO_COMPONENT_APPID}\n  component_secret_file: {}\n  component_verify_ticket_file: {}\n",
        server.url(),
        secret.display(),
        ticket.display()
    );
    let cfg = Config::from_yaml(&yaml, "bench", &|_| None).expect("valid config");
    let metrics = Arc::new(SelfMetrics::new());
    let runner = PlatformRunner::new(clock.clone(), metrics.clone(), None, 0, 1);
    runner.prepare(&cfg);
    let poller = Poller::new(&cfg, clock.clone(), metrics);

    let t0 = std::time::Instant::now();
    runner
        .discover_once(&poller)
        .await
        .expect("first discovery");
    poller.poll_once().await;
    assert!(poller.ready(), "ready after the first round");
    let start_to_ready = t0.elapsed().as_secs_f64();
    let start_calls = sim.requests().len();
    sim.clear_requests();

    let polled: Vec<AppKind> = authorized_apps(n)
        .into_iter()
        .filter(|a| a.has_analytics())
        .map(|a| a.kind)
        .collect();
    let (mut data, mut tokens, mut discovery, mut floor_total) = (0usize, 0usize, 0usize, 0usize);
    let t1 = std::time::Instant::now();
    // Every 10 minutes of simulated time: the ticket; every 30: a round;
    // every 60: discovery.
    for step in 1..=(days * 24 * 6) {
        let now = start + Duration::minutes(10 * step);
        clock.set(now);
        write_ticket();
        if step % 6 == 0 {
            let _ = runner.discover_once(&poller).await;
        }
        if step % 3 == 0 {
            poller.poll_once().await;
        }
        // A new Beijing day's floor, counted once per day at 11:00 Beijing.
        if step % (24 * 6) == 0 {
            let today = wechat_exporter::dates::beijing_date(now);
            // Polled every 30 min from the release at 10:00: the publish
            // numbers are asked at 10:00 and 11:00 (provisional), 12:00.
            floor_total += polled.iter().map(|k| floor(*k, today, 3)).sum::<usize>();
        }
        for r in sim.requests() {
            match r.token_kind.as_deref() {
                _ if r.api.is_some() => data += 1,
                Some("component_token" | "authorizer_token") => tokens += 1,
                Some("get_authorizer_list" | "get_authorizer_info") => discovery += 1,
                _ => {}
            }
        }
        sim.clear_requests();
    }
    let hours = (days * 24) as f64;
    let app_days = polled.len() as f64 * days as f64;
    println!(
        "RESULT platform authorized={n} polled={} days={days} start_to_ready_s={start_to_ready:.2} start_calls={start_calls} token_calls_per_hour={:.1} discovery_calls_per_hour={:.1} data_per_app_day={:.3} floor_per_app_day={:.3} ratio={:.3} sim_seconds={:.1}",
        polled.len(),
        tokens as f64 / hours,
        discovery as f64 / hours,
        data as f64 / app_days,
        floor_total as f64 / app_days,
        data as f64 / floor_total.max(1) as f64,
        t1.elapsed().as_secs_f64()
    );
}
