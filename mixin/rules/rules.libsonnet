// Recording rules for the dashboards and alerts.
//
// The exporter publishes WeChat's numbers as gauges that change about once
// a day (yesterday's data, released after ~10:00 Beijing time), so these
// rules only need the default evaluation interval; they give dashboards and
// alerts one name for a computation used in several places.
{
  prometheusRules+:: {
    groups+: [
      {
        name: 'wechat-exporter.recording',
        rules: [
          // Official Account: totals over all follow sources, and the net
          // growth of yesterday. Summed per app, keeping job/instance so two
          // exporters with the same app name do not collide.
          {
            record: 'app:wechat_official_account_new_followers:sum',
            expr: 'sum without (source, source_name) (wechat_official_account_new_followers{%(selector)s})' % $._config,
          },
          {
            record: 'app:wechat_official_account_unfollowers:sum',
            expr: 'sum without (source, source_name) (wechat_official_account_unfollowers{%(selector)s})' % $._config,
          },
          {
            record: 'app:wechat_official_account_net_followers:sum',
            expr: |||
              app:wechat_official_account_new_followers:sum
              - app:wechat_official_account_unfollowers:sum
            |||,
          },
          // Mini Program: yesterday's visitors against the day before and the
          // same weekday a week earlier. The earlier side is matched on what
          // identifies the app (app, period), not on instance, so a restarted
          // pod or imported history with another instance still compares.
          // The alert also checks that the data dates are exactly 7 days
          // apart: before ~10:00 Beijing the gauge still holds the day before
          // yesterday.
          {
            record: 'app:wechat_miniprogram_visitors_daily:ratio_1d',
            expr: |||
              wechat_miniprogram_visitors{%(selector)s, period="daily"}
              / on (app, period) group_left
                max by (app, period) (wechat_miniprogram_visitors{%(selector)s, period="daily"} offset 1d)
            ||| % $._config,
          },
          {
            record: 'app:wechat_miniprogram_visitors_daily:ratio_7d',
            expr: |||
              wechat_miniprogram_visitors{%(selector)s, period="daily"}
              / on (app, period) group_left
                max by (app, period) (wechat_miniprogram_visitors{%(selector)s, period="daily"} offset 7d)
            ||| % $._config,
          },
          // Age of the published data: now minus the Beijing midnight that
          // starts its day/week/month; 1-2 days for daily APIs when all is
          // well (2d+10h just before the usual release hour).
          {
            record: 'app_api:wechat_data_age_seconds:now',
            expr: 'time() - wechat_data_date_timestamp_seconds{%(selector)s}' % $._config,
          },
          // Errors per (app, api, errcode) over the last hour. increase()
          // cannot see the first error of a series that error creates (no
          // earlier sample), so a series that did not exist an hour ago and
          // is already above zero counts with its whole value.
          {
            record: 'app_api_errcode:wechat_exporter_api_request_errors:increase1h',
            expr: |||
              increase(wechat_exporter_api_request_errors_total{%(selector)s}[1h]) > 0
              or
              (
                wechat_exporter_api_request_errors_total{%(selector)s} > 0
                unless wechat_exporter_api_request_errors_total{%(selector)s} offset 1h
              )
            ||| % $._config,
          },
        ],
      },
    ],
  },
}
