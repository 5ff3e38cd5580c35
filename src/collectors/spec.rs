//! The row type of the API catalogue (`collectors::SPECS`): what one
//! API's calls look like (path, period, spans, request body) and what it
//! publishes.

use super::common::Collector;
use crate::api::{Api, ApiKind, DateFormat, History, Request, Span, PERFORMANCE_PATH};
use crate::dates::{DateRange, Period};
use crate::families::Family;
use crate::wechat::client::Call;

/// Everything the exporter knows about one API.
pub struct ApiSpec {
    pub api: Api,
    /// The URL path below the API base.
    pub path: &'static str,
    /// The period one call covers (the portrait's window is chosen per call).
    pub period: Period,
    pub span: Span,
    /// What the call's JSON body holds.
    pub request: Request,
    pub history: History,
    pub collector: &'static dyn Collector,
    /// The data families this API publishes.
    pub families: &'static [Family],
}

/// The Unix seconds of a range's first and last Beijing second. WeChat
/// dates each value by the Beijing day of the timestamps, both ends
/// included (getPerformanceData's example asks 1609603200..1609689600 and
/// gets 20210103 and 20210104).
fn timestamps(range: DateRange) -> (i64, i64) {
    let begin = crate::dates::beijing_midnight(range.begin).timestamp();
    let end = crate::dates::beijing_midnight(range.end).timestamp() + 86_399;
    (begin, end)
}

/// A Mini Program performance module: every one shares the path, the day
/// period, the 30-day span and its history; `networktype` says whether the
/// module takes that param (10016 and 10017 only).
pub(super) const fn performance_row(
    api: Api,
    module: &'static str,
    networktype: bool,
    collector: &'static dyn Collector,
    families: &'static [Family],
) -> ApiSpec {
    ApiSpec {
        api,
        path: PERFORMANCE_PATH,
        period: Period::Daily,
        span: Span::UpToDays(30),
        request: Request::Performance {
            module,
            networktype,
        },
        history: History::DayChunks(30),
        collector,
        families,
    }
}

impl ApiSpec {
    /// How `begin_date` and `end_date` are written: Official Account
    /// analytics dash them, Mini Program analytics do not.
    pub fn dates(&self) -> DateFormat {
        match self.api.kind() {
            ApiKind::OfficialAccount => DateFormat::Dashed,
            ApiKind::Miniprogram | ApiKind::Every => DateFormat::Compact,
        }
    }

    /// The JSON body of a call for `range`.
    pub fn body(&self, range: DateRange) -> serde_json::Value {
        self.body_for(range, 0)
    }

    /// The JSON body of a call for `range` and a target's `slot`: slot 0 is
    /// the whole population; a performance breakdown slot sets one param
    /// (`collectors::performance::SLOTS`).
    pub fn body_for(&self, range: DateRange, slot: u32) -> serde_json::Value {
        match self.request {
            Request::Dates => {
                let (begin, end) = match self.dates() {
                    DateFormat::Dashed => range.dashed(),
                    DateFormat::Compact => range.compact(),
                };
                serde_json::json!({ "begin_date": begin, "end_date": end })
            }
            Request::Performance {
                module,
                networktype,
            } => {
                let (begin, end) = timestamps(range);
                let set = super::performance::slot_param(slot);
                let params: Vec<serde_json::Value> = ["networktype", "device_level", "device"]
                    .into_iter()
                    .filter(|f| networktype || *f != "networktype")
                    .map(|f| {
                        let value = match set {
                            Some((field, v)) if field == f => v,
                            _ => "-1",
                        };
                        serde_json::json!({"field": f, "value": value})
                    })
                    .collect();
                serde_json::json!({
                    "time": {"begin_timestamp": begin, "end_timestamp": end},
                    "module": module,
                    "params": params,
                })
            }
            Request::Latest { count } => {
                serde_json::json!({ "offset": 0, "count": count, "no_content": 1 })
            }
            // Without an app to name the path: the quota of this path itself.
            Request::Quota => serde_json::json!({ "cgi_path": self.path }),
            // A GET: no body (see `call`).
            Request::Feedback => serde_json::Value::Null,
            // Without an app to name releases: every release (slot 0).
            Request::JsErrors => js_errors_body(range, "0"),
            // The slot is the kind (1 launch, 2 download, 3 first render);
            // every filter at "all", as the page's example sends them.
            Request::OpsPerformance => {
                let (begin, end) = timestamps(range);
                serde_json::json!({
                    "cost_time_type": slot,
                    "default_start_time": begin,
                    "default_end_time": end,
                    "device": "@_all",
                    "is_download_code": "@_all",
                    "scene": "@_all",
                    "networktype": "@_all",
                })
            }
        }
    }

    /// The call of `target` for `app`: as [`ApiSpec::call`], with the
    /// path of a quota target (its slot) in the body.
    pub fn call_in(&self, app: &crate::config::AppConfig, target: &super::common::Target) -> Call {
        let mut call = self.call(target.range, target.slot);
        // What the slot names, from the list the collector reads it by.
        let names = super::common::slot_names(app, self.api);
        match self.request {
            Request::Quota => {
                if let Some(p) = super::quota_paths::path_of(&names, target.slot) {
                    call.body = Some(serde_json::json!({ "cgi_path": p }));
                }
            }
            Request::JsErrors => {
                let v = super::js_errors::version_of(&names, target.slot);
                call.body = Some(js_errors_body(target.range, v.unwrap_or("0")));
            }
            _ => {}
        }
        call
    }

    /// The call for `range` and a target's `slot`, as the client sends it.
    pub fn call(&self, range: DateRange, slot: u32) -> Call {
        let (query, body) = match self.request {
            // A GET of one item: the count of the type is `total_num`.
            Request::Feedback => (
                vec![
                    ("type", slot.to_string()),
                    ("page", "1".into()),
                    ("num", "1".into()),
                ],
                None,
            ),
            _ => (Vec::new(), Some(self.body_for(range, slot))),
        };
        Call {
            api: self.api,
            path: self.path,
            query,
            body,
        }
    }

    /// Whether WeChat releases this API's yesterday each morning (a day's
    /// data asked for the day after): what `WechatDataNotReleased` judges.
    /// Not the portrait's moving windows, nor lists that are not dated.
    pub fn released_daily(&self) -> bool {
        self.period == Period::Daily
            && !matches!(self.span, Span::RecentWindow(_))
            && !matches!(
                self.request,
                Request::Latest { .. } | Request::Quota | Request::Feedback | Request::JsErrors
            )
    }

    /// The Beijing hour a past day of this API is first asked for: the
    /// configured `poll.release_hour` for analytics WeChat releases in the
    /// morning; midnight for the JS error log, which WeChat answers from as
    /// it is written, so yesterday is whole as soon as today begins.
    pub fn release_hour(&self, configured: f64) -> f64 {
        match self.request {
            Request::JsErrors => 0.0,
            _ => configured,
        }
    }

    /// The performance module of this row, if it is one.
    pub fn module(&self) -> Option<&'static str> {
        match self.request {
            Request::Performance { module, .. } => Some(module),
            Request::Dates
            | Request::Latest { .. }
            | Request::Quota
            | Request::Feedback
            | Request::JsErrors
            | Request::OpsPerformance => None,
        }
    }

    /// The first day WeChat keeps data of, when its docs name one: days
    /// before it are served empty, and backfill skips them.
    pub fn data_since(&self) -> Option<chrono::NaiveDate> {
        match self.api {
            // "数据存储起始时间为2025-11-01,之前日期数据无效" (the totals:
            // in SDKs' copies of the page).
            Api::ArticleShare | Api::ArticleTotalDetail => {
                chrono::NaiveDate::from_ymd_opt(2025, 11, 1)
            }
            _ => None,
        }
    }

    /// The range a call asks for to get the data of `data_period`.
    pub fn call_range(&self, data_period: DateRange) -> DateRange {
        match self.span {
            Span::PeriodStart => DateRange::day(data_period.begin),
            _ => data_period,
        }
    }

    /// The period whose data a call for `range` answers with.
    pub fn data_period(&self, range: DateRange) -> DateRange {
        match (self.span, self.period) {
            (Span::PeriodStart, Period::Weekly) => DateRange::week_of(range.begin),
            (Span::PeriodStart, Period::Monthly) => DateRange::month_of(range.begin),
            _ => range,
        }
    }
}

/// The body of a `getJsErrList` call: the day's most frequent errors of
/// release `version` (`"0"`: every release), of every type, as the page's
/// example asks (every field is required; empty filters match all).
fn js_errors_body(range: DateRange, version: &str) -> serde_json::Value {
    let day = crate::dates::dashed;
    serde_json::json!({
        "appVersion": version,
        "errType": "0",
        "startTime": day(range.begin),
        "endTime": day(range.end),
        "keyword": "",
        "openid": "",
        "orderby": "pv",
        "desc": "1",
        "offset": 0,
        "limit": super::js_errors::LIMIT,
    })
}
