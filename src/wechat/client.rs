//! One app's WeChat client: a data call with the token, retry and error
//! rules of wechat-api.md, counted in the self-metrics.
//!
//! Rules: transient failures (-1, HTTP 5xx, timeouts, broken connections,
//! truncated bodies) are retried with capped exponential backoff and full
//! jitter; a rejected token gets exactly one new token and one retry; every
//! other WeChat error goes straight back to the poller, which decides how
//! long to stay away. Nothing here prints a URL that still has its token.

use crate::api::Api;
use crate::clock::Clock;
use crate::config::{AppConfig, TokenSourceConfig, WechatSettings};
use crate::secret::{redact_url, scrub, Secret};
use crate::self_metrics::SelfMetrics;
use crate::wechat::component::Component;
use crate::wechat::error::{ApiError, ErrorClass};
use crate::wechat::http::send_for_body;
use crate::wechat::rate_limit::RateLimiter;
use crate::wechat::token::TokenProvider;
use crate::wechat::types::ErrorBody;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// How hard to try before giving a transient failure back to the poller.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay up to the capped exponential step.
    fn delay(&self, attempt: u32) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let ms = step.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=ms.max(1)))
    }
}

/// The client of one configured app: its token source and the retry policy
/// of `wechat`. The poller and the backfill both build clients here, so a
/// backfill talks to WeChat under exactly the live rules.
/// `component` is the third-party platform an `authorizer` token source
/// asks (none without a `platform:`).
pub fn app_client(
    cfg: &AppConfig,
    wechat: &WechatSettings,
    http: reqwest::Client,
    clock: Clock,
    metrics: Arc<SelfMetrics>,
    limiter: Option<Arc<RateLimiter>>,
    component: Option<Arc<Component>>,
) -> AppClient {
    if cfg.token == TokenSourceConfig::Legacy {
        tracing::warn!(
            app = %cfg.name,
            "token source `legacy` calls /cgi-bin/token, which invalidates the access token every other service of this appid holds; use `stable` unless you know nothing else uses this appid"
        );
    }
    let mut tokens = TokenProvider::new(
        &cfg.name,
        &cfg.appid,
        cfg.resolved_secret.clone(),
        cfg.token.clone(),
        &wechat.api_url,
        http.clone(),
        clock,
        metrics.clone(),
    )
    .with_component(component);
    if let Some(l) = &limiter {
        tokens = tokens.with_limiter(l.clone());
    }
    let tokens = Arc::new(tokens);
    let retry = RetryPolicy {
        attempts: wechat.attempts,
        base_delay: wechat.retry_delay,
        ..RetryPolicy::default()
    };
    let client = AppClient::new(
        &cfg.name,
        &wechat.api_url,
        http,
        tokens,
        retry,
        metrics,
        cfg.resolved_secret.clone(),
    );
    match limiter {
        Some(l) => client.with_limiter(l),
        None => client,
    }
}

/// One request to WeChat, as the API catalogue builds it
/// (`collectors::ApiSpec::call`): the client adds the token and sends it.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Whose call it is: the `api` label of its metrics and errors.
    pub api: Api,
    /// The path below the API base.
    pub path: &'static str,
    /// Query parameters besides `access_token`.
    pub query: Vec<(&'static str, String)>,
    /// The JSON body of a POST; `None` makes it a GET.
    pub body: Option<serde_json::Value>,
}

/// `v` percent-encoded for a query string (RFC 3986 unreserved kept).
fn form_urlencoded(v: &str) -> impl Iterator<Item = char> + '_ {
    v.bytes().flat_map(|b| {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        let s = if keep {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        };
        s.chars().collect::<Vec<_>>()
    })
}

pub struct AppClient {
    app: String,
    base_url: String,
    http: reqwest::Client,
    tokens: Arc<TokenProvider>,
    retry: RetryPolicy,
    metrics: Arc<SelfMetrics>,
    secret: Secret,
    limiter: Option<Arc<RateLimiter>>,
}

impl AppClient {
    pub fn new(
        app: &str,
        base_url: &str,
        http: reqwest::Client,
        tokens: Arc<TokenProvider>,
        retry: RetryPolicy,
        metrics: Arc<SelfMetrics>,
        secret: Secret,
    ) -> Self {
        Self {
            app: app.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            tokens,
            retry,
            metrics,
            secret,
            limiter: None,
        }
    }

    /// Makes every attempt (retries included) wait for the process-wide
    /// `poll.max_calls_per_minute` limiter.
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// Makes `call` and returns the JSON body of a success. WeChat's "not
    /// ready" (61503) comes back as an error of class NotReady.
    pub async fn call(&self, call: &Call) -> Result<serde_json::Value, ApiError> {
        let api = call.api;
        let mut token: Option<Secret> = None;
        let mut token_retried = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = match &token {
                Some(t) => t.clone(),
                // A busy or unreachable token endpoint is retried like data.
                None => match self.tokens.token().await {
                    Ok(t) => token.insert(t).clone(),
                    Err(e) if e.class().retried_in_call() && attempt < self.retry.attempts => {
                        tokio::time::sleep(self.retry.delay(attempt - 1)).await;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            match self.once(call, &current).await {
                Ok(v) => return Ok(v),
                Err(e) => match e.class() {
                    ErrorClass::Token if !token_retried => {
                        token_retried = true;
                        match self.tokens.renew_after_rejection(&current).await {
                            Ok(t) => token = Some(t),
                            Err(e) => {
                                // No call is made, but the API failed: count it.
                                self.count_error(api, &e);
                                return Err(e);
                            }
                        }
                    }
                    class if class.retried_in_call() && attempt < self.retry.attempts => {
                        let delay = self.retry.delay(attempt - 1);
                        tracing::debug!(app = %self.app, api = api.label(), attempt, error = %e, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    async fn once(&self, call: &Call, token: &Secret) -> Result<serde_json::Value, ApiError> {
        let api = call.api;
        if let Some(l) = &self.limiter {
            l.acquire().await;
        }
        let label = api.label();
        self.metrics
            .api_requests
            .with_label_values(&[&self.app, label])
            .inc();
        let timer = self
            .metrics
            .api_duration
            .with_label_values(&[label])
            .start_timer();
        let result = self.send(call, token).await;
        timer.observe_duration();
        if let Err(e) = &result {
            self.count_error(api, e);
        }
        result
    }

    fn count_error(&self, api: Api, e: &ApiError) {
        self.metrics
            .api_errors
            .with_label_values(&[&self.app, api.label(), &e.errcode_label()])
            .inc();
    }

    async fn send(&self, call: &Call, token: &Secret) -> Result<serde_json::Value, ApiError> {
        let api = call.api;
        let mut url = format!(
            "{}{}?access_token={}",
            self.base_url,
            call.path,
            token.expose()
        );
        for (k, v) in &call.query {
            url.push('&');
            url.push_str(k);
            url.push('=');
            url.extend(form_urlencoded(v));
        }
        let safe_url = redact_url(&url);
        let req = match &call.body {
            Some(body) => self.http.post(&url).json(body),
            None => self.http.get(&url),
        };
        let bytes = send_for_body(req, &safe_url).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
                url: safe_url.clone(),
                reason: e.to_string(),
            })?;
        if !value.is_object() {
            return Err(ApiError::Decode {
                url: safe_url,
                reason: "the answer is not a JSON object".into(),
            });
        }
        let err: ErrorBody = serde_json::from_value(value.clone()).unwrap_or_default();
        if let Some(code) = err.errcode.filter(|c| *c != 0) {
            let message = scrub(err.errmsg.unwrap_or_default(), &self.secret);
            return Err(ApiError::WeChat {
                api: api.label(),
                code,
                message: scrub(message, token),
            });
        }
        Ok(value)
    }
}
