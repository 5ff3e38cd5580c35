//! The HTTP side every WeChat call shares: the client (rustls, timeouts,
//! egress proxy), sending a request for its body, transport errors without
//! their URL, and a token service's GET.

use crate::config::WechatSettings;
use crate::secret::{redact_url, scrub, Secret};
use crate::wechat::error::ApiError;
use crate::wechat::types::{ErrorBody, TokenResponse};
use std::time::Duration;

/// Builds the shared HTTP client: rustls, timeouts, and the egress proxy.
///
/// With `wechat.proxy_url` every call (tokens included) goes through that
/// proxy (CONNECT for https, absolute-form requests for http) and the
/// environment is ignored; without it reqwest honours `HTTPS_PROXY`,
/// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`. A proxy that cannot be built
/// (config validation builds the same one first, so this is unreachable in
/// practice) fails closed: calls go to an address that never resolves
/// rather than around the proxy.
pub fn http_client(wechat: &WechatSettings) -> reqwest::Client {
    let timeout = wechat.timeout;
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("wechat-exporter/", env!("CARGO_PKG_VERSION")));
    if let (Some(url), Some(proxy)) = (&wechat.proxy_url, wechat.proxy()) {
        let proxy = match proxy {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(proxy = %redact_url(url), error = %e, "unusable wechat.proxy_url: WeChat calls will fail");
                reqwest::Proxy::custom(|_| {
                    reqwest::Url::parse("http://unusable-proxy.invalid:1").ok()
                })
            }
        };
        builder = builder.proxy(proxy);
    }
    builder.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// One GET of a token service: `{"access_token": …, "expires_in": …}`,
/// with `Authorization: Bearer <file content>` when a file is given. The
/// URL in errors is redacted; the bearer never leaves this function.
pub(crate) async fn fetch_url_token(
    http: &reqwest::Client,
    url: &str,
    bearer_token_file: Option<&std::path::Path>,
) -> Result<(Secret, f64), ApiError> {
    let safe_url = redact_url(url);
    let mut req = http.get(url);
    let mut bearer = Secret::default();
    if let Some(p) = bearer_token_file {
        let raw =
            crate::secret::read_bounded(p, crate::secret::MAX_SECRET_FILE_BYTES).map_err(|e| {
                ApiError::TokenSource(format!(
                    "cannot read bearer_token_file {}: {e}",
                    p.display()
                ))
            })?;
        bearer = Secret::new(raw.trim());
        req = req.bearer_auth(bearer.expose());
    }
    let bytes = send_for_body(req, &safe_url).await?;
    let err: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(code) = err.errcode.filter(|c| *c != 0) {
        return Err(ApiError::WeChat {
            api: "token",
            code,
            message: scrub(err.errmsg.unwrap_or_default(), &bearer),
        });
    }
    let t: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
        url: safe_url.clone(),
        reason: format!("expected JSON with access_token and expires_in: {e}"),
    })?;
    if t.access_token.trim().is_empty() {
        return Err(ApiError::TokenSource(format!(
            "the token service {safe_url} answered an empty access_token"
        )));
    }
    Ok((Secret::new(t.access_token), t.expires_in))
}

/// Sends `req` and returns the body of a 2xx answer. `safe_url` is the
/// redacted URL that errors carry; reqwest's own URL never escapes.
pub(crate) async fn send_for_body(
    req: reqwest::RequestBuilder,
    safe_url: &str,
) -> Result<bytes::Bytes, ApiError> {
    let resp = req.send().await.map_err(|e| transport_error(e, safe_url))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(ApiError::Http {
            status: status.as_u16(),
            url: safe_url.to_string(),
        });
    }
    resp.bytes().await.map_err(|e| transport_error(e, safe_url))
}

/// A reqwest error as ours, with reqwest's own (unredacted) URL stripped.
pub(crate) fn transport_error(e: reqwest::Error, safe_url: &str) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout {
            url: safe_url.to_string(),
        }
    } else if e.is_connect() {
        ApiError::Unreachable {
            url: safe_url.to_string(),
            reason: error_chain(&e.without_url()),
        }
    } else if e.is_decode() || e.is_body() {
        ApiError::Decode {
            url: safe_url.to_string(),
            reason: e.without_url().to_string(),
        }
    } else {
        ApiError::Connect {
            url: safe_url.to_string(),
            reason: error_chain(&e.without_url()),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
