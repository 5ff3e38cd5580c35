//! The simulator's plain data types: a simulated app, how data that is not
//! released yet answers, and one request as the request log keeps it.
//! Shared by the state, the platform and the server, so it is a leaf: it
//! imports nothing of the simulator but the quota's default limit (a leaf
//! too).

use crate::api::{Api, AppKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One simulated WeChat app.
#[derive(Clone, Debug)]
pub struct SimApp {
    pub appid: String,
    pub secret: String,
    pub kind: AppKind,
    /// Datacube calls per Beijing day; beyond it, 45009 until midnight.
    pub daily_quota: Option<u32>,
    /// Size multiplier for generated numbers (1.0 = ~50k daily visitors).
    pub scale: f64,
    /// These APIs answer 48001.
    pub unauthorized: Vec<Api>,
    /// `getvisitpage` answers exactly this many pages (at most 200, as
    /// WeChat), each with at least one visit; `None`: the pages with
    /// visits among ~260 (200 at scale 1.0).
    pub pages: Option<usize>,
    /// Daily call limits per path (`getApiQuota`); other paths have
    /// `quota::DEFAULT_PATH_QUOTA`. Beyond it, that path answers 45009.
    pub path_quota: HashMap<String, u32>,
    /// getPerformance answers 0 for every day, as a developer reported
    /// of real WeChat (docs/wechat-quirks.md).
    pub ops_zero: bool,
}

impl SimApp {
    /// The daily call limit of `path` (`getApiQuota`, and 45009 beyond).
    pub(crate) fn path_limit(&self, path: &str) -> u32 {
        self.path_quota
            .get(path)
            .copied()
            .unwrap_or(super::quota::DEFAULT_PATH_QUOTA)
    }

    /// No quota, scale 1.0, every API of its kind authorised.
    pub fn new(appid: impl Into<String>, secret: impl Into<String>, kind: AppKind) -> Self {
        Self {
            appid: appid.into(),
            secret: secret.into(),
            kind,
            daily_quota: None,
            scale: 1.0,
            unauthorized: Vec::new(),
            pages: None,
            path_quota: HashMap::new(),
            ops_zero: false,
        }
    }
}

/// How data that is not released yet answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotReady {
    /// `{"errcode":61503,"errmsg":"data not ready…"}`.
    Errcode61503,
    /// Success with an empty `list` (or empty arrays for object responses).
    EmptyList,
}

/// One request as the simulator saw it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordedRequest {
    /// Clock time (the simulator's clock, manual in tests).
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub appid: Option<String>,
    pub api: Option<Api>,
    pub begin_date: Option<String>,
    pub end_date: Option<String>,
    /// Token calls: "stable", "stable_force" or "legacy".
    pub token_kind: Option<String>,
    /// Quota calls (`getApiQuota`): the path asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgi_path: Option<String>,
    /// 0 when data or a token was served, else the errcode; -500 for HTTP
    /// 500, -2 for a dropped connection, -3 for malformed JSON, 404 for an
    /// unknown path.
    pub errcode: i64,
}

impl RecordedRequest {
    /// A request of `method` to `path` at `at`, nothing else known yet.
    pub(crate) fn new(at: DateTime<Utc>, method: &str, path: &str) -> Self {
        RecordedRequest {
            at,
            method: method.to_string(),
            path: path.to_string(),
            appid: None,
            api: None,
            begin_date: None,
            end_date: None,
            token_kind: None,
            cgi_path: None,
            errcode: 0,
        }
    }
}
