// The "Operations" dashboard of issue #23: what a team looks at after a
// release and when paged: JavaScript errors by release and the top error
// messages (getJsErrList), user feedback (getFeedback), the daily API
// quota (getApiQuota), and launch times as the operations centre reports
// them (getPerformance). All are opt-in per app (docs/metrics.md), so an
// app without them shows no series here.
local g = import 'lib.libsonnet';
local sel = g.sel;

local optIn = 'Shows apps whose exporter config turns the API on (docs/configuration.md).';
local today = 'Today so far (Beijing time): the numbers grow until 00:00 Beijing and start again from 0.';
// The release of a given rank (0 the newest) as listed in js_error_versions.
local ofRank(metric, rank) =
  'max by (app) (%s{day="today", %s} * on (job, instance, app, version) group_left () wechat_miniprogram_js_error_version_info{rank="%d", %s})' % [metric, sel, rank, sel];
// Each day's top errors (today so far, yesterday whole): just after
// midnight today's list is empty, yesterday's is what a team reads then.
local message(metric) =
  'max by (app, day, digest, message) (wechat_miniprogram_js_error_message_info{%s} * on (job, instance, app, digest, day) group_left () %s{%s})' % [sel, metric, sel];

local operations(cfg) =
  g.dashboard(
    cfg,
    'wechat-operations',
    'WeChat / Operations',
    'What pages a Mini Program team after a release: JavaScript errors by release and their most frequent messages (getJsErrList), user feedback by type (getFeedback), how much of each API path\'s daily quota is used (getApiQuota), and launch times as the operations centre reports them (getPerformance). Asked by wechat-exporter hourly (launch times daily); each is opt-in per app.',
    'wechat_exporter_poll_success',
    ['operations'],
    [
      [g.stat('JS errors today', 'JavaScript errors thrown today in every release (sum of pv of the 30 most frequent errors, getJsErrList). ' + today + ' ' + optIn, 'short',
              [['max by (app) (wechat_miniprogram_js_errors{version="all", day="today", %s})' % sel, '{{app}}']], decimals=0), 6, 5],
      [g.stat('Distinct JS errors today', 'How many different errors every release threw today (totalCount). ' + today, 'short',
              [['max by (app) (wechat_miniprogram_js_error_kinds{version="all", day="today", %s})' % sel, '{{app}}']], decimals=0), 6, 5],
      [g.stat('Newest release: users hit by its top error',
              'Share of users the most widespread error of the newest release in js_error_versions reached today (uvPercent). WechatMiniProgramNewReleaseJsErrors fires above %gx the previous release and %g%%.' % [cfg.jsErrorReleaseFactor, cfg.jsErrorUserRatioMinimum * 100],
              'percentunit', [[ofRank('wechat_miniprogram_js_error_top_user_ratio', 0), '{{app}}']],
              steps=[['green', null], ['orange', cfg.jsErrorUserRatioMinimum], ['red', 0.05]], decimals=2), 6, 5],
      [g.stat('Previous release: users hit by its top error',
              'The same share for the release listed second in js_error_versions: what the newest one is compared with.',
              'percentunit', [[ofRank('wechat_miniprogram_js_error_top_user_ratio', 1), '{{app}}']],
              steps=[['green', null], ['orange', cfg.jsErrorUserRatioMinimum], ['red', 0.05]], decimals=2), 6, 5],
      [g.timeseries('JS errors by release (today so far)',
                    'Errors thrown today per release (`all`: every release), as the hourly answers grew. ' + today,
                    'short', [['max by (app, version) (wechat_miniprogram_js_errors{day="today", %s})' % sel, '{{app}} {{version}}']], min=0), 12, 8],
      [g.timeseries("Users hit by a release's top error",
                    'Per release, the largest share of its users one error reached today: comparable between releases whatever their number of users.',
                    'percentunit', [['max by (app, version) (wechat_miniprogram_js_error_top_user_ratio{day="today", %s})' % sel, '{{app}} {{version}}']], min=0), 12, 8],
      [g.bargauge('JS errors yesterday, by release',
                  "Yesterday's whole Beijing day per release (`all`: every release), asked once at the day's first poll: the number a daily report quotes.",
                  'short', [['sort_desc(max by (app, version) (wechat_miniprogram_js_errors{day="yesterday", %s}))' % sel, '{{app}} {{version}}']], decimals=0), 12, 8],
      [g.bargauge("Users hit by a release's top error, yesterday",
                  "Yesterday's share per release, the whole day.",
                  'percentunit', [['sort_desc(max by (app, version) (wechat_miniprogram_js_error_top_user_ratio{day="yesterday", %s}))' % sel, '{{app}} {{version}}']],
                  steps=[['green', null], ['orange', cfg.jsErrorUserRatioMinimum], ['red', 0.05]], decimals=2), 12, 8],
      [g.table('Top JS errors, today and yesterday',
               'The 10 most frequent errors of every release each day (day: today so far, or yesterday whole): times thrown and users hit, by message (first line; WeChat\'s errorMsgMd5 is the digest). Stacks are in the Mini Program console (运维中心 > 错误查询).',
               'short', [message('wechat_miniprogram_js_error_message_occurrences'), message('wechat_miniprogram_js_error_message_users')],
               ['Times', 'Users']), 24, 10],
      [g.timeseries('User feedback per hour, by type',
                    "Items users submitted in the feedback box in the hour before each point (getFeedback counts, asked hourly). WechatMiniProgramFeedbackSpike fires at %dx the week's hourly average. %s" % [cfg.feedbackSpikeFactor, optIn],
                    'short', [['sum by (app, type_name) (delta(wechat_miniprogram_feedback_items{%s}[1h]))' % sel, '{{app}} {{type_name}}']], min=0), 12, 8],
      [g.bargauge('Feedback in the last day, by type',
                  'Items submitted in the 24 hours before now, by type.',
                  'short', [['sort_desc(sum by (app, type_name) (delta(wechat_miniprogram_feedback_items{%s}[1d])))' % sel, '{{app}} {{type_name}}']], decimals=0), 12, 8],
      [g.bargauge('API quota used today',
                  "Share of each path's daily quota the app has used today (getApiQuota; every caller of the appid counts). WeChat answers 45009 at 100%% until 00:00 Beijing; WechatApiQuotaNearlyExhausted warns above %d%%." % (cfg.quotaUsedRatio * 100),
                  'percentunit', [['topk(15, max by (app, path) (wechat_api_quota_used{%s} / (wechat_api_quota_daily_limit{%s} > 0)))' % [sel, sel], '{{app}} {{path}}']],
                  steps=[['green', null], ['orange', cfg.quotaUsedRatio], ['red', 0.95]], min=0, max=1), 12, 10],
      [g.timeseries('API quota used over the day',
                    'Calls of each path today against its daily limit, hourly: the slope says when a path would reach its limit. The 10 paths nearest to it.',
                    'percentunit', [['topk(10, max by (app, path) (wechat_api_quota_used{%s} / (wechat_api_quota_daily_limit{%s} > 0)))' % [sel, sel], '{{app}} {{path}}']], min=0), 12, 10],
      [g.bargauge('Launch, download, first render (yesterday)',
                  "Yesterday's launch total, code package download and first render times as the operations centre (运维中心) reports them (getPerformance cost_time, asked once a day). The same numbers as the Performance dashboard's launch stages (getPerformanceData module 10017), from another API: a difference between the two says one of them changed. " + optIn,
                  's', [['max by (app, kind) (wechat_miniprogram_ops_performance_seconds{%s})' % sel, '{{app}} {{kind}}']], min=0), 12, 8],
      [g.timeseries('Launch, download, first render per day',
                    'Each day\'s operations-centre times as published over time (one step a day).',
                    's', [['max by (app, kind) (wechat_miniprogram_ops_performance_seconds{%s})' % sel, '{{app}} {{kind}}']], min=0), 12, 8],
    ],
    timeFrom='now-2d',
  );

{
  grafanaDashboards+:: {
    'wechat-operations.json': operations($._config),
  },
}
