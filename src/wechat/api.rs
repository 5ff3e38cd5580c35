//! The catalogue of WeChat analytics endpoints the exporter polls.
//!
//! One variant per endpoint; everything else (paths, date formats, the
//! `api` label, which period a call covers) is derived from it here so that
//! the client, simulator and poller cannot disagree.

use crate::dates::Period;
use serde::{Deserialize, Serialize};

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
    UserSummary,
    UserCumulate,
}

/// Which kind of WeChat account an app is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    Miniprogram,
    OfficialAccount,
}

impl Api {
    pub const ALL: [Api; 12] = [
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
        Api::UserSummary,
        Api::UserCumulate,
    ];

    /// The `api` label value, as in metrics.md.
    pub fn label(&self) -> &'static str {
        match self {
            Api::DailySummary => "daily_summary",
            Api::DailyVisitTrend => "daily_visit_trend",
            Api::WeeklyVisitTrend => "weekly_visit_trend",
            Api::MonthlyVisitTrend => "monthly_visit_trend",
            Api::VisitDistribution => "visit_distribution",
            Api::DailyRetention => "daily_retention",
            Api::WeeklyRetention => "weekly_retention",
            Api::MonthlyRetention => "monthly_retention",
            Api::VisitPage => "visit_page",
            Api::UserPortrait => "user_portrait",
            Api::UserSummary => "user_summary",
            Api::UserCumulate => "user_cumulate",
        }
    }

    pub fn from_label(s: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.label() == s)
    }

    /// The URL path below the API base.
    pub fn path(&self) -> &'static str {
        match self {
            Api::DailySummary => "/datacube/getweanalysisappiddailysummarytrend",
            Api::DailyVisitTrend => "/datacube/getweanalysisappiddailyvisittrend",
            Api::WeeklyVisitTrend => "/datacube/getweanalysisappidweeklyvisittrend",
            Api::MonthlyVisitTrend => "/datacube/getweanalysisappidmonthlyvisittrend",
            Api::VisitDistribution => "/datacube/getweanalysisappidvisitdistribution",
            Api::DailyRetention => "/datacube/getweanalysisappiddailyretaininfo",
            Api::WeeklyRetention => "/datacube/getweanalysisappidweeklyretaininfo",
            Api::MonthlyRetention => "/datacube/getweanalysisappidmonthlyretaininfo",
            Api::VisitPage => "/datacube/getweanalysisappidvisitpage",
            Api::UserPortrait => "/datacube/getweanalysisappiduserportrait",
            Api::UserSummary => "/datacube/getusersummary",
            Api::UserCumulate => "/datacube/getusercumulate",
        }
    }

    pub fn from_path(p: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.path() == p)
    }

    pub fn app_kind(&self) -> AppKind {
        match self {
            Api::UserSummary | Api::UserCumulate => AppKind::OfficialAccount,
            _ => AppKind::Miniprogram,
        }
    }

    /// The period one call covers. The portrait's window is chosen per call.
    pub fn period(&self) -> Period {
        match self {
            Api::WeeklyVisitTrend | Api::WeeklyRetention => Period::Weekly,
            Api::MonthlyVisitTrend | Api::MonthlyRetention => Period::Monthly,
            _ => Period::Daily,
        }
    }

    /// Whether dates are `yyyy-mm-dd` (Official Account) rather than `yyyymmdd`.
    pub fn dashed_dates(&self) -> bool {
        self.app_kind() == AppKind::OfficialAccount
    }

    /// The APIs that apply to an app of `kind`.
    pub fn for_kind(kind: AppKind) -> impl Iterator<Item = Api> {
        Api::ALL.into_iter().filter(move |a| a.app_kind() == kind)
    }
}
