//! `platform:`: a third-party platform (第三方平台) whose authorized apps
//! are discovered: its credentials (secret + ticket file, or a component
//! token service), discovery settings and labels.

use super::yaml::{expand_env, is_appid, Invalid};
use crate::api::Api;
use crate::secret::Secret;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `platform:` in the config.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    pub component_appid: String,
    /// `${ENV_VAR}` only.
    #[serde(default)]
    pub component_secret: Option<String>,
    #[serde(default)]
    pub component_secret_file: Option<PathBuf>,
    /// Kept current by the platform's callback handler; re-read on change.
    #[serde(default)]
    pub component_verify_ticket_file: Option<PathBuf>,
    /// Instead of secret + ticket: a token service that already has it.
    #[serde(default)]
    pub component_token: Option<ComponentTokenConfig>,
    /// Poll every authorized app (default); `false` polls only the apps
    /// listed under `apps:` with `token: {source: authorizer}`.
    #[serde(default = "default_true")]
    pub discover: bool,
    #[serde(default = "default_rediscover", with = "humantime_serde")]
    pub rediscover_interval: Duration,
    /// The `app` label of a discovered app: `{name}` (nick name) and
    /// `{appid}` are replaced.
    #[serde(default = "default_template")]
    pub name_template: String,
    /// APIs left out for every discovered app.
    #[serde(default)]
    pub exclude_apis: Vec<Api>,
    #[serde(skip)]
    pub resolved_secret: Secret,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "source", deny_unknown_fields)]
pub enum ComponentTokenConfig {
    File {
        path: PathBuf,
    },
    Url {
        url: String,
        #[serde(default)]
        bearer_token_file: Option<PathBuf>,
    },
}

fn default_true() -> bool {
    true
}
fn default_rediscover() -> Duration {
    Duration::from_secs(3600)
}
fn default_template() -> String {
    "{name}".into()
}

impl PlatformConfig {
    /// Checks the section and resolves the secret; errors name the field.
    pub(super) fn validate(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), Invalid> {
        let bad = |f: &str, r: &str| Err((format!("platform.{f}"), r.to_string()));
        if !is_appid(&self.component_appid) {
            return bad(
                "component_appid",
                "must be `wx` followed by 16 hexadecimal digits",
            );
        }
        match (&self.component_verify_ticket_file, &self.component_token) {
            (Some(_), Some(_)) => {
                return bad(
                    "component_token",
                    "give either `component_verify_ticket_file` (with the secret) or `component_token`, not both",
                )
            }
            (None, None) => {
                return bad(
                    "component_verify_ticket_file",
                    "needed (the file the callback handler writes the ticket to), or give `component_token`",
                )
            }
            (None, Some(ComponentTokenConfig::Url { url, .. })) => match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => return bad("component_token.url", "must be an http(s) URL"),
            },
            _ => {}
        }
        let needs_secret = self.component_verify_ticket_file.is_some();
        self.resolved_secret = match (&self.component_secret, &self.component_secret_file) {
            (Some(_), Some(_)) => {
                return bad(
                    "component_secret",
                    "give either `component_secret` or `component_secret_file`, not both",
                )
            }
            (Some(s), None) => match expand_env(s, env) {
                Ok(v) => Secret::new(v),
                Err(r) => return bad("component_secret", &r),
            },
            (None, Some(file)) => match std::fs::read_to_string(file) {
                Ok(t) if !t.trim().is_empty() => Secret::new(t.trim()),
                Ok(_) => {
                    return bad(
                        "component_secret_file",
                        &format!("{} is empty", file.display()),
                    )
                }
                Err(e) => {
                    return bad(
                        "component_secret_file",
                        &format!("cannot read {}: {e}", file.display()),
                    )
                }
            },
            (None, None) if needs_secret => {
                return bad(
                    "component_secret_file",
                    "the ticket needs the platform's secret: `component_secret_file` or `component_secret: ${ENV_VAR}`",
                )
            }
            (None, None) => Secret::default(),
        };
        if self.rediscover_interval < Duration::from_secs(60) {
            return bad("rediscover_interval", "must be at least 1m");
        }
        if !self.name_template.contains("{name}") && !self.name_template.contains("{appid}") {
            return bad(
                "name_template",
                "must contain {name} or {appid}, or every app would get the same label",
            );
        }
        Ok(())
    }
}
