//! Errors of talking to WeChat, and what each one means for the poller.

use thiserror::Error;

/// A failed WeChat call. Every URL inside is already redacted; the errmsg
/// WeChat sent is kept because its `rid` lets the user ask WeChat why.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ApiError {
    #[error("WeChat errcode {code} on {api}: {message}")]
    WeChat {
        api: &'static str,
        code: i64,
        message: String,
    },
    #[error("HTTP status {status} from {url}")]
    Http { status: u16, url: String },
    #[error("timed out calling {url}")]
    Timeout { url: String },
    /// The connection broke after it was made (reset, closed mid-answer).
    #[error("connection to {url} failed: {reason}")]
    Connect { url: String, reason: String },
    /// No connection could be made at all: DNS, refused, TLS, proxy.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The body is not JSON at all: what a truncated answer looks like.
    #[error("cannot decode the answer of {url}: {reason}")]
    Decode { url: String, reason: String },
    /// JSON that does not have the documented shape: WeChat changed it.
    #[error("unexpected answer shape from {api} at `{path}`: {reason} (near: {excerpt})")]
    Shape {
        api: &'static str,
        /// The JSON path of what did not fit, e.g. `list[3].item_list`.
        path: String,
        reason: String,
        /// A short excerpt of the value there (answers carry no token).
        excerpt: String,
    },
    /// A token that was just renewed was rejected again at once.
    #[error("WeChat rejected the token again right after renewing it: {0}")]
    TokenRejectedAgain(String),
    #[error("token source: {0}")]
    TokenSource(String),
}

/// What a failure asks of the poller. See the errcode table in wechat-api.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Busy, HTTP 5xx, timeouts, broken connections, truncated bodies:
    /// retry with backoff.
    Transient,
    /// No connection to WeChat at all (DNS, refused, TLS, proxy): every
    /// API of the app would fail the same way.
    Unreachable,
    /// A JSON answer without the documented shape: WeChat changed it.
    Unexpected,
    /// The token was rejected: get a new one once, retry once. Given back
    /// to the poller only when the renewed token was rejected too.
    Token,
    /// 45009: the app's daily quota is used up until Beijing midnight.
    DailyQuota,
    /// 45011: per-minute limit: back off a few minutes.
    RateLimited,
    /// Bad appid or secret: a configuration error; don't hammer.
    Credentials,
    /// 40164: the caller's IP is not whitelisted for the app.
    IpWhitelist,
    /// 89501–89507: WeChat wants a human to confirm a risky IP.
    RiskyIp,
    /// 48001, 61007, 61502: this API is not authorised for this app.
    Unauthorized,
    /// 61503: released later today; not an error to alert on.
    NotReady,
    /// 61500, 61501 and other rejected requests: a bug on our side.
    BadRequest,
    /// Anything WeChat documents nowhere.
    Unknown,
    /// 61005: the platform's `component_verify_ticket` is older than 12 h.
    TicketExpired,
    /// 61006: the ticket is not this platform's.
    TicketInvalid,
    /// 61003: the app has not authorized (or no longer authorizes) the platform.
    NotAuthorizedToPlatform,
    /// 61004: the caller's IP is not on the platform's whitelist.
    PlatformIp,
    /// 61023: the app's `authorizer_refresh_token` is invalid.
    RefreshTokenInvalid,
    /// 76003, 76021, 76022: getApiQuota refuses the one path it was asked
    /// about (malformed, unknown to WeChat, or without a quota): a path of
    /// the app's `quota_paths`, not the API, is wrong.
    PathRejected,
}

impl ErrorClass {
    pub fn of_errcode(code: i64) -> Self {
        match code {
            -1 => Self::Transient,
            40001 | 40014 | 42001 => Self::Token,
            45009 => Self::DailyQuota,
            45011 => Self::RateLimited,
            40013 | 40125 | 41002 | 41004 => Self::Credentials,
            40164 => Self::IpWhitelist,
            89501..=89507 => Self::RiskyIp,
            48001 | 61007 | 61502 => Self::Unauthorized,
            61503 => Self::NotReady,
            61003 => Self::NotAuthorizedToPlatform,
            61004 => Self::PlatformIp,
            61005 => Self::TicketExpired,
            61006 => Self::TicketInvalid,
            61023 => Self::RefreshTokenInvalid,
            61500 | 61501 | 47001 | 41001 => Self::BadRequest,
            76003 | 76021 | 76022 => Self::PathRejected,
            _ => Self::Unknown,
        }
    }

    /// The operator's next step, for log lines and the landing page.
    pub fn advice(&self) -> &'static str {
        match self {
            Self::Transient => "WeChat or the network is failing; retrying with backoff",
            Self::Unreachable => "cannot connect to WeChat (DNS, connection refused, TLS or proxy): check this host's route to the API; the app's other APIs wait for the next round",
            Self::Unexpected => "WeChat changed the shape of this answer (see path and excerpt); the parts that fit are kept, and this API backs off; please report it",
            Self::Token => "WeChat rejected a freshly issued token, so the appid and secret work: another service may be force-refreshing this appid's token (use stable_token everywhere; for an app authorized to a third-party platform, another copy of the platform may be refreshing its authorizer token: share one token service); backing off a few minutes",
            Self::DailyQuota => "the app's daily API quota is used up; pausing the app until Beijing midnight",
            Self::RateLimited => "WeChat's per-minute limit was hit; backing off",
            Self::Credentials => "check the app's appid and secret in the config",
            Self::IpWhitelist => "add this host's egress IP (see errmsg) to the app's IP whitelist in the WeChat console",
            Self::RiskyIp => "confirm this IP in the WeChat console (risky-IP check)",
            Self::Unauthorized => "the app is not authorised for this API: leave it out of the app's `apis`, or grant the permission (for an app authorized to a third-party platform: the permission set of this API, see docs/configuration.md, Third-party platforms)",
            Self::NotReady => "WeChat has not released the data yet; will retry later",
            Self::BadRequest => "WeChat rejected the request; this is a bug in wechat-exporter, please report it",
            Self::Unknown => "unexpected WeChat error; see errmsg",
            Self::TicketExpired => "the component_verify_ticket is older than 12 hours: the platform's callback handler stopped writing platform.component_verify_ticket_file (WeChat pushes a new ticket every 10 minutes); fix the handler, or POST /cgi-bin/component/api_start_push_ticket to restart the push. Apps keep their current authorizer tokens until those expire",
            Self::TicketInvalid => "the component_verify_ticket in platform.component_verify_ticket_file is not this platform's (another component_appid, or a hand-written value); let the callback handler write the ticket WeChat pushes",
            Self::NotAuthorizedToPlatform => "the app has not authorized this third-party platform (or revoked it); discovery drops apps that left, a configured one needs its owner to authorize the platform again",
            Self::PlatformIp => "add this host's egress IP (see errmsg) to the third-party platform's IP whitelist in the WeChat Open Platform console (开发配置 → 白名单)",
            Self::RefreshTokenInvalid => "the app's authorizer_refresh_token is invalid: the app revoked its authorization or re-authorized and got a new one; discovery recovers the current token from api_get_authorizer_list, else its owner must authorize the platform again",
            Self::PathRejected => "WeChat refuses this path of the app's `quota_paths` (76003: not a path as WeChat names it; 76021: no such API; 76022: WeChat keeps no quota of it): fix or remove it. The app's other paths and APIs go on; this one is asked again after 1 h, doubling to 12 h",
        }
    }
}

impl ErrorClass {
    /// Whether the client tries again within the same call.
    pub fn retried_in_call(&self) -> bool {
        matches!(self, Self::Transient | Self::Unreachable)
    }

    /// Whether the failure concerns the whole app or this one API. An
    /// API-scoped failure never keeps the app's other APIs from polling.
    pub fn scope(&self) -> Scope {
        match self {
            Self::Unreachable
            | Self::Token
            | Self::DailyQuota
            | Self::RateLimited
            | Self::Credentials
            | Self::IpWhitelist
            | Self::RiskyIp
            | Self::TicketExpired
            | Self::TicketInvalid
            | Self::NotAuthorizedToPlatform
            | Self::PlatformIp
            | Self::RefreshTokenInvalid => Scope::App,
            Self::Transient
            | Self::Unexpected
            | Self::Unauthorized
            | Self::NotReady
            | Self::BadRequest
            | Self::Unknown => Scope::Api,
            Self::PathRejected => Scope::Target,
        }
    }
}

/// What a failure concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Credentials, IP, quota, token, no route: every API of the app.
    App,
    /// One endpoint's outage or answer: that API alone.
    Api,
    /// One target's request (a configured path WeChat refuses): that
    /// target alone; the API's other targets go on.
    Target,
}

impl ApiError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::WeChat { code, .. } => ErrorClass::of_errcode(*code),
            ApiError::Http { status, .. } if *status >= 500 || *status == 429 => {
                ErrorClass::Transient
            }
            ApiError::Http { .. } => ErrorClass::Unknown,
            ApiError::Timeout { .. } | ApiError::Connect { .. } => ErrorClass::Transient,
            ApiError::Unreachable { .. } => ErrorClass::Unreachable,
            // A truncated body is what a broken proxy or connection gives.
            ApiError::Decode { .. } => ErrorClass::Transient,
            ApiError::Shape { .. } => ErrorClass::Unexpected,
            ApiError::TokenRejectedAgain(_) => ErrorClass::Token,
            ApiError::TokenSource(_) => ErrorClass::Credentials,
        }
    }

    /// The `errcode` label of `wechat_exporter_api_request_errors_total`.
    pub fn errcode_label(&self) -> String {
        match self {
            ApiError::WeChat { code, .. } => code.to_string(),
            ApiError::Http { .. } | ApiError::Connect { .. } => "http".into(),
            ApiError::Timeout { .. } => "timeout".into(),
            ApiError::Unreachable { .. } => "connect".into(),
            ApiError::Decode { .. } | ApiError::Shape { .. } => "decode".into(),
            ApiError::TokenRejectedAgain(_) => "token_rejected".into(),
            ApiError::TokenSource(_) => "token_source".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_errcode_is_classified() {
        use ErrorClass::*;
        let table = [
            (-1, Transient),
            (40001, Token),
            (40014, Token),
            (42001, Token),
            (40013, Credentials),
            (40125, Credentials),
            (41002, Credentials),
            (41004, Credentials),
            (40164, IpWhitelist),
            (45009, DailyQuota),
            (45011, RateLimited),
            (48001, Unauthorized),
            (61007, Unauthorized),
            (61500, BadRequest),
            (61501, BadRequest),
            (61502, Unauthorized),
            (61503, NotReady),
            (89501, RiskyIp),
            (89507, RiskyIp),
            (61003, NotAuthorizedToPlatform),
            (61004, PlatformIp),
            (61005, TicketExpired),
            (61006, TicketInvalid),
            (61023, RefreshTokenInvalid),
            (12345, Unknown),
        ];
        for (code, class) in table {
            assert_eq!(ErrorClass::of_errcode(code), class, "errcode {code}");
        }
    }
}
