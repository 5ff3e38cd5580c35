//! `apps:`: one WeChat app each (a Mini Program or an Official Account),
//! how it gets its token, which APIs it polls and how many pages,
//! articles and performance breakdowns it publishes.

use super::token::TokenSourceConfig;
use super::yaml::{expand_env, is_appid, Invalid};
use crate::api::{Api, AppKind};
use crate::secret::{read_secret_file, Secret};
use serde::Deserialize;
use std::path::PathBuf;

/// The dimensions a Mini Program's performance can be broken down by
/// (`performance.dimensions`), as the performance API's params name them.
pub const PERFORMANCE_DIMENSIONS: [&str; 3] = ["networktype", "device_level", "device"];

/// `performance:` of a Mini Program: each value of each listed dimension
/// (`networktype`, `device_level`, `device`) is one more call per module
/// and day, beside the whole population; never their cross product.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PerformanceConfig {
    #[serde(default)]
    pub dimensions: Vec<String>,
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
    /// APIs to poll; all of the app's kind when absent, but for the hourly
    /// operations APIs (`Api::opt_in`; `api_quota` is on with `quota_paths`).
    #[serde(default)]
    pub apis: Option<Vec<Api>>,
    /// APIs to leave out (e.g. `user_portrait`, `visit_page` for cardinality).
    #[serde(default)]
    pub exclude_apis: Vec<Api>,
    /// Pages of `visit_page` to publish, the busiest first (WeChat sends 200).
    #[serde(default = "default_page_limit")]
    pub page_limit: usize,
    /// Mini Program performance: dimensions to break down.
    #[serde(default)]
    pub performance: PerformanceConfig,
    /// Articles each per-article API publishes (`article_reads`,
    /// `article_shares`, `article_totals`), the most read (shared) first.
    #[serde(default = "default_article_limit")]
    pub article_limit: usize,
    /// More paths whose daily quota `api_quota` publishes (getApiQuota),
    /// beside the paths of the app's own APIs: those the app's business
    /// depends on (`/cgi-bin/message/subscribe/send`, …).
    #[serde(default)]
    pub quota_paths: Vec<String>,
    /// The Mini Program's releases whose JavaScript errors `js_errors`
    /// publishes one by one, the newest first (as `appVersion` names them,
    /// e.g. `2.8.21`): the first two are what `WechatMiniProgramNewReleaseJsErrors`
    /// compares. WeChat has no API that lists a Mini Program's releases
    /// (getVersionList lists WeChat client versions; docs/wechat-quirks.md).
    #[serde(default)]
    pub js_error_versions: Vec<String>,
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
            performance: PerformanceConfig::default(),
            article_limit: default_article_limit(),
            quota_paths: Vec::new(),
            js_error_versions: Vec::new(),
            resolved_secret: secret,
        }
    }

    /// The APIs this app polls, in polling order (the API table's).
    pub fn enabled_apis(&self) -> Vec<Api> {
        let mut apis: Vec<Api> = match &self.apis {
            Some(list) => list.clone(),
            // The quota is asked hourly: on once the app lists the paths
            // it cares about (or names `api_quota`).
            None => Api::for_kind(self.kind)
                .filter(|a| {
                    !a.opt_in()
                        || (*a == Api::ApiQuota && !self.quota_paths.is_empty())
                        || (*a == Api::JsErrors && !self.js_error_versions.is_empty())
                })
                .collect(),
        };
        apis.retain(|a| !self.exclude_apis.contains(a));
        apis.sort();
        apis.dedup();
        apis
    }
}

/// The most `js_error_versions` an app may list (one call each an hour).
pub const MAX_JS_ERROR_VERSIONS: usize = 10;

/// The most `quota_paths` an app may list.
pub const MAX_QUOTA_PATHS: usize = 50;

fn default_page_limit() -> usize {
    200
}
fn default_article_limit() -> usize {
    20
}

impl AppConfig {
    /// Checks `apps[i]` and resolves its secret. `platform` says whether
    /// the config has a `platform:` section (authorizer tokens need one).
    pub(super) fn validate(
        &mut self,
        i: usize,
        platform: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Invalid> {
        let f = |name: &str| format!("apps[{i}].{name}");
        let invalid = |field: String, reason: &str| (field, reason.to_string());
        if self.name.trim().is_empty() {
            return Err(invalid(f("name"), "must not be empty"));
        }
        if !is_appid(&self.appid) {
            return Err(invalid(
                f("appid"),
                "must be `wx` followed by 16 hexadecimal digits",
            ));
        }
        if let Some(list) = &self.apis {
            if let Some(a) = list.iter().find(|a| !a.serves(self.kind)) {
                return Err(invalid(
                    f("apis"),
                    &format!("`{}` is not an API of a {:?} app", a.label(), self.kind),
                ));
            }
        }
        if self.enabled_apis().is_empty() {
            return Err(invalid(f("apis"), "leaves no API to poll"));
        }
        if self.page_limit == 0 || self.page_limit > 200 {
            return Err(invalid(f("page_limit"), "must be between 1 and 200"));
        }
        self.validate_dimensions()
            .map_err(|(field, r)| (f(&field), r))?;
        if self.article_limit == 0 || self.article_limit > 200 {
            return Err(invalid(f("article_limit"), "must be between 1 and 200"));
        }
        self.validate_quota_paths()
            .map_err(|(field, r)| (f(&field), r))?;
        self.validate_js_error_versions()
            .map_err(|(field, r)| (f(&field), r))?;
        self.resolved_secret = self
            .secret(platform, env)
            .map_err(|(field, r)| (f(field), r))?;
        Ok(())
    }

    fn validate_dimensions(&self) -> Result<(), Invalid> {
        let dims = &self.performance.dimensions;
        if !dims.is_empty() && self.kind != AppKind::Miniprogram {
            return Err((
                "performance.dimensions".into(),
                "only a Mini Program has performance data".into(),
            ));
        }
        for (j, d) in dims.iter().enumerate() {
            let field = format!("performance.dimensions[{j}]");
            if !PERFORMANCE_DIMENSIONS.contains(&d.as_str()) {
                return Err((
                    field,
                    "must be `networktype`, `device_level` or `device`".into(),
                ));
            }
            if dims[..j].contains(d) {
                return Err((field, "is listed twice".into()));
            }
        }
        Ok(())
    }

    /// `quota_paths`: each as getApiQuota takes it (`/` first, no host, no
    /// query: 76003 otherwise), never a `/sns/` path (76022: WeChat keeps
    /// no quota of those), at most [`MAX_QUOTA_PATHS`] (one call each an hour).
    fn validate_quota_paths(&self) -> Result<(), Invalid> {
        if self.quota_paths.len() > MAX_QUOTA_PATHS {
            return Err((
                "quota_paths".into(),
                format!("lists more than {MAX_QUOTA_PATHS} paths"),
            ));
        }
        for (j, p) in self.quota_paths.iter().enumerate() {
            let field = format!("quota_paths[{j}]");
            let plain = p.len() <= 200
                && p.starts_with('/')
                && p[1..].split('/').all(|seg| {
                    !seg.is_empty()
                        && seg
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                });
            if !plain {
                return Err((
                    field,
                    "must be an API path as WeChat names it, e.g. `/cgi-bin/message/subscribe/send` (no host, no query)".into(),
                ));
            }
            if p.split('/').any(|seg| seg == "sns") {
                return Err((
                    field,
                    "WeChat keeps no quota of `/sns/` paths (76022)".into(),
                ));
            }
            if self.quota_paths[..j].contains(p) {
                return Err((field, "is listed twice".into()));
            }
        }
        Ok(())
    }

    /// `js_error_versions`: a Mini Program's, each a release name as
    /// `appVersion` takes it (not `0`, which means every release), at most
    /// [`MAX_JS_ERROR_VERSIONS`].
    fn validate_js_error_versions(&self) -> Result<(), Invalid> {
        let versions = &self.js_error_versions;
        if !versions.is_empty() && self.kind != AppKind::Miniprogram {
            return Err((
                "js_error_versions".into(),
                "only a Mini Program has JavaScript errors".into(),
            ));
        }
        if versions.len() > MAX_JS_ERROR_VERSIONS {
            return Err((
                "js_error_versions".into(),
                format!("lists more than {MAX_JS_ERROR_VERSIONS} releases"),
            ));
        }
        for (j, v) in versions.iter().enumerate() {
            let field = format!("js_error_versions[{j}]");
            let plain = !v.is_empty()
                && v.len() <= 32
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
            if !plain || v == "0" {
                return Err((
                    field,
                    "must be a release as the Mini Program names it, e.g. `2.8.21` (`0` means all releases and is always published)".into(),
                ));
            }
            if versions[..j].contains(v) {
                return Err((field, "is listed twice".into()));
            }
        }
        Ok(())
    }

    /// The app's secret, from `secret: ${VAR}` or `secret_file`; none for
    /// token sources that need none. Errors name the field (of the app).
    fn secret(
        &self,
        platform: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, (&'static str, String)> {
        match (&self.secret, &self.secret_file, &self.token) {
            (Some(_), Some(_), _) => Err((
                "secret",
                "give either `secret` or `secret_file`, not both".into(),
            )),
            (Some(s), None, _) => Ok(Secret::new(expand_env(s, env).map_err(|r| ("secret", r))?)),
            (None, Some(file), _) => read_secret_file(file).map_err(|r| ("secret_file", r)),
            // A token file needs no secret: another service owns the token.
            (None, None, TokenSourceConfig::File { .. } | TokenSourceConfig::Url { .. }) => {
                Ok(Secret::default())
            }
            (None, None, TokenSourceConfig::Authorizer { .. }) if platform => Ok(Secret::default()),
            (None, None, TokenSourceConfig::Authorizer { .. }) => Err((
                "token",
                "source `authorizer` needs a `platform:` section".into(),
            )),
            (None, None, _) => Err((
                "secret_file",
                "every app needs `secret_file` or `secret: ${ENV_VAR}`".into(),
            )),
        }
    }
}
