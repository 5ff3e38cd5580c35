//! The YAML configuration file: parsing, defaults and validation.
//!
//! Validation happens once, at load, and names the offending field
//! (`apps[1].appid: …`); `main` turns any error into exit code 2. Secrets
//! come from a file (`secret_file`) or the environment (`secret: ${VAR}`),
//! never from the file itself, and are resolved here so that a missing one
//! fails at start, not at the first poll.
//!
//! Hostile or mistaken input is refused fast and quietly: files are read up
//! to a bound, YAML nesting is checked before the parser sees it, every
//! duration and count has a maximum, a config with no app is refused unless
//! `allow_no_apps: true` says so, and parser errors never quote the input
//! (a secret file or key passed as `--config.file` must not be printed).

//!
//! Schema only: this module knows no client, poller or live handle (a
//! platform's component token source is attached by the poller).
//!
//! May import: the leaves.

mod app;
mod platform;
mod settings;
mod token;
mod yaml;

pub use app::{AppConfig, PerformanceConfig, PERFORMANCE_DIMENSIONS};
pub use platform::{ComponentTokenConfig, PlatformConfig};
pub use settings::{PollSettings, WechatSettings, DEFAULT_API_URL};
pub use token::TokenSourceConfig;
pub use yaml::{is_appid, yaml_depth};

use crate::secret::read_bounded;
use serde::Deserialize;
use std::path::Path;
use yaml::{quiet_yaml_error, Invalid};

/// The largest config file read: 10,000 apps take about 1.5 MB.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;
/// The deepest nesting accepted; the schema needs 4 (`apps[].token.path`).
/// libyaml parses a whole document before serde sees it, so 100k levels took
/// 20 s to refuse: [`yaml_depth`] refuses them before parsing.
pub const MAX_YAML_DEPTH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("config file {path}: field `{field}`: {reason}")]
    Invalid {
        path: String,
        field: String,
        reason: String,
    },
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub wechat: WechatSettings,
    #[serde(default)]
    pub poll: PollSettings,
    #[serde(default)]
    pub apps: Vec<AppConfig>,
    /// A third-party platform whose authorized apps are discovered.
    #[serde(default)]
    pub platform: Option<PlatformConfig>,
    /// A config without apps is refused (an empty or half-written file looks
    /// exactly like that, and a reload would wipe every series); set this to
    /// run with none on purpose.
    #[serde(default)]
    pub allow_no_apps: bool,
}

impl Config {
    /// Reads, parses and validates `path`, resolving every app's secret.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = read_bounded(path, MAX_CONFIG_BYTES).map_err(|reason| ConfigError::Read {
            path: p.clone(),
            reason,
        })?;
        Self::from_yaml(&text, &p, &|name| std::env::var(name).ok())
    }

    /// Parses and validates YAML; `env` looks up `${VAR}` references.
    pub fn from_yaml(
        text: &str,
        path: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let parse = |reason: String| ConfigError::Parse {
            path: path.to_string(),
            reason,
        };
        let depth = yaml_depth(text);
        if depth > MAX_YAML_DEPTH {
            return Err(parse(format!(
                "nested {depth} levels deep or more, beyond the limit of {MAX_YAML_DEPTH}"
            )));
        }
        // An empty file (or one of comments only) parses as no mapping at
        // all; it gets the defaults here and the "no apps" check below.
        let mut cfg: Config = match serde_yaml_ng::from_str::<Option<Config>>(text) {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => return Err(parse(quiet_yaml_error(&e))),
        };
        cfg.validate(path, env)?;
        Ok(cfg)
    }

    fn validate(
        &mut self,
        path: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let invalid = |(field, reason): Invalid| ConfigError::Invalid {
            path: path.to_string(),
            field,
            reason,
        };
        self.wechat.validate().map_err(invalid)?;
        self.poll.validate().map_err(invalid)?;
        if let Some(p) = &mut self.platform {
            p.validate(env).map_err(invalid)?;
        }
        let platform = self.platform.is_some();
        let mut names = std::collections::HashSet::new();
        for (i, app) in self.apps.iter_mut().enumerate() {
            app.validate(i, platform, env).map_err(invalid)?;
            if !names.insert(app.name.clone()) {
                return Err(invalid((
                    format!("apps[{i}].name"),
                    format!("`{}` is used by another app", app.name),
                )));
            }
        }
        // A platform's apps are discovered: its config may list none.
        if self.apps.is_empty() && !platform && !self.allow_no_apps {
            return Err(invalid((
                "apps".into(),
                "no app configured (an empty or half-written file looks like this); configure apps or a `platform`, or set `allow_no_apps: true` to run without apps on purpose".into(),
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(name: &str) -> Option<String> {
        (name == "SHOP_SECRET").then(|| "s3cr3t-value".to_string())
    }

    fn load(yaml: &str) -> Result<Config, ConfigError> {
        Config::from_yaml(yaml, "test.yml", &env)
    }

    #[test]
    fn full_example_parses_with_defaults() {
        let cfg = load(
            "wechat:\n  api_url: http://127.0.0.1:1\npoll:\n  interval: 5m\napps:\n  - name: shop\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n",
        )
        .unwrap();
        assert_eq!(cfg.poll.interval, Duration::from_secs(300));
        assert_eq!(cfg.apps[0].resolved_secret.expose(), "s3cr3t-value");
        // 10 analytics, 5 performance modules; the quota only with quota_paths.
        assert_eq!(cfg.apps[0].enabled_apis().len(), 15);
        assert!(cfg.apps[0].performance.dimensions.is_empty());
        // js_errors only with js_error_versions (or named in `apis`).
        let cfg = load(
            "apps:\n  - name: shop\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    js_error_versions: ['2.8.21', 2.8.20]\n",
        )
        .unwrap();
        assert!(cfg.apps[0]
            .enabled_apis()
            .contains(&crate::api::Api::JsErrors));
        assert_eq!(cfg.apps[0].js_error_versions, ["2.8.21", "2.8.20"]);
        let cfg = load(
            "apps:\n  - name: shop\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    performance:\n      dimensions: [networktype, device_level]\n",
        )
        .unwrap();
        assert_eq!(
            cfg.apps[0].performance.dimensions,
            ["networktype", "device_level"]
        );
        assert_eq!(cfg.apps[0].page_limit, 200);
        assert_eq!(cfg.apps[0].article_limit, 20);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx12\n    secret: ${SHOP_SECRET}\n", "apps[0].appid"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: hunter2\n", "apps[0].secret"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${NOPE}\n", "apps[0].secret"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n", "apps[0].secret_file"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret_file: /nonexistent/x\n", "apps[0].secret_file"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    apis: [daily_visit_trend]\n", "apps[0].apis"),
            ("poll:\n  interval: 0s\n", "poll.interval"),
            ("wechat:\n  api_url: ftp://x\n", "wechat.api_url"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    performance:\n      dimensions: [networktype, city]\n", "apps[0].performance.dimensions[1]"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    performance:\n      dimensions: [device, device]\n", "apps[0].performance.dimensions[1]"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    performance:\n      dimensions: [device]\n", "apps[0].performance.dimensions"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    performance:\n      modules: [x]\n", "modules"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    article_limit: 0\n", "apps[0].article_limit"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    article_limit: 100000\n", "apps[0].article_limit"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    article_limit: many\n", "article_limit"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    quota_paths: [cgi-bin/message/template/send]\n", "apps[0].quota_paths[0]"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    quota_paths: [/cgi-bin/x, 'https://api.weixin.qq.com/cgi-bin/x']\n", "apps[0].quota_paths[1]"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    quota_paths: [/sns/jscode2session]\n", "apps[0].quota_paths[0]"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    quota_paths: [/cgi-bin/x, /cgi-bin/x]\n", "apps[0].quota_paths[1]"),
            ("apps:\n  - name: a\n    type: official_account\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    js_error_versions: ['1.0']\n", "apps[0].js_error_versions"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    js_error_versions: ['1.0', '0']\n", "apps[0].js_error_versions[1]"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    js_error_versions: ['1.0', '1 .1']\n", "apps[0].js_error_versions[1]"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    js_error_versions: ['1.0', '1.0']\n", "apps[0].js_error_versions[1]"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n    js_error_versions: [a, b, c, d, e, f, g, h, i, j, k]\n", "apps[0].js_error_versions"),
            ("apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n", "apps[1].name"),
        ];
        for (yaml, field) in cases {
            let e = load(yaml).unwrap_err().to_string();
            assert!(e.contains(field), "{e} should name {field}");
            assert!(!e.contains("hunter2"), "{e} leaks the secret");
        }
        let e = load("apps:\n  - name: a\n    typo: 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("typo"), "{e}");
        let e = load("poll:\n  interval: soon\n").unwrap_err().to_string();
        assert!(e.contains("interval"), "{e}");
    }

    const APP: &str = "apps:\n  - name: a\n    type: miniprogram\n    appid: wx1234567890abcdef\n    secret: ${SHOP_SECRET}\n";

    #[test]
    fn absurd_values_are_refused_naming_the_field() {
        for (yaml, field) in [
            (
                "poll:\n  concurrency: 18446744073709551615\n",
                "poll.concurrency",
            ),
            ("poll:\n  interval: 1000000000y\n", "poll.interval"),
            ("poll:\n  jitter: 100000000y\n", "poll.jitter"),
            ("poll:\n  interval: 5m\n  jitter: 5m\n", "poll.jitter"),
            (
                "poll:\n  max_calls_per_minute: 4294967295\n",
                "poll.max_calls_per_minute",
            ),
            ("wechat:\n  timeout: 100000h\n", "wechat.timeout"),
            (
                "wechat:\n  retry_delay: 1000000000y\n",
                "wechat.retry_delay",
            ),
        ] {
            let e = load(&format!("{yaml}{APP}")).unwrap_err().to_string();
            assert!(e.contains(&format!("`{field}`")), "{e} should name {field}");
        }
        // The largest accepted values still load.
        load(&format!(
            "poll:\n  interval: 24h\n  jitter: 1h\n  concurrency: 1024\n  max_calls_per_minute: 60000\nwechat:\n  timeout: 5m\n{APP}"
        ))
        .unwrap();
    }

    #[test]
    fn no_apps_is_refused_unless_asked_for() {
        for yaml in [
            "",
            "\n# just a comment\n",
            "apps: []\n",
            "poll:\n  interval: 5m\n",
            "~\n",
        ] {
            let e = load(yaml).unwrap_err().to_string();
            assert!(
                e.contains("`apps`") && e.contains("allow_no_apps"),
                "{yaml:?}: {e}"
            );
        }
        let cfg = load("allow_no_apps: true\n").unwrap();
        assert!(cfg.apps.is_empty());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        for yaml in [
            "[".repeat(100_000),
            "{a: ".repeat(100_000),
            format!("{}x", "- ".repeat(100_000)),
            (0..40)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect(),
        ] {
            let e = load(&yaml).unwrap_err().to_string();
            assert!(e.contains("nested"), "{e}");
        }
        assert!(yaml_depth(APP) <= 4, "{}", yaml_depth(APP));
        // Brackets in quotes and comments are not nesting.
        assert_eq!(yaml_depth("a: \"[[[[\"  # {{{{\n"), 1);
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        for text in [
            "f00dfacecafe0123456789abcdef0123\n",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
            "f00dfacecafe0123456789abcdef0123: 1\n",
            "poll:\n  interval: f00dfacecafe0123456789abcdef0123\n",
            "apps:\n  - name: a\n    type: f00dfacecafe0123456789abcdef0123\n",
        ] {
            let e = load(text).unwrap_err().to_string();
            assert!(!e.contains("f00dface") && !e.contains("MIIEvQ"), "{e}");
        }
        // Names of the schema still appear, with the line.
        let e = load("poll:\n  intervall: 5m\n").unwrap_err().to_string();
        assert!(e.contains("`intervall`") && e.contains("line 2"), "{e}");
    }
}
