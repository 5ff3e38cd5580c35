//! The one table of WeChat analytics APIs the exporter polls.
//!
//! Each API is one row of [`SPECS`]: its path, `api` label, app type,
//! period, date format, the spans WeChat accepts, how its history is
//! fetched, its collector and the metric families it publishes. The poller,
//! the backfill, config validation, the docs test and the simulator all
//! read this table, so adding an API is: a variant of [`Api`], a row here,
//! its response type in `wechat/types.rs`, its collector file in
//! `collectors/`, and its simulator handler in `simulator/server.rs`.

use crate::collectors::{
    article_daily, article_totals, daily_summary, interface_summary, performance, publish_summary,
    published_articles, retention, upstream_msg, user_analysis, user_portrait, visit_distribution,
    visit_page, visit_trend, Collector,
};
use crate::dates::{DateRange, Period};
use crate::families::Family;
use serde::{Deserialize, Serialize};

/// One WeChat analytics endpoint. The order is the table's, and the order
/// in which an app's APIs are polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    DailySummary,
    DailyVisitTrend,
    WeeklyVisitTrend,
    MonthlyVisitTrend,
    VisitDistribution,
    DailyRetention,
    WeeklyRetention,
    MonthlyRetention,
    VisitPage,
    UserPortrait,
    // getusercumulate tells whether a day is released, which an empty
    // getusersummary cannot: it is polled first.
    UserCumulate,
    UserSummary,
    // Official Account message and interface analysis: labels name the
    // period first, like the Mini Program trends.
    #[serde(rename = "daily_messages")]
    UpstreamMsg,
    #[serde(rename = "weekly_messages")]
    UpstreamMsgWeek,
    #[serde(rename = "monthly_messages")]
    UpstreamMsgMonth,
    #[serde(rename = "hourly_messages")]
    UpstreamMsgHour,
    #[serde(rename = "daily_message_distribution")]
    UpstreamMsgDist,
    #[serde(rename = "weekly_message_distribution")]
    UpstreamMsgDistWeek,
    #[serde(rename = "monthly_message_distribution")]
    UpstreamMsgDistMonth,
    #[serde(rename = "daily_interface_summary")]
    InterfaceSummary,
    #[serde(rename = "hourly_interface_summary")]
    InterfaceSummaryHour,
    // 2025 publish analytics.
    #[serde(rename = "publish_summary")]
    BizSummary,
    // Mini Program performance (getPerformanceData): one row per module,
    // all on one path, told apart by the `module` of the body.
    PerformanceOpenRate,
    PerformanceLaunch,
    PerformancePageSwitch,
    PerformanceMemory,
    PerformanceMemoryAnomaly,
    // 2025 publish analytics per article, and the titles of published
    // articles (the free-publish list) that name them.
    #[serde(rename = "article_reads")]
    ArticleRead,
    #[serde(rename = "article_shares")]
    ArticleShare,
    #[serde(rename = "article_totals")]
    ArticleTotalDetail,
    #[serde(rename = "published_articles")]
    PublishedArticles,
}

/// Which kind of WeChat account an app is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    Miniprogram,
    OfficialAccount,
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
}

/// The one path of every Mini Program performance module.
pub const PERFORMANCE_PATH: &str = "/wxa/business/performance/boot";

/// How history is fetched by `backfill`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// One call per period in the range.
    Periods,
    /// Retention: one call per cohort answers every offset released for it.
    Cohorts,
    /// Ranges of up to this many days, one target per day.
    DayChunks(i64),
    /// WeChat serves no history for this API; the reason is reported.
    None(&'static str),
}

/// Everything the exporter knows about one API.
pub struct ApiSpec {
    pub api: Api,
    /// The `api` label value, as in metrics.md.
    pub label: &'static str,
    /// The URL path below the API base.
    pub path: &'static str,
    pub kind: AppKind,
    /// The period one call covers (the portrait's window is chosen per call).
    pub period: Period,
    pub dates: DateFormat,
    pub span: Span,
    /// What the call's JSON body holds.
    pub request: Request,
    pub history: History,
    pub collector: &'static dyn Collector,
    /// The data families this API publishes.
    pub families: &'static [Family],
}

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

/// A Mini Program performance module: every one shares the path, the day
/// period, the 30-day span and its history; `networktype` says whether the
/// module takes that param (10016 and 10017 only).
const fn performance_row(
    api: Api,
    label: &'static str,
    module: &'static str,
    networktype: bool,
    collector: &'static dyn Collector,
    families: &'static [Family],
) -> ApiSpec {
    ApiSpec {
        api,
        label,
        path: PERFORMANCE_PATH,
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
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

/// The table, in [`Api`] order (a unit test checks it).
pub static SPECS: [ApiSpec; 31] = [
    ApiSpec {
        api: Api::DailySummary,
        label: "daily_summary",
        path: "/datacube/getweanalysisappiddailysummarytrend",
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
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
        label: "daily_visit_trend",
        path: "/datacube/getweanalysisappiddailyvisittrend",
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_trend::VisitTrend(Period::Daily),
        families: TREND_FAMILIES,
    },
    ApiSpec {
        api: Api::WeeklyVisitTrend,
        label: "weekly_visit_trend",
        path: "/datacube/getweanalysisappidweeklyvisittrend",
        kind: AppKind::Miniprogram,
        period: Period::Weekly,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_trend::VisitTrend(Period::Weekly),
        families: TREND_FAMILIES,
    },
    ApiSpec {
        api: Api::MonthlyVisitTrend,
        label: "monthly_visit_trend",
        path: "/datacube/getweanalysisappidmonthlyvisittrend",
        kind: AppKind::Miniprogram,
        period: Period::Monthly,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_trend::VisitTrend(Period::Monthly),
        families: TREND_FAMILIES,
    },
    ApiSpec {
        api: Api::VisitDistribution,
        label: "visit_distribution",
        path: "/datacube/getweanalysisappidvisitdistribution",
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_distribution::VisitDistribution,
        families: &[Family::MpVisitDistribution],
    },
    ApiSpec {
        api: Api::DailyRetention,
        label: "daily_retention",
        path: "/datacube/getweanalysisappiddailyretaininfo",
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Cohorts,
        collector: &retention::Retention(Period::Daily),
        families: RETENTION_FAMILIES,
    },
    ApiSpec {
        api: Api::WeeklyRetention,
        label: "weekly_retention",
        path: "/datacube/getweanalysisappidweeklyretaininfo",
        kind: AppKind::Miniprogram,
        period: Period::Weekly,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Cohorts,
        collector: &retention::Retention(Period::Weekly),
        families: RETENTION_FAMILIES,
    },
    ApiSpec {
        api: Api::MonthlyRetention,
        label: "monthly_retention",
        path: "/datacube/getweanalysisappidmonthlyretaininfo",
        kind: AppKind::Miniprogram,
        period: Period::Monthly,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Cohorts,
        collector: &retention::Retention(Period::Monthly),
        families: RETENTION_FAMILIES,
    },
    ApiSpec {
        api: Api::VisitPage,
        label: "visit_page",
        path: "/datacube/getweanalysisappidvisitpage",
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
        span: Span::OnePeriod,
        request: Request::Dates,
        history: History::Periods,
        collector: &visit_page::VisitPage,
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
        label: "user_portrait",
        path: "/datacube/getweanalysisappiduserportrait",
        kind: AppKind::Miniprogram,
        period: Period::Daily,
        dates: DateFormat::Compact,
        span: Span::RecentWindow(&[1, 7, 30]),
        request: Request::Dates,
        history: History::None("WeChat serves only windows ending yesterday or the day before"),
        collector: &user_portrait::UserPortrait,
        families: &[Family::MpPortraitVisitors],
    },
    ApiSpec {
        api: Api::UserCumulate,
        label: "user_cumulate",
        path: "/datacube/getusercumulate",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(7),
        request: Request::Dates,
        history: History::DayChunks(7),
        collector: &user_analysis::UserCumulate,
        families: &[Family::OaFollowers],
    },
    ApiSpec {
        api: Api::UserSummary,
        label: "user_summary",
        path: "/datacube/getusersummary",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(7),
        request: Request::Dates,
        history: History::DayChunks(7),
        collector: &user_analysis::UserSummary,
        families: &[Family::OaNewFollowers, Family::OaUnfollowers],
    },
    ApiSpec {
        api: Api::UpstreamMsg,
        label: "daily_messages",
        path: "/datacube/getupstreammsg",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(7),
        request: Request::Dates,
        history: History::DayChunks(7),
        collector: &upstream_msg::UpstreamMsg(Period::Daily),
        families: MSG_FAMILIES,
    },
    ApiSpec {
        api: Api::UpstreamMsgWeek,
        label: "weekly_messages",
        path: "/datacube/getupstreammsgweek",
        kind: AppKind::OfficialAccount,
        period: Period::Weekly,
        dates: DateFormat::Dashed,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsg(Period::Weekly),
        families: MSG_FAMILIES,
    },
    ApiSpec {
        api: Api::UpstreamMsgMonth,
        label: "monthly_messages",
        path: "/datacube/getupstreammsgmonth",
        kind: AppKind::OfficialAccount,
        period: Period::Monthly,
        dates: DateFormat::Dashed,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsg(Period::Monthly),
        families: MSG_FAMILIES,
    },
    ApiSpec {
        api: Api::UpstreamMsgHour,
        label: "hourly_messages",
        path: "/datacube/getupstreammsghour",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::DayChunks(1),
        collector: &upstream_msg::UpstreamMsgHour,
        families: &[Family::OaMessagesByHour, Family::OaMessageSendersByHour],
    },
    ApiSpec {
        api: Api::UpstreamMsgDist,
        label: "daily_message_distribution",
        path: "/datacube/getupstreammsgdist",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(15),
        request: Request::Dates,
        history: History::DayChunks(15),
        collector: &upstream_msg::UpstreamMsgDist(Period::Daily),
        families: &[Family::OaMessageSendersByInterval],
    },
    ApiSpec {
        api: Api::UpstreamMsgDistWeek,
        label: "weekly_message_distribution",
        path: "/datacube/getupstreammsgdistweek",
        kind: AppKind::OfficialAccount,
        period: Period::Weekly,
        dates: DateFormat::Dashed,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsgDist(Period::Weekly),
        families: &[Family::OaMessageSendersByInterval],
    },
    ApiSpec {
        api: Api::UpstreamMsgDistMonth,
        label: "monthly_message_distribution",
        path: "/datacube/getupstreammsgdistmonth",
        kind: AppKind::OfficialAccount,
        period: Period::Monthly,
        dates: DateFormat::Dashed,
        span: Span::PeriodStart,
        request: Request::Dates,
        history: History::Periods,
        collector: &upstream_msg::UpstreamMsgDist(Period::Monthly),
        families: &[Family::OaMessageSendersByInterval],
    },
    ApiSpec {
        api: Api::InterfaceSummary,
        label: "daily_interface_summary",
        path: "/datacube/getinterfacesummary",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
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
        label: "hourly_interface_summary",
        path: "/datacube/getinterfacesummaryhour",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
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
        label: "publish_summary",
        path: "/datacube/getbizsummary",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
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
        "performance_open_rate",
        "10016",
        true,
        &performance::Performance(Family::MpPerfOpenRatio),
        &[Family::MpPerfOpenRatio],
    ),
    performance_row(
        Api::PerformanceLaunch,
        "performance_launch",
        "10017",
        true,
        &performance::Performance(Family::MpPerfLaunch),
        &[Family::MpPerfLaunch],
    ),
    performance_row(
        Api::PerformancePageSwitch,
        "performance_page_switch",
        "10021",
        false,
        &performance::Performance(Family::MpPerfPageSwitch),
        &[Family::MpPerfPageSwitch],
    ),
    performance_row(
        Api::PerformanceMemory,
        "performance_memory",
        "10022",
        false,
        &performance::Performance(Family::MpPerfMemory),
        &[Family::MpPerfMemory],
    ),
    performance_row(
        Api::PerformanceMemoryAnomaly,
        "performance_memory_anomaly",
        "10023",
        false,
        &performance::Performance(Family::MpPerfMemoryAnomaly),
        &[Family::MpPerfMemoryAnomaly],
    ),
    ApiSpec {
        api: Api::ArticleRead,
        label: "article_reads",
        path: "/datacube/getarticleread",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        // The docs give no span; answers hold one `ref_date`: one day.
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::Periods,
        collector: &article_daily::ArticleReads,
        families: &[Family::OaArticleReaders, Family::OaArticleReadersBySource],
    },
    ApiSpec {
        api: Api::ArticleShare,
        label: "article_shares",
        path: "/datacube/getarticleshare",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        // "日期范围仅支持查询1天".
        span: Span::UpToDays(1),
        request: Request::Dates,
        history: History::Periods,
        collector: &article_daily::ArticleShares,
        families: &[Family::OaArticleSharers],
    },
    ApiSpec {
        api: Api::ArticleTotalDetail,
        label: "article_totals",
        path: "/datacube/getarticletotaldetail",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(article_totals::WINDOW_DAYS),
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
            Family::OaArticleCumulativeDetail,
            Family::OaArticlePublishedTimestamp,
        ],
    },
    ApiSpec {
        api: Api::PublishedArticles,
        label: "published_articles",
        path: "/cgi-bin/freepublish/batchget",
        kind: AppKind::OfficialAccount,
        period: Period::Daily,
        dates: DateFormat::Dashed,
        span: Span::UpToDays(1),
        request: Request::Latest {
            count: published_articles::COUNT,
        },
        history: History::None("WeChat lists what is published now, not what was on a past day"),
        collector: &published_articles::PublishedArticles,
        families: &[Family::OaArticleInfo],
    },
];

impl ApiSpec {
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
                let (begin, end) = match self.dates {
                    DateFormat::Dashed => range.dashed(),
                    DateFormat::Compact => range.compact(),
                };
                serde_json::json!({ "begin_date": begin, "end_date": end })
            }
            Request::Performance {
                module,
                networktype,
            } => {
                // WeChat dates each value by the Beijing day of the
                // timestamps, both ends included (the docs' example asks
                // 1609603200..1609689600 and gets 20210103 and 20210104):
                // the first second of the first day to the last of the last.
                let begin = crate::dates::beijing_midnight(range.begin).timestamp();
                let end = crate::dates::beijing_midnight(range.end).timestamp() + 86_399;
                let set = crate::collectors::performance::slot_param(slot);
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
        }
    }

    /// The performance module of this row, if it is one.
    pub fn module(&self) -> Option<&'static str> {
        match self.request {
            Request::Performance { module, .. } => Some(module),
            Request::Dates | Request::Latest { .. } => None,
        }
    }

    /// The first day WeChat keeps data of, when its docs name one: days
    /// before it are served empty, and backfill skips them.
    pub fn data_since(&self) -> Option<chrono::NaiveDate> {
        match self.api {
            // "数据存储起始时间为2025-11-01,之前日期数据无效".
            Api::ArticleShare => chrono::NaiveDate::from_ymd_opt(2025, 11, 1),
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

impl Api {
    pub const ALL: [Api; 31] = [
        Api::DailySummary,
        Api::DailyVisitTrend,
        Api::WeeklyVisitTrend,
        Api::MonthlyVisitTrend,
        Api::VisitDistribution,
        Api::DailyRetention,
        Api::WeeklyRetention,
        Api::MonthlyRetention,
        Api::VisitPage,
        Api::UserPortrait,
        Api::UserCumulate,
        Api::UserSummary,
        Api::UpstreamMsg,
        Api::UpstreamMsgWeek,
        Api::UpstreamMsgMonth,
        Api::UpstreamMsgHour,
        Api::UpstreamMsgDist,
        Api::UpstreamMsgDistWeek,
        Api::UpstreamMsgDistMonth,
        Api::InterfaceSummary,
        Api::InterfaceSummaryHour,
        Api::BizSummary,
        Api::PerformanceOpenRate,
        Api::PerformanceLaunch,
        Api::PerformancePageSwitch,
        Api::PerformanceMemory,
        Api::PerformanceMemoryAnomaly,
        Api::ArticleRead,
        Api::ArticleShare,
        Api::ArticleTotalDetail,
        Api::PublishedArticles,
    ];

    /// This API's row of the table.
    pub fn spec(self) -> &'static ApiSpec {
        &SPECS[self as usize]
    }

    pub fn label(&self) -> &'static str {
        self.spec().label
    }

    pub fn from_label(s: &str) -> Option<Api> {
        SPECS.iter().find(|s2| s2.label == s).map(|s| s.api)
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

    pub fn app_kind(&self) -> AppKind {
        self.spec().kind
    }

    pub fn period(&self) -> Period {
        self.spec().period
    }

    /// Whether dates are `yyyy-mm-dd` (Official Account) rather than `yyyymmdd`.
    pub fn dashed_dates(&self) -> bool {
        self.spec().dates == DateFormat::Dashed
    }

    /// The APIs that apply to an app of `kind`, in polling order.
    pub fn for_kind(kind: AppKind) -> impl Iterator<Item = Api> {
        Api::ALL.into_iter().filter(move |a| a.app_kind() == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_table_is_in_enum_order_and_complete() {
        assert_eq!(SPECS.len(), Api::ALL.len());
        for (i, api) in Api::ALL.into_iter().enumerate() {
            assert_eq!(api as usize, i, "Api::ALL order");
            assert_eq!(SPECS[i].api, api, "SPECS row {i}");
        }
    }

    #[test]
    fn labels_and_paths_are_unique_and_round_trip() {
        let labels: HashSet<_> = SPECS.iter().map(|s| s.label).collect();
        // Performance modules share a path: the module tells them apart.
        let calls: HashSet<_> = SPECS.iter().map(|s| (s.path, s.module())).collect();
        assert_eq!(labels.len(), SPECS.len());
        assert_eq!(calls.len(), SPECS.len());
        for s in &SPECS {
            assert_eq!(Api::from_label(s.label), Some(s.api));
            let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 31).unwrap_or_default();
            let body = s.body(DateRange::day(day));
            assert_eq!(Api::from_call(s.path, Some(&body)), Some(s.api));
            if s.module().is_none() {
                assert_eq!(Api::from_path(s.path), Some(s.api));
            }
            // The serde name is the label, so config and state agree.
            assert_eq!(
                serde_json::to_string(&s.api).ok().as_deref(),
                Some(format!("\"{}\"", s.label).as_str())
            );
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

    #[test]
    fn official_account_dates_are_dashed() {
        for s in &SPECS {
            assert_eq!(
                s.dates == DateFormat::Dashed,
                s.kind == AppKind::OfficialAccount,
                "{}",
                s.label
            );
        }
    }

    #[test]
    fn the_metrics_contract_lists_every_api() {
        let doc = include_str!("../docs/metrics.md");
        for s in &SPECS {
            let row = format!("| `{}` | `{}` |", s.label, s.path);
            assert!(
                doc.contains(&row),
                "docs/metrics.md lacks the row of {}",
                s.label
            );
        }
        for f in Family::ALL {
            assert!(
                doc.contains(&format!("`{}`", f.name())),
                "docs/metrics.md lacks {}",
                f.name()
            );
        }
    }
}
