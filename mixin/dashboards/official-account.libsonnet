// The Official Account dashboards of issue #12: what readers do with the
// published content ("Content"), and what users send the account and
// whether WeChat reaches its server ("Messages and callbacks"). Every value
// is WeChat's number for yesterday (Beijing time) or for the latest week or
// month, so panels show the latest value and its history, step by step.
local g = import 'lib.libsonnet';
local sel = g.sel;

local history7d = 'Needs 7 days of Prometheus history: run Prometheus for a week, or import the history with `wechat-exporter backfill` (docs/backfill.md).';

// The five totals of getbizsummary: [metric suffix, name, WeChat field].
local publish = [
  ['readers', 'Readers', 'read_user'],
  ['sharers', 'Sharers', 'share_user'],
  ['likes', 'Likes', 'like_user (thumbs-up)'],
  ['hearts', 'Hearts (在看)', 'zaikan_user'],
  ['comments', 'Comments', 'comment_count'],
];
local pub(m) = 'wechat_official_account_publish_%s{%s}' % [m, sel];
local final = 'wechat_exporter_data_final{api="publish_summary", %s}' % sel;

// A publish total split into two series by whether WeChat said it is final
// (label `state`): the morning's provisional numbers (is_delay) and the
// settled ones show as separate lines.
local byState(m) =
  'label_replace(%(v)s and on (job, instance, app) (%(f)s == 1), "state", "final", "", "")'
  % { v: pub(m), f: final }
  + ' or label_replace(%(v)s and on (job, instance, app) (%(f)s == 0), "state", "provisional", "", "")'
    % { v: pub(m), f: final };

// Per article: series keyed by (app, msgid); titles live on
// wechat_official_account_article_info (a title edit must not start new
// series of every per-article family), joined in here. `max by (app, msgid)`
// keeps one value per article whatever instance scraped it.
local art(m) = 'max by (app, msgid) (wechat_official_account_article_%s{%s})' % [m, sel];
// One title per article even while an edited title and the old one are both
// within the lookback (two info series for one msgid would break the join).
local info = 'topk by (app, msgid) (1, max by (app, msgid, title, published) (wechat_official_account_article_info{%s}))' % sel;
// The title (and publication day) joined from the info series; an article
// without one (older than the 20 newest publications, or a mass send, which
// the free-publish list does not hold) shows its msgid as title.
local titled(e) =
  '(%(e)s) * on (app, msgid) group_left (title, published) %(i)s or label_replace((%(e)s) unless on (app, msgid) %(i)s, "title", "$1", "msgid", "(.*)")'
  % { e: e, i: info };
local topReaders(n) = 'topk(%d, %s)' % [n, art('readers')];
local topTotals = 'topk(20, %s)' % art('cumulative_readers');
local articleNote = 'Each per-article API publishes the top article_limit articles of an app (default 20).';

local articlePanels = [
  [g.table('Top articles by readers (yesterday)',
           "The 20 articles most read yesterday, all apps selected: readers and sharers of yesterday (getarticleread, getarticleshare) and readers since publication. Titles come from the newest 20 publications (freepublish); other articles show their msgid (<msg_data_id>_<index>). " + articleNote,
           'short',
           [titled(topReaders(20)),
            titled('%s and on (app, msgid) %s' % [art('sharers'), topReaders(20)]),
            titled('%s and on (app, msgid) %s' % [art('cumulative_readers'), topReaders(20)])],
           ['Readers', 'Sharers', 'Readers since publication']), 12, 12],
  [g.bargauge('Readers by source (yesterday)',
              "Where yesterday's readers of the top articles came from (read_user_source): the account's messages, its profile page, chats, Moments, recommendations, search, other. Apps selected together are summed.",
              'short',
              [['sort_desc(sum by (source) (wechat_official_account_article_readers_by_source{%s}))' % sel, '{{source}}']]), 6, 12],
  [g.stat('Article data',
          "FINAL once WeChat says yesterday's per-article numbers will not change; PROVISIONAL while they still may (is_delay; asked again every hour).",
          'none', [['wechat_exporter_data_final{api=~"article_reads|article_shares|article_totals", %s}' % sel, '{{app}} {{api}}']],
          mappings=g.stateMapping('FINAL', 'PROVISIONAL'), steps=[['orange', null], ['green', 1]]), 6, 12],
  [g.table('Articles of the last 30 days (since publication)',
           'Articles published in the last 30 days, the 20 with the most readers since publication (getarticletotaldetail up to yesterday): readers, sharers, likes, hearts (在看), comments, saves, the share of readers who read to the end, and readers per user the article was delivered to (read_delivery_rate). ' + articleNote,
           'short',
           [titled(topTotals)]
           + [titled('%s and on (app, msgid) %s' % [art('cumulative_' + m), topTotals])
              for m in ['sharers', 'likes', 'hearts', 'comments', 'collections', 'read_finish_ratio', 'read_delivery_ratio']],
           ['Readers', 'Sharers', 'Likes', 'Hearts', 'Comments', 'Saves', 'Read to the end', 'Read / delivered'],
           { 'Read to the end': 'percentunit', 'Read / delivered': 'percentunit' }), 24, 12],
  [g.timeseries('Top 10 articles: readers per day',
                "Yesterday's readers of the 10 most read articles, as published each day.",
                'short', [[titled(topReaders(10)), '{{title}}']]), 12, 9],
  [g.timeseries('Article readers by source per day',
                "Each day's readers of the top articles by where they came from, stacked.",
                'short', [['sum by (app, source) (wechat_official_account_article_readers_by_source{%s})' % sel, '{{app}} {{source}}']],
                stack=true), 12, 9],
];

local content(cfg) =
  g.dashboard(
    cfg,
    'wechat-oa-content',
    'WeChat Official Account / Content',
    "What readers did with the content of WeChat Official Accounts (wechat-exporter, getbizsummary, WeChat's 2025 publish analytics): readers, sharers, likes, hearts (在看) and comments of yesterday (Beijing time), and per article (getarticleread, getarticleshare, getarticletotaldetail, titles from the free-publish list): the most read articles, where their readers came from, and the articles of the last 30 days since publication. WeChat may still correct yesterday's numbers during the morning (is_delay): they are shown at once and marked provisional until final.",
    'wechat_official_account_publish_readers',
    ['official-account'],
    [
      [g.stat('%s (yesterday)' % p[1], '%s of the account\'s published content yesterday (getbizsummary %s). Provisional until "Publish data" says final.' % [p[1], p[2]],
              'short', [[pub(p[0]), '{{app}}']], graph=true), 4, 5]
      for p in publish
    ] + [
      [g.stat('Publish data',
              "FINAL once WeChat says yesterday's publish numbers will not change; PROVISIONAL while it still may (is_delay: the exporter asks again every hour until final).",
              'none', [[final, '{{app}}']],
              mappings=g.stateMapping('FINAL', 'PROVISIONAL'), steps=[['orange', null], ['green', 1]]), 4, 5],
      [g.stat('Readers against the week before',
              "Yesterday's readers against the average of the 7 days before (the same baseline as the WechatOfficialAccountReadersDropped alert). Days without a new article read less. " + history7d,
              'percentunit',
              [['max by (app) (%s) / max by (app) (avg_over_time(%s[7d] offset 1d)) - 1' % [pub('readers'), pub('readers')], '{{app}}']],
              steps=[['red', null], ['orange', -0.3], ['green', 0]], decimals=1), 8, 5],
      [g.stat('Engagement (yesterday)',
              "Sharers, likes, hearts and comments per reader of yesterday: how much of the audience acted on what it read.",
              'percentunit',
              [['sum by (app) (%s) / sum by (app) (%s)' % [pub(p[0]), pub('readers')], '{{app}} %s' % std.asciiLower(p[1])]
               for p in publish[1:]],
              decimals=1), 16, 5],
      [g.timeseries('Readers and sharers per day (final / provisional)',
                    "Each day's readers and sharers as published over time, split by whether WeChat had marked them final; a provisional line in the morning is replaced by the final one once WeChat settles the day.",
                    'short',
                    [[byState('readers'), '{{app}} readers ({{state}})'], [byState('sharers'), '{{app}} sharers ({{state}})']]), 12, 9],
      [g.timeseries('Likes, hearts and comments per day (final / provisional)',
                    "Each day's likes, hearts (在看) and comments as published over time, split by whether WeChat had marked them final.",
                    'short',
                    [[byState(p[0]), '{{app}} %s ({{state}})' % std.asciiLower(p[1])] for p in publish[2:]]), 12, 9],
    ] + articlePanels,
    timeFrom='now-30d',
  );

local messages(cfg) =
  local msgs = 'wechat_official_account_messages{%s}' % sel;
  local senders = 'wechat_official_account_message_senders{%s}' % sel;
  local cb = 'wechat_official_account_callbacks{%s}' % sel;
  local fail = 'wechat_official_account_callback_failures{%s}' % sel;
  local time = 'wechat_official_account_callback_time_seconds{%s}' % sel;
  local maxTime = 'wechat_official_account_callback_max_time_seconds{%s}' % sel;
  local h(m) = 'sum by (hour) (wechat_official_account_%s{%s})' % [m, sel];
  local sumTypes = 'Senders are counted per message type by WeChat, so a user who sent two types counts twice in a sum over types.';
  local failSteps = [['green', null], ['orange', 0.01], ['red', cfg.callbackFailureRatio]];
  local vertical = { options+: { orientation: 'vertical' } };
  g.dashboard(
    cfg,
    'wechat-oa-messages',
    'WeChat Official Account / Messages and callbacks',
    "Messages users sent WeChat Official Accounts (message analysis: by type, by period, by hour of yesterday, users by messages sent) and the callbacks WeChat made to each account's server (interface analysis: calls, failures, answer time). Yesterday is Beijing time; WeChat releases it during the morning.",
    'wechat_official_account_messages',
    ['official-account'],
    [
      [g.stat('Messages by period', 'Messages users sent the account yesterday, in the last complete week and month (msg_count, all types).', 'short',
              [['sum by (app, period) (%s)' % msgs, '{{app}} {{period}}']]), 8, 5],
      [g.stat('Senders by period', 'Users who sent messages yesterday, last week and last month (msg_user, summed over types). ' + sumTypes, 'short',
              [['sum by (app, period) (%s)' % senders, '{{app}} {{period}}']]), 8, 5],
      [g.stat('Messages per sender (yesterday)', "Yesterday's messages per sending user, all types.", 'none',
              [['sum by (app) (wechat_official_account_messages{period="daily", %(s)s}) / sum by (app) (wechat_official_account_message_senders{period="daily", %(s)s})' % { s: sel }, '{{app}}']],
              decimals=1), 8, 5],
      [g.table('Messages and senders by type',
               'Messages and the users who sent them, by message type (msg_type: text, image, voice, video, link; unknown types show their number) and period: yesterday, last week, last month.',
               'short',
               ['sum by (app, period, msg_type_name) (%s)' % msgs, 'sum by (app, period, msg_type_name) (%s)' % senders],
               ['Messages', 'Senders']), 12, 10],
      [g.bargauge('Senders by messages sent',
                  'Users by how many messages they sent in the period (count_interval: 1-5, 6-10, more than 10), yesterday, last week and last month.',
                  'short',
                  [['sum by (app, period, count_interval_name) (wechat_official_account_message_senders_by_interval{%s})' % sel,
                    '{{app}} {{period}}: {{count_interval_name}} messages']]), 12, 10],
      [g.timeseries('Messages per day by type', "Each day's messages by type, as published over time.", 'short',
                    [['sum by (app, msg_type_name) (wechat_official_account_messages{period="daily", %s})' % sel, '{{app}} {{msg_type_name}}']],
                    stack=true), 12, 9],
      [g.timeseries('Senders per day by type', "Each day's sending users by type, as published over time. " + sumTypes, 'short',
                    [['sum by (app, msg_type_name) (wechat_official_account_message_senders{period="daily", %s})' % sel, '{{app}} {{msg_type_name}}']],
                    stack=true), 12, 9],
      [g.bargauge('Messages by hour (yesterday)',
                  'Messages of yesterday by Beijing hour, all types; apps selected together are summed. Hours without messages are absent.',
                  'short', [[h('messages_by_hour'), '{{hour}}:00']]) + vertical, 12, 8],
      [g.bargauge('Senders by hour (yesterday)',
                  'Users who sent messages in each Beijing hour of yesterday, summed over types (' + sumTypes + ') Apps selected together are summed.',
                  'short', [[h('message_senders_by_hour'), '{{hour}}:00']]) + vertical, 12, 8],

      // Callbacks: WeChat calling the account's server (messages, events).
      [g.stat('Callbacks (yesterday)', "Times WeChat called the account's server yesterday (callback_count: user messages and events forwarded to the server).", 'short',
              [[cb, '{{app}}']]), 5, 5],
      [g.stat('Failed callbacks (yesterday)', 'Callbacks of yesterday that failed (fail_count): WeChat could not reach the server or got no valid answer in time.', 'short',
              [[fail, '{{app}}']], steps=[['green', null], ['orange', 1]]), 5, 5],
      [g.stat('Callback failure ratio (yesterday)',
              'Failed callbacks / callbacks of yesterday. WechatOfficialAccountCallbackFailures fires above %g%% (with at least %d callbacks).' % [cfg.callbackFailureRatio * 100, cfg.callbackFailureMinimum],
              'percentunit', [['%s / %s' % [fail, cb], '{{app}}']], steps=failSteps, decimals=2), 5, 5],
      [g.stat('Average answer time (yesterday)', "Total time the server took to answer WeChat's callbacks / callbacks, yesterday (total_time_cost / callback_count).", 's',
              [['%s / %s' % [time, cb], '{{app}}']], steps=[['green', null], ['orange', 1], ['red', 4]], decimals=3), 5, 5],
      [g.stat('Longest answer (yesterday)', "The server's slowest answer to a callback yesterday (max_time_cost). WeChat gives up after 5 s.", 's',
              [[maxTime, '{{app}}']], steps=[['green', null], ['orange', 2], ['red', 5]], decimals=2), 4, 5],
      [g.timeseries('Callbacks and failures per day', "Each day's callbacks and failed callbacks, as published over time.", 'short',
                    [[cb, '{{app}} callbacks'], [fail, '{{app}} failed']]), 8, 9],
      [g.timeseries('Callback failure ratio per day', "Each day's failed callbacks / callbacks.", 'percentunit',
                    [['%s / %s' % [fail, cb], '{{app}}']], min=0), 8, 9],
      [g.timeseries('Answer time per day', "Each day's average (total time / callbacks) and longest answer of the server.", 's',
                    [['%s / %s' % [time, cb], '{{app}} average'], [maxTime, '{{app}} longest']], min=0), 8, 9],
      [g.table('Callbacks by hour (yesterday)',
               'Callbacks of yesterday by Beijing hour: calls, failures, failure ratio, average and longest answer. Apps selected together are summed (longest: the maximum). Hours without callbacks are absent.',
               'short',
               [h('callbacks_by_hour'), h('callback_failures_by_hour'),
                '%s / %s' % [h('callback_failures_by_hour'), h('callbacks_by_hour')],
                '%s / %s' % [h('callback_time_by_hour_seconds'), h('callbacks_by_hour')],
                'max by (hour) (wechat_official_account_callback_max_time_by_hour_seconds{%s})' % sel],
               ['Callbacks', 'Failures', 'Failure ratio', 'Average answer', 'Longest answer'],
               { 'Failure ratio': 'percentunit', 'Average answer': 's', 'Longest answer': 's' }, sortBy='hour')
       + { options+: { sortBy: [{ displayName: 'hour', desc: false }] } }, 24, 12],
    ],
    timeFrom='now-30d',
  );

{
  grafanaDashboards+:: {
    'wechat-official-account-content.json': content($._config),
    'wechat-official-account-messages.json': messages($._config),
  },
}
