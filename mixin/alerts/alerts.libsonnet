// Alerting rules. Every alert carries
//   severity: critical | warning | info  (Alertmanager routes on it)
//   category: exporter | wechat-api | data | business
//             (inhibit rules use it: exporter down silences everything else)
// and the annotations summary, description and runbook_url (docs/runbook.md
// says what to do first).
//
// WeChat data is daily: yesterday's numbers appear after ~10:00 Beijing time
// (sometimes 15:00) and the exporter polls every ~30 minutes, so `for:`
// durations are long (an hour or more) except where a single event is the
// problem (quota, IP whitelist).
// The APIs released daily, written from the API catalogue.
local apis = import '../apis.libsonnet';

local withRunbook(cfg, rules) = [
  r { annotations+: { runbook_url: cfg.runbookURLPattern % std.asciiLower(r.alert) } }
  for r in rules
];

{
  prometheusAlerts+:: {
    local cfg = $._config,
    groups+: [
      {
        name: 'wechat-exporter.exporter',
        rules: withRunbook(cfg, [
          // Prometheus cannot scrape the exporter: every other WeChat alert
          // is blind while this fires (Alertmanager inhibits them).
          {
            alert: 'WechatExporterDown',
            expr: 'up{%(selector)s} == 0' % cfg,
            'for': cfg.exporterDownFor,
            labels: { severity: 'critical', category: 'exporter' },
            annotations: {
              summary: 'wechat-exporter {{ $labels.instance }} is down',
              description: 'Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for %(exporterDownFor)s. No WeChat analytics are being collected.' % cfg,
            },
          },
          // No target at all: service discovery or the scrape config lost
          // it, so `up == 0` cannot fire.
          {
            alert: 'WechatExporterAbsent',
            expr: 'absent(up{%(selector)s})' % cfg,
            'for': cfg.exporterAbsentFor,
            labels: { severity: 'warning', category: 'exporter' },
            annotations: {
              summary: 'No wechat-exporter target is being scraped',
              description: 'Prometheus has no target with %(selector)s for %(exporterAbsentFor)s.' % cfg,
            },
          },
        ]),
      },
      {
        name: 'wechat-exporter.wechat-api',
        rules: withRunbook(cfg, [
          // poll_success is 1 when the call worked OR WeChat said "not ready
          // yet" (61503 / empty list), so 0 is a real failure.
          {
            alert: 'WechatApiPollFailing',
            expr: 'wechat_exporter_poll_success{%(selector)s} == 0' % cfg,
            'for': cfg.pollFailingFor,
            labels: { severity: 'warning', category: 'wechat-api' },
            annotations: {
              summary: 'WeChat API {{ $labels.api }} failing for app {{ $labels.app }}',
              description: 'The last polls of {{ $labels.api }} for {{ $labels.app }} failed for over an hour; its metrics are not being updated.',
            },
          },
          // Every API of an app fails: usually credentials, IP whitelist or
          // quota.
          {
            alert: 'WechatAppAllPollsFailing',
            expr: 'max by (job, instance, app) (wechat_exporter_poll_success{%(selector)s}) == 0' % cfg,
            'for': cfg.pollFailingFor,
            labels: { severity: 'critical', category: 'wechat-api' },
            annotations: {
              summary: 'All WeChat API polls failing for app {{ $labels.app }}',
              description: 'Every API polled for {{ $labels.app }} on {{ $labels.instance }} has failed for over an hour: no data for this app.',
            },
          },
          // 40001/40014/42001: the exporter gets a new token once and
          // retries, so a few are harmless. Many mean something else keeps
          // invalidating the token (the legacy /cgi-bin/token endpoint, or
          // force_refresh from elsewhere).
          {
            alert: 'WechatTokenErrors',
            expr: |||
              sum by (job, instance, app) (
                app_api_errcode:wechat_exporter_api_request_errors:increase1h{errcode=~"40001|40014|42001"}
              ) > %(tokenErrorsPerHour)s
            ||| % cfg,
            'for': '30m',
            labels: { severity: 'warning', category: 'wechat-api' },
            annotations: {
              summary: 'Repeated access token errors for app {{ $labels.app }}',
              description: '{{ $value | humanize }} token errors (40001/40014/42001) for {{ $labels.app }} in the last hour.',
            },
          },
          // 45009: the daily call quota of this appid is used up; the
          // exporter stops calling this app until Beijing midnight.
          {
            alert: 'WechatApiQuotaExhausted',
            expr: |||
              sum by (job, instance, app) (
                app_api_errcode:wechat_exporter_api_request_errors:increase1h{errcode="45009"}
              ) > 0
            |||,
            labels: { severity: 'warning', category: 'wechat-api' },
            annotations: {
              summary: 'WeChat daily API quota exhausted for app {{ $labels.app }}',
              description: 'WeChat answered 45009 (daily quota reached) for {{ $labels.app }}; the exporter pauses this app until 00:00 Beijing time.',
            },
          },
          // Before 45009: a path has used most of its daily quota
          // (getApiQuota, asked hourly). Paths without a limit (0) never fire.
          {
            alert: 'WechatApiQuotaNearlyExhausted',
            expr: |||
              wechat_api_quota_used{%(selector)s}
                / (wechat_api_quota_daily_limit{%(selector)s} > 0)
              > %(quotaUsedRatio)g
            ||| % cfg,
            labels: { severity: 'warning', category: 'wechat-api' },
            annotations: {
              summary: 'App {{ $labels.app }} has used most of the daily quota of {{ $labels.path }}',
              description: '{{ $labels.app }} has used {{ $value | humanizePercentage }} of its daily quota of {{ $labels.path }} (over %(quotaUsedRatioPercent)s). At 100%%, WeChat answers 45009 (WechatApiQuotaExhausted) until 00:00 Beijing time.' % (cfg { quotaUsedRatioPercent: std.toString(cfg.quotaUsedRatio * 100) + '%' }),
            },
          },
          // 40164: the exporter's egress IP is not in the app's IP
          // whitelist. Nothing works until an admin adds it.
          {
            alert: 'WechatIpNotWhitelisted',
            expr: |||
              sum by (job, instance, app) (
                app_api_errcode:wechat_exporter_api_request_errors:increase1h{errcode="40164"}
              ) > 0
            |||,
            labels: { severity: 'critical', category: 'wechat-api' },
            annotations: {
              summary: 'Exporter IP not in the WeChat IP whitelist of app {{ $labels.app }}',
              description: 'WeChat rejected calls for {{ $labels.app }} with 40164 (invalid IP). The exporter log shows the IP WeChat saw.',
            },
          },
        ]),
      },
      {
        name: 'wechat-exporter.data',
        rules: withRunbook(cfg, [
          // Yesterday's data usually appears after 10:00 Beijing, sometimes
          // 15:00. PromQL hour() is UTC; Beijing is UTC+8 with no DST, so its
          // hour is (hour()+8)%24. Only daily APIs: weekly/monthly data is
          // released later and is covered by WechatDataStale. The per-article
          // (article_*) and performance (performance_*) APIs come with
          // issue #12's branches; a name not polled yet matches nothing.
          {
            alert: 'WechatDataNotReleased',
            expr: |||
              wechat_exporter_data_ready{%(selector)s, api=~"%(releasedDaily)s"} == 0
              and on () ((hour() + 8) %% 24 >= %(dataNotReleasedHour)s)
            ||| % (cfg { releasedDaily: std.join('|', apis.releasedDaily) }),
            'for': '30m',
            labels: { severity: 'warning', category: 'data' },
            annotations: {
              summary: "Yesterday's WeChat data for {{ $labels.app }}/{{ $labels.api }} not released yet",
              description: 'After %(dataNotReleasedHour)s:00 Beijing time WeChat still has not released yesterday\'s {{ $labels.api }} data for {{ $labels.app }} (usually ready after 10:00).' % cfg,
            },
          },
          // The data date is older than the normal cycle allows, whatever
          // the hour (a week's data is released on the following Monday).
          {
            alert: 'WechatDataStale',
            expr: |||
              app_api:wechat_data_age_seconds:now{api!~"weekly_.*|monthly_.*"} > %(daily)s * 86400
              or app_api:wechat_data_age_seconds:now{api=~"weekly_.*"} > %(weekly)s * 86400
              or app_api:wechat_data_age_seconds:now{api=~"monthly_.*"} > %(monthly)s * 86400
            ||| % cfg.staleDays,
            'for': '1h',
            labels: { severity: 'warning', category: 'data' },
            annotations: {
              summary: 'WeChat data for {{ $labels.app }}/{{ $labels.api }} is stale',
              description: 'The newest {{ $labels.api }} data of {{ $labels.app }} is {{ $value | humanizeDuration }} old.',
            },
          },
        ]),
      },
      {
        name: 'wechat-exporter.business',
        rules: withRunbook(cfg, [
          // Yesterday's visitors below the threshold share of the same
          // weekday a week earlier. Both data dates must be exactly 7 days
          // apart, and last week must have had enough visitors that small
          // apps do not page on noise. Last week's side is joined on app, so
          // a changed instance (pod restart, imported history) still counts.
          {
            alert: 'WechatMiniProgramVisitorsDropped',
            expr: |||
              (
                app:wechat_miniprogram_visitors_daily:ratio_7d < %(visitorsDropRatio)g
                and on (app)
                  max by (app) (wechat_miniprogram_visitors{%(selector)s, period="daily"} offset 7d) >= %(visitorsDropMinimum)s
              )
              and on (app)
                (
                  max by (app) (wechat_data_date_timestamp_seconds{%(selector)s, api="daily_visit_trend"})
                  - max by (app) (wechat_data_date_timestamp_seconds{%(selector)s, api="daily_visit_trend"} offset 7d)
                ) == 7 * 86400
            ||| % cfg,
            'for': '1h',
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: 'Mini Program {{ $labels.app }}: daily visitors down against last week',
              description: "Yesterday's visitors of {{ $labels.app }} are {{ $value | humanizePercentage }} of the same weekday last week.",
            },
          },
          // Day-1 and day-7 retention of new and active users below the
          // threshold share of the value a week earlier (same data-date
          // guard as above), matched on app/period/cohort/offset.
          {
            alert: 'WechatMiniProgramRetentionDropped',
            expr: |||
              (
                wechat_miniprogram_retention_ratio{%(selector)s, period="daily", offset=~"1|7"}
                < on (app, period, cohort, offset) group_left
                  %(retentionDropRatio)g * max by (app, period, cohort, offset) (wechat_miniprogram_retention_ratio{%(selector)s, period="daily", offset=~"1|7"} offset 7d)
              )
              and on (app, cohort)
                max by (app, cohort) (wechat_miniprogram_retained_users{%(selector)s, period="daily", offset="0"} offset 7d) >= %(retentionDropMinimumCohort)s
              and on (app)
                (
                  max by (app) (wechat_data_date_timestamp_seconds{%(selector)s, api="daily_retention"})
                  - max by (app) (wechat_data_date_timestamp_seconds{%(selector)s, api="daily_retention"} offset 7d)
                ) == 7 * 86400
            ||| % cfg,
            'for': '1h',
            labels: { severity: 'info', category: 'business' },
            annotations: {
              summary: 'Mini Program {{ $labels.app }}: day-{{ $labels.offset }} retention of {{ $labels.cohort }} users fell',
              description: 'Day-{{ $labels.offset }} retention of {{ $labels.cohort }} users of {{ $labels.app }} is {{ $value | humanizePercentage }}, below %d%% of its value a week ago.' % std.floor(cfg.retentionDropRatio * 100 + 0.5),
            },
          },
          // Yesterday's unfollows above a multiple of the previous 7 days'
          // average and at least a minimum (so 1 -> 4 does not alert). The
          // average is offset 1d so the spike is not in its own baseline.
          {
            alert: 'WechatOfficialAccountUnfollowSpike',
            expr: |||
              app:wechat_official_account_unfollowers:sum
                > %(unfollowSpikeFactor)s * avg_over_time(app:wechat_official_account_unfollowers:sum[7d] offset 1d)
              and app:wechat_official_account_unfollowers:sum >= %(unfollowSpikeMinimum)s
            ||| % cfg,
            'for': '30m',
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: 'Official Account {{ $labels.app }}: unfollow spike',
              description: '{{ $value }} unfollows yesterday for {{ $labels.app }}, more than %(unfollowSpikeFactor)sx the daily average of the week before.' % cfg,
            },
          },
          // Users complain in the feedback box (crashes, blank screens,
          // slow pages): a wave of it after a release is the news. The
          // counts only grow (asked hourly), so delta() over a window is
          // what arrived in it; the baseline is the week before this hour.
          {
            alert: 'WechatMiniProgramFeedbackSpike',
            expr: |||
              sum by (job, instance, app) (delta(wechat_miniprogram_feedback_items{%(selector)s}[1h]))
                > %(feedbackSpikeFactor)s * sum by (job, instance, app) (delta(wechat_miniprogram_feedback_items{%(selector)s}[7d] offset 1h)) / 168
              and sum by (job, instance, app) (delta(wechat_miniprogram_feedback_items{%(selector)s}[1h])) >= %(feedbackSpikeMinimum)s
            ||| % cfg,
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: 'Mini Program {{ $labels.app }}: feedback spike',
              description: '{{ $value | humanize }} feedback items in the last hour for {{ $labels.app }}, more than %(feedbackSpikeFactor)sx the hourly average of the week before. The Mini Program console lists them by type.' % cfg,
            },
          },
          // JavaScript errors by release (getJsErrList, hourly): the
          // newest release listed in js_error_versions (rank 0) against the
          // one before it (rank 1), by the share of users their most
          // widespread error reached, which does not grow with a release's
          // adoption as raw counts do. The minimum keeps the first minutes
          // of a Beijing day (a handful of errors) quiet; `for:` waits for
          // a second hourly answer.
          local newest(rank) =
            'max by (job, instance, app) (wechat_miniprogram_js_error_top_user_ratio{%(selector)s, day="today"} * on (job, instance, app, version) group_left () wechat_miniprogram_js_error_version_info{%(selector)s, rank="%(rank)d"})'
            % (cfg { rank: rank });
          {
            alert: 'WechatMiniProgramNewReleaseJsErrors',
            expr: |||
              %(newest)s
                > %(jsErrorReleaseFactor)g * %(previous)s
              and %(newest)s > %(jsErrorUserRatioMinimum)g
            ||| % (cfg { newest: newest(0), previous: newest(1) }),
            'for': '30m',
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: 'Mini Program {{ $labels.app }}: the newest release throws more JS errors than the previous one',
              description: '{{ $value | humanizePercentage }} of the users of the newest release of {{ $labels.app }} hit its most widespread JavaScript error today, more than %gx the share of the previous release. The Operations dashboard lists the top errors.' % cfg.jsErrorReleaseFactor,
            },
          },
          // Callbacks are WeChat calling the account's own server (user
          // messages, events); a failed one is a user left without an
          // answer. Yesterday's numbers stay the same all day, so `for:`
          // only rides out an exporter restart. A minimum of callbacks keeps
          // 1 failure in 3 of a quiet account from alerting.
          {
            alert: 'WechatOfficialAccountCallbackFailures',
            expr: |||
              (
                wechat_official_account_callback_failures{%(selector)s}
                / wechat_official_account_callbacks{%(selector)s}
              ) > %(callbackFailureRatio)g
              and wechat_official_account_callbacks{%(selector)s} >= %(callbackFailureMinimum)s
            ||| % cfg,
            'for': '30m',
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: "Official Account {{ $labels.app }}: WeChat's callbacks to the account's server failing",
              description: '{{ $value | humanizePercentage }} of the callbacks WeChat made to the server of {{ $labels.app }} yesterday failed (more than %g%%).' % (cfg.callbackFailureRatio * 100),
            },
          },
          // Nearly every callback of the last hours of yesterday failed: the
          // server was unreachable when the day ended and nothing says it is
          // back, so users' messages are probably going unanswered now.
          // Hours without callbacks are absent, so quiet nights do not count.
          {
            local hours = 'hour=~"%s"' % std.join('|', cfg.callbacksFailingHours),
            local sum(m) = 'sum by (job, instance, app) (wechat_official_account_%s{%s, %s})' % [m, cfg.selector, hours],
            alert: 'WechatOfficialAccountCallbacksFailing',
            expr: |||
              (
                %(failures)s
                / %(callbacks)s
              ) >= %(ratio)g
              and %(callbacks)s >= %(minimum)s
            ||| % {
              failures: sum('callback_failures_by_hour'),
              callbacks: sum('callbacks_by_hour'),
              ratio: cfg.callbacksFailingRatio,
              minimum: cfg.callbacksFailingMinimum,
            },
            'for': '15m',
            labels: { severity: 'critical', category: 'business' },
            annotations: {
              summary: "Official Account {{ $labels.app }}: WeChat cannot reach the account's server",
              description: '{{ $value | humanizePercentage }} of the callbacks WeChat made to the server of {{ $labels.app }} between %s:00 and 24:00 Beijing time yesterday failed: the server was unreachable at the end of the day and may still be.' % cfg.callbacksFailingHours[0],
            },
          },
          // Yesterday's readers of the published content far below the
          // average of the 7 days before. These are daily gauges: the value
          // shown 1d ago is the day before, so `[7d] offset 1d` averages the
          // 7 days before yesterday, each weighted by the time it was shown
          // (about a day). Only final numbers alert (`data_final`: WeChat
          // corrects the morning's provisional ones); the baseline keeps the
          // provisional mornings (imported history has no data_final, and
          // provisional numbers only make the baseline a little lower). The
          // baseline needs 7 days of history (a sample 7 days ago) and a
          // minimum level. Joined on app, as the other comparisons.
          {
            local avg = 'max by (app) (avg_over_time(wechat_official_account_publish_readers{%(selector)s}[7d] offset 1d))' % cfg,
            alert: 'WechatOfficialAccountReadersDropped',
            expr: |||
              (
                wechat_official_account_publish_readers{%(selector)s}
                / on (app) group_left
                  %(avg)s
              ) < %(publishReadDropRatio)g
              and on (job, instance, app) wechat_exporter_data_final{%(selector)s, api="publish_summary"} == 1
              and on (app) %(avg)s >= %(publishReadDropMinimum)s
              and on (app) max by (app) (wechat_official_account_publish_readers{%(selector)s} offset 7d)
            ||| % (cfg { avg: avg }),
            'for': '1h',
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: 'Official Account {{ $labels.app }}: readers of published content dropped',
              description: "Yesterday's readers of {{ $labels.app }} are {{ $value | humanizePercentage }} of the daily average of the 7 days before (final numbers).",
            },
          },
          // A launch stage (one `table` of module 10017) of yesterday slower
          // than the same weekday a week earlier, for the whole population
          // (a configured breakdown has its own series, left out: fewer
          // users, more noise). Same guards as the visitors drop: last week
          // joined on what identifies the value, data dates exactly 7 days
          // apart (before the release both sides are a day older).
          {
            local launch = 'wechat_miniprogram_performance_launch_seconds{%(selector)s, networktype="all", device_level="all", device="all"}' % cfg,
            local before = 'max by (app, table) (%s offset 7d)' % launch,
            alert: 'WechatMiniProgramLaunchSlower',
            expr: |||
              (
                %(launch)s
                / on (app, table) group_left
                  %(before)s
              ) > %(launchSlowerFactor)g
              and on (app, table)
                (max by (app, table) (%(launch)s) - %(before)s) >= %(launchSlowerMinimumSeconds)g
              and on (app)
                (
                  max by (app) (wechat_data_date_timestamp_seconds{%(selector)s, api="performance_launch"})
                  - max by (app) (wechat_data_date_timestamp_seconds{%(selector)s, api="performance_launch"} offset 7d)
                ) == 7 * 86400
            ||| % (cfg { launch: launch, before: before }),
            'for': '1h',
            labels: { severity: 'warning', category: 'business' },
            annotations: {
              summary: 'Mini Program {{ $labels.app }}: launch time ({{ $labels.table }}) slower than a week ago',
              description: "Yesterday's launch time ({{ $labels.table }}) of {{ $labels.app }} is {{ $value | humanize }}x the same weekday last week (whole population).",
            },
          },
        ]),
      },
    ],
  },
}
