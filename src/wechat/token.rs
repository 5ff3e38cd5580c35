//! Where an app's access token comes from, and the rules that keep it from
//! breaking other services that share the appid.
//!
//! * `stable` (default): `/cgi-bin/stable_token` in normal mode hands every
//!   caller the same token and invalidates nobody's. `force_refresh` is used
//!   only after WeChat rejected the token *and* normal mode gave back the same
//!   rejected token, at most once per 30 s and 20 times per Beijing day.
//! * `file`: a token another service maintains, re-read when the file changes.
//! * `legacy`: `/cgi-bin/token`; every call invalidates the token other
//!   services hold, so it is only used when named, with a warning at start.
//!
//! Tokens are cached until shortly before they expire; the cache sits behind
//! an async mutex so concurrent callers share one refresh.

use crate::clock::Clock;
use crate::config::TokenSourceConfig;
use crate::dates::beijing_date;
use crate::secret::{redact_url, scrub, Secret};
use crate::self_metrics::SelfMetrics;
use crate::wechat::component::Component;
use crate::wechat::error::ApiError;
use crate::wechat::http::{fetch_url_token, send_for_body};
use crate::wechat::rate_limit::RateLimiter;
use crate::wechat::types::{ErrorBody, TokenResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Mutex;

const FORCE_REFRESH_MIN_GAP: i64 = 30;
const FORCE_REFRESH_PER_DAY: u32 = 20;

struct Cached {
    token: Secret,
    /// When to stop using it: a margin before WeChat's expiry.
    use_until: DateTime<Utc>,
}

#[derive(Default)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

struct State {
    cached: Option<Cached>,
    file_stamp: FileStamp,
    last_force: Option<DateTime<Utc>>,
    forces_today: (Option<NaiveDate>, u32),
}

/// One app's token provider. Cheap to share behind an `Arc`.
pub struct TokenProvider {
    app: String,
    appid: String,
    secret: Secret,
    source: TokenSourceConfig,
    base_url: String,
    http: reqwest::Client,
    clock: Clock,
    metrics: Arc<SelfMetrics>,
    state: Mutex<State>,
    limiter: Option<Arc<RateLimiter>>,
    /// The platform an `authorizer` source gets its token from.
    component: Option<Arc<Component>>,
}

impl TokenProvider {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        app: &str,
        appid: &str,
        secret: Secret,
        source: TokenSourceConfig,
        base_url: &str,
        http: reqwest::Client,
        clock: Clock,
        metrics: Arc<SelfMetrics>,
    ) -> Self {
        Self {
            app: app.to_string(),
            appid: appid.to_string(),
            secret,
            source,
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            clock,
            metrics,
            state: Mutex::new(State {
                cached: None,
                file_stamp: FileStamp::default(),
                last_force: None,
                forces_today: (None, 0),
            }),
            limiter: None,
            component: None,
        }
    }

    /// The third-party platform an `authorizer` source asks for the app's
    /// `authorizer_access_token`.
    pub fn with_component(mut self, component: Option<Arc<Component>>) -> Self {
        self.component = component;
        self
    }

    /// Makes every token call wait for the process-wide
    /// `poll.max_calls_per_minute` limiter (token calls count at WeChat too).
    pub fn with_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    pub fn source(&self) -> &TokenSourceConfig {
        &self.source
    }

    /// A token to call WeChat with: the cached one while it is fresh.
    pub async fn token(&self) -> Result<Secret, ApiError> {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        if let TokenSourceConfig::File { path } = &self.source {
            return self.read_file_if_changed(&mut st, path).await;
        }
        if let Some(c) = &st.cached {
            if now < c.use_until {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.fetch(false).await?;
        Ok(self.store(&mut st, fresh, now))
    }

    /// WeChat rejected `rejected`: get a different token, once. Returns an
    /// error rather than the same token again, so the caller cannot loop.
    pub async fn renew_after_rejection(&self, rejected: &Secret) -> Result<Secret, ApiError> {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        // Another caller may have renewed it while we waited for the lock.
        if let Some(c) = &st.cached {
            if &c.token != rejected && now < c.use_until {
                return Ok(c.token.clone());
            }
        }
        match &self.source {
            TokenSourceConfig::File { path } => {
                st.file_stamp = FileStamp::default();
                let t = self.read_file_if_changed(&mut st, path).await?;
                if &t == rejected {
                    return Err(ApiError::TokenSource(format!(
                        "WeChat rejected the token in {}, and the file still holds it",
                        path.display()
                    )));
                }
                Ok(t)
            }
            TokenSourceConfig::Legacy | TokenSourceConfig::Authorizer { .. } => {
                let fresh = self.fetch(false).await?;
                Ok(self.store(&mut st, fresh, now))
            }
            TokenSourceConfig::Url { url, .. } => {
                let fresh = self.fetch(false).await?;
                if &fresh.0 == rejected {
                    return Err(ApiError::TokenRejectedAgain(format!(
                        "the token service {} still hands out the token WeChat rejected",
                        redact_url(url)
                    )));
                }
                Ok(self.store(&mut st, fresh, now))
            }
            TokenSourceConfig::Stable => {
                let fresh = self.fetch(false).await?;
                if &fresh.0 != rejected {
                    return Ok(self.store(&mut st, fresh, now));
                }
                // Normal mode still hands out the rejected token: only a
                // forced refresh helps, within WeChat's limits.
                self.check_force_allowed(&mut st, now)?;
                let fresh = self.fetch(true).await?;
                Ok(self.store(&mut st, fresh, now))
            }
        }
    }

    fn check_force_allowed(&self, st: &mut State, now: DateTime<Utc>) -> Result<(), ApiError> {
        if let Some(last) = st.last_force {
            if now - last < Duration::seconds(FORCE_REFRESH_MIN_GAP) {
                return Err(ApiError::TokenRejectedAgain(
                    "within 30 s of a forced refresh; not forcing another".into(),
                ));
            }
        }
        let today = beijing_date(now);
        if st.forces_today.0 != Some(today) {
            st.forces_today = (Some(today), 0);
        }
        if st.forces_today.1 >= FORCE_REFRESH_PER_DAY {
            return Err(ApiError::TokenSource(
                "20 forced token refreshes used today; waiting for Beijing midnight".into(),
            ));
        }
        st.forces_today.1 += 1;
        st.last_force = Some(now);
        Ok(())
    }

    fn store(
        &self,
        st: &mut State,
        (token, expires_in): (Secret, f64),
        now: DateTime<Utc>,
    ) -> Secret {
        // Stop using a token a little before WeChat does: 5 minutes, or a
        // fifth of its life when WeChat hands out a short-lived one.
        let life = expires_in.max(0.0) as i64;
        let margin = (life / 5).min(300);
        st.cached = Some(Cached {
            token: token.clone(),
            use_until: now + Duration::seconds(life - margin),
        });
        self.metrics
            .token_refreshes
            .with_label_values(&[&self.app])
            .inc();
        token
    }

    async fn read_file_if_changed(
        &self,
        st: &mut State,
        path: &PathBuf,
    ) -> Result<Secret, ApiError> {
        let meta = tokio::fs::metadata(path).await.map_err(|e| {
            ApiError::TokenSource(format!("cannot read token file {}: {e}", path.display()))
        })?;
        let stamp = FileStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        };
        if let Some(c) = &st.cached {
            if stamp.modified == st.file_stamp.modified
                && stamp.len == st.file_stamp.len
                && stamp.modified.is_some()
            {
                return Ok(c.token.clone());
            }
        }
        // Bounded like every file a config names: a device or a log file
        // named by mistake is refused, not read into memory.
        let raw = crate::secret::read_bounded(path, crate::secret::MAX_SECRET_FILE_BYTES).map_err(
            |e| ApiError::TokenSource(format!("cannot read token file {}: {e}", path.display())),
        )?;
        let token = raw.trim();
        if token.is_empty() {
            return Err(ApiError::TokenSource(format!(
                "token file {} is empty",
                path.display()
            )));
        }
        let changed = st
            .cached
            .as_ref()
            .map(|c| c.token.expose() != token)
            .unwrap_or(true);
        st.file_stamp = stamp;
        st.cached = Some(Cached {
            token: Secret::new(token),
            use_until: DateTime::<Utc>::MAX_UTC,
        });
        if changed {
            self.metrics
                .token_refreshes
                .with_label_values(&[&self.app])
                .inc();
        }
        Ok(Secret::new(token))
    }

    /// One call to WeChat's token endpoint.
    async fn fetch(&self, force_refresh: bool) -> Result<(Secret, f64), ApiError> {
        if let Some(l) = &self.limiter {
            l.acquire().await;
        }
        self.metrics
            .api_requests
            .with_label_values(&[&self.app, "token"])
            .inc();
        let timer = self
            .metrics
            .api_duration
            .with_label_values(&["token"])
            .start_timer();
        let result = self.fetch_inner(force_refresh).await;
        timer.observe_duration();
        if let Err(e) = &result {
            self.metrics
                .api_errors
                .with_label_values(&[&self.app, "token", &e.errcode_label()])
                .inc();
        }
        result
    }

    async fn fetch_inner(&self, force_refresh: bool) -> Result<(Secret, f64), ApiError> {
        match &self.source {
            TokenSourceConfig::Url {
                url,
                bearer_token_file,
            } => return fetch_url_token(&self.http, url, bearer_token_file.as_deref()).await,
            TokenSourceConfig::Authorizer { refresh_token_file } => {
                let Some(c) = &self.component else {
                    return Err(ApiError::TokenSource(
                        "token source `authorizer` needs a `platform:` section".into(),
                    ));
                };
                let configured = match refresh_token_file {
                    Some(p) => crate::secret::read_bounded(p, crate::secret::MAX_SECRET_FILE_BYTES)
                        .ok()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .map(Secret::new),
                    None => None,
                };
                return c.authorizer_token(&self.app, &self.appid, configured).await;
            }
            _ => {}
        }
        let (url, req) = match self.source {
            TokenSourceConfig::Legacy => {
                let url = format!(
                    "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
                    self.base_url,
                    self.appid,
                    self.secret.expose()
                );
                (url.clone(), self.http.get(url))
            }
            _ => {
                let url = format!("{}/cgi-bin/stable_token", self.base_url);
                let body = serde_json::json!({
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret.expose(),
                    "force_refresh": force_refresh,
                });
                (url.clone(), self.http.post(url).json(&body))
            }
        };
        let safe_url = redact_url(&url);
        let bytes = send_for_body(req, &safe_url).await?;
        let err: ErrorBody = serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
            url: safe_url.clone(),
            reason: e.to_string(),
        })?;
        if let Some(code) = err.errcode.filter(|c| *c != 0) {
            return Err(ApiError::WeChat {
                api: "token",
                code,
                message: scrub(err.errmsg.unwrap_or_default(), &self.secret),
            });
        }
        let t: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
            url: safe_url,
            reason: e.to_string(),
        })?;
        Ok((Secret::new(t.access_token), t.expires_in))
    }
}
