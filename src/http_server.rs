//! The exporter's HTTP endpoints: `/metrics`, the landing page, health,
//! readiness and reload. Handlers only read the current snapshot; nothing
//! here calls WeChat.

use crate::poller::Poller;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::fmt::Write;
use std::sync::Arc;

/// Something that reloads the configuration, e.g. on `POST /-/reload`.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub poller: Arc<Poller>,
    pub telemetry_path: String,
    pub reload: Option<ReloadFn>,
}

pub fn router(state: AppState) -> Router {
    let path = state.telemetry_path.clone();
    Router::new()
        .route(&path, get(metrics))
        .route("/", get(landing))
        .route("/-/healthy", get(|| async { "Healthy.\n" }))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload).put(reload))
        .with_state(state)
}

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let snap = st.poller.store.load();
    let wants_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    // process_* is read at scrape time (CPU and memory move between polls)
    // and sent after the snapshot's bytes, uncopied; with gzip as a second
    // gzip member (RFC 1952 2.2), which Prometheus' Go reader decodes.
    let mut process = Vec::new();
    st.poller.metrics.render_process_into(&mut process);
    let body = |first: bytes::Bytes, second: Vec<u8>| {
        if second.is_empty() {
            return first.into_response();
        }
        let parts = [first, bytes::Bytes::from(second)].map(Ok::<_, std::convert::Infallible>);
        axum::body::Body::from_stream(futures::stream::iter(parts)).into_response()
    };
    let mut resp = if wants_gzip && !snap.gzip.is_empty() {
        let mut r = body(snap.gzip.clone(), gzip_member(&process));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        body(snap.body.clone(), process)
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

/// `bytes` as one gzip member (empty in, empty out).
fn gzip_member(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// True if an Accept-Encoding value accepts gzip (and does not refuse it with q=0).
fn accepts_gzip(v: &str) -> bool {
    v.split(',').any(|part| {
        let mut it = part.trim().split(';');
        let coding = it.next().unwrap_or("").trim();
        let refused = it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

async fn ready(State(st): State<AppState>) -> Response {
    if st.poller.ready() {
        (StatusCode::OK, "Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: first poll still running.\n",
        )
            .into_response()
    }
}

async fn reload(State(st): State<AppState>) -> Response {
    match &st.reload {
        None => (
            StatusCode::BAD_REQUEST,
            "No config file to reload (demo mode).\n",
        )
            .into_response(),
        Some(f) => match f() {
            Ok(()) => (StatusCode::OK, "Config reloaded.\n").into_response(),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Reload failed: {e}\n"),
            )
                .into_response(),
        },
    }
}

async fn landing(State(st): State<AppState>) -> Html<String> {
    let snap = st.poller.store.load();
    let mut rows = String::new();
    for a in &snap.apps {
        let fmt_t = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| {
                t.with_timezone(&crate::dates::beijing())
                    .format("%Y-%m-%d %H:%M %:z")
                    .to_string()
            })
            .unwrap_or_else(|| "never".into())
        };
        let mut state = format!("{}/{} APIs ok", a.apis_ok, a.apis_total);
        if let Some(p) = a.paused_until {
            let _ = write!(state, ", paused until {}", fmt_t(Some(p)));
        }
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.name),
            match a.kind {
                crate::wechat::api::AppKind::Miniprogram => "Mini Program",
                crate::wechat::api::AppKind::OfficialAccount => "Official Account",
            },
            fmt_t(a.last_success),
            a.data_date
                .map(|d| d.to_string())
                .unwrap_or_else(|| "none yet".into()),
            esc(&state),
            esc(a.last_error.as_deref().unwrap_or("")),
        );
    }
    let path = esc(&st.telemetry_path);
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>WeChat Exporter</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>\
<body><h1>WeChat Exporter</h1><p>Version {ver}. Data is polled from WeChat on a schedule; scrapes never call WeChat.</p>\
<ul><li><a href=\"{path}\">Metrics</a></li><li><a href=\"/-/healthy\">Health</a></li><li><a href=\"/-/ready\">Readiness</a></li></ul>\
<h2>Apps</h2><table><tr><th>App</th><th>Type</th><th>Last success</th><th>Data date</th><th>State</th><th>Last error</th></tr>{rows}</table>\
</body></html>",
        ver = env!("CARGO_PKG_VERSION"),
    ))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }
}
