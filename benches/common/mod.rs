//! What the benchmarks share: their knobs from the environment, and the
//! call floor they measure the poller against.
#![allow(dead_code)]

use chrono::Datelike;
use wechat_exporter::api::AppKind;

/// A knob from the environment, or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Datacube calls a perfect poller makes on Beijing day `today` for one
/// app: one per API, period and slot with new data (as
/// `tests/it/exporter.rs` counts them). `publish_asks` is how often the
/// publish summary is asked that day: hourly while its numbers are
/// provisional (until noon Beijing in the simulator), so it depends on
/// when the bench polls.
pub fn floor(kind: AppKind, today: chrono::NaiveDate, publish_asks: usize) -> usize {
    let monday = today.weekday() == chrono::Weekday::Mon;
    let first = today.day() == 1;
    match kind {
        // summary, daily trend, distribution, page, 10 daily retention
        // offsets, 3 portrait windows; weekly trend + 5 weekly offsets on
        // Mondays; monthly trend + 2 monthly offsets on the 1st; the 5
        // performance modules (one whole-population call each).
        AppKind::Miniprogram => 17 + 5 + if monday { 6 } else { 0 } + if first { 3 } else { 0 },
        // followers (2); daily and hourly messages, message distribution,
        // callbacks and hourly callbacks (5); the published-articles list
        // (1); the publish summary, article reads, shares and totals (4
        // APIs with is_delay, each asked `publish_asks` times); weekly
        // messages and distribution on Mondays; monthly ones on the 1st.
        AppKind::OfficialAccount => {
            8 + 4 * publish_asks + if monday { 2 } else { 0 } + if first { 2 } else { 0 }
        }
    }
}

/// The exporter's config of each simulated app, named `app-<i>`.
pub fn app_configs(
    sim_apps: &[wechat_exporter::simulator::SimApp],
) -> Vec<wechat_exporter::config::AppConfig> {
    sim_apps
        .iter()
        .enumerate()
        .map(|(i, a)| {
            wechat_exporter::config::AppConfig::new(
                &format!("app-{i}"),
                a.kind,
                &a.appid,
                wechat_exporter::secret::Secret::new(a.secret.clone()),
            )
        })
        .collect()
}
