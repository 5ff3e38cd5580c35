//! The metric families of metrics.md: the data families and the gauges
//! derived from poller state, names and HELP texts in one place, and the
//! `Sample` every collector produces. Counters and histograms that
//! accumulate (requests, errors, durations) are registered in
//! `self_metrics.rs`.
//!
//! Names here are a public contract: add, never rename.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

macro_rules! families {
    ($($variant:ident => $name:literal, $help:literal;)*) => {
        /// A data metric family. Order here is the order on `/metrics`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Family { $($variant),* }

        impl Family {
            pub const ALL: &'static [Family] = &[$(Family::$variant),*];
            pub fn name(&self) -> &'static str {
                match self { $(Family::$variant => $name),* }
            }
            pub fn help(&self) -> &'static str {
                match self { $(Family::$variant => $help),* }
            }
        }
    };
}

families! {
    MpSessions => "wechat_miniprogram_sessions", "Mini Program opens (session_cnt) in the period; polled from WeChat, not fetched per scrape.";
    MpVisits => "wechat_miniprogram_visits", "Mini Program visits (visit_pv) in the period; polled.";
    MpVisitors => "wechat_miniprogram_visitors", "Mini Program visitors (visit_uv), de-duplicated over the period; polled.";
    MpNewVisitors => "wechat_miniprogram_new_visitors", "Mini Program new visitors (visit_uv_new) in the period; polled.";
    MpStayPerVisitor => "wechat_miniprogram_stay_per_visitor_seconds", "Average stay per visitor (stay_time_uv); polled.";
    MpStayPerSession => "wechat_miniprogram_stay_per_session_seconds", "Average stay per session (stay_time_session); polled.";
    MpVisitDepth => "wechat_miniprogram_visit_depth_pages", "Average pages per visit (visit_depth); polled.";
    MpVisitDistribution => "wechat_miniprogram_visit_distribution", "Visit distribution by entry scene, stay bucket or depth bucket (index, key); polled.";
    MpRetainedUsers => "wechat_miniprogram_retained_users", "Users of the cohort still active offset periods later (offset 0: cohort size), from the newest cohort that reached the offset; polled.";
    MpRetentionRatio => "wechat_miniprogram_retention_ratio", "Retained users at offset divided by the same cohort's size; polled.";
    MpPageVisits => "wechat_miniprogram_page_visits", "Visits of the page yesterday (page_visit_pv), top pages only; polled.";
    MpPageVisitors => "wechat_miniprogram_page_visitors", "Visitors of the page yesterday (page_visit_uv); polled.";
    MpPageStayPerVisit => "wechat_miniprogram_page_stay_per_visit_seconds", "Average stay per visit of the page (page_staytime_pv); polled.";
    MpPageEntries => "wechat_miniprogram_page_entries", "Visits that entered through the page (entrypage_pv); polled.";
    MpPageExits => "wechat_miniprogram_page_exits", "Visits that left from the page (exitpage_pv); polled.";
    MpPageShares => "wechat_miniprogram_page_shares", "Shares of the page (page_share_pv); polled.";
    MpPageSharers => "wechat_miniprogram_page_sharers", "Users who shared the page (page_share_uv); polled.";
    MpCumulativeVisitors => "wechat_miniprogram_cumulative_visitors", "Cumulative visitors of the Mini Program (visit_total) as of the data date; polled.";
    MpShares => "wechat_miniprogram_shares", "Shares in the period (share_pv); polled.";
    MpSharers => "wechat_miniprogram_sharers", "Users who shared in the period (share_uv); polled.";
    MpPortraitVisitors => "wechat_miniprogram_portrait_visitors", "Visitors by portrait dimension over the window ending yesterday; polled.";
    OaNewFollowers => "wechat_official_account_new_followers", "New followers yesterday by source (new_user; 0 for a known source with no row); polled.";
    OaUnfollowers => "wechat_official_account_unfollowers", "Unfollows yesterday by source (cancel_user); polled.";
    OaFollowers => "wechat_official_account_followers", "Followers at the end of yesterday (cumulate_user); polled.";
    OaMessages => "wechat_official_account_messages", "Messages users sent to the account in the period, by type (msg_count); polled.";
    OaMessageSenders => "wechat_official_account_message_senders", "Users who sent the account messages in the period, by type (msg_user); polled.";
    OaMessagesByHour => "wechat_official_account_messages_by_hour", "Messages users sent to the account yesterday, by Beijing hour and type (msg_count); polled.";
    OaMessageSendersByHour => "wechat_official_account_message_senders_by_hour", "Users who sent messages yesterday, by Beijing hour and type (msg_user); polled.";
    OaMessageSendersByInterval => "wechat_official_account_message_senders_by_interval", "Users by how many messages they sent in the period (count_interval); polled.";
    OaCallbacks => "wechat_official_account_callbacks", "Callbacks WeChat made to the account's server yesterday (callback_count); polled.";
    OaCallbackFailures => "wechat_official_account_callback_failures", "Callbacks to the account's server that failed yesterday (fail_count); polled.";
    OaCallbackTime => "wechat_official_account_callback_time_seconds", "Total time the account's server took to answer callbacks yesterday (total_time_cost); polled.";
    OaCallbackMaxTime => "wechat_official_account_callback_max_time_seconds", "Longest callback answer of the account's server yesterday (max_time_cost); polled.";
    OaCallbacksByHour => "wechat_official_account_callbacks_by_hour", "Callbacks to the account's server yesterday, by Beijing hour; polled.";
    OaCallbackFailuresByHour => "wechat_official_account_callback_failures_by_hour", "Failed callbacks yesterday, by Beijing hour; polled.";
    OaCallbackTimeByHour => "wechat_official_account_callback_time_by_hour_seconds", "Total callback answer time yesterday, by Beijing hour; polled.";
    OaCallbackMaxTimeByHour => "wechat_official_account_callback_max_time_by_hour_seconds", "Longest callback answer yesterday, by Beijing hour; polled.";
    OaPublishReaders => "wechat_official_account_publish_readers", "Readers of the account's published content yesterday (getbizsummary read_user); see wechat_exporter_data_final; polled.";
    OaPublishSharers => "wechat_official_account_publish_sharers", "Users who shared the account's published content yesterday (share_user); polled.";
    OaPublishLikes => "wechat_official_account_publish_likes", "Users who gave a thumbs-up to published content yesterday (like_user); polled.";
    OaPublishHearts => "wechat_official_account_publish_hearts", "Users who gave a heart (zaikan_user) to published content yesterday; polled.";
    OaPublishComments => "wechat_official_account_publish_comments", "Comments on published content yesterday (comment_count); polled.";
    OaPublishDetail => "wechat_official_account_publish_detail", "Any other number getbizsummary reports for yesterday, by its field name; polled.";
    MpPerfOpenRatio => "wechat_miniprogram_performance_open_ratio", "Mini Program open rate yesterday (getPerformanceData module 10016, percent / 100), by indicator table and dimension; polled.";
    MpPerfLaunch => "wechat_miniprogram_performance_launch_seconds", "Mini Program launch stage times yesterday (module 10017, milliseconds / 1000), by indicator table and dimension; polled.";
    MpPerfPageSwitch => "wechat_miniprogram_performance_page_switch_seconds", "Mini Program page switch times yesterday (module 10021, milliseconds / 1000), by indicator table and dimension; polled.";
    MpPerfMemory => "wechat_miniprogram_performance_memory_bytes", "Mini Program memory indicators yesterday (module 10022, MB * 2^20), by indicator table and dimension; polled.";
    MpPerfMemoryAnomaly => "wechat_miniprogram_performance_memory_anomaly", "Deprecated: the same values as wechat_miniprogram_performance_memory_anomaly_rate, which replaces it; removed in the next release.";
    MpPerfMemoryAnomalyRate => "wechat_miniprogram_performance_memory_anomaly_rate", "Mini Program memory anomaly rates yesterday (module 10023, e.g. 内存告警率) exactly as WeChat sends them (WeChat documents no unit for them), by indicator table and dimension; polled.";
    OaArticleReaders => "wechat_official_account_article_readers", "Readers of the article yesterday (getarticleread read_user), top article_limit articles; see wechat_exporter_data_final; polled.";
    OaArticleReadersBySource => "wechat_official_account_article_readers_by_source", "Readers of the article yesterday by where they came from (read_user_source); polled.";
    OaArticleSharers => "wechat_official_account_article_sharers", "Users who shared the article yesterday (getarticleshare share_user), top article_limit articles; polled.";
    OaArticleCumulativeReaders => "wechat_official_account_article_cumulative_readers", "Readers of the article from its publication to yesterday (getarticletotaldetail read_user), articles published in the last 30 days, top article_limit per publish date; polled.";
    OaArticleCumulativeSharers => "wechat_official_account_article_cumulative_sharers", "Users who shared the article since its publication (share_user); polled.";
    OaArticleCumulativeLikes => "wechat_official_account_article_cumulative_likes", "Thumbs-up given to the article since its publication (like_user); polled.";
    OaArticleCumulativeHearts => "wechat_official_account_article_cumulative_hearts", "Hearts (zaikan_user) given to the article since its publication; polled.";
    OaArticleCumulativeComments => "wechat_official_account_article_cumulative_comments", "Comments on the article since its publication (comment_count); polled.";
    OaArticleCumulativeCollections => "wechat_official_account_article_cumulative_collections", "Users who saved the article since its publication (collection_user); polled.";
    OaArticleCumulativeReadFinishRatio => "wechat_official_account_article_cumulative_read_finish_ratio", "Share of the article's readers who read it to the end (read_finish_rate, 0-1); polled.";
    OaArticleCumulativeReadDeliveryRatio => "wechat_official_account_article_cumulative_read_delivery_ratio", "Readers of the article divided by the users it was delivered to (read_delivery_rate, 0-1); polled.";
    OaArticleCumulativePraiseYuan => "wechat_official_account_article_cumulative_praise_yuan", "Money given to the article's author since its publication, in yuan (praise_money, sent in fen / 100); polled.";
    OaArticleCumulativeReadDurationAverage => "wechat_official_account_article_cumulative_read_duration_average_seconds", "Average time a reader spent on the article since its publication (read_avg_activetime, sent in minutes * 60); polled.";
    OaArticleCumulativeDetail => "wechat_official_account_article_cumulative_detail", "Any other number getarticletotaldetail reports for the article (and its publish_type), by field name, as sent; praise_money and read_avg_activetime here are deprecated (see the _praise_yuan and _read_duration_average_seconds families); polled.";
    OaArticlePublishedTimestamp => "wechat_official_account_article_published_timestamp_seconds", "Beijing midnight of the day the article was published (ref_date); polled.";
    OaArticleInfo => "wechat_official_account_article_info", "1 for each recently published article with its title; join on (app, msgid) for titles; polled.";
    MpFeedbackItems => "wechat_miniprogram_feedback_items", "Feedback users have submitted in the Mini Program's feedback box, all time, by type (getFeedback total_num); use delta() for a window; asked hourly.";
    ApiQuotaDailyLimit => "wechat_api_quota_daily_limit", "Calls of this API path WeChat allows the app per Beijing day (getApiQuota daily_limit); 0 where WeChat sets none; asked hourly.";
    ApiQuotaUsed => "wechat_api_quota_used", "Calls of this API path the app made today, Beijing time, by every caller (getApiQuota used); asked hourly.";
    ApiQuotaRemaining => "wechat_api_quota_remaining", "Calls of this API path left to the app today (getApiQuota remain); asked hourly.";
    ApiRateLimitCalls => "wechat_api_rate_limit_calls", "Calls of this API path allowed per rate-limit window, for the app itself (caller=app, rate_limit) or a third-party platform on its behalf (caller=platform, component_rate_limit).";
    ApiRateLimitWindow => "wechat_api_rate_limit_window_seconds", "The rate-limit window of this API path (refresh_second), by caller as for wechat_api_rate_limit_calls.";
    MpJsErrors => "wechat_miniprogram_js_errors", "JavaScript errors the Mini Program threw in one release (version=all: every release) on a Beijing day: day=today so far (asked hourly, back to 0 at midnight) or day=yesterday (the whole day, asked once); pv summed over its 30 most frequent errors (getJsErrList).";
    MpJsErrorKinds => "wechat_miniprogram_js_error_kinds", "Distinct JavaScript errors of the release on the day (getJsErrList totalCount).";
    MpJsErrorTopUserRatio => "wechat_miniprogram_js_error_top_user_ratio", "The largest share of users one of the release's 30 most frequent errors reached on the day (getJsErrList uvPercent / 100).";
    MpJsErrorVersionInfo => "wechat_miniprogram_js_error_version_info", "1 for each release listed in js_error_versions, with its rank (0 the newest, as listed).";
    MpJsErrorMessageInfo => "wechat_miniprogram_js_error_message_info", "1 for each of the 10 most frequent JavaScript errors of every release on each day (today so far, yesterday), with its message (first line, at most 120 characters); join on (app, digest, day).";
    MpJsErrorMessageOccurrences => "wechat_miniprogram_js_error_message_occurrences", "Times the error (digest: WeChat's errorMsgMd5) was thrown on the day, every release (pv): today so far (asked hourly) or yesterday's whole day.";
    MpJsErrorMessageUsers => "wechat_miniprogram_js_error_message_users", "Users who hit the error on the day, every release (uv): today so far (asked hourly) or yesterday's whole day.";
    MpOpsPerformance => "wechat_miniprogram_ops_performance_seconds", "Mini Program launch, code download and first render time yesterday as the operations centre reports it (getPerformance cost_time, milliseconds / 1000), by kind (launch, download, first_render); not the datacube wechat_miniprogram_performance_launch_seconds (getPerformanceData 10017), though WeChat shows both from one source; a 0 (no data) is not published; polled.";
    OaArticleCumulativeInfo => "wechat_official_account_article_cumulative_info", "1 for each article getarticletotaldetail answers with a title, labelled with it and its publish date; join on (app, msgid) for titles, before wechat_official_account_article_info; polled.";
}

macro_rules! state_families {
    ($($variant:ident => $name:literal, $help:literal;)*) => {
        /// A gauge derived from the poller state: one per (app, api), but
        /// `AppPaused`, one per app. Rendered by `expose/snapshot.rs`, in
        /// this order after the data families.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum StateFamily { $($variant),* }

        impl StateFamily {
            pub const ALL: &'static [StateFamily] = &[$(StateFamily::$variant),*];
            pub fn name(&self) -> &'static str {
                match self { $(StateFamily::$variant => $name),* }
            }
            pub fn help(&self) -> &'static str {
                match self { $(StateFamily::$variant => $help),* }
            }
        }
    };
}

state_families! {
    DataDate => "wechat_data_date_timestamp_seconds", "Beijing midnight at the start of the day, week or month that the published values of this API belong to.";
    LastSuccess => "wechat_exporter_last_success_timestamp_seconds", "When this API last answered with data.";
    PollSuccess => "wechat_exporter_poll_success", "1 if the last poll of this API succeeded or found data not released yet, 0 if it failed.";
    DataReady => "wechat_exporter_data_ready", "1 once the latest period's data has been fetched, 0 while WeChat has not released it.";
    ApiEnabled => "wechat_exporter_api_enabled", "1 if this API is polled for the app, 0 if WeChat said the app may not use it.";
    BackoffUntil => "wechat_exporter_api_backoff_until_timestamp_seconds", "While this API backs off after a failure of its own (see errcode), when it will next be asked; absent otherwise.";
    DataFinal => "wechat_exporter_data_final", "1 when WeChat says the published values of this API are final, 0 while they may still change (is_delay) and are asked again hourly.";
    AppPaused => "wechat_exporter_app_paused", "1 while polling of the app is paused (daily quota, credentials, IP whitelist), else 0.";
}

/// One published value: its family, its rendered label set and the value.
/// Labels are rendered once, when the data arrives, so that a snapshot
/// renders by concatenation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub family: Family,
    /// `k="v",k2="v2"`, already escaped, without braces.
    pub labels: String,
    pub value: f64,
}

impl Sample {
    pub fn new(family: Family, labels: &[(&str, &str)], value: f64) -> Self {
        Self {
            family,
            labels: render_labels(labels),
            value,
        }
    }
}

/// Renders a label set in the text exposition format, escaping values.
pub fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut s = String::with_capacity(labels.len() * 24);
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        escape_label_value(&mut s, v);
        s.push('"');
    }
    s
}

fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Formats a sample value the way Prometheus' own clients do.
pub fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            render_labels(&[("app", "a\"b"), ("page", "x\\y\nz")]),
            r#"app="a\"b",page="x\\y\nz""#
        );
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<_> = Family::ALL.iter().map(|f| f.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Family::ALL.len());
        assert!(names.iter().all(|n| n.starts_with("wechat_miniprogram_")
                || n.starts_with("wechat_official_account_")
                // Families every app has (the quota of its paths).
                || n.starts_with("wechat_api_")));
    }
}
