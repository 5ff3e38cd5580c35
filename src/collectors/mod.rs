//! The API catalogue, and one collector per WeChat API family, each in its
//! own file.
//!
//! [`SPECS`] is the one table of APIs: a row per [`Api`] (path, period,
//! accepted spans, request body, history, collector, families). The
//! poller, backfill, the simulator, config validation and the docs tests
//! read it; `Api::spec()` gives an API's row. A collector sits behind one
//! small interface ([`Collector`]): which periods it needs at a given
//! instant (`plan`), and how one answer becomes samples (`collect`).
//! Scheduling, retries and state live in the poller; collectors are pure
//! functions of their input, and each owns the response types of its API.
//!
//! May import: the leaves (`api`, `dates`, `families`), `wechat::types`
//! (the shapes every answer shares).

mod common;
mod quota_paths;
mod spec;

pub mod api_quota;
pub mod article_daily;
pub mod article_totals;
pub mod daily_summary;
pub mod feedback;
pub mod interface_summary;
pub mod js_errors;
pub mod names;
pub mod ops_performance;
pub mod performance;
pub mod publish_summary;
pub mod published_articles;
pub mod retention;
pub mod upstream_msg;
pub mod user_analysis;
pub mod user_portrait;
pub mod visit_distribution;
pub mod visit_page;
pub mod visit_trend;

pub use common::*;
pub use spec::ApiSpec;

use crate::api::{Api, DateFormat, History, Request, Span, PERFORMANCE_PATH};
use crate::dates::Period;
use crate::families::Family;
use spec::performance_row;

const TREND_FAMILIES: &[Family] = &[
    Family::MpSessions,
    Family::MpVisits,
    Family::MpVisitors,
    Family::MpNewVisitors,
    Family::MpStayPerVisitor,
    Family::MpStayPerSession,
    Family::MpVisitDepth,
];
const RETENTION_FAMILIES: &[Family] = &[Family::MpRetainedUsers, Family::MpRetentionRatio];
const MSG_FAMILIES: &[Family] = &[Family::OaMessages, Family::OaMessageSenders];

/// The table, in [`Api`] order (a unit test checks it).
pub static SPECS: [ApiSpec; Api::COUNT] = [
    ApiSpec {
        api: Api::DailySummary,
        path: "/datacube/getweanalysisappiddailysummarytrend",
        period: Period::Daily,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &daily_summary::DailySummary,
        families: &[
            Family::MpCumulativeVisitors,
            Family::MpShares,
            Family::MpSharers,
        ],
    },
    ApiSpec {
        api: Api::DailyVisitTrend,
        path: "/datacube/getweanalysisappiddailyvisittrend",
        period: Period::Daily,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_trend::VisitTrend(Period::Daily),
        families: TREND_FAMILIES,
    },
    ApiSpec {
        api: Api::WeeklyVisitTrend,
        path: "/datacube/getweanalysisappidweeklyvisittrend",
        period: Period::Weekly,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_trend::VisitTrend(Period::Weekly),
        families: TREND_FAMILIES,
    },
    ApiSpec {
        api: Api::MonthlyVisitTrend,
        path: "/datacube/getweanalysisappidmonthlyvisittrend",
        period: Period::Monthly,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_trend::VisitTrend(Period::Monthly),
        families: TREND_FAMILIES,
    },
    ApiSpec {
        api: Api::VisitDistribution,
        path: "/datacube/getweanalysisappidvisitdistribution",
        period: Period::Daily,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_distribution::Distribution,
        families: &[Family::MpVisitDistribution],
    },
    ApiSpec {
        api: Api::DailyRetention,
        path: "/datacube/getweanalysisappiddailyretaininfo",
        period: Period::Daily,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Cohorts,
        collector: &retention::Retained(Period::Daily),
        families: RETENTION_FAMILIES,
    },
    ApiSpec {
        api: Api::WeeklyRetention,
        path: "/datacube/getweanalysisappidweeklyretaininfo",
        period: Period::Weekly,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Cohorts,
        collector: &retention::Retained(Period::Weekly),
        families: RETENTION_FAMILIES,
    },
    ApiSpec {
        api: Api::MonthlyRetention,
        path: "/datacube/getweanalysisappidmonthlyretaininfo",
        period: Period::Monthly,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Cohorts,
        collector: &retention::Retained(Period::Monthly),
        families: RETENTION_FAMILIES,
    },
    ApiSpec {
        api: Api::VisitPage,
        path: "/datacube/getweanalysisappidvisitpage",
        period: Period::Daily,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_page::Pages,
        families: &[
            Family::MpPageVisits,
            Family::MpPageVisitors,
            Family::MpPageStayPerVisit,
            Family::MpPageEntries,
            Family::MpPageExits,
            Family::MpPageShares,
            Family::MpPageSharers,
        ],
    },
    ApiSpec {
        api: Api::UserPortrait,
        path: "/datacube/getweanalysisappiduserportrait",
        period: Period::Daily,
        span: Span::RecentWindow(&[1, 7, 30]),
        request: Request::Dates,
        history: History::None("WeChat serves only windows ending yesterday or the day before"),
        collector: &user_portrait::Portrait,
        families: &[Family::MpPortraitVisitors],
    },
    ApiSpec {
        api: Api::UserCumulate,
        path: "/datacube/getusercumulate",
        period: Period::Daily,
        span: Span::UpToDays(7),
        request: Request::Dates,
        history: History::DayChunks(7),
        collector: &user_analysis::UserCumulate,
        families: &[Family::OaFollowers],
    },
    ApiSpec {
        api: Api::UserSummary,
        path: "/datacube/getusersummary",
        period: Period::Daily,
        span: Span::UpToDays(7),
        request: Request::Dates,
        history: History::DayChunks(7),
        collector: &user_analysis::UserSummary,
        families: &[Family::OaNewFollowers, Family::OaUnfollowers],
    },
    ApiSpec {
        api: Api::UpstreamMsg,
        path: "/datacube/getupstreammsg",
        period: Period::Daily,
        span: Span::UpToDays(7),
        request: Request::Dates,
        history: History::DayChunks(7),
        collector: &upstream_msg::UpstreamMsg(Period::Daily),
        families: MSG_FAMILIES,
    },
    ApiSpec {
        api: Api::UpstreamMsgWeek,
        path: "/datacube/getupstreammsgweek",
        period: Period::Weekly,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsg(Period::Weekly),
        families: MSG_FAMILIES,
    },
    ApiSpec {
        api: Api::UpstreamMsgMonth,
        path: "/datacube/getupstreammsgmonth",
        period: Period::Monthly,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsg(Period::Monthly),
        families: MSG_FAMILIES,
    },
    ApiSpec {
        api: Api::UpstreamMsgHour,
        path: "/datacube/getupstreammsghour",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::DayChunks(1),
        collector: &upstream_msg::UpstreamMsgHour,
        families: &[Family::OaMessagesByHour, Family::OaMessageSendersByHour],
    },
    ApiSpec {
        api: Api::UpstreamMsgDist,
        path: "/datacube/getupstreammsgdist",
        period: Period::Daily,
        span: Span::UpToDays(15),
        request: Request::Dates,
        history: History::DayChunks(15),
        collector: &upstream_msg::UpstreamMsgDist(Period::Daily),
        families: &[Family::OaMessageSendersByInterval],
    },
    ApiSpec {
        api: Api::UpstreamMsgDistWeek,
        path: "/datacube/getupstreammsgdistweek",
        period: Period::Weekly,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsgDist(Period::Weekly),
        families: &[Family::OaMessageSendersByInterval],
    },
    ApiSpec {
        api: Api::UpstreamMsgDistMonth,
        path: "/datacube/getupstreammsgdistmonth",
        period: Period::Monthly,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsgDist(Period::Monthly),
        families: &[Family::OaMessageSendersByInterval],
    },
    ApiSpec {
        api: Api::InterfaceSummary,
        path: "/datacube/getinterfacesummary",
        period: Period::Daily,
        span: Span::UpToDays(30),
        request: Request::Dates,
        history: History::DayChunks(30),
        collector: &interface_summary::InterfaceSummary,
        families: &[
            Family::OaCallbacks,
            Family::OaCallbackFailures,
            Family::OaCallbackTime,
            Family::OaCallbackMaxTime,
        ],
    },
    ApiSpec {
        api: Api::InterfaceSummaryHour,
        path: "/datacube/getinterfacesummaryhour",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::DayChunks(1),
        collector: &interface_summary::InterfaceSummaryHour,
        families: &[
            Family::OaCallbacksByHour,
            Family::OaCallbackFailuresByHour,
            Family::OaCallbackTimeByHour,
            Family::OaCallbackMaxTimeByHour,
        ],
    },
    ApiSpec {
        api: Api::BizSummary,
        path: "/datacube/getbizsummary",
        period: Period::Daily,
        // The docs give no span: one day, the smallest of the family's.
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::DayChunks(1),
        collector: &publish_summary::PublishSummary,
        families: &[
            Family::OaPublishReaders,
            Family::OaPublishSharers,
            Family::OaPublishLikes,
            Family::OaPublishHearts,
            Family::OaPublishComments,
            Family::OaPublishDetail,
        ],
    },
    performance_row(
        Api::PerformanceOpenRate,
        "10016",
        true,
        &performance::Performance(Family::MpPerfOpenRatio),
        &[Family::MpPerfOpenRatio],
    ),
    performance_row(
        Api::PerformanceLaunch,
        "10017",
        true,
        &performance::Performance(Family::MpPerfLaunch),
        &[Family::MpPerfLaunch],
    ),
    performance_row(
        Api::PerformancePageSwitch,
        "10021",
        false,
        &performance::Performance(Family::MpPerfPageSwitch),
        &[Family::MpPerfPageSwitch],
    ),
    performance_row(
        Api::PerformanceMemory,
        "10022",
        false,
        &performance::Performance(Family::MpPerfMemory),
        &[Family::MpPerfMemory],
    ),
    performance_row(
        Api::PerformanceMemoryAnomaly,
        "10023",
        false,
        &performance::Performance(Family::MpPerfMemoryAnomalyRate),
        &[Family::MpPerfMemoryAnomalyRate, Family::MpPerfMemoryAnomaly],
    ),
    ApiSpec {
        api: Api::ArticleRead,
        path: "/datacube/getarticleread",
        period: Period::Daily,
        // The docs give no span; answers hold one `ref_date`: one day.
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::Periods,
        collector: &article_daily::ArticleReads,
        families: &[Family::OaArticleReaders, Family::OaArticleReadersBySource],
    },
    ApiSpec {
        api: Api::ArticleShare,
        path: "/datacube/getarticleshare",
        period: Period::Daily,
        // "日期范围仅支持查询1天".
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::Periods,
        collector: &article_daily::ArticleShares,
        families: &[Family::OaArticleSharers],
    },
    ApiSpec {
        api: Api::ArticleTotalDetail,
        path: "/datacube/getarticletotaldetail",
        period: Period::Daily,
        // The page says up to 30 days; WeChat answers only the publish
        // date itself (docs/wechat-quirks.md).
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::None(
            "its numbers are totals since each article's publication, as of the call: a past day's totals are not a value of that day",
        ),
        collector: &article_totals::ArticleTotals,
        families: &[
            Family::OaArticleCumulativeReaders,
            Family::OaArticleCumulativeSharers,
            Family::OaArticleCumulativeLikes,
            Family::OaArticleCumulativeHearts,
            Family::OaArticleCumulativeComments,
            Family::OaArticleCumulativeCollections,
            Family::OaArticleCumulativeReadFinishRatio,
            Family::OaArticleCumulativeReadDeliveryRatio,
            Family::OaArticleCumulativePraiseYuan,
            Family::OaArticleCumulativeReadDurationAverage,
            Family::OaArticleCumulativeDetail,
            Family::OaArticlePublishedTimestamp,
            Family::OaArticleCumulativeInfo,
        ],
    },
    ApiSpec {
        api: Api::PublishedArticles,
        path: "/cgi-bin/freepublish/batchget",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::Latest {
            count: published_articles::COUNT,
        },
        history: History::None("WeChat lists what is published now, not what was on a past day"),
        collector: &published_articles::PublishedArticles,
        families: &[Family::OaArticleInfo],
    },
    ApiSpec {
        api: Api::ApiQuota,
        path: "/cgi-bin/openapi/quota/get",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::Quota,
        history: History::None("WeChat answers today's counts only"),
        collector: &api_quota::ApiQuota,
        families: &[
            Family::ApiQuotaDailyLimit,
            Family::ApiQuotaUsed,
            Family::ApiQuotaRemaining,
            Family::ApiRateLimitCalls,
            Family::ApiRateLimitWindow,
        ],
    },
    ApiSpec {
        api: Api::Feedback,
        path: "/wxaapi/feedback/list",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::Feedback,
        history: History::None("WeChat answers the count as of the call"),
        collector: &feedback::Feedback,
        families: &[Family::MpFeedbackItems],
    },
    ApiSpec {
        api: Api::JsErrors,
        path: "/wxaapi/log/jserr_list",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::JsErrors,
        history: History::None(
            "today and yesterday are asked live; how far back WeChat keeps errors is undocumented",
        ),
        collector: &js_errors::JsErrors,
        families: &[
            Family::MpJsErrors,
            Family::MpJsErrorKinds,
            Family::MpJsErrorTopUserRatio,
            Family::MpJsErrorVersionInfo,
            Family::MpJsErrorMessageInfo,
            Family::MpJsErrorMessageOccurrences,
            Family::MpJsErrorMessageUsers,
        ],
    },
    ApiSpec {
        api: Api::OpsPerformance,
        path: "/wxaapi/log/get_performance",
        period: Period::Daily,
        span: Span::UpToDays(1),
        request: Request::OpsPerformance,
        history: History::PeriodsPerSlot,
        collector: &ops_performance::OpsPerformance,
        families: &[Family::MpOpsPerformance],
    },
];

/// The accessors of [`Api`] that read its row.
impl Api {
    /// The call of this API for `range` (the whole population).
    pub fn call_for(self, range: crate::dates::DateRange) -> crate::wechat::client::Call {
        self.spec().call(range, 0)
    }

    /// This API's row of the table.
    pub fn spec(self) -> &'static ApiSpec {
        &SPECS[self as usize]
    }

    pub fn path(&self) -> &'static str {
        self.spec().path
    }

    /// The API of a path that one API alone uses (`None` for the
    /// performance path: see [`Api::from_call`]).
    pub fn from_path(p: &str) -> Option<Api> {
        let mut rows = SPECS.iter().filter(|s| s.path == p);
        match (rows.next(), rows.next()) {
            (Some(s), None) => Some(s.api),
            _ => None,
        }
    }

    /// The API a call is for: its path, and for the performance path the
    /// `module` of its body (a string as in the docs' example, or a number).
    pub fn from_call(path: &str, body: Option<&serde_json::Value>) -> Option<Api> {
        if path != PERFORMANCE_PATH {
            return Api::from_path(path);
        }
        let module = match body?.get("module")? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        SPECS
            .iter()
            .find(|s| s.module() == Some(module.as_str()))
            .map(|s| s.api)
    }

    pub fn period(&self) -> Period {
        self.spec().period
    }

    /// Whether dates are `yyyy-mm-dd` (Official Account) rather than `yyyymmdd`.
    pub fn dashed_dates(&self) -> bool {
        self.spec().dates() == DateFormat::Dashed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::DateRange;
    use std::collections::HashSet;

    #[test]
    fn the_table_is_in_enum_order_and_complete() {
        for (i, api) in Api::ALL.into_iter().enumerate() {
            assert_eq!(SPECS[i].api, api, "SPECS row {i}");
        }
    }

    #[test]
    fn calls_are_unique_and_round_trip() {
        // Performance modules share a path: the module tells them apart.
        let calls: HashSet<_> = SPECS.iter().map(|s| (s.path, s.module())).collect();
        assert_eq!(calls.len(), SPECS.len());
        for s in &SPECS {
            let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 31).unwrap_or_default();
            let body = s.body(DateRange::day(day));
            assert_eq!(Api::from_call(s.path, Some(&body)), Some(s.api));
            if s.module().is_none() {
                assert_eq!(Api::from_path(s.path), Some(s.api));
            }
        }
    }

    #[test]
    fn every_family_is_published_by_some_api() {
        for f in Family::ALL {
            assert!(
                SPECS.iter().any(|s| s.families.contains(f)),
                "{} has no API",
                f.name()
            );
        }
    }
}
