//! The exporter's HTTP endpoints: `/metrics`, the landing page, health,
//! readiness and reload. Handlers only read the current snapshot; nothing
//! here calls WeChat.
//!
//! `/-/reload` is guarded against cross-site requests: a browser page on
//! another origin can send a "simple" POST (form or `text/plain`) without
//! asking first, so a reload is accepted only with a non-simple method
//! (PUT), an `Origin` that matches `Host`, or no `Origin` and a non-form
//! content type (curl's plain `-X POST` qualifies). It never reads a body:
//! one is refused with 413 before a byte of it is read.

use crate::expose::snapshot::Segments;
use crate::expose::snapshot::SnapshotStore;
use crate::self_metrics::SelfMetrics;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use std::convert::Infallible;
use std::fmt::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Something that reloads the configuration, e.g. on `POST /-/reload`.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Whether the exporter is ready (`/-/ready`): the poller says.
pub type ReadyFn = Arc<dyn Fn() -> bool + Send + Sync>;

/// What the handlers hold: the snapshots they serve, never the poller.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<SnapshotStore>,
    /// For `process_*`, read at scrape time.
    pub metrics: Arc<SelfMetrics>,
    pub ready: ReadyFn,
    pub telemetry_path: String,
    pub reload: Option<ReloadFn>,
    /// `--web.max-requests`: scrapes served at once (`None`: no limit).
    pub scrape_slots: Option<Arc<tokio::sync::Semaphore>>,
}

/// The semaphore for `--web.max-requests` (0 = no limit).
pub fn scrape_slots(max_requests: usize) -> Option<Arc<tokio::sync::Semaphore>> {
    (max_requests > 0).then(|| Arc::new(tokio::sync::Semaphore::new(max_requests)))
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
    // Like node_exporter's --web.max-requests: past the limit, 503 at once
    // rather than queueing scrapes that would time out anyway.
    let permit = match &st.scrape_slots {
        None => None,
        Some(s) => match s.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many concurrent scrapes (--web.max-requests).\n",
                )
                    .into_response()
            }
        },
    };
    let snap = st.store.load();
    let wants_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    // process_* is read at scrape time (CPU and memory move between polls)
    // and sent after the snapshot's bytes, which are not copied; with gzip
    // as one more piece of the same member (`Snapshot::gzip_with`).
    let mut process = Vec::new();
    st.metrics.render_process_into(&mut process);
    let mut resp = if wants_gzip && !snap.gzip.is_empty() {
        let (segments, extra) = snap.gzip_with(&process);
        let mut r = Response::new(Body::new(SegmentsBody::new(segments, extra, permit)));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        let extra = if process.is_empty() {
            Vec::new()
        } else {
            vec![Bytes::from(process)]
        };
        Response::new(Body::new(SegmentsBody::new(
            snap.body.clone(),
            extra,
            permit,
        )))
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

/// A response body that hands out the snapshot's own segments, one frame
/// each: every response in flight shares the same bytes (no per-connection
/// copy; hyper writes them with vectored writes). The exact length lets
/// hyper send `Content-Length`.
///
/// With `--web.max-requests`, it also holds the scrape's slot until it has
/// been handed over in full or dropped, as node_exporter's limit covers the
/// time its handler writes.
///
/// `extra` follows the segments: what a scrape adds (`process_*`).
struct SegmentsBody {
    segments: Segments,
    extra: Vec<Bytes>,
    next: usize,
    left: u64,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl SegmentsBody {
    fn new(
        segments: Segments,
        extra: Vec<Bytes>,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Self {
        let left = (segments.len() + extra.iter().map(Bytes::len).sum::<usize>()) as u64;
        Self {
            segments,
            extra,
            next: 0,
            left,
            _slot: slot,
        }
    }
}

impl hyper::body::Body for SegmentsBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let n = self.segments.parts().len();
        let part = if self.next < n {
            self.segments.parts()[self.next].clone()
        } else if let Some(p) = self.extra.get(self.next - n) {
            p.clone()
        } else {
            return Poll::Ready(None);
        };
        self.next += 1;
        self.left -= part.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
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
    if (st.ready)() {
        (StatusCode::OK, "Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: first poll still running.\n",
        )
            .into_response()
    }
}

/// Why a reload request is refused before anything is done, if it is.
fn reload_refusal(method: &Method, headers: &HeaderMap) -> Option<(StatusCode, &'static str)> {
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            "/-/reload takes no request body.\n",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        // A browser names the page's origin; it must be this server.
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let same = match (origin.to_str().ok(), host) {
            (Some(o), Some(h)) => o
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(h)),
            _ => false,
        };
        return (!same).then_some((
            StatusCode::FORBIDDEN,
            "Cross-origin reload refused (Origin does not match Host).\n",
        ));
    }
    if method == Method::POST {
        let simple = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                matches!(
                    essence.as_str(),
                    "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                )
            })
            .unwrap_or(false);
        if simple {
            // What a cross-site form sends; old browsers omit Origin.
            return Some((
                StatusCode::FORBIDDEN,
                "Reload refused: a form content type without Origin could be a cross-site request.\n",
            ));
        }
    }
    None
}

async fn reload(State(st): State<AppState>, method: Method, headers: HeaderMap) -> Response {
    if let Some((status, msg)) = reload_refusal(&method, &headers) {
        tracing::warn!(status = status.as_u16(), "refused /-/reload request");
        let mut r = (status, msg).into_response();
        // The unread body (if any) must not be parsed as the next request.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
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
    let snap = st.store.load();
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
                crate::api::AppKind::Miniprogram => "Mini Program",
                crate::api::AppKind::OfficialAccount => "Official Account",
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
    use super::*;

    fn refusal(method: Method, h: &[(&str, &str)]) -> Option<StatusCode> {
        let mut m = HeaderMap::new();
        for (k, v) in h {
            m.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        reload_refusal(&method, &m).map(|r| r.0)
    }

    #[test]
    fn reload_guard() {
        let host = ("host", "127.0.0.1:10240");
        assert_eq!(refusal(Method::POST, &[host]), None, "curl -X POST");
        assert_eq!(refusal(Method::PUT, &[host]), None);
        assert_eq!(
            refusal(Method::POST, &[host, ("origin", "http://127.0.0.1:10240")]),
            None
        );
        assert_eq!(
            refusal(Method::POST, &[host, ("origin", "http://evil.example")]),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            refusal(
                Method::POST,
                &[host, ("content-type", "text/plain;charset=UTF-8")]
            ),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            refusal(Method::POST, &[host, ("content-type", "application/json")]),
            None
        );
        assert_eq!(
            refusal(Method::POST, &[host, ("transfer-encoding", "chunked")]),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            refusal(Method::POST, &[host, ("content-length", "0")]),
            None
        );
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }
}
