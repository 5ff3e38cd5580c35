// The API catalogue's lists the mixin needs; never edited by hand.
// BEGIN GENERATED from the API catalogue (tests/it/derived.rs)
{
  // The APIs whose yesterday WeChat releases each morning
  // (`ApiSpec::released_daily`): WechatDataNotReleased judges these.
  releasedDaily: [
    'daily_summary',
    'daily_visit_trend',
    'visit_distribution',
    'daily_retention',
    'visit_page',
    'user_cumulate',
    'user_summary',
    'daily_messages',
    'hourly_messages',
    'daily_message_distribution',
    'daily_interface_summary',
    'hourly_interface_summary',
    'publish_summary',
    'performance_open_rate',
    'performance_launch',
    'performance_page_switch',
    'performance_memory',
    'performance_memory_anomaly',
    'article_reads',
    'article_shares',
    'article_totals',
    'ops_performance',
  ],
}
// END GENERATED
