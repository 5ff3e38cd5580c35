//! The ids of the WeChat APIs the exporter polls, and the vocabulary of
//! their rows. A leaf: it imports nothing of the exporter but `dates`.
//!
//! Each API is written once, in the [`apis!`] list below (its variant, its
//! `api` label and its app type); `Api::ALL` and `Api::COUNT` follow from
//! it. Everything else about an API (path, period, span, request, history,
//! collector, families) is its row of the catalogue,
//! `collectors::SPECS`, which also defines `Api::spec()` and the
//! accessors that read the row (`path()`, `period()`, …).

use serde::{Deserialize, Serialize};

/// Which kind of WeChat account an app is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    Miniprogram,
    OfficialAccount,
}

/// Which apps have an API: one kind, or every app (the quota of a path is
/// asked the same way by a Mini Program and an Official Account).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiKind {
    Miniprogram,
    OfficialAccount,
    Every,
}

impl ApiKind {
    /// Whether an app of `kind` has an API of this kind.
    pub fn includes(self, kind: AppKind) -> bool {
        match self {
            ApiKind::Every => true,
            ApiKind::Miniprogram => kind == AppKind::Miniprogram,
            ApiKind::OfficialAccount => kind == AppKind::OfficialAccount,
        }
    }
}

/// Declares [`Api`] from one list: `Variant = "label", Kind;` per API, in
/// polling order (`Kind` an [`ApiKind`]). The serde name of a variant is its label, so config,
/// state file and `/metrics` agree.
macro_rules! apis {
    ($($variant:ident = $label:literal, $kind:ident;)*) => {
        /// One WeChat analytics endpoint. The order is the catalogue's,
        /// and the order in which an app's APIs are polled.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Api {
            $(#[serde(rename = $label)] $variant,)*
        }

        impl Api {
            /// How many APIs there are: the length of every per-API table.
            pub const COUNT: usize = [$($label),*].len();
            /// Every API, in polling order.
            pub const ALL: [Api; Api::COUNT] = [$(Api::$variant),*];

            /// The `api` label value, as in metrics.md.
            pub fn label(&self) -> &'static str {
                match self {
                    $(Api::$variant => $label,)*
                }
            }

            /// Which apps have this API.
            pub fn kind(&self) -> ApiKind {
                match self {
                    $(Api::$variant => ApiKind::$kind,)*
                }
            }
        }
    };
}

apis! {
    DailySummary = "daily_summary", Miniprogram;
    DailyVisitTrend = "daily_visit_trend", Miniprogram;
    WeeklyVisitTrend = "weekly_visit_trend", Miniprogram;
    MonthlyVisitTrend = "monthly_visit_trend", Miniprogram;
    VisitDistribution = "visit_distribution", Miniprogram;
    DailyRetention = "daily_retention", Miniprogram;
    WeeklyRetention = "weekly_retention", Miniprogram;
    MonthlyRetention = "monthly_retention", Miniprogram;
    VisitPage = "visit_page", Miniprogram;
    UserPortrait = "user_portrait", Miniprogram;
    // getusercumulate tells whether a day is released, which an empty
    // getusersummary cannot: it is polled first.
    UserCumulate = "user_cumulate", OfficialAccount;
    UserSummary = "user_summary", OfficialAccount;
    // Official Account message and interface analysis: labels name the
    // period first, like the Mini Program trends.
    UpstreamMsg = "daily_messages", OfficialAccount;
    UpstreamMsgWeek = "weekly_messages", OfficialAccount;
    UpstreamMsgMonth = "monthly_messages", OfficialAccount;
    UpstreamMsgHour = "hourly_messages", OfficialAccount;
    UpstreamMsgDist = "daily_message_distribution", OfficialAccount;
    UpstreamMsgDistWeek = "weekly_message_distribution", OfficialAccount;
    UpstreamMsgDistMonth = "monthly_message_distribution", OfficialAccount;
    InterfaceSummary = "daily_interface_summary", OfficialAccount;
    InterfaceSummaryHour = "hourly_interface_summary", OfficialAccount;
    // 2025 publish analytics.
    BizSummary = "publish_summary", OfficialAccount;
    // Mini Program performance (getPerformanceData): one row per module,
    // all on one path, told apart by the `module` of the body.
    PerformanceOpenRate = "performance_open_rate", Miniprogram;
    PerformanceLaunch = "performance_launch", Miniprogram;
    PerformancePageSwitch = "performance_page_switch", Miniprogram;
    PerformanceMemory = "performance_memory", Miniprogram;
    PerformanceMemoryAnomaly = "performance_memory_anomaly", Miniprogram;
    // 2025 publish analytics per article, and the titles of published
    // articles (the free-publish list) that name them.
    ArticleRead = "article_reads", OfficialAccount;
    ArticleShare = "article_shares", OfficialAccount;
    ArticleTotalDetail = "article_totals", OfficialAccount;
    PublishedArticles = "published_articles", OfficialAccount;
    // Operations: the daily quota of the paths the app calls (its own
    // analytics paths and those listed in `quota_paths`).
    ApiQuota = "api_quota", Every;
    // Operations: what users report in the Mini Program's feedback box.
    Feedback = "feedback", Miniprogram;
    // Operations: JavaScript errors of the Mini Program, in all and by release.
    JsErrors = "js_errors", Miniprogram;
    // Operations: launch, download and first render times as the
    // operations centre (运维中心) reports them, one call per kind.
    OpsPerformance = "ops_performance", Miniprogram;
}

impl Api {
    pub fn from_label(s: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.label() == s)
    }

    /// The APIs that apply to an app of `kind`, in polling order.
    pub fn for_kind(kind: AppKind) -> impl Iterator<Item = Api> {
        Api::ALL.into_iter().filter(move |a| a.serves(kind))
    }

    /// Whether an app of `kind` has this API.
    pub fn serves(&self, kind: AppKind) -> bool {
        self.kind().includes(kind)
    }

    /// Operations APIs: polled only for an app that names them in `apis`
    /// (the quota also with `quota_paths`), so no app's call budget grows
    /// unasked (feedback, JS errors and the quota are asked every hour).
    pub fn opt_in(&self) -> bool {
        matches!(
            self,
            Api::ApiQuota | Api::Feedback | Api::JsErrors | Api::OpsPerformance
        )
    }

    /// A kind of app that has this API: its only one, or a Mini Program
    /// for an API every app has (what tests and examples build).
    pub fn app_kind(&self) -> AppKind {
        match self.kind() {
            ApiKind::OfficialAccount => AppKind::OfficialAccount,
            ApiKind::Miniprogram | ApiKind::Every => AppKind::Miniprogram,
        }
    }
}

/// How `begin_date` and `end_date` are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateFormat {
    /// `yyyymmdd` (Mini Program analytics).
    Compact,
    /// `yyyy-mm-dd` (Official Account analytics).
    Dashed,
}

/// The date ranges WeChat accepts (61501 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// Exactly one natural period of the API's `period` (a day, a
    /// Monday–Sunday week, a whole month).
    OnePeriod,
    /// Any range of consecutive days up to this many.
    UpToDays(i64),
    /// A window of exactly one of these many days, ending yesterday or the
    /// day before (user portrait).
    RecentWindow(&'static [i64]),
    /// The first day alone (a Monday, a 1st) of a complete week or month:
    /// the Official Account week and month answers are dated on it.
    PeriodStart,
}

/// The JSON body of a call, from the range the poller or backfill asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `{"begin_date","end_date"}` in the row's [`DateFormat`]: every
    /// datacube API.
    Dates,
    /// `/wxa/business/performance/boot`: `{"time":{"begin_timestamp",
    /// "end_timestamp"},"module","params"}`, the whole population (every
    /// param `-1`). `networktype` is sent only to the modules the docs
    /// say take it (10016, 10017).
    Performance {
        module: &'static str,
        networktype: bool,
    },
    /// `{"offset":0,"count":count,"no_content":1}`: the newest `count`
    /// entries of a list that is not dated (the free-publish list); the
    /// range is ignored.
    Latest { count: u32 },
    /// `{"cgi_path": path}` (`/cgi-bin/openapi/quota/get`): the path is the
    /// target's, one of the app's quota paths; the range is ignored.
    Quota,
    /// `GET ?type=slot&page=1&num=1` (`/wxaapi/feedback/list`): the
    /// count of one feedback type, in the answer's `total_num`.
    Feedback,
    /// `{"appVersion","errType":"0","startTime","endTime",…,"orderby":"pv",
    /// "desc":"1","offset":0,"limit":30}` (`/wxaapi/log/jserr_list`): today's
    /// 30 most frequent errors of the release the slot names (0: all).
    JsErrors,
    /// `/wxaapi/log/get_performance` (getPerformance): `{"cost_time_type":
    /// slot, "default_start_time", "default_end_time"}` in Unix seconds
    /// (the range's Beijing days, both ends included) and the four
    /// filters at `"@_all"`.
    OpsPerformance,
}

/// The one path of every Mini Program performance module.
pub const PERFORMANCE_PATH: &str = "/wxa/business/performance/boot";

/// How history is fetched by `backfill`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// One call per period in the range.
    Periods,
    /// One call per period and per slot the live plan asks (one per kind
    /// of a day, as getPerformance's `cost_time_type`).
    PeriodsPerSlot,
    /// Retention: one call per cohort answers every offset released for it.
    Cohorts,
    /// Ranges of up to this many days, one target per day.
    DayChunks(i64),
    /// WeChat serves no history for this API; the reason is reported.
    None(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn labels_are_unique_and_are_the_serde_names() {
        let labels: HashSet<_> = Api::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(labels.len(), Api::COUNT);
        for (i, api) in Api::ALL.into_iter().enumerate() {
            assert_eq!(api as usize, i, "Api::ALL is in declaration order");
            assert_eq!(Api::from_label(api.label()), Some(api));
            assert_eq!(
                serde_json::to_string(&api).ok().as_deref(),
                Some(format!("\"{}\"", api.label()).as_str())
            );
        }
    }
}
