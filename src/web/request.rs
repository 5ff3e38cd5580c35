//! One request: the rate limit (before auth, so a flood costs no bcrypt),
//! basic auth, the body size cap, the router, then the configured
//! security headers on whatever the answer is.

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use tower::ServiceExt as _;

use crate::web::shared::Shared;

pub(super) async fn handle_request(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    // One snapshot per request: a reload in the middle cannot mix configs.
    let cfg = shared.config.load_full();
    // Before auth, as in the toolkit: a flood is refused without a bcrypt.
    let allowed = shared
        .limiter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow();
    let mut resp = if !allowed {
        plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n")
    } else if cfg.basic_auth_enabled()
        && !shared
            .auth
            .check(&cfg, req.headers().get(header::AUTHORIZATION))
            .await
    {
        unauthorized()
    } else {
        route(req, shared).await
    };
    for (name, value) in cfg.headers() {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

async fn route(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    let max = shared.opts.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    // Chunked bodies without a length are cut off at `max`; axum's body
    // extractors turn the resulting LengthLimitError into 413.
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, max)));
    match shared.router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn unauthorized() -> Response<Body> {
    let mut r = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    r
}
