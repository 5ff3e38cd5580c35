//! A third-party platform's (第三方平台) credentials: its
//! `component_access_token`, and through it each authorized app's
//! `authorizer_access_token`, plus the two discovery calls.
//!
//! Rules (wechat-api.md, "Third-party platforms"):
//! * The component token comes from `api_component_token` with the
//!   `component_verify_ticket` that the platform's callback handler writes
//!   to a file (re-read when the file changes), or from a token service
//!   (`file` / `url`). It is cached until 5 minutes before expiry behind one
//!   async mutex, so 1,000 apps share one refresh. WeChat keeps the old token
//!   working ~5 minutes after a new one, so a call that was rejected with a
//!   token we already replaced is retried with the new one, not refreshed.
//! * A failure to get the component token (ticket expired or invalid, IP not
//!   registered, …) is remembered: until the ticket file changes, or 10
//!   minutes pass, every app gets the same error without a call. Nothing
//!   here loops.
//! * A refresh token that comes back changed is kept (`RefreshTokens`), and
//!   saved to the storage directory when there is one.

use crate::clock::Clock;
use crate::secret::{redact_url, scrub, Secret};
use crate::self_metrics::SelfMetrics;
use crate::wechat::error::ApiError;
use crate::wechat::http::{fetch_url_token, send_for_body};
use crate::wechat::rate_limit::RateLimiter;
use crate::wechat::types::ErrorBody;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

const LIST_PATH: &str = "/cgi-bin/component/api_get_authorizer_list";
const INFO_PATH: &str = "/cgi-bin/component/api_get_authorizer_info";
const TOKEN_PATH: &str = "/cgi-bin/component/api_component_token";
const AUTHORIZER_TOKEN_PATH: &str = "/cgi-bin/component/api_authorizer_token";
/// WeChat's page size limit for the authorizer list.
pub const LIST_PAGE: usize = 500;
/// How long a failed component-token fetch is remembered when the ticket
/// file does not change: no app retries it sooner.
const FAILURE_HOLD_SECS: i64 = 600;

/// Where the component token comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ComponentSource {
    /// `api_component_token` with the ticket in this file.
    Ticket { ticket_file: PathBuf },
    /// A token another service keeps in a file.
    File { path: PathBuf },
    /// A token service: GET, JSON `access_token` + `expires_in`.
    Url {
        url: String,
        bearer_token_file: Option<PathBuf>,
    },
}

/// One authorized app as `api_get_authorizer_list` lists it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub appid: String,
    pub refresh_token: Secret,
}

/// What `api_get_authorizer_info` says about an app.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizerInfo {
    pub nick_name: String,
    pub is_miniprogram: bool,
    /// Granted permission sets (`func_info[].funcscope_category.id`).
    pub permissions: Vec<i64>,
}

#[derive(Default)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    fn of(path: &Path) -> Stamp {
        match std::fs::metadata(path) {
            Ok(m) => Stamp {
                modified: m.modified().ok(),
                len: m.len(),
            },
            Err(_) => Stamp::default(),
        }
    }

    fn same(&self, o: &Stamp) -> bool {
        self.modified.is_some() && self.modified == o.modified && self.len == o.len
    }
}

struct Failure {
    error: ApiError,
    until: DateTime<Utc>,
    stamp: Stamp,
}

#[derive(Default)]
struct TokenState {
    token: Option<(Secret, DateTime<Utc>)>,
    /// The token file's stamp when `token` was read from it (`File` source).
    file_stamp: Stamp,
    failure: Option<Failure>,
}

/// Refresh tokens by authorizer appid, saved as JSON when a path is given.
pub struct RefreshTokens {
    map: Mutex<BTreeMap<String, Secret>>,
    path: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct RefreshFile {
    format: String,
    component_appid: String,
    refresh_tokens: BTreeMap<String, String>,
}

const REFRESH_FORMAT: &str = "wechat-exporter-platform-refresh-tokens-v1";

impl RefreshTokens {
    /// Loads the saved tokens of `component_appid` from `path`, if any. A
    /// file that does not parse is ignored: discovery recovers the tokens.
    pub fn load(path: Option<PathBuf>, component_appid: &str) -> Self {
        let mut map = BTreeMap::new();
        if let Some(p) = &path {
            if let Ok(bytes) = std::fs::read(p) {
                match serde_json::from_slice::<RefreshFile>(&bytes) {
                    Ok(f) if f.format == REFRESH_FORMAT && f.component_appid == component_appid => {
                        map = f
                            .refresh_tokens
                            .into_iter()
                            .map(|(k, v)| (k, Secret::new(v)))
                            .collect();
                    }
                    _ => {
                        tracing::warn!(path = %p.display(), "ignoring the refresh-token file: not ours")
                    }
                }
            }
        }
        Self {
            map: Mutex::new(map),
            path,
        }
    }

    pub fn get(&self, appid: &str) -> Option<Secret> {
        self.lock().get(appid).cloned()
    }

    /// Keeps `token` for `appid`; saves when it changed.
    pub fn set(&self, component_appid: &str, appid: &str, token: Secret) {
        if token.is_empty() {
            return;
        }
        let snapshot = {
            let mut m = self.lock();
            if m.get(appid) == Some(&token) {
                return;
            }
            m.insert(appid.to_string(), token);
            m.clone()
        };
        self.save(component_appid, snapshot);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Written whole to a temporary name and renamed: a crash leaves the old
    /// file or the new one. Mode 0600: these are credentials.
    fn save(&self, component_appid: &str, map: BTreeMap<String, Secret>) {
        let Some(path) = &self.path else { return };
        let file = RefreshFile {
            format: REFRESH_FORMAT.into(),
            component_appid: component_appid.into(),
            refresh_tokens: map
                .into_iter()
                .map(|(k, v)| (k, v.expose().to_string()))
                .collect(),
        };
        let Ok(bytes) = serde_json::to_vec(&file) else {
            return;
        };
        let tmp = path.with_extension("json.tmp");
        let written = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot save the platform's refresh tokens");
        }
    }
}

/// The platform: component token, authorizer tokens, discovery calls.
pub struct Component {
    pub appid: String,
    secret: Secret,
    source: ComponentSource,
    base_url: String,
    http: reqwest::Client,
    clock: Clock,
    metrics: Arc<SelfMetrics>,
    limiter: std::sync::OnceLock<Arc<RateLimiter>>,
    state: tokio::sync::Mutex<TokenState>,
    pub refresh_tokens: RefreshTokens,
    /// The `app` label of the platform's own calls in the self-metrics.
    label: String,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Component({})", self.appid)
    }
}

impl Component {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        appid: &str,
        secret: Secret,
        source: ComponentSource,
        base_url: &str,
        http: reqwest::Client,
        clock: Clock,
        metrics: Arc<SelfMetrics>,
        limiter: Option<Arc<RateLimiter>>,
        refresh_tokens: RefreshTokens,
    ) -> Self {
        Self {
            appid: appid.to_string(),
            secret,
            source,
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            clock,
            metrics,
            limiter: {
                let l = std::sync::OnceLock::new();
                if let Some(x) = limiter {
                    let _ = l.set(x);
                }
                l
            },
            state: tokio::sync::Mutex::new(TokenState::default()),
            refresh_tokens,
            label: format!("platform:{appid}"),
        }
    }

    /// Makes the platform's calls wait for the process-wide limiter (the
    /// poller's, which exists only after the platform).
    pub fn set_limiter(&self, limiter: Arc<RateLimiter>) {
        let _ = self.limiter.set(limiter);
    }

    /// The `app` label of the platform's own calls.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The cached component token, fetched when due (one fetch at a time).
    pub async fn component_token(&self) -> Result<Secret, ApiError> {
        let mut st = self.state.lock().await;
        self.component_token_locked(&mut st, None).await
    }

    async fn component_token_locked(
        &self,
        st: &mut TokenState,
        rejected: Option<&Secret>,
    ) -> Result<Secret, ApiError> {
        let now = self.clock.now();
        if let ComponentSource::File { path } = &self.source {
            let stamp = Stamp::of(path);
            if let Some((t, _)) = &st.token {
                if stamp.same(&st.file_stamp) && Some(t) != rejected {
                    return Ok(t.clone());
                }
            }
            let t = read_trimmed(path, "component token file")?;
            if Some(&t) == rejected {
                return Err(ApiError::TokenSource(format!(
                    "WeChat rejected the component token in {}, and the file still holds it",
                    path.display()
                )));
            }
            st.file_stamp = stamp;
            st.token = Some((t.clone(), DateTime::<Utc>::MAX_UTC));
            return Ok(t);
        }
        if let Some((t, until)) = &st.token {
            if now < *until && Some(t) != rejected {
                return Ok(t.clone());
            }
        }
        if let Some(f) = &st.failure {
            let stamp = match &self.source {
                ComponentSource::Ticket { ticket_file } => Stamp::of(ticket_file),
                _ => Stamp::default(),
            };
            let ticket_unchanged = match &self.source {
                ComponentSource::Ticket { .. } => stamp.same(&f.stamp),
                _ => true,
            };
            if now < f.until && ticket_unchanged {
                return Err(f.error.clone());
            }
        }
        match self.fetch_component_token().await {
            Ok((t, expires_in)) => {
                // Stop using it 5 minutes early (a fifth of a short life).
                let life = expires_in.max(0.0) as i64;
                let margin = (life / 5).min(300);
                st.token = Some((t.clone(), now + Duration::seconds(life - margin)));
                st.failure = None;
                self.metrics
                    .token_refreshes
                    .with_label_values(&[&self.label])
                    .inc();
                Ok(t)
            }
            Err(e) => {
                let stamp = match &self.source {
                    ComponentSource::Ticket { ticket_file } => Stamp::of(ticket_file),
                    _ => Stamp::default(),
                };
                // Connection trouble is for the callers' own retries.
                if !e.class().retried_in_call() {
                    st.failure = Some(Failure {
                        error: e.clone(),
                        until: now + Duration::seconds(FAILURE_HOLD_SECS),
                        stamp,
                    });
                }
                Err(e)
            }
        }
    }

    async fn fetch_component_token(&self) -> Result<(Secret, f64), ApiError> {
        self.counted("component_token", async {
            match &self.source {
                ComponentSource::Ticket { ticket_file } => {
                    let ticket = read_trimmed(ticket_file, "component_verify_ticket file")?;
                    let url = format!("{}{TOKEN_PATH}", self.base_url);
                    let body = serde_json::json!({
                        "component_appid": self.appid,
                        "component_appsecret": self.secret.expose(),
                        "component_verify_ticket": ticket.expose(),
                    });
                    let v = self
                        .post_raw(&url, &body, "component_token", &[&ticket])
                        .await?;
                    let token = v
                        .get("component_access_token")
                        .and_then(|t| t.as_str())
                        .filter(|t| !t.is_empty());
                    let expires_in = v
                        .get("expires_in")
                        .and_then(|e| e.as_f64())
                        .unwrap_or(7200.0);
                    match token {
                        Some(t) => Ok((Secret::new(t), expires_in)),
                        None => Err(ApiError::Decode {
                            url: redact_url(&url),
                            reason: "no component_access_token in the answer".into(),
                        }),
                    }
                }
                ComponentSource::Url {
                    url,
                    bearer_token_file,
                } => fetch_url_token(&self.http, url, bearer_token_file.as_deref()).await,
                ComponentSource::File { .. } => Err(ApiError::TokenSource(
                    "a file token is read, not fetched".into(),
                )),
            }
        })
        .await
    }

    /// A fresh `authorizer_access_token` for `appid` (not cached here: the
    /// app's `TokenProvider` caches it). `configured` is the refresh token
    /// of the config, used when neither an answer nor discovery gave one.
    pub async fn authorizer_token(
        &self,
        app: &str,
        appid: &str,
        configured: Option<Secret>,
    ) -> Result<(Secret, f64), ApiError> {
        let refresh = self
            .refresh_tokens
            .get(appid)
            .or(configured)
            .ok_or_else(|| {
                ApiError::TokenSource(format!(
                    "no authorizer_refresh_token for {appid}: it is not in api_get_authorizer_list (not authorized?) and none is configured"
                ))
            })?;
        let body = serde_json::json!({
            "component_appid": self.appid,
            "authorizer_appid": appid,
            "authorizer_refresh_token": refresh.expose(),
        });
        let v = self
            .call(
                app,
                "authorizer_token",
                AUTHORIZER_TOKEN_PATH,
                &body,
                &[&refresh],
            )
            .await?;
        let token = v
            .get("authorizer_access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Shape {
                api: "authorizer_token",
                path: "authorizer_access_token".into(),
                reason: "missing".into(),
                excerpt: String::new(),
            })?;
        if let Some(new) = v
            .get("authorizer_refresh_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && *t != refresh.expose())
        {
            tracing::info!(
                app,
                appid,
                "WeChat returned a new authorizer_refresh_token; keeping it"
            );
            self.refresh_tokens
                .set(&self.appid, appid, Secret::new(new));
        }
        let expires_in = v
            .get("expires_in")
            .and_then(|e| e.as_f64())
            .unwrap_or(7200.0);
        Ok((Secret::new(token), expires_in))
    }

    /// Every authorized app, in pages of at most 500. Refresh tokens seen
    /// in the list are kept (the list recovers lost ones).
    pub async fn list(&self) -> Result<Vec<Listed>, ApiError> {
        let mut out: Vec<Listed> = Vec::new();
        let mut offset = 0usize;
        loop {
            let body = serde_json::json!({
                "component_appid": self.appid,
                "offset": offset,
                "count": LIST_PAGE,
            });
            let label = self.label.clone();
            let v = self
                .call(&label, "authorizer_list", LIST_PATH, &body, &[])
                .await?;
            let total = v.get("total_count").and_then(|t| t.as_u64()).unwrap_or(0) as usize;
            let page: Vec<Listed> = v
                .get("list")
                .and_then(|l| l.as_array())
                .map(|l| {
                    l.iter()
                        .filter_map(|item| {
                            let appid = item.get("authorizer_appid")?.as_str()?;
                            let rt = item
                                .get("refresh_token")
                                .and_then(|r| r.as_str())
                                .unwrap_or_default();
                            Some(Listed {
                                appid: appid.to_string(),
                                refresh_token: Secret::new(rt),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let n = page.len();
            for l in &page {
                self.refresh_tokens
                    .set(&self.appid, &l.appid, l.refresh_token.clone());
            }
            out.extend(page);
            offset += n;
            // An empty page ends it even if total_count says more: never loop.
            if n == 0 || offset >= total {
                break;
            }
        }
        out.sort_by(|a, b| a.appid.cmp(&b.appid));
        out.dedup_by(|a, b| a.appid == b.appid);
        Ok(out)
    }

    pub async fn info(&self, appid: &str) -> Result<AuthorizerInfo, ApiError> {
        let body = serde_json::json!({
            "component_appid": self.appid,
            "authorizer_appid": appid,
        });
        let label = self.label.clone();
        let v = self
            .call(&label, "authorizer_info", INFO_PATH, &body, &[])
            .await?;
        let ai = v.get("authorizer_info");
        let nick_name = ai
            .and_then(|a| a.get("nick_name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string();
        let is_miniprogram = ai.and_then(|a| a.get("MiniProgramInfo")).is_some();
        // funcscope_category is documented as an object; some answers carry
        // an array of them: take both.
        let permissions = v
            .get("authorization_info")
            .and_then(|a| a.get("func_info"))
            .and_then(|f| f.as_array())
            .map(|f| {
                f.iter()
                    .flat_map(|item| match item.get("funcscope_category") {
                        Some(serde_json::Value::Array(a)) => a.clone(),
                        Some(o) => vec![o.clone()],
                        None => Vec::new(),
                    })
                    .filter_map(|c| c.get("id").and_then(|i| i.as_i64()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(AuthorizerInfo {
            nick_name,
            is_miniprogram,
            permissions,
        })
    }

    /// A call with the component token in the URL. A rejected component
    /// token (40001/42001) gets one renewal and one retry, never more.
    async fn call(
        &self,
        app: &str,
        api: &'static str,
        path: &str,
        body: &serde_json::Value,
        secrets: &[&Secret],
    ) -> Result<serde_json::Value, ApiError> {
        let token = self.component_token().await?;
        let first = self.call_with(app, api, path, body, secrets, &token).await;
        match first {
            Err(ApiError::WeChat {
                code: 40001 | 42001 | 40014,
                ..
            }) => {
                let renewed = {
                    let mut st = self.state.lock().await;
                    self.component_token_locked(&mut st, Some(&token)).await?
                };
                self.call_with(app, api, path, body, secrets, &renewed)
                    .await
            }
            other => other,
        }
    }

    async fn call_with(
        &self,
        app: &str,
        api: &'static str,
        path: &str,
        body: &serde_json::Value,
        secrets: &[&Secret],
        token: &Secret,
    ) -> Result<serde_json::Value, ApiError> {
        let url = format!(
            "{}{path}?component_access_token={}",
            self.base_url,
            token.expose()
        );
        let mut all: Vec<&Secret> = secrets.to_vec();
        all.push(token);
        self.counted_as(app, api, self.post_raw(&url, body, api, &all))
            .await
    }

    async fn counted<T>(
        &self,
        api: &'static str,
        fut: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let label = self.label.clone();
        self.counted_as(&label, api, fut).await
    }

    async fn counted_as<T>(
        &self,
        app: &str,
        api: &'static str,
        fut: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        if let Some(l) = self.limiter.get() {
            l.acquire().await;
        }
        self.metrics
            .api_requests
            .with_label_values(&[app, api])
            .inc();
        let timer = self
            .metrics
            .api_duration
            .with_label_values(&[api])
            .start_timer();
        let r = fut.await;
        timer.observe_duration();
        if let Err(e) = &r {
            self.metrics
                .api_errors
                .with_label_values(&[app, api, &e.errcode_label()])
                .inc();
        }
        r
    }

    /// POSTs JSON; an errcode becomes `ApiError::WeChat` with its errmsg
    /// scrubbed of every secret of the call.
    async fn post_raw(
        &self,
        url: &str,
        body: &serde_json::Value,
        api: &'static str,
        secrets: &[&Secret],
    ) -> Result<serde_json::Value, ApiError> {
        let safe_url = redact_url(url);
        let bytes = send_for_body(self.http.post(url).json(body), &safe_url).await?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
                url: safe_url.clone(),
                reason: e.to_string(),
            })?;
        let err: ErrorBody = serde_json::from_value(v.clone()).unwrap_or_default();
        if let Some(code) = err.errcode.filter(|c| *c != 0) {
            let mut message = scrub(err.errmsg.unwrap_or_default(), &self.secret);
            for s in secrets {
                message = scrub(message, s);
            }
            return Err(ApiError::WeChat { api, code, message });
        }
        Ok(v)
    }
}

fn read_trimmed(path: &Path, what: &str) -> Result<Secret, ApiError> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        ApiError::TokenSource(format!(
            "cannot read the {what} {}: {e} (is the platform's callback handler writing it?)",
            path.display()
        ))
    })?;
    let t = raw.trim();
    if t.is_empty() {
        return Err(ApiError::TokenSource(format!(
            "the {what} {} is empty (no component_verify_ticket received yet?)",
            path.display()
        )));
    }
    Ok(Secret::new(t))
}
