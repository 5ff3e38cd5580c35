// What a user of the mixin may change: selectors, thresholds, dashboard
// settings. Override with `(import 'mixin.libsonnet') + { _config+:: {...} }`.
{
  _config+:: {
    // Selects the exporter's series in every rule and alert. Set it to the
    // job your Prometheus scrapes the exporter under.
    selector: 'job="wechat-exporter"',

    // Where each alert's runbook_url points: %s is the alert name in lower
    // case, an anchor of docs/runbook.md. Point it at your copy of the docs.
    runbookURLPattern: 'https://github.com/wechat-exporter/wechat-exporter/blob/main/docs/runbook.md#%s',

    // Exporter alerts.
    exporterDownFor: '5m',
    exporterAbsentFor: '15m',
    // With the default 30m poll interval, 1h is two failed polls in a row.
    pollFailingFor: '1h',
    tokenErrorsPerHour: 3,
    // Share of a path's daily quota (getApiQuota) used that warns, before
    // WeChat answers 45009 at 100%.
    quotaUsedRatio: 0.8,
    // Beijing hour after which yesterday's data not being released alerts.
    dataNotReleasedHour: 16,
    // Data older than this (days) is stale: daily, weekly, monthly APIs.
    staleDays: { daily: 3, weekly: 15, monthly: 63 },

    // Business alerts: a drop below this share of the same weekday last
    // week, when last week had at least this many users.
    visitorsDropRatio: 0.7,
    visitorsDropMinimum: 100,
    retentionDropRatio: 0.7,
    retentionDropMinimumCohort: 100,
    unfollowSpikeFactor: 3,
    unfollowSpikeMinimum: 20,
    // Feedback items in the last hour above this many times the hourly
    // average of the week before, and at least the minimum.
    feedbackSpikeFactor: 3,
    feedbackSpikeMinimum: 5,
    // JavaScript errors (getJsErrList): the newest release's most
    // widespread error reached more than this many times the share of
    // users the previous release's did, and at least the minimum share.
    jsErrorReleaseFactor: 2,
    jsErrorUserRatioMinimum: 0.01,
    // Official Account callbacks (WeChat calling the account's server):
    // yesterday's failed share, judged only with enough callbacks that a
    // few failures of a quiet account do not page...
    callbackFailureRatio: 0.05,
    callbackFailureMinimum: 20,
    // ...and nearly all callbacks failing in the last hours of yesterday
    // (Beijing): the server was unreachable when the day ended, so it
    // likely still is.
    callbacksFailingRatio: 0.9,
    callbacksFailingMinimum: 10,
    callbacksFailingHours: ['21', '22', '23'],
    // Publish analytics: yesterday's readers (final numbers only) below
    // this share of the average of the 7 days before, when that average is
    // at least the minimum.
    publishReadDropRatio: 0.5,
    publishReadDropMinimum: 100,
    // Mini Program performance: a launch stage of yesterday slower than
    // this factor of the same weekday a week earlier, and slower by at least
    // this many seconds (so 0.1 s -> 0.15 s does not alert).
    launchSlowerFactor: 1.3,
    launchSlowerMinimumSeconds: 0.2,

    // Dashboards.
    dashboardTags: ['wechat', 'wechat-exporter'],
    dashboardRefresh: '5m',
    // Grafana 10.4 / 11.x; newer Grafana migrates it on load.
    grafanaSchemaVersion: 39,
  },
}
