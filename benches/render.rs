//! Build time of one publish (the `/metrics` body and its gzip copy) for
//! `BENCH_APPS` (default 1,000) Mini Programs with every API and
//! `BENCH_PAGES` (default 200) pages each, after one real round against
//! the in-process simulator:
//!
//! * `full`: from an empty gzip cache (the first publish after start);
//! * `one_app`: after one app's page data was replaced (a new answer);
//! * `unchanged`: nothing changed since the last publish.
//!
//! Prints one `RESULT` line that `benches/run.sh` collects; each figure is
//! the median of `BENCH_RUNS` (default 5). Run alone with
//! `cargo bench --bench render`.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Instant;
use wechat_exporter::api::{Api, AppKind};
use wechat_exporter::clock::Clock;
use wechat_exporter::config::{Config, PollSettings, WechatSettings};
use wechat_exporter::expose::snapshot::{build, GzipCache};
use wechat_exporter::poll::poller::Poller;
use wechat_exporter::self_metrics::SelfMetrics;
use wechat_exporter::simulator::{generated_apps, SimConfig, Simulator};
use wechat_exporter::state::AppRef;

#[path = "common/mod.rs"]
mod common;
use common::{app_configs, env_usize};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n_apps = env_usize("BENCH_APPS", 1000);
    let pages = env_usize("BENCH_PAGES", 200);
    let runs = env_usize("BENCH_RUNS", 5).max(1);
    // Wednesday 15 January 2025, 11:00 Beijing: yesterday is released.
    let now: DateTime<Utc> = "2025-01-15T03:00:00Z".parse().expect("valid time");
    let clock = Clock::manual(now);
    let sim_apps: Vec<_> = generated_apps(2 * n_apps)
        .into_iter()
        .filter(|a| a.kind == AppKind::Miniprogram)
        .map(|mut a| {
            a.pages = Some(pages);
            a
        })
        .collect();
    let sim = Simulator::new(SimConfig {
        seed: 5,
        clock: clock.clone(),
        release_hour: 10.0,
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
            concurrency: 64,
            release_hour: 10.0,
            ..PollSettings::default()
        },
        apps,
        ..Config::default()
    };
    let metrics = Arc::new(SelfMetrics::new());
    let poller = Poller::new(&config, clock, metrics.clone());
    poller.poll_once().await;
    assert!(poller.ready(), "one round makes every app ready");

    let polled = poller.apps();
    let refs: Vec<AppRef<'_>> = polled.iter().map(|a| a.snapshot_ref()).collect();
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let (mut full, mut one, mut same) = (Vec::new(), Vec::new(), Vec::new());
    let mut body_bytes = 0;
    for run in 0..runs {
        let mut cache = GzipCache::default();
        let t = Instant::now();
        let snap = build(&refs, &metrics, 1.0, &[], now, &mut cache);
        full.push(ms(t));
        body_bytes = snap.body.len();
        drop(snap);

        // A new answer for one app: its page data rendered again.
        {
            let mut st = polled[run % polled.len()].lock();
            if let Some(s) = st.apis.get_mut(&Api::VisitPage) {
                for f in &mut s.results {
                    f.samples = f.samples.iter().collect::<Vec<_>>().into();
                }
            }
        }
        let t = Instant::now();
        let snap = build(&refs, &metrics, 1.0, &[], now, &mut cache);
        one.push(ms(t));
        drop(snap);

        let t = Instant::now();
        let snap = build(&refs, &metrics, 1.0, &[], now, &mut cache);
        same.push(ms(t));
        drop(snap);
    }
    println!(
        "RESULT render apps={n_apps} pages={pages} body_bytes={body_bytes} full_ms={:.0} one_app_ms={:.0} unchanged_ms={:.0}",
        median(full),
        median(one),
        median(same)
    );
}
