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

use crate::api::{Api, AppKind};
use crate::secret::{read_bounded, read_secret_file, Secret};
use crate::wechat::token::TokenSourceConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.weixin.qq.com";

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
    pub platform: Option<crate::poll::discovery::PlatformConfig>,
    /// A config without apps is refused (an empty or half-written file looks
    /// exactly like that, and a reload would wipe every series); set this to
    /// run with none on purpose.
    #[serde(default)]
    pub allow_no_apps: bool,
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
    /// APIs to poll; all of the app's kind when absent.
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
fn default_article_limit() -> usize {
    20
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
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        // Maxima: beyond them a value is a typo, and an absurd interval or
        // jitter means an app that never polls while /-/ready stays 503.
        for (field, value, min, max) in [
            ("wechat.timeout", self.wechat.timeout, ms(100), s(300)),
            ("wechat.retry_delay", self.wechat.retry_delay, ms(0), s(60)),
            ("poll.interval", self.poll.interval, s(1), s(24 * 3600)),
            ("poll.jitter", self.poll.jitter, ms(0), s(3600)),
        ] {
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
        }
        if self.poll.jitter >= self.poll.interval && !self.poll.jitter.is_zero() {
            return Err(invalid("poll.jitter", "must be shorter than poll.interval"));
        }
        if self.wechat.attempts == 0 || self.wechat.attempts > 10 {
            return Err(invalid("wechat.attempts", "must be between 1 and 10"));
        }
        if self.poll.concurrency == 0 || self.poll.concurrency > 1024 {
            return Err(invalid("poll.concurrency", "must be between 1 and 1024"));
        }
        // WeChat's own per-minute limits are far below this.
        if self.poll.max_calls_per_minute > 60_000 {
            return Err(invalid(
                "poll.max_calls_per_minute",
                "must be between 0 (no limit) and 60000",
            ));
        }
        self.validate_proxy(path)?;
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
            let dims = &app.performance.dimensions;
            if !dims.is_empty() && app.kind != AppKind::Miniprogram {
                return Err(invalid(
                    &f("performance.dimensions"),
                    "only a Mini Program has performance data",
                ));
            }
            for (j, d) in dims.iter().enumerate() {
                if !crate::collectors::performance::DIMENSIONS.contains(&d.as_str()) {
                    return Err(invalid(
                        &f(&format!("performance.dimensions[{j}]")),
                        "must be `networktype`, `device_level` or `device`",
                    ));
                }
                if dims[..j].contains(d) {
                    return Err(invalid(
                        &f(&format!("performance.dimensions[{j}]")),
                        "is listed twice",
                    ));
                }
            }
            if app.article_limit == 0 || app.article_limit > 200 {
                return Err(invalid(&f("article_limit"), "must be between 1 and 200"));
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
                    read_secret_file(file).map_err(|r| invalid(&f("secret_file"), &r))?
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
        // A platform's apps are discovered: its config may list none.
        if self.apps.is_empty() && self.platform.is_none() && !self.allow_no_apps {
            return Err(invalid(
                "apps",
                "no app configured (an empty or half-written file looks like this); configure apps or a `platform`, or set `allow_no_apps: true` to run without apps on purpose",
            ));
        }
        Ok(())
    }

    fn validate_proxy(&mut self, path: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason: &str| ConfigError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            reason: reason.to_string(),
        };
        let w = &mut self.wechat;
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
        let url = url.clone();
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
        // What the HTTP client will build: a failure here, not at the first call.
        crate::wechat::client::proxy(&url, w)
            .map_err(|_| invalid("wechat.proxy_url", "is not a usable proxy URL"))?;
        Ok(())
    }
}

/// How deep `text` nests, as far as a cheap scan can tell: open flow
/// brackets, block indentation levels and `- ` entries on one line. It
/// over-counts rather than under-counts (quoted text is skipped, block
/// scalars are not), which only matters far above any real config.
pub fn yaml_depth(text: &str) -> usize {
    let mut max = 0;
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if flow == 0 {
            let indent = line.len() - trimmed.len();
            while indents.last().is_some_and(|&i| i > indent) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                indents.push(indent);
            }
        }
        // `- - - x` nests one sequence per dash on a single line.
        let mut rest = trimmed;
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = r.trim_start();
        }
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for c in rest.chars() {
            match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\''
                        if prev == ' '
                            || prev == '['
                            || prev == '{'
                            || prev == ','
                            || prev == ':' =>
                    {
                        quote = Some(c)
                    }
                    '#' if prev == ' ' => break,
                    '[' | '{' => flow += 1,
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
            max = max.max(indents.len() + dashes + flow);
        }
        max = max.max(indents.len() + dashes + flow);
    }
    max
}

/// The parser's message without any quoted input: serde quotes the
/// offending value (`invalid type: string "…"`), which is the secret when
/// `--config.file` names a secret file. Field and variant names in
/// backticks stay when they look like schema names (lowercase words).
fn quiet_yaml_error(e: &serde_yaml_ng::Error) -> String {
    let msg = e.to_string();
    let mut out = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
                out.push_str("(value omitted)");
            }
            '`' => {
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == '`' {
                        break;
                    }
                    inner.push(d);
                }
                if looks_like_a_name(&inner) {
                    out.push('`');
                    out.push_str(&inner);
                    out.push('`');
                } else {
                    out.push_str("(value omitted)");
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A schema name (`max_calls_per_minute`, `miniprogram`), not a token or a
/// secret: lowercase letters and `_`, at most 40, and not a long run of
/// letters without `_` (random strings look like that).
fn looks_like_a_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && (s.contains('_') || s.len() <= 16)
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
        assert_eq!(cfg.apps[0].enabled_apis().len(), 15);
        assert!(cfg.apps[0].performance.dimensions.is_empty());
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
