//! `wechat:` and `poll:`: how WeChat is reached (base URL, timeouts,
//! retries, the egress proxy) and how often and how widely it is polled.

use super::yaml::Invalid;
use crate::secret::{read_secret_file, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.weixin.qq.com";

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
    /// HTTP proxy for every WeChat call (tokens included), e.g. a fixed
    /// egress whose IP is on WeChat's whitelist. Unset: the standard
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` variables apply.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// User name for the proxy's basic auth.
    #[serde(default)]
    pub proxy_username: Option<String>,
    /// File holding the proxy password (never in the config itself).
    #[serde(default)]
    pub proxy_password_file: Option<PathBuf>,
    /// Resolved at load from `proxy_password_file`.
    #[serde(skip)]
    pub proxy_password: Secret,
}

impl Default for WechatSettings {
    fn default() -> Self {
        Self {
            api_url: default_api_url(),
            timeout: default_timeout(),
            attempts: default_attempts(),
            retry_delay: default_retry_delay(),
            proxy_url: None,
            proxy_username: None,
            proxy_password_file: None,
            proxy_password: Secret::default(),
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

fn invalid(field: &str, reason: &str) -> Invalid {
    (field.to_string(), reason.to_string())
}

/// `value` within `min..=max`, or the error naming `field`.
fn within(field: &str, value: Duration, min: Duration, max: Duration) -> Result<(), Invalid> {
    if value < min || value > max {
        return Err(invalid(
            field,
            &format!(
                "must be between {} and {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            ),
        ));
    }
    Ok(())
}

impl WechatSettings {
    /// Checks the section and resolves the proxy password.
    pub(super) fn validate(&mut self) -> Result<(), Invalid> {
        match reqwest::Url::parse(&self.api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(invalid(
                    "wechat.api_url",
                    "must be an http(s) URL such as https://api.weixin.qq.com",
                ))
            }
        }
        // Maxima: beyond them a value is a typo.
        within(
            "wechat.timeout",
            self.timeout,
            Duration::from_millis(100),
            Duration::from_secs(300),
        )?;
        within(
            "wechat.retry_delay",
            self.retry_delay,
            Duration::ZERO,
            Duration::from_secs(60),
        )?;
        if self.attempts == 0 || self.attempts > 10 {
            return Err(invalid("wechat.attempts", "must be between 1 and 10"));
        }
        self.validate_proxy()
    }

    /// The configured proxy with its credentials: what the HTTP client
    /// builds, and what validation builds first so that a bad one fails at
    /// load, not at the first call.
    pub fn proxy(&self) -> Option<Result<reqwest::Proxy, reqwest::Error>> {
        let url = self.proxy_url.as_ref()?;
        Some(
            reqwest::Proxy::all(url).map(|p| match &self.proxy_username {
                Some(user) => p.basic_auth(user, self.proxy_password.expose()),
                None => p,
            }),
        )
    }

    fn validate_proxy(&mut self) -> Result<(), Invalid> {
        let w = self;
        let Some(url) = &w.proxy_url else {
            if w.proxy_username.is_some() || w.proxy_password_file.is_some() {
                return Err(invalid(
                    "wechat.proxy_url",
                    "proxy_username and proxy_password_file need proxy_url",
                ));
            }
            return Ok(());
        };
        // The URL is logged and may be shown: never with credentials.
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if !u.username().is_empty() || u.password().is_some() {
                    return Err(invalid(
                        "wechat.proxy_url",
                        "must not contain credentials: use proxy_username and proxy_password_file",
                    ));
                }
                if u.path() != "/" || u.query().is_some() {
                    return Err(invalid(
                        "wechat.proxy_url",
                        "must be scheme://host:port only, such as http://proxy.internal:3128",
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    "wechat.proxy_url",
                    "must be an http(s) URL such as http://proxy.internal:3128",
                ))
            }
        }
        w.proxy_password = match (&w.proxy_username, &w.proxy_password_file) {
            (Some(_), Some(file)) => {
                read_secret_file(file).map_err(|r| invalid("wechat.proxy_password_file", &r))?
            }
            (None, None) => Secret::default(),
            (Some(_), None) => {
                return Err(invalid(
                    "wechat.proxy_password_file",
                    "proxy_username needs proxy_password_file",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "wechat.proxy_username",
                    "proxy_password_file needs proxy_username",
                ))
            }
        };
        match w.proxy() {
            Some(Err(_)) => Err(invalid("wechat.proxy_url", "is not a usable proxy URL")),
            _ => Ok(()),
        }
    }
}

impl PollSettings {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        // An absurd interval or jitter means an app that never polls while
        // /-/ready stays 503.
        within(
            "poll.interval",
            self.interval,
            Duration::from_secs(1),
            Duration::from_secs(24 * 3600),
        )?;
        within(
            "poll.jitter",
            self.jitter,
            Duration::ZERO,
            Duration::from_secs(3600),
        )?;
        if self.jitter >= self.interval && !self.jitter.is_zero() {
            return Err(invalid("poll.jitter", "must be shorter than poll.interval"));
        }
        if self.concurrency == 0 || self.concurrency > 1024 {
            return Err(invalid("poll.concurrency", "must be between 1 and 1024"));
        }
        // WeChat's own per-minute limits are far below this.
        if self.max_calls_per_minute > 60_000 {
            return Err(invalid(
                "poll.max_calls_per_minute",
                "must be between 0 (no limit) and 60000",
            ));
        }
        if !(0.0..24.0).contains(&self.release_hour) {
            return Err(invalid(
                "poll.release_hour",
                "must be a Beijing hour from 0 to 23.99",
            ));
        }
        Ok(())
    }
}
