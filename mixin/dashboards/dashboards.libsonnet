// The first five Grafana dashboards, by file name (the Official Account
// content and messages dashboards: official-account.libsonnet). Queries
// use only the exporter's own metrics (no recording rules), so they work as soon as
// Prometheus scrapes the exporter.
local g = import 'lib.libsonnet';
local sel = g.sel, selNoApp = g.selNoApp;

// Panels that compare two periods aggregate each side by what identifies an
// app's value (app, period): a changed instance (pod restart, new node,
// imported history) must not break the comparison.
local change(metric, period, offset) =
  'max by (app, period) (%(m)s{period="%(p)s", %(s)s}) / max by (app, period) (%(m)s{period="%(p)s", %(s)s} offset %(o)s) - 1'
  % { m: metric, p: period, s: sel, o: offset };

local history7d = 'Needs 7 days of Prometheus history: run Prometheus for a week, or import the history with `wechat-exporter backfill` (docs/backfill.md).';

local miniprogramOverview(cfg) =
  local byPeriod = 'Latest complete day (yesterday), natural week and natural month, Beijing time.';
  local changeSteps = [['red', null], ['orange', -0.1], ['green', 0]];
  g.dashboard(
    cfg,
    'wechat-mp-overview',
    'WeChat Mini Program / Overview',
    "Visitors, opens, visits, stay and depth of WeChat Mini Programs (wechat-exporter). Values are WeChat's daily/weekly/monthly analytics: 'daily' is yesterday (Beijing time), released by WeChat after ~10:00 Beijing.",
    'wechat_miniprogram_visitors',
    ['miniprogram'],
    [
      [g.stat('%s by period' % x[0], '%s %s' % [x[2], byPeriod], 'short', [['%s{%s}' % [x[1], sel], '{{app}} {{period}}']]), 6, 5]
      for x in [
        ['Visitors', 'wechat_miniprogram_visitors', 'Unique visitors (visit_uv). Weekly/monthly values are de-duplicated over the period, not sums of days.'],
        ['New visitors', 'wechat_miniprogram_new_visitors', 'First-time visitors (visit_uv_new).'],
        ['Opens', 'wechat_miniprogram_sessions', 'Times the mini program was opened (session_cnt).'],
        ['Visits', 'wechat_miniprogram_visits', 'Page visits (visit_pv).'],
      ]
    ] + [
      [g.stat('Day-over-day change (daily)',
              "Yesterday's visitors, new visitors, opens and visits against the day before. Computed from Prometheus history (offset 1d), so it needs a day of it (or a backfill); before ~10:00 Beijing both sides are one day older.",
              'percentunit',
              [[change(x[0], 'daily', '1d'), '{{app}} ' + x[1]]
               for x in [['wechat_miniprogram_visitors', 'visitors'], ['wechat_miniprogram_new_visitors', 'new visitors'],
                         ['wechat_miniprogram_sessions', 'opens'], ['wechat_miniprogram_visits', 'visits']]],
              steps=changeSteps, decimals=1), 12, 5],
      [g.stat('Week-over-week change',
              'Yesterday against the same weekday last week (daily, offset 7d), and the last complete week against the week before (weekly). ' + history7d,
              'percentunit',
              [[change(x[0], p, '7d'), '{{app}} %s (%s)' % [x[1], p]]
               for x in [['wechat_miniprogram_visitors', 'visitors'], ['wechat_miniprogram_sessions', 'opens']]
               for p in ['daily', 'weekly']],
              steps=changeSteps, decimals=1), 12, 5],
      [g.stat('Cumulative visitors', 'All visitors since the mini program started (visit_total of the daily summary).', 'short',
              [['wechat_miniprogram_cumulative_visitors{%s}' % sel, '{{app}}']]), 6, 5],
      [g.stat('Shares (yesterday)', 'Shares (share_pv) and users who shared (share_uv) yesterday.', 'short',
              [['wechat_miniprogram_shares{period="daily", %s}' % sel, '{{app}} shares'],
               ['wechat_miniprogram_sharers{period="daily", %s}' % sel, '{{app}} sharers']]), 6, 5],
      [g.stat('Stay per visitor', 'Average time a visitor spent (stay_time_uv). ' + byPeriod, 's',
              [['wechat_miniprogram_stay_per_visitor_seconds{%s}' % sel, '{{app}} {{period}}']], decimals=0), 6, 5],
      [g.stat('Stay per open', 'Average time per open (stay_time_session). ' + byPeriod, 's',
              [['wechat_miniprogram_stay_per_session_seconds{%s}' % sel, '{{app}} {{period}}']], decimals=0), 6, 5],
      'newline',
      [g.stat('Visit depth', 'Average pages per visit (visit_depth), in pages. ' + byPeriod, 'none',
              [['wechat_miniprogram_visit_depth_pages{%s}' % sel, '{{app}} {{period}}']], decimals=2), 6, 5],
      'newline',
      [g.timeseries('Daily visitors, new visitors, opens, visits',
                    "Yesterday's values as the exporter published them over time: each step is one day's data.",
                    'short',
                    [['wechat_miniprogram_visitors{period="daily", %s}' % sel, '{{app}} visitors'],
                     ['wechat_miniprogram_new_visitors{period="daily", %s}' % sel, '{{app}} new visitors'],
                     ['wechat_miniprogram_sessions{period="daily", %s}' % sel, '{{app}} opens'],
                     ['wechat_miniprogram_visits{period="daily", %s}' % sel, '{{app}} visits']]), 12, 9],
      [g.timeseries('Daily stay time', 'Average stay per visitor and per open of each day, over time.', 's',
                    [['wechat_miniprogram_stay_per_visitor_seconds{period="daily", %s}' % sel, '{{app}} per visitor'],
                     ['wechat_miniprogram_stay_per_session_seconds{period="daily", %s}' % sel, '{{app}} per open']]), 12, 9],
      [g.timeseries('Daily shares', 'Shares and sharers of each day, over time.', 'short',
                    [['wechat_miniprogram_shares{period="daily", %s}' % sel, '{{app}} shares'],
                     ['wechat_miniprogram_sharers{period="daily", %s}' % sel, '{{app}} sharers']]), 12, 8],
      [g.timeseries('Cumulative visitors over time', "visit_total of each day's summary.", 'short',
                    [['wechat_miniprogram_cumulative_visitors{%s}' % sel, '{{app}}']]), 12, 8],
      [g.timeseries('User feedback per hour, by type',
                    "Items users submitted in the feedback box in the hour before each point (getFeedback counts, asked hourly; the app must list `feedback` in its apis). WechatMiniProgramFeedbackSpike fires at %dx the week's hourly average." % cfg.feedbackSpikeFactor,
                    'short',
                    [['sum by (app, type_name) (delta(wechat_miniprogram_feedback_items{%s}[1h]))' % sel, '{{app}} {{type_name}}']]), 12, 8],
    ],
  );

local retention(cfg) =
  local steps = [['red', null], ['orange', 0.1], ['green', 0.3]];
  local offsets = [
    ['daily', [1, 2, 3, 4, 5, 6, 7, 14, 30], 'day', 12, 9],
    ['weekly', [1, 2, 3, 4], 'week', 12, 6],
    ['monthly', [1], 'month', 12, 4],
  ];
  g.dashboard(
    cfg,
    'wechat-mp-retention',
    'WeChat Mini Program / Retention',
    'Share of a cohort (new or active users of a day, week or month) that came back N periods later (wechat_miniprogram_retention_ratio, computed by the exporter within one cohort). Each offset comes from the most recent cohort that reached it: day-7 is the cohort of 8 days ago.',
    'wechat_miniprogram_retention_ratio',
    ['miniprogram'],
    [
      [g.bargauge('%s retention: %s' % [std.asciiUpper(o[0][0]) + o[0][1:], c[1]],
                  'Share of the %s of a %s still visiting %s 1..N later (retention ratio, %s; offsets %s).'
                  % [c[1], o[2], o[2], o[0], std.join(', ', [std.toString(k) for k in o[1]])],
                  'percentunit',
                  [['wechat_miniprogram_retention_ratio{period="%s", cohort="%s", offset="%d", %s}' % [o[0], c[0], k, sel],
                    '{{app}} %s %d' % [o[2], k]] for k in o[1]],
                  steps=steps, decimals=1, min=0, max=1), o[3], o[4]]
      for o in offsets
      for c in [['new', 'new users'], ['active', 'active users']]
    ] + [
      [g.timeseries('Day-1 and day-7 retention over time',
                    'Daily retention at offsets 1 and 7 for new and active users, as published each day.',
                    'percentunit',
                    [['wechat_miniprogram_retention_ratio{period="daily", offset=~"1|7", %s}' % sel, '{{app}} {{cohort}} day {{offset}}']],
                    min=0), 16, 9],
      [g.stat('Cohort sizes', 'Users in the latest cohort of each period (retention key 0: new users = visit_uv_new, active users = visit_uv).', 'short',
              [['wechat_miniprogram_retained_users{offset="0", %s}' % sel, '{{app}} {{period}} {{cohort}}']]), 8, 9],
    ],
    timeFrom='now-30d',
  );

local traffic(cfg) =
  local dist = 'wechat_miniprogram_visit_distribution';
  local top = 'topk(20, sum by (page) (wechat_miniprogram_page_visits{%s}))' % sel;
  local cols = [
    ['Visitors', 'wechat_miniprogram_page_visitors'],
    ['Entries', 'wechat_miniprogram_page_entries'],
    ['Exits', 'wechat_miniprogram_page_exits'],
    ['Shares', 'wechat_miniprogram_page_shares'],
    ['Sharers', 'wechat_miniprogram_page_sharers'],
  ];
  g.dashboard(
    cfg,
    'wechat-mp-traffic',
    'WeChat Mini Program / Traffic',
    "Where yesterday's visits came from (entry scenes), how long and how deep they went, and the top pages (wechat-exporter visit distribution and visit page APIs). Apps selected together are summed.",
    'wechat_miniprogram_page_visits',
    ['miniprogram'],
    [
      [g.bargauge('Opens by entry scene (yesterday)',
                  "Opens (sessions) of yesterday by entry scene (access_source_session_cnt). Names from WeChat's scene table; unknown scenes show their number.", 'short',
                  [['sort_desc(sum by (key_name) (%s{index="access_source_session_cnt", %s}))' % [dist, sel], '{{key_name}}']]), 8, 12],
      [g.bargauge('Visits by stay time (yesterday)',
                  'Visits of yesterday by how long they lasted (access_staytime_info buckets).', 'short',
                  [['sum by (key, key_name) (%s{index="access_staytime_info", %s})' % [dist, sel], '{{key_name}}']]), 8, 12],
      [g.bargauge('Visits by depth (yesterday)',
                  'Visits of yesterday by number of pages seen (access_depth_info buckets).', 'short',
                  [['sum by (key, key_name) (%s{index="access_depth_info", %s})' % [dist, sel], '{{key_name}}']]), 8, 12],
      [g.table('Top pages (yesterday)',
               'The 20 pages with the most visits yesterday: visits, visitors, visits that entered (entries) or left (exits) at the page, shares and sharers, and average stay per visit. WeChat reports the top 200 pages.',
               'short',
               [top] + ['sum by (page) (%s{%s}) and on (page) %s' % [c[1], sel, top] for c in cols]
               + ['avg by (page) (wechat_miniprogram_page_stay_per_visit_seconds{%s}) and on (page) %s' % [sel, top]],
               ['Visits'] + [c[0] for c in cols] + ['Stay per visit'],
               { 'Stay per visit': 's' }), 24, 12],
      [g.timeseries('Opens by entry scene over time', 'Daily opens per entry scene, as published each day; top 10 scenes.', 'short',
                    [['topk(10, sum by (key_name) (%s{index="access_source_session_cnt", %s}))' % [dist, sel], '{{key_name}}']]), 12, 9],
      [g.timeseries('Top 10 pages: visits over time', 'Daily visits of the 10 most visited pages.', 'short',
                    [['topk(10, sum by (page) (wechat_miniprogram_page_visits{%s}))' % sel, '{{page}}']]), 12, 9],
    ],
  );

local officialAccount(cfg) =
  local new = 'sum by (app) (wechat_official_account_new_followers{%s})' % sel;
  local gone = 'sum by (app) (wechat_official_account_unfollowers{%s})' % sel;
  local followers = 'max by (app) (wechat_official_account_followers{%s}' % sel;
  g.dashboard(
    cfg,
    'wechat-oa-overview',
    'WeChat Official Account / Followers',
    "Followers, follows and unfollows by source of WeChat Official Accounts (wechat-exporter user analysis). Values are yesterday's (Beijing time), released by WeChat during the morning.",
    'wechat_official_account_followers',
    ['official-account'],
    [
      [g.stat('Followers', 'Total followers at the end of yesterday (cumulate_user).', 'short',
              [['wechat_official_account_followers{%s}' % sel, '{{app}}']], graph=true), 6, 6],
      [g.stat('Net growth (yesterday)', 'New follows minus unfollows of yesterday, all sources.', 'short',
              [[new + ' - ' + gone, '{{app}}']], steps=[['red', null], ['green', 0]]), 6, 6],
      [g.stat('New follows (yesterday)', 'Follows of yesterday, all sources (new_user).', 'short', [[new, '{{app}}']]), 6, 6],
      [g.stat('Unfollows (yesterday)', 'Unfollows of yesterday, all sources (cancel_user).', 'short',
              [[gone, '{{app}}']], steps=[['green', null], ['orange', 50]]), 6, 6],
      [g.bargauge('New follows by source (yesterday)',
                  "Where yesterday's followers came from (user_source; unknown codes show as numbers).", 'short',
                  [['sort_desc(sum by (source_name) (wechat_official_account_new_followers{%s}))' % sel, '{{source_name}}']]), 12, 10],
      [g.bargauge('Unfollows by source (yesterday)',
                  "Yesterday's unfollows by the source the user had followed from.", 'short',
                  [['sort_desc(sum by (source_name) (wechat_official_account_unfollowers{%s}))' % sel, '{{source_name}}']],
                  steps=[['orange', null]]), 12, 10],
      [g.timeseries('Followers over time', 'Total followers, as published each day.', 'short',
                    [['wechat_official_account_followers{%s}' % sel, '{{app}}']]), 12, 9],
      [g.timeseries('Follows, unfollows and net growth per day',
                    "Each day's follows, unfollows and net growth (follows - unfollows).", 'short',
                    [[new, '{{app}} follows'], [gone, '{{app}} unfollows'], [new + ' - ' + gone, '{{app}} net']]), 12, 9],
      [g.stat('Followers change vs last week',
              'Followers now minus followers 7 days ago, per app. ' + history7d, 'short',
              [[followers + ') - ' + followers + ' offset 7d)', '{{app}}']],
              steps=[['red', null], ['green', 0]]), 12, 5],
    ],
    timeFrom='now-30d',
  );

local exporterHealth(cfg) =
  local req = 'wechat_exporter_api_requests_total';
  local err = 'wechat_exporter_api_request_errors_total';
  g.dashboard(
    cfg,
    'wechat-exporter-health',
    'WeChat Exporter / Health',
    "Is wechat-exporter scraped, are its WeChat API calls working, and how fresh is the data. Errors by errcode: 45009 quota, 40164 IP whitelist, 40001/40014/42001 token, -1 busy, 61503 not ready (normal before ~10:00 Beijing).",
    'wechat_exporter_poll_success',
    ['exporter'],
    [
      [g.stat('Exporter up', "Prometheus' up for the exporter targets (1 = scraped).", 'none',
              [['up{%s}' % selNoApp, '{{instance}}']], mappings=g.stateMapping('UP', 'DOWN'),
              steps=[['red', null], ['green', 1]]), 6, 5],
      [g.stat('Version', 'Exporter build (wechat_exporter_build_info).', 'none',
              [['wechat_exporter_build_info{%s}' % selNoApp, '{{version}} ({{revision}})']], colorMode='fixed'), 6, 5],
      [g.stat('API calls (range)', 'WeChat API calls in the selected time range, token calls included.', 'short',
              [['sum by (app) (increase(%s{%s}[$__range]))' % [req, sel], '{{app}}']], decimals=0), 6, 5],
      [g.stat('API errors (range)', "Failed WeChat API calls in the selected time range (61503 'not ready' included).", 'short',
              [['sum by (app) (increase(%s{%s}[$__range]))' % [err, sel], '{{app}}']],
              steps=[['green', null], ['orange', 1]], decimals=0), 6, 5],
      [g.timeseries('API calls', 'Rate of WeChat API calls by app and api.', 'reqps',
                    [['sum by (app, api) (rate(%s{%s}[$__rate_interval]))' % [req, sel], '{{app}} {{api}}']]), 12, 8],
      [g.timeseries('API errors by errcode', "Rate of failed WeChat API calls by errcode (WeChat's code, or http/timeout/decode).", 'reqps',
                    [['sum by (app, errcode) (rate(%s{%s}[$__rate_interval]))' % [err, sel], '{{app}} {{errcode}}']]), 12, 8],
      [g.bargauge('Errors by errcode (range)', 'Failed calls in the selected range by app and errcode.', 'short',
                  [['sort_desc(sum by (app, errcode) (increase(%s{%s}[$__range])))' % [err, sel], '{{app}} {{errcode}}']],
                  steps=[['green', null], ['orange', 1]], decimals=0), 12, 8],
      [g.bargauge('API quota used',
                  "Share of each path's daily quota the app has used today (getApiQuota, asked hourly; every caller of the appid counts). WeChat answers 45009 at 100%% until 00:00 Beijing; WechatApiQuotaNearlyExhausted warns above %d%%." % (cfg.quotaUsedRatio * 100),
                  'percentunit', [['sort_desc(max by (app, path) (wechat_api_quota_used{%s} / (wechat_api_quota_daily_limit{%s} > 0)))' % [sel, sel], '{{app}} {{path}}']],
                  steps=[['green', null], ['orange', cfg.quotaUsedRatio], ['red', 0.95]]), 12, 8],
      [g.bargauge('Data age by API',
                  'Now minus the Beijing midnight that starts the day/week/month of the published data. Daily APIs: 1-2 days is normal (up to 2d 16h before a late release); weekly up to 14 days, monthly up to 62.',
                  's', [['time() - wechat_data_date_timestamp_seconds{%s}' % sel, '{{app}} {{api}}']],
                  steps=[['green', null], ['orange', 2 * 86400 + 16 * 3600], ['red', 3 * 86400]]), 12, 8],
      [g.stat('Poll success', 'Whether the last poll of an API succeeded (or WeChat said data is not ready yet); FAILED if it failed.', 'none',
              [['wechat_exporter_poll_success{%s}' % sel, '{{app}} {{api}}']],
              mappings=g.stateMapping('OK', 'FAILED'), steps=[['red', null], ['green', 1]]), 12, 8],
      [g.stat('Data ready', "READY once the latest period's data has been fetched; WAITING while WeChat has not released it (normal before ~10:00 Beijing, sometimes until 15:00).", 'none',
              [['wechat_exporter_data_ready{%s}' % sel, '{{app}} {{api}}']],
              mappings=g.stateMapping('READY', 'WAITING'), steps=[['orange', null], ['green', 1]]), 12, 8],
      [g.bargauge('Time since last successful call', 'Now minus the last time each API answered with data.', 's',
                  [['time() - wechat_exporter_last_success_timestamp_seconds{%s}' % sel, '{{app}} {{api}}']],
                  steps=[['green', null], ['orange', 86400], ['red', 2 * 86400]]), 12, 8],
      [g.timeseries('Token refreshes', 'Rate of access tokens obtained. Steady ~1 per ~2h is normal; more means tokens are being invalidated (see 40001 errors).', 'reqps',
                    [['sum by (app) (rate(wechat_exporter_token_refreshes_total{%s}[$__rate_interval]))' % sel, '{{app}}']]), 12, 8],
      [g.stat('Token refreshes (range)', 'Access tokens obtained in the selected time range.', 'short',
              [['sum by (app) (increase(wechat_exporter_token_refreshes_total{%s}[$__range]))' % sel, '{{app}}']], decimals=0), 12, 8],
      [g.bargauge('API latency p95 (range)', '95th percentile of WeChat API call latency over the selected range, by api.', 's',
                  [['histogram_quantile(0.95, sum by (le, api) (increase(wechat_exporter_api_request_duration_seconds_bucket{%s}[$__range])))' % selNoApp, '{{api}}']],
                  steps=[['green', null], ['orange', 2], ['red', 5]]), 12, 10],
    ],
    timeFrom='now-24h',
  );

{
  grafanaDashboards+:: {
    'wechat-miniprogram-overview.json': miniprogramOverview($._config),
    'wechat-miniprogram-retention.json': retention($._config),
    'wechat-miniprogram-traffic.json': traffic($._config),
    'wechat-official-account.json': officialAccount($._config),
    'wechat-exporter-health.json': exporterHealth($._config),
  },
}
