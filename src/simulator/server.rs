//! The HTTP side of the simulator: routing, token and datacube handlers,
//! WeChat's date validation, release rules, error envelopes, and the
//! control plane (`/simulator/requests`, `/simulator/faults`).
//!
//! Every request is decided synchronously under the state lock (tokens,
//! quota, faults, validation, release) and recorded; the data itself is
//! generated after the lock is released, then any fault latency is slept.
//! Nothing here trusts the request: bad input becomes an errcode, never a
//! panic.

use super::data::Gen;
use super::faults::FaultAction;
use super::faults::Faults;
use super::hash::mix;
use super::platform;
use super::release::{last_released, released_keys, PUBLISH_FINAL_HOUR};
use super::state::{Inner, State};
use super::tokens::TokenError;
use super::types::{NotReady, RecordedRequest, SimApp};
use crate::api::Api;
use crate::api::Span;
use crate::collectors::article_totals::WINDOW_DAYS;
use crate::collectors::retention::Retention;
use crate::collectors::user_portrait::{PortraitGroup, UserPortrait};
use crate::collectors::visit_page::VisitPage;
use crate::dates::{
    beijing_date, beijing_hour, compact, latest_day, mp_ref_date, parse_compact, parse_dashed,
    DateRange, Period,
};
use crate::wechat::types::ListResponse;
use axum::body::Body;
use axum::extract::{Query, Request, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const STABLE_PATH: &str = "/cgi-bin/stable_token";
const LEGACY_PATH: &str = "/cgi-bin/token";
/// Real request bodies are a few dozen bytes; anything this big is abuse.
const MAX_BODY: usize = 1 << 20;

/// What one request gets back.
pub(crate) enum Reply {
    Json(StatusCode, Value),
    Text(StatusCode, &'static str),
    /// HTTP 200 with a body cut off mid-JSON.
    Malformed,
    /// No response at all: the connection is closed.
    Drop,
}

/// Marker on a response telling the connection loop to hang up instead.
#[derive(Clone, Copy)]
struct DropConnection;

#[derive(Debug, thiserror::Error)]
#[error("simulated dropped connection")]
struct Dropped;

/// Whole numbers as JSON integers, as WeChat sends them (`211`, not `211.0`).
fn integerize(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if f.abs() < 9.0e15 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integerize),
        Value::Object(o) => o.values_mut().for_each(integerize),
        _ => {}
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let json_type = "application/json; encoding=utf-8";
        match self {
            Reply::Json(status, mut v) => {
                integerize(&mut v);
                let body = serde_json::to_string(&v).unwrap_or_default();
                (status, [(header::CONTENT_TYPE, json_type)], body).into_response()
            }
            Reply::Text(status, t) => {
                (status, [(header::CONTENT_TYPE, "text/html")], t).into_response()
            }
            Reply::Malformed => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, json_type)],
                r#"{"list":[{"ref_date":"2024"#,
            )
                .into_response(),
            Reply::Drop => {
                let mut r = Response::new(Body::empty());
                r.extensions_mut().insert(DropConnection);
                r
            }
        }
    }
}

/// The `errmsg` of `code` from `api`: what real answers say where it
/// differs by API.
fn errmsg_of(code: i64, api: Option<Api>) -> &'static str {
    match (code, api) {
        // A range that is not one publish date (docs/wechat-quirks.md).
        (61501, Some(Api::ArticleTotalDetail)) => "dataRange error",
        _ => errmsg(code),
    }
}

fn errmsg(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40125 => "invalid appsecret",
        40164 => "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        42001 => "access_token expired",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        40097 => "invalid args",
        47001 => "data format error",
        48001 => "api unauthorized",
        61003 => "component is not authorized by this account",
        61004 => "access clientip is not registered",
        61005 => "component ticket is expired",
        61006 => "component ticket is invalid",
        61007 => "api is unauthorized to component",
        61023 => "refresh_token is invalid",
        61500 => "date format error",
        61501 => "date range error",
        61502 => "mini game not support",
        61503 => "data not ready, please try later",
        89501 => "此IP正在等待管理员确认,请联系管理员",
        89503 => "此次调用需要管理员确认,请耐心等候",
        89506 => "24小时内该IP被管理员拒绝调用两次,24小时内不可再使用该IP调用",
        89507 => "1小时内该IP被管理员拒绝调用一次,1小时内不可再使用该IP调用",
        _ => "system error",
    }
}

/// `yyyymmdd-yyyymmdd`, the portrait's `ref_date`.
pub(crate) fn portrait_ref_date(r: DateRange) -> String {
    format!("{}-{}", compact(r.begin), compact(r.end))
}

/// A released data request, rendered outside the lock.
pub(crate) struct DataJob {
    api: Api,
    gen: Gen,
    range: DateRange,
    /// The newest released day when the request arrived.
    last: NaiveDate,
    /// Answer with the wrong shape (the `wrong_shape` fault).
    pub(crate) wrong_shape: bool,
    /// Spoil the first list item (the `bad_item` fault).
    pub(crate) bad_item: bool,
    /// Publish numbers of the newest day that have not settled yet.
    delayed: bool,
    /// Performance calls: the params as sent (validated).
    params: Vec<(String, String)>,
    /// When the request arrived (lists that are not dated).
    now: DateTime<Utc>,
    /// `offset` and `count` of a list request (`Request::Latest`).
    page: (usize, usize),
    /// An answer decided when the request arrived (the operations APIs).
    answer: Option<Value>,
}

/// `{"list": items}`, the envelope most datacube answers share.
fn list<T: serde::Serialize>(items: Vec<T>) -> serde_json::Result<Value> {
    serde_json::to_value(ListResponse { list: items.into() })
}

impl DataJob {
    /// A job of `api` for `range` asked at `now`, every other field empty.
    fn new(api: Api, gen: Gen, range: DateRange, now: DateTime<Utc>) -> Self {
        DataJob {
            api,
            gen,
            range,
            last: range.end,
            wrong_shape: false,
            bad_item: false,
            delayed: false,
            params: Vec::new(),
            now,
            page: (0, 0),
            answer: None,
        }
    }

    /// The answer: one arm per API (a new API adds its arm here), then the
    /// faults that spoil a body.
    fn render(self) -> Reply {
        let (g, r, api) = (self.gen, self.range, self.api);
        let v = match api {
            Api::DailySummary => list(vec![g.daily_summary(r.begin)]),
            Api::DailyVisitTrend | Api::WeeklyVisitTrend | Api::MonthlyVisitTrend => {
                list(vec![g.visit_trend(r, api.period())])
            }
            Api::VisitDistribution => serde_json::to_value(g.visit_distribution(r.begin)),
            Api::DailyRetention | Api::WeeklyRetention | Api::MonthlyRetention => self.retention(),
            Api::VisitPage => serde_json::to_value(g.visit_page(r.begin)),
            Api::UserPortrait => self.user_portrait(),
            Api::UserSummary => list(self.days().flat_map(|d| g.user_summary(d)).collect()),
            Api::UserCumulate => list(g.user_cumulate_days(self.days())),
            Api::UpstreamMsg => list(
                self.days()
                    .flat_map(|d| g.upstream_msg(DateRange::day(d)))
                    .collect(),
            ),
            // Asked for by the period's first day; served whole (validated
            // and released before this point).
            Api::UpstreamMsgWeek | Api::UpstreamMsgMonth => {
                list(g.upstream_msg(api.spec().data_period(r)))
            }
            Api::UpstreamMsgHour => {
                list(self.days().flat_map(|d| g.upstream_msg_hour(d)).collect())
            }
            Api::UpstreamMsgDist => list(
                self.days()
                    .flat_map(|d| g.upstream_msg_dist(DateRange::day(d)))
                    .collect(),
            ),
            Api::UpstreamMsgDistWeek | Api::UpstreamMsgDistMonth => {
                list(g.upstream_msg_dist(api.spec().data_period(r)))
            }
            Api::InterfaceSummary => list(self.days().map(|d| g.interface_summary(d)).collect()),
            Api::BizSummary => Ok(self.biz_summary()),
            Api::InterfaceSummaryHour => list(
                self.days()
                    .flat_map(|d| g.interface_summary_hour(d))
                    .collect(),
            ),
            Api::PerformanceOpenRate
            | Api::PerformanceLaunch
            | Api::PerformancePageSwitch
            | Api::PerformanceMemory
            | Api::PerformanceMemoryAnomaly => Ok(self.performance()),
            Api::ArticleRead | Api::ArticleShare => Ok(self.article_days()),
            // Served only once `r.end` is released (see `data_call`).
            // One publish date (`validate` refuses more), as of `last`.
            Api::ArticleTotalDetail => Ok(json!({
                "list": g.article_totals(r.begin, self.last, self.delayed),
                "is_delay": self.delayed,
            })),
            Api::PublishedArticles => Ok(self.published()),
            Api::ApiQuota | Api::Feedback | Api::JsErrors => {
                Ok(self.answer.clone().unwrap_or_default())
            }
            Api::OpsPerformance => Ok(self.ops_performance()),
        };
        self.spoiled(v)
    }

    /// getPerformance: `default_time_data` sent as a JSON string, which
    /// the faults spoil inside, as a changed answer would be.
    fn ops_performance(&self) -> Value {
        let mut v = self.answer.clone().unwrap_or_default();
        if let Some(d) = v.get_mut("default_time_data") {
            *d = Value::String(self.spoil(d.take()).to_string());
        }
        v
    }

    /// The released days of the requested range, in order.
    fn days(&self) -> impl Iterator<Item = NaiveDate> {
        released_days(self.range, self.last)
    }

    fn retention(&self) -> serde_json::Result<Value> {
        let (r, period) = (self.range, self.api.period());
        let keys = released_keys(r, period, self.last);
        let (new, uv) = self.gen.retention(r, period, &keys);
        serde_json::to_value(Retention {
            ref_date: Some(mp_ref_date(&r, period)),
            visit_uv_new: new.into(),
            visit_uv: uv.into(),
        })
    }

    fn user_portrait(&self) -> serde_json::Result<Value> {
        let (new, uv) = self.gen.user_portrait(self.range);
        serde_json::to_value(UserPortrait {
            ref_date: Some(portrait_ref_date(self.range)),
            visit_uv_new: Some(new),
            visit_uv: Some(uv),
        })
    }

    fn biz_summary(&self) -> Value {
        json!({
            "list": self
                .days()
                .map(|d| self.gen.biz_summary(d, self.delayed && d == self.last))
                .collect::<Vec<_>>(),
            "is_delay": self.delayed && self.range.end >= self.last,
        })
    }

    fn performance(&self) -> Value {
        let days: Vec<NaiveDate> = self.days().collect();
        let module = self.api.spec().module().unwrap_or_default();
        performance_body(self.gen.performance(&days, module, &self.params))
    }

    /// `getarticleread` and `getarticleshare`: the rows of each released
    /// day, the newest unsettled before noon.
    fn article_days(&self) -> Value {
        json!({
            "list": self
                .days()
                .flat_map(|d| {
                    let late = self.delayed && d == self.last;
                    if self.api == Api::ArticleRead {
                        self.gen.article_read(d, late)
                    } else {
                        self.gen.article_share(d, late)
                    }
                })
                .collect::<Vec<_>>(),
            "is_delay": self.delayed && self.range.end >= self.last,
        })
    }

    fn published(&self) -> Value {
        let (offset, count) = self.page;
        let (total, items) = self.gen.published(self.now, offset, count);
        json!({
            "total_count": total,
            "item_count": items.len(),
            "item": items,
        })
    }

    /// The reply for a rendered body, spoilt as the `wrong_shape` or
    /// `bad_item` fault asks; an unserializable body is WeChat's -1.
    fn spoiled(&self, v: serde_json::Result<Value>) -> Reply {
        match v {
            Ok(v) => Reply::Json(StatusCode::OK, self.spoil(v)),
            Err(_) => Reply::Json(
                StatusCode::OK,
                json!({"errcode": -1, "errmsg": "system error"}),
            ),
        }
    }

    /// `v` as the `wrong_shape` or `bad_item` fault leaves it.
    fn spoil(&self, mut v: Value) -> Value {
        if let Value::Object(m) = &mut v {
            if self.wrong_shape {
                for v in m.values_mut().filter(|v| v.is_array() || v.is_object()) {
                    *v = json!(5);
                }
                return v;
            }
        }
        if self.bad_item {
            if let Some(f) = v.pointer_mut("/data/body/tables/0/lines/0/fields/0/value") {
                *f = json!("n/a");
            }
            spoil_first_item(&mut v);
        }
        v
    }
}

/// Puts a text where the first number of the first item of the first
/// list is: the innermost list when the item holds one (`item_list`).
fn spoil_first_item(v: &mut Value) {
    let Some(list) = v
        .as_object_mut()
        .and_then(|m| {
            m.values_mut()
                .find(|x| x.as_array().is_some_and(|a| !a.is_empty()))
        })
        .and_then(|x| x.as_array_mut())
    else {
        return;
    };
    let Some(Value::Object(item)) = list.first_mut() else {
        return;
    };
    if item
        .values()
        .any(|x| x.as_array().is_some_and(|a| !a.is_empty()))
    {
        let mut inner = Value::Object(std::mem::take(item));
        spoil_first_item(&mut inner);
        if let Value::Object(m) = inner {
            *item = m;
        }
        return;
    }
    if let Some(n) = item.values_mut().find(|x| x.is_number()) {
        *n = json!("n/a");
        return;
    }
    // Numbers one object down (an article's `detail`).
    if let Some(n) = item
        .values_mut()
        .filter_map(Value::as_object_mut)
        .find_map(|o| o.values_mut().find(|x| x.is_number()))
    {
        *n = json!("n/a");
    }
}

/// A performance answer of `tables`, in the docs' envelope.
fn performance_body(tables: Vec<crate::collectors::performance::PerformanceTable>) -> Value {
    let count = tables.len();
    json!({
        "errcode": 0,
        "errmsg": "ok",
        "data": {"body": {"tables": tables, "count": count}},
    })
}

/// The documented params of getPerformanceData: each field's values.
fn performance_param_ok(field: &str, value: &str) -> bool {
    match field {
        "networktype" => ["-1", "3g", "4g", "wifi"].contains(&value),
        "device_level" => ["-1", "1", "2", "3"].contains(&value),
        "device" => ["-1", "1", "2"].contains(&value),
        _ => false,
    }
}

/// A timestamp as a number or a number in a string.
fn timestamp_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<i64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The Beijing days a performance call's `time` covers, both ends
/// included; 47001 when `time` is missing, 61500 for a timestamp that is
/// not one, 61501 when begin is after end.
fn performance_range(obj: &serde_json::Map<String, Value>) -> Result<DateRange, i64> {
    let time = obj.get("time").and_then(Value::as_object).ok_or(47001)?;
    let ts = |k: &str| {
        timestamp_field(time, k)
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
            .ok_or(61500)
    };
    let (b, e) = (ts("begin_timestamp")?, ts("end_timestamp")?);
    if b > e {
        return Err(61501);
    }
    Ok(DateRange {
        begin: beijing_date(b),
        end: beijing_date(e),
    })
}

/// The params of a performance call: 47001 when not a list of
/// `{field, value}` strings, 40097 for an undocumented field or value.
fn performance_params(obj: &serde_json::Map<String, Value>) -> Result<Vec<(String, String)>, i64> {
    let list = obj.get("params").and_then(Value::as_array).ok_or(47001)?;
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(field), Some(value)) = (s("field"), s("value")) else {
            return Err(47001);
        };
        if !performance_param_ok(&field, &value) {
            return Err(40097);
        }
        out.push((field, value));
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// The days of `r` up to `last`, in order.
fn released_days(r: DateRange, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    r.begin
        .iter_days()
        .take_while(move |d| *d <= r.end && *d <= last)
}

/// The success body for data that is not released, in `EmptyList` mode.
fn empty_body(api: Api, r: DateRange) -> Value {
    let p = api.period();
    let v = match api {
        Api::VisitDistribution => {
            serde_json::to_value(crate::collectors::visit_distribution::VisitDistribution {
                ref_date: Some(mp_ref_date(&r, p)),
                list: Vec::new().into(),
            })
        }
        Api::DailyRetention | Api::WeeklyRetention | Api::MonthlyRetention => {
            serde_json::to_value(Retention {
                ref_date: Some(mp_ref_date(&r, p)),
                ..Default::default()
            })
        }
        Api::VisitPage => serde_json::to_value(VisitPage {
            ref_date: Some(mp_ref_date(&r, p)),
            list: Vec::new().into(),
        }),
        Api::UserPortrait => serde_json::to_value(UserPortrait {
            ref_date: Some(portrait_ref_date(r)),
            visit_uv_new: Some(PortraitGroup::default()),
            visit_uv: Some(PortraitGroup::default()),
        }),
        _ if api.spec().module().is_some() => Ok(performance_body(Vec::new())),
        _ => Ok(json!({"list": []})),
    };
    v.unwrap_or_else(|_| json!({"list": []}))
}

/// WeChat's date rules for `api` at `now` (61501 on any violation).
fn validate(api: Api, r: DateRange, now: DateTime<Utc>) -> Result<(), i64> {
    let first = NaiveDate::from_ymd_opt(2014, 12, 1).unwrap_or_default();
    let yesterday = latest_day(now);
    if r.begin > r.end || r.begin < first || r.end > yesterday {
        return Err(61501);
    }
    let ok = match api.spec().span {
        Span::UpToDays(n) => r.days() <= n,
        Span::RecentWindow(days) => {
            days.contains(&r.days())
                && (r.end == yesterday || r.end == yesterday - chrono::Duration::days(1))
        }
        Span::PeriodStart => {
            let period = api.spec().data_period(r);
            r.begin == r.end && period.begin == r.begin && period.end <= yesterday
        }
        Span::OnePeriod => match api.period() {
            Period::Daily => r.begin == r.end,
            Period::Weekly => r.is_natural_week(),
            Period::Monthly => r.is_natural_month(),
        },
    };
    if ok {
        Ok(())
    } else {
        Err(61501)
    }
}

/// A date field from the body as sent, for the request log.
fn date_field(body: Option<&Value>, key: &str) -> Option<String> {
    match body?.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// What the locked phase decided.
enum Step {
    Reply(Reply),
    Data(DataJob),
}

/// What the fault plan does to one request.
#[derive(Default)]
struct Faulted {
    latency: Option<Duration>,
    /// The fault's answer instead of the handler's, with its log code.
    reply: Option<(Reply, i64)>,
    wrong_shape: bool,
    bad_item: bool,
}

impl Inner {
    fn error(&self, st: &mut State, code: i64, api: Option<Api>) -> Reply {
        st.rid_counter += 1;
        let h = mix(&[self.seed, 0x81D, st.rid_counter]);
        let rid = format!(
            "{:08x}-{:08x}-{:08x}",
            (h >> 32) as u32,
            h as u32,
            (mix(&[h]) >> 32) as u32
        );
        Reply::Json(
            StatusCode::OK,
            json!({"errcode": code, "errmsg": format!("{} rid: {rid}", errmsg_of(code, api))}),
        )
    }

    /// Decides one request under the lock and records it: what it names,
    /// what the fault plan does to it, then its handler.
    fn decide(
        &self,
        method: &str,
        path: &str,
        query: &HashMap<String, String>,
        body: Option<&[u8]>,
    ) -> (Step, Option<Duration>) {
        let now = self.clock.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let json: Option<Value> = body.and_then(|b| serde_json::from_slice(b).ok());
        let is_token = path == STABLE_PATH || path == LEGACY_PATH;
        let is_data = path.starts_with("/datacube/")
            || path == crate::api::PERFORMANCE_PATH
            || (!is_token && Api::from_path(path).is_some());
        let mut rec = record(st, now, method, path, query, json.as_ref(), is_data);
        let faulted = if is_token || is_data {
            self.faulted(st, path, &rec)
        } else {
            Faulted::default()
        };
        let (step, code) = match faulted.reply {
            Some((reply, code)) => (Step::Reply(reply), code),
            None => match self.route(st, now, path, query, json.as_ref(), &mut rec, is_data) {
                None => (not_found(path), 404),
                Some(Ok(Step::Data(mut job))) => {
                    job.wrong_shape = faulted.wrong_shape;
                    job.bad_item = faulted.bad_item;
                    (Step::Data(job), 0)
                }
                Some(Ok(step)) => (step, 0),
                Some(Err(c)) => (Step::Reply(self.error(st, c, rec.api)), c),
            },
        };
        rec.errcode = code;
        st.log.push(rec);
        (step, faulted.latency)
    }

    /// What the fault plan does to a token or data request.
    fn faulted(&self, st: &mut State, path: &str, rec: &RecordedRequest) -> Faulted {
        let (latency, action) = st.faults.take(path, rec.api, rec.appid.as_deref());
        let mut f = Faulted {
            latency,
            ..Faulted::default()
        };
        f.reply = match action {
            FaultAction::None => None,
            FaultAction::WrongShape => {
                f.wrong_shape = true;
                None
            }
            FaultAction::BadItem => {
                f.bad_item = true;
                None
            }
            FaultAction::Drop => Some((Reply::Drop, -2)),
            FaultAction::Http500 => Some((
                Reply::Text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<html><body><h1>500 Internal Server Error</h1></body></html>",
                ),
                -500,
            )),
            FaultAction::Malformed => Some((Reply::Malformed, -3)),
            FaultAction::Busy => Some((self.error(st, -1, rec.api), -1)),
            FaultAction::Errcode(c) => Some((self.error(st, c, rec.api), c)),
        };
        f
    }

    /// The handler of `path` and its outcome; `None` when no handler
    /// takes it (a 404).
    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        st: &mut State,
        now: DateTime<Utc>,
        path: &str,
        query: &HashMap<String, String>,
        json: Option<&Value>,
        rec: &mut RecordedRequest,
        is_data: bool,
    ) -> Option<Result<Step, i64>> {
        Some(if path == STABLE_PATH {
            self.stable_token(st, now, json)
        } else if path == LEGACY_PATH {
            self.legacy_token(st, now, query)
        } else if path.starts_with(platform::PREFIX) {
            platform::handle(
                st.platform.as_mut(),
                &mut st.tokens,
                now,
                path,
                query,
                json,
                rec,
            )
            .map(|v| Step::Reply(Reply::Json(StatusCode::OK, v)))
        } else if is_data {
            match rec.api {
                Some(api) => self.data_call(st, now, api, query, json),
                // The performance path with an undocumented module.
                None if path == crate::api::PERFORMANCE_PATH => Err(40097),
                None => return None,
            }
        } else {
            return None;
        })
    }

    fn stable_token(
        &self,
        st: &mut State,
        now: DateTime<Utc>,
        json: Option<&Value>,
    ) -> Result<Step, i64> {
        let obj = json.and_then(Value::as_object).ok_or(47001)?;
        let field = |k: &str| obj.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let force = match obj.get("force_refresh") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(47001),
        };
        if field("grant_type") != Some("client_credential") {
            return Err(40002);
        }
        let appid = field("appid").ok_or(41002)?;
        let secret = field("secret").ok_or(41004)?;
        let app = st.apps.get(appid).ok_or(40013)?;
        if app.secret != secret {
            return Err(40125);
        }
        let (token, expires_in) = st.tokens.stable(appid, now, force)?;
        Ok(token_reply(token, expires_in))
    }

    fn legacy_token(
        &self,
        st: &mut State,
        now: DateTime<Utc>,
        query: &HashMap<String, String>,
    ) -> Result<Step, i64> {
        let field = |k: &str| query.get(k).map(String::as_str).filter(|s| !s.is_empty());
        if field("grant_type") != Some("client_credential") {
            return Err(40002);
        }
        let appid = field("appid").ok_or(41002)?;
        let secret = field("secret").ok_or(41004)?;
        let app = st.apps.get(appid).ok_or(40013)?;
        if app.secret != secret {
            return Err(40125);
        }
        let (token, expires_in) = st.tokens.legacy(appid, now);
        Ok(token_reply(token, expires_in))
    }

    /// A datacube call: the token, the app's rights and quota, then the
    /// request as WeChat validates it and whether its data is released.
    fn data_call(
        &self,
        st: &mut State,
        now: DateTime<Utc>,
        api: Api,
        query: &HashMap<String, String>,
        json: Option<&Value>,
    ) -> Result<Step, i64> {
        let (appid, app) = authenticate(st, now, api, query)?;
        count_call(st, &appid, &app, api, now)?;
        // The operations APIs: answered as the request arrives.
        let answer = match api {
            Api::Feedback => Some(super::feedback::answer(self.seed, &appid, query, now)?),
            Api::JsErrors => {
                let obj = json.and_then(Value::as_object).ok_or(47001)?;
                Some(super::js_errors::answer(self.seed, &appid, obj, now)?)
            }
            Api::OpsPerformance => {
                let last = last_released(now, st.release_hour);
                Some(super::ops_performance::answer(self.seed, &app, json, last)?)
            }
            Api::ApiQuota => {
                let obj = json.and_then(Value::as_object).ok_or(47001)?;
                let today = beijing_date(now);
                let limit = |p: &str| app.path_limit(p);
                Some(super::quota::answer(
                    &st.path_calls,
                    &appid,
                    limit,
                    obj,
                    today,
                )?)
            }
            _ => None,
        };
        if answer.is_some() {
            let today = DateRange::day(beijing_date(now));
            return Ok(Step::Data(DataJob {
                answer,
                ..DataJob::new(api, Gen::new(self.seed, &appid, app.scale), today, now)
            }));
        }
        let obj = json.and_then(Value::as_object).ok_or(47001)?;
        let job = |range, last, params, page| DataJob {
            api,
            gen: Gen::new(self.seed, &appid, app.scale).with_pages(app.pages),
            range,
            last,
            wrong_shape: false,
            bad_item: false,
            delayed: delayed(api, range, last, now),
            params,
            now,
            page,
            answer: None,
        };
        if let crate::api::Request::Latest { .. } = api.spec().request {
            let page = list_page(obj)?;
            let today = DateRange::day(beijing_date(now));
            let last = last_released(now, st.release_hour);
            return Ok(Step::Data(DataJob {
                delayed: false,
                ..job(today, last, Vec::new(), page)
            }));
        }
        let (range, params) = requested(api, obj)?;
        validate(api, range, now)?;
        let last = last_released(now, st.release_hour);
        if !ready(api, range, last) {
            return match st.not_ready {
                NotReady::Errcode61503 => Err(61503),
                NotReady::EmptyList => Ok(Step::Reply(Reply::Json(
                    StatusCode::OK,
                    empty_body(api, range),
                ))),
            };
        }
        Ok(Step::Data(job(range, last, params, (0, 0))))
    }
}

/// The log entry of a request before its outcome: what it names (appid,
/// API, dates as sent, token kind).
fn record(
    st: &State,
    now: DateTime<Utc>,
    method: &str,
    path: &str,
    query: &HashMap<String, String>,
    json: Option<&Value>,
    is_data: bool,
) -> RecordedRequest {
    let mut rec = RecordedRequest::new(now, method, path);
    if path == STABLE_PATH {
        rec.appid = json
            .and_then(|j| j.get("appid"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let force = json.and_then(|j| j.get("force_refresh")) == Some(&Value::Bool(true));
        rec.token_kind = Some(if force { "stable_force" } else { "stable" }.into());
    } else if path == LEGACY_PATH {
        rec.appid = query.get("appid").cloned();
        rec.token_kind = Some("legacy".into());
    } else if is_data {
        rec.api = Api::from_call(path, json);
        rec.appid = query.get("access_token").and_then(|t| st.tokens.owner(t));
        if path == crate::api::PERFORMANCE_PATH {
            // The Beijing days the timestamps fall on, as `yyyymmdd`.
            if let Ok(r) = json
                .and_then(Value::as_object)
                .ok_or(0)
                .and_then(performance_range)
            {
                rec.begin_date = Some(compact(r.begin));
                rec.end_date = Some(compact(r.end));
            }
        } else if rec.api == Some(Api::ApiQuota) {
            rec.cgi_path = date_field(json, "cgi_path");
        } else if rec.api == Some(Api::OpsPerformance) {
            let day = |k: &str| {
                let t = json?.get(k)?.as_i64()?;
                Some(compact(beijing_date(DateTime::<Utc>::from_timestamp(
                    t, 0,
                )?)))
            };
            (rec.begin_date, rec.end_date) = (day("default_start_time"), day("default_end_time"));
        } else {
            rec.begin_date = date_field(json, "begin_date");
            rec.end_date = date_field(json, "end_date");
        }
    }
    rec
}

/// The app a data call's token belongs to, if the token is good and the
/// app may call `api`.
fn authenticate(
    st: &State,
    now: DateTime<Utc>,
    api: Api,
    query: &HashMap<String, String>,
) -> Result<(String, SimApp), i64> {
    let token = query
        .get("access_token")
        .filter(|t| !t.is_empty())
        .ok_or(41001)?;
    let appid = st.tokens.check(token, now).map_err(|e| match e {
        TokenError::Invalid => 40001,
        TokenError::Expired => 42001,
    })?;
    if let Some(code) = st
        .platform
        .as_ref()
        .and_then(|p| p.data_denied(&appid, token))
    {
        return Err(code);
    }
    let app = st.apps.get(&appid).cloned().ok_or(40001)?;
    if !api.serves(app.kind) || app.unauthorized.contains(&api) {
        return Err(48001);
    }
    Ok((appid, app))
}

/// Counts an authenticated call against the app's daily quota and its
/// path's (every one counts, failed or not): 45009 beyond either.
fn count_call(
    st: &mut State,
    appid: &str,
    app: &SimApp,
    api: Api,
    now: DateTime<Utc>,
) -> Result<(), i64> {
    let today = beijing_date(now);
    let used = st.quota.entry(appid.to_string()).or_insert((today, 0));
    if used.0 != today {
        *used = (today, 0);
    }
    used.1 = used.1.saturating_add(1);
    if app.daily_quota.is_some_and(|q| used.1 > q) {
        return Err(45009);
    }
    // And per path, as getApiQuota reports it.
    if st.path_calls.count(appid, api.path(), today) > app.path_limit(api.path()) {
        return Err(45009);
    }
    Ok(())
}

/// The free-publish list's `offset` (≥ 0) and `count` (1–20).
fn list_page(obj: &serde_json::Map<String, Value>) -> Result<(usize, usize), i64> {
    let num = |k: &str| obj.get(k).and_then(Value::as_u64);
    let offset = num("offset").ok_or(47001)?;
    let count = num("count").filter(|c| (1..=20).contains(c)).ok_or(47001)?;
    Ok((offset as usize, count as usize))
}

/// The range a dated call asks for, and a performance call's params.
fn requested(
    api: Api,
    obj: &serde_json::Map<String, Value>,
) -> Result<(DateRange, Vec<(String, String)>), i64> {
    if api.spec().module().is_some() {
        let params = performance_params(obj)?;
        return Ok((performance_range(obj)?, params));
    }
    let parse = if api.dashed_dates() {
        parse_dashed
    } else {
        parse_compact
    };
    let date = |k: &str| obj.get(k).and_then(Value::as_str).and_then(parse);
    match (date("begin_date"), date("end_date")) {
        (Some(begin), Some(end)) => Ok((DateRange { begin, end }, Vec::new())),
        _ => Err(61500),
    }
}

/// Whether `range` of `api` is served with `last` the newest released
/// day: OA ranges serve their released days; everything else needs its
/// last day released.
fn ready(api: Api, range: DateRange, last: NaiveDate) -> bool {
    if api.spec().span == Span::PeriodStart {
        api.spec().data_period(range).end <= last
    } else if api == Api::ArticleTotalDetail {
        // The publish date's totals need that day released.
        range.end <= last
    } else if api.dashed_dates() {
        range.begin <= last
    } else {
        range.end <= last
    }
}

/// Whether publish numbers in the answer have not settled yet: the newest
/// day's settle at noon Beijing; the totals of any publish date end on the
/// newest day.
fn delayed(api: Api, range: DateRange, last: NaiveDate, now: DateTime<Utc>) -> bool {
    beijing_hour(now) < PUBLISH_FINAL_HOUR
        && match api {
            Api::BizSummary | Api::ArticleRead | Api::ArticleShare => range.end >= last,
            Api::ArticleTotalDetail => range.end + chrono::Duration::days(WINDOW_DAYS - 1) >= last,
            _ => false,
        }
}

fn token_reply(token: String, expires_in: i64) -> Step {
    Step::Reply(Reply::Json(
        StatusCode::OK,
        json!({"access_token": token, "expires_in": expires_in}),
    ))
}

fn not_found(path: &str) -> Step {
    Step::Reply(Reply::Json(
        StatusCode::NOT_FOUND,
        json!({"errcode": 404, "errmsg": format!("not found: {path}")}),
    ))
}

/// Every WeChat path (and anything unknown) lands here.
async fn wechat(AxState(inner): AxState<Arc<Inner>>, req: Request) -> Response {
    let method = req.method().to_string();
    let uri = req.uri().clone();
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY).await.ok();
    let (step, latency) = inner.decide(&method, uri.path(), &query, body.as_deref());
    let reply = match step {
        Step::Reply(r) => r,
        Step::Data(job) => job.render(),
    };
    if let Some(l) = latency {
        tokio::time::sleep(l).await;
    }
    reply.into_response()
}

async fn list_requests(AxState(inner): AxState<Arc<Inner>>) -> Json<Vec<RecordedRequest>> {
    Json(inner.lock().log.clone())
}

async fn clear_requests(AxState(inner): AxState<Arc<Inner>>) -> StatusCode {
    inner.lock().log.clear();
    StatusCode::NO_CONTENT
}

async fn get_faults(AxState(inner): AxState<Arc<Inner>>) -> Json<Faults> {
    Json(inner.lock().faults.clone())
}

async fn set_faults(AxState(inner): AxState<Arc<Inner>>, Json(f): Json<Faults>) -> StatusCode {
    inner.lock().faults = f;
    StatusCode::NO_CONTENT
}

/// Served over the simulator's shared `Inner`, not the `Simulator` handle,
/// so that this file need not import `mod.rs`, which imports it.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(
            "/simulator/requests",
            get(list_requests).delete(clear_requests),
        )
        .route("/simulator/faults", get(get_faults).post(set_faults))
        .fallback(wechat)
        .with_state(inner)
}

/// Accept loop. Hand-rolled (not `axum::serve`) so that a fault can close a
/// connection without answering: a service error makes hyper hang up.
pub(crate) async fn serve(listener: tokio::net::TcpListener, router: Router) {
    use tower::ServiceExt;
    // Owning the connections here means aborting this task closes them all.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let router = router.clone();
                    conns.spawn(async move {
                        let svc = hyper::service::service_fn(
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                let router = router.clone();
                                async move {
                                    let resp = match router.oneshot(req).await {
                                        Ok(r) => r,
                                        Err(never) => match never {},
                                    };
                                    if resp.extensions().get::<DropConnection>().is_some() {
                                        return Err(Dropped);
                                    }
                                    Ok(resp)
                                }
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
                // Out of file descriptors and the like: back off, don't spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}
