//! Demo mode: the simulator in-process, with one Mini Program and one
//! Official Account whose data is released at once, so that the exporter
//! shows real-looking metrics within seconds and with no WeChat account.

use crate::api::{Api, AppKind};
use crate::clock::Clock;
use crate::config::{AppConfig, Config, PollSettings, WechatSettings};
use crate::secret::Secret;
use crate::simulator::{self, Faults, SimConfig, SimServer, Simulator};
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
        only_path: Some(crate::api::Api::DailySummary.path().to_string()),
        ..Faults::default()
    });
    let server = sim.spawn("127.0.0.1:0").await?;
    let cfg = config_for(&server.url());
    Ok((server, cfg))
}

/// `--demo --demo.platform`: the demo apps, and the simulator as a
/// third-party platform that ten apps authorized (one without the
/// analytics permission), discovered by the exporter. The ticket lives in
/// a file in the temporary directory, renewed every 10 minutes.
pub async fn start_platform(clock: Clock) -> std::io::Result<(SimServer, Config)> {
    let (server, mut cfg) = start(clock).await?;
    let dir = std::env::temp_dir().join(format!("wechat-exporter-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ticket = dir.join("component_verify_ticket");
    let sim = server.simulator();
    simulator::start_platform(&sim, 10, Some(ticket.clone()))?;
    let yaml = format!(
        "platform:
  component_appid: {}
  component_secret: ${{DEMO_COMPONENT_SECRET}}
  component_verify_ticket_file: '{}'
  rediscover_interval: 5m
",
        simulator::platform::DEMO_COMPONENT_APPID,
        ticket.display()
    );
    let parsed = Config::from_yaml(&yaml, "demo", &|name| {
        (name == "DEMO_COMPONENT_SECRET")
            .then(|| simulator::platform::DEMO_COMPONENT_SECRET.to_string())
    })
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    cfg.platform = parsed.platform;
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
        // Each with a business path whose quota it watches, so the demo
        // shows the operations APIs too.
        apps: vec![
            AppConfig {
                // Every API, the opt-in operations ones included (hourly
                // feedback counts and JS errors, getPerformance once a day).
                apis: Some(Api::for_kind(AppKind::Miniprogram).collect()),
                quota_paths: vec!["/cgi-bin/message/subscribe/send".into()],
                // Its two latest releases, the newest first.
                js_error_versions: vec!["2.4.0".into(), "2.3.1".into()],
                ..AppConfig::new(
                    DEMO_MINIPROGRAM,
                    AppKind::Miniprogram,
                    simulator::DEMO_MINIPROGRAM_APPID,
                    Secret::new(simulator::DEMO_MINIPROGRAM_SECRET),
                )
            },
            AppConfig {
                quota_paths: vec!["/cgi-bin/message/template/send".into()],
                ..AppConfig::new(
                    DEMO_OFFICIAL_ACCOUNT,
                    AppKind::OfficialAccount,
                    simulator::DEMO_OFFICIAL_ACCOUNT_APPID,
                    Secret::new(simulator::DEMO_OFFICIAL_ACCOUNT_SECRET),
                )
            },
        ],
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo lists no APIs: each app polls every API of its kind, so an
    /// API appended to the table shows in the demo with no change here.
    #[test]
    fn demo_apps_poll_every_api_of_their_kind() {
        let cfg = config_for("http://127.0.0.1:1");
        assert_eq!(cfg.apps.len(), 2);
        for app in &cfg.apps {
            assert_eq!(
                app.enabled_apis(),
                Api::for_kind(app.kind).collect::<Vec<_>>(),
                "{}",
                app.name
            );
        }
        let oa = cfg
            .apps
            .iter()
            .find(|a| a.kind == AppKind::OfficialAccount)
            .map(|a| a.enabled_apis())
            .unwrap_or_default();
        for api in [
            Api::UpstreamMsg,
            Api::UpstreamMsgHour,
            Api::UpstreamMsgDist,
            Api::InterfaceSummary,
            Api::InterfaceSummaryHour,
            Api::BizSummary,
        ] {
            assert!(oa.contains(&api), "{api:?}");
        }
    }
}
