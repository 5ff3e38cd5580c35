//! The simulator's `getApiQuota` (`/cgi-bin/openapi/quota/get`): every
//! authenticated call of an app is counted per path and Beijing day, and
//! the quota answer reports that count against the path's daily limit.
//! The limits are the simulator's choice (WeChat publishes none for the
//! analytics paths; [`DEFAULT_PATH_QUOTA`], or `SimApp::path_quota`).
//!
//! Validation follows the page: a `cgi_path` without its leading `/` or
//! with the host → 76003; a `/sns/` path → 76022; a path WeChat does not
//! have → 76021.

use chrono::NaiveDate;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Calls a day the simulator allows each path of an app, unless
/// `SimApp::path_quota` says otherwise.
pub const DEFAULT_PATH_QUOTA: u32 = 5000;

/// The rate limit served for every path: calls per window, window seconds.
pub const RATE_LIMIT: (u32, u32) = (100, 60);

/// Business paths the simulator knows beside the analytics ones (what a
/// user may list in `quota_paths`).
pub const BUSINESS_PATHS: &[&str] = &[
    "/cgi-bin/message/custom/send",
    "/cgi-bin/message/subscribe/send",
    "/cgi-bin/message/template/send",
    "/wxa/getwxacodeunlimit",
    "/wxa/business/getuserphonenumber",
    "/wxa/msg_sec_check",
];

/// Calls per (appid, path) on one Beijing day.
#[derive(Default)]
pub(crate) struct PathCalls(HashMap<(String, String), (NaiveDate, u32)>);

impl PathCalls {
    /// Counts one call and returns the day's count so far.
    pub(crate) fn count(&mut self, appid: &str, path: &str, today: NaiveDate) -> u32 {
        let e = self
            .0
            .entry((appid.to_string(), path.to_string()))
            .or_insert((today, 0));
        if e.0 != today {
            *e = (today, 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1
    }

    /// The day's count of `path` for `appid`.
    pub(crate) fn used(&self, appid: &str, path: &str, today: NaiveDate) -> u32 {
        match self.0.get(&(appid.to_string(), path.to_string())) {
            Some((d, n)) if *d == today => *n,
            _ => 0,
        }
    }
}

/// Whether WeChat has `path` (an analytics path, the quota path itself, or
/// a known business path).
fn known(path: &str) -> bool {
    crate::collectors::SPECS.iter().any(|s| s.path == path) || BUSINESS_PATHS.contains(&path)
}

/// The answer to `appid`'s quota call with body `obj`, or its errcode;
/// `limit` gives a path's daily limit.
pub(crate) fn answer(
    calls: &PathCalls,
    appid: &str,
    limit: impl Fn(&str) -> u32,
    obj: &serde_json::Map<String, Value>,
    today: NaiveDate,
) -> Result<Value, i64> {
    let path = obj.get("cgi_path").and_then(Value::as_str).ok_or(47001)?;
    if !path.starts_with('/') || path.contains("://") {
        return Err(76003);
    }
    if path.split('/').any(|seg| seg == "sns") {
        return Err(76022);
    }
    if !known(path) {
        return Err(76021);
    }
    let daily_limit = limit(path);
    let used = calls.used(appid, path, today);
    Ok(json!({
        "quota": {
            "daily_limit": daily_limit,
            "used": used,
            "remain": daily_limit.saturating_sub(used),
        },
        "rate_limit": {"call_count": RATE_LIMIT.0, "refresh_second": RATE_LIMIT.1},
    }))
}
