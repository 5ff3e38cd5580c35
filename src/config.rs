//! The YAML configuration file: parsing, defaults and validation.
//!
//! Validation happens once, at load, and names the offending field
//! (`apps[1].appid: …`); `main` turns any error into exit code 2. Secrets
//! come from a file (`secret_file`) or the environment (`secret: ${VAR}`),
//! never from the file itself, and are resolved here so that a missing one
//! fails at start, not at the first poll.

use crate::secret::Secret;
use crate::wechat::api::{Api, AppKind};
use crate::wechat::token::TokenSourceConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.weixin.qq.com";

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
    pub platform: Option<crate::platform::PlatformConfig>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WechatSettings {
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Per-request timeout.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts per call for transient failures, the first included.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// First retry delay; later ones double, with jitter, up to 10 s.
    #[serde(default = "default_retry_delay", with = "humantime_serde")]
    pub retry_delay: Duration,
}

impl Default for WechatSettings {
    fn default() -> Self {
        Self {
            api_url: default_api_url(),
            timeout: default_timeout(),
            attempts: default_attempts(),
            retry_delay: default_retry_delay(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PollSettings {
    /// How often the poller looks for data that is due.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Apps polled at the same time.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Beijing hour from which yesterday's data is asked for (WeChat
    /// releases it after 10:00); earlier calls would only be wasted.
    #[serde(default = "default_release_hour")]
    pub release_hour: f64,
    /// Each app's first call of a round waits a random delay up to this,
    /// spreading many apps' calls over time.
    #[serde(default, with = "humantime_serde")]
    pub jitter: Duration,
    /// Calls to WeChat (data, retries and tokens) the whole process makes
    /// per minute at most, spaced evenly; 0 (the default) = no limit.
    #[serde(default)]
    pub max_calls_per_minute: u32,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            interval: default_interval(),
            concurrency: default_concurrency(),
            release_hour: default_release_hour(),
            jitter: Duration::ZERO,
            max_calls_per_minute: 0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The `app` label.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AppKind,
    pub appid: String,
    /// `${ENV_VAR}` only; the literal secret never goes in the file.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub token: TokenSourceConfig,
    /// APIs to poll; all of the app's kind when absent.
    #[serde(default)]
    pub apis: Option<Vec<Api>>,
    /// APIs to leave out (e.g. `user_portrait`, `visit_page` for cardinality).
    #[serde(default)]
    pub exclude_apis: Vec<Api>,
    /// Pages of `visit_page` to publish, the busiest first (WeChat sends 200).
    #[serde(default = "default_page_limit")]
    pub page_limit: usize,
    /// Resolved at load from `secret` or `secret_file`.
    #[serde(skip)]
    pub resolved_secret: Secret,
}

impl AppConfig {
    /// An app with every default, for code that builds configs (demo, tests).
    pub fn new(name: &str, kind: AppKind, appid: &str, secret: Secret) -> Self {
        Self {
            name: name.to_string(),
            kind,
            appid: appid.to_string(),
            secret: None,
            secret_file: None,
            token: TokenSourceConfig::Stable,
            apis: None,
            exclude_apis: Vec::new(),
            page_limit: default_page_limit(),
            resolved_secret: secret,
        }
    }

    /// The APIs this app polls, in polling order (the API table's).
    pub fn enabled_apis(&self) -> Vec<Api> {
        let mut apis: Vec<Api> = match &self.apis {
            Some(list) => list.clone(),
            None => Api::for_kind(self.kind).collect(),
        };
        apis.retain(|a| !self.exclude_apis.contains(a));
        apis.sort();
        apis.dedup();
        apis
    }
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_string()
}
fn default_timeout() -> Duration {
    Duration::from_secs(15)
}
fn default_attempts() -> u32 {
    3
}
fn default_retry_delay() -> Duration {
    Duration::from_millis(500)
}
fn default_interval() -> Duration {
    Duration::from_secs(30 * 60)
}
fn default_concurrency() -> usize {
    8
}
fn default_release_hour() -> f64 {
    10.0
}
fn default_page_limit() -> usize {
    200
}

impl Config {
    /// Reads, parses and validates `path`, resolving every app's secret.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        Self::from_yaml(&text, &p, &|name| std::env::var(name).ok())
    }

    /// Parses and validates YAML; `env` looks up `${VAR}` references.
    pub fn from_yaml(
        text: &str,
        path: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
                path: path.to_string(),
                reason: e.to_string(),
            })?
        };
        cfg.validate(path, env)?;
        Ok(cfg)
    }

    fn validate(
        &mut self,
        path: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason: &str| ConfigError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            reason: reason.to_string(),
        };
        match reqwest::Url::parse(&self.wechat.api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(invalid(
                    "wechat.api_url",
                    "must be an http(s) URL such as https://api.weixin.qq.com",
                ))
            }
        }
        if self.wechat.timeout < Duration::from_millis(100) {
            return Err(invalid("wechat.timeout", "must be at least 100ms"));
        }
        if self.wechat.attempts == 0 || self.wechat.attempts > 10 {
            return Err(invalid("wechat.attempts", "must be between 1 and 10"));
        }
        if self.poll.interval < Duration::from_secs(1) {
            return Err(invalid("poll.interval", "must be at least 1s"));
        }
        if self.poll.concurrency == 0 {
            return Err(invalid("poll.concurrency", "must be at least 1"));
        }
        if !(0.0..24.0).contains(&self.poll.release_hour) {
            return Err(invalid(
                "poll.release_hour",
                "must be a Beijing hour from 0 to 23.99",
            ));
        }
        if let Some(p) = &mut self.platform {
            p.validate(env)
                .map_err(|(field, reason)| invalid(&field, &reason))?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, app) in self.apps.iter_mut().enumerate() {
            let f = |name: &str| format!("apps[{i}].{name}");
            if app.name.trim().is_empty() {
                return Err(invalid(&f("name"), "must not be empty"));
            }
            if !names.insert(app.name.clone()) {
                return Err(invalid(
                    &f("name"),
                    &format!("`{}` is used by another app", app.name),
                ));
            }
            if !is_appid(&app.appid) {
                return Err(invalid(
                    &f("appid"),
                    "must be `wx` followed by 16 hexadecimal digits",
                ));
            }
            if let Some(list) = &app.apis {
                if let Some(a) = list.iter().find(|a| a.app_kind() != app.kind) {
                    return Err(invalid(
                        &f("apis"),
                        &format!("`{}` is not an API of a {:?} app", a.label(), app.kind),
                    ));
                }
            }
            if app.enabled_apis().is_empty() {
                return Err(invalid(&f("apis"), "leaves no API to poll"));
            }
            if app.page_limit == 0 || app.page_limit > 200 {
                return Err(invalid(&f("page_limit"), "must be between 1 and 200"));
            }
            app.resolved_secret = match (&app.secret, &app.secret_file, &app.token) {
                (Some(_), Some(_), _) => {
                    return Err(invalid(
                        &f("secret"),
                        "give either `secret` or `secret_file`, not both",
                    ));
                }
                (Some(s), None, _) => {
                    Secret::new(expand_env(s, env).map_err(|r| invalid(&f("secret"), &r))?)
                }
                (None, Some(file), _) => {
                    let text = std::fs::read_to_string(file).map_err(|e| {
                        invalid(
                            &f("secret_file"),
                            &format!("cannot read {}: {e}", file.display()),
                        )
                    })?;
                    let s = text.trim();
                    if s.is_empty() {
                        return Err(invalid(
                            &f("secret_file"),
                            &format!("{} is empty", file.display()),
                        ));
                    }
                    Secret::new(s)
                }
                // A token file needs no secret: another service owns the token.
                (None, None, TokenSourceConfig::File { .. } | TokenSourceConfig::Url { .. }) => {
                    Secret::default()
                }
                (None, None, TokenSourceConfig::Authorizer { .. }) if self.platform.is_some() => {
                    Secret::default()
                }
                (None, None, TokenSourceConfig::Authorizer { .. }) => {
                    return Err(invalid(
                        &f("token"),
                        "source `authorizer` needs a `platform:` section",
                    ));
                }
                (None, None, _) => {
                    return Err(invalid(
                        &f("secret_file"),
                        "every app needs `secret_file` or `secret: ${ENV_VAR}`",
                    ));
                }
            };
        }
        Ok(())
    }
}

pub(crate) fn is_appid(s: &str) -> bool {
    s.len() == 18 && s.starts_with("wx") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves `${NAME}`. A value that is not exactly one reference is refused:
/// secrets do not belong in the config file.
pub(crate) fn expand_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name = s
        .trim()
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or("must be an environment reference such as ${SHOP_SECRET}, or use secret_file: secrets do not belong in the config file")?;
    match env(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(format!("environment variable {name} is not set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(cfg.apps[0].enabled_apis().len(), 10);
        assert_eq!(cfg.apps[0].page_limit, 200);
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
}
