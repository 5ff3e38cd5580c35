//! Demo mode: the simulator in-process, with one Mini Program and one
//! Official Account whose data is released at once, so that the exporter
//! shows real-looking metrics within seconds and with no WeChat account.

use crate::clock::Clock;
use crate::config::{AppConfig, Config, PollSettings, WechatSettings};
use crate::secret::Secret;
use crate::simulator::{self, Faults, SimConfig, SimServer, Simulator};
use crate::wechat::api::AppKind;
use std::time::Duration;

pub const DEMO_MINIPROGRAM: &str = "demo-miniprogram";
pub const DEMO_OFFICIAL_ACCOUNT: &str = "demo-official-account";

/// Starts the simulator on loopback and returns it with a matching config.
pub async fn start(clock: Clock) -> std::io::Result<(SimServer, Config)> {
    let sim = Simulator::new(SimConfig {
        clock,
        release_hour: 0.0,
        ..SimConfig::default()
    });
    // WeChat answers -1 (busy) now and then; so does the demo, once, so that
    // the error panels and counters show something real (the call is retried).
    sim.set_faults(Faults {
        busy: 1,
        only_path: Some(crate::wechat::api::Api::DailySummary.path().to_string()),
        ..Faults::default()
    });
    let server = sim.spawn("127.0.0.1:0").await?;
    let cfg = config_for(&server.url());
    Ok((server, cfg))
}

/// The demo apps against a simulator at `url`.
pub fn config_for(url: &str) -> Config {
    Config {
        wechat: WechatSettings {
            api_url: url.to_string(),
            retry_delay: Duration::from_millis(100),
            ..WechatSettings::default()
        },
        poll: PollSettings {
            interval: Duration::from_secs(60),
            release_hour: 0.0,
            ..PollSettings::default()
        },
        apps: vec![
            AppConfig::new(
                DEMO_MINIPROGRAM,
                AppKind::Miniprogram,
                simulator::DEMO_MINIPROGRAM_APPID,
                Secret::new(simulator::DEMO_MINIPROGRAM_SECRET),
            ),
            AppConfig::new(
                DEMO_OFFICIAL_ACCOUNT,
                AppKind::OfficialAccount,
                simulator::DEMO_OFFICIAL_ACCOUNT_APPID,
                Secret::new(simulator::DEMO_OFFICIAL_ACCOUNT_SECRET),
            ),
        ],
        allow_no_apps: false,
    }
}
