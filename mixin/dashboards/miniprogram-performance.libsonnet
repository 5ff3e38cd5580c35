// The Mini Program "Performance" dashboard of issue #12: launch and page
// performance of yesterday (getPerformanceData, /wxa/business/performance/
// boot), one family per module. WeChat documents the table ids of the
// memory module only, so panels group by `table` instead of naming ids.
// `networktype`, `device_level` and `device` are `all` for the whole
// population; a breakdown configured in the exporter adds series with other
// values, which the "by ..." panels show beside `all`.
local g = import 'lib.libsonnet';
local sel = g.sel;

local all = 'networktype="all", device_level="all", device="all"';
local m(name) = 'wechat_miniprogram_performance_%s' % name;
// Whole population, one value per app and table whatever instance scraped it.
local whole(name) = 'max by (app, table) (%s{%s, %s})' % [m(name), all, sel];
// One dimension broken down (and its `all`), the other two at `all`.
local by(name, dim) =
  local others = std.join(', ', ['%s="all"' % d for d in ['networktype', 'device_level', 'device'] if d != dim]);
  'max by (app, table, %s) (%s{%s, %s})' % [dim, m(name), others, sel];

local history7d = 'Needs 7 days of Prometheus history: run Prometheus for a week, or import the history with `wechat-exporter backfill` (docs/backfill.md).';
local breakdown = 'Shows `all` (the whole population) unless the app\'s exporter config lists this dimension in `performance: {dimensions: [...]}` (docs/metrics.md, "Mini Program performance"); each value is one more call to WeChat per module and day, never the cross product of dimensions.';
local yesterday = "Yesterday's value (Beijing time), whole population.";

local modules = [
  // [family, title, unit, what]
  ['open_ratio', 'Open rate', 'percentunit', 'Open rate (module 10016, 打开率): share of launches that opened the mini program.'],
  ['launch_seconds', 'Launch time', 's', 'Launch stage times (module 10017, 启动各阶段耗时): one value per stage (table).'],
  ['page_switch_seconds', 'Page switch time', 's', 'Page switch time (module 10021, 页面切换耗时).'],
  ['memory_bytes', 'Memory', 'bytes', 'Memory (module 10022, 内存指标): average use (memory) and average growth (memorydiff).'],
  ['memory_anomaly', 'Memory anomalies', 'short', "Memory anomalies (module 10023, 内存异常), as WeChat sends them (its unit is not documented)."],
];

local performance(cfg) =
  g.dashboard(
    cfg,
    'wechat-mp-performance',
    'WeChat Mini Program / Performance',
    "Launch and page performance of WeChat Mini Programs (wechat-exporter, getPerformanceData): open rate, launch stage times, page switch time, memory and memory anomalies of yesterday (Beijing time), and their history. One series per table WeChat returns; network type, device level and platform when the exporter breaks them down.",
    'wechat_miniprogram_performance_launch_seconds',
    ['miniprogram'],
    [
      [g.stat(x[1] + ' (yesterday)', x[3] + ' ' + yesterday, x[2], [[whole(x[0]), '{{app}} {{table}}']],
              decimals=if x[2] == 'short' then null else 2), if x[0] == 'launch_seconds' then 8 else 4, 5]
      for x in modules
    ] + [
      [g.stat('Launch time against a week ago',
              'Yesterday\'s launch stage times against the same weekday a week earlier: above 0 is slower. ' + history7d,
              'percentunit',
              [['%s / on (app, table) max by (app, table) (%s{%s, %s} offset 7d) - 1' % [whole('launch_seconds'), m('launch_seconds'), all, sel],
                '{{app}} {{table}}']],
              steps=[['green', null], ['orange', 0.1], ['red', 0.3]], decimals=1), 12, 5],
      [g.stat('Open rate against a week ago',
              'Yesterday\'s open rate minus the one of the same weekday a week earlier (percentage points as a ratio): below 0 is worse. ' + history7d,
              'percentunit',
              [['%s - on (app, table) max by (app, table) (%s{%s, %s} offset 7d)' % [whole('open_ratio'), m('open_ratio'), all, sel],
                '{{app}} {{table}}']],
              steps=[['red', null], ['orange', -0.01], ['green', 0]], decimals=2), 12, 5],
    ] + [
      [g.timeseries(x[1] + ' per day', x[3] + ' Each day\'s value as published over time, whole population.', x[2],
                    [[whole(x[0]), '{{app}} {{table}}']], min=0), 12, 8]
      for x in modules
    ] + [
      [g.bargauge('Launch time by network type (yesterday)', 'Launch stage times by network type (3g, 4g, wifi). ' + breakdown, 's',
                  [[by('launch_seconds', 'networktype'), '{{app}} {{table}} {{networktype}}']]), 12, 10],
      [g.bargauge('Launch time by platform (yesterday)', 'Launch stage times by platform (ios, android). ' + breakdown, 's',
                  [[by('launch_seconds', 'device'), '{{app}} {{table}} {{device}}']]), 12, 10],
      [g.bargauge('Launch time by device level (yesterday)', 'Launch stage times by device level (high, mid, low-end phones). ' + breakdown, 's',
                  [[by('launch_seconds', 'device_level'), '{{app}} {{table}} {{device_level}}']]), 12, 10],
      [g.bargauge('Open rate by network type and platform (yesterday)', 'Open rate by network type and by platform. ' + breakdown, 'percentunit',
                  [[by('open_ratio', 'networktype'), '{{app}} {{table}} network {{networktype}}'],
                   [by('open_ratio', 'device'), '{{app}} {{table}} platform {{device}}']],
                  min=0, max=1), 12, 10],
      [g.bargauge('Page switch time by platform (yesterday)', 'Page switch time by platform. ' + breakdown, 's',
                  [[by('page_switch_seconds', 'device'), '{{app}} {{table}} {{device}}']]), 12, 8],
      [g.bargauge('Memory by platform (yesterday)', 'Memory use and growth by platform. ' + breakdown, 'bytes',
                  [[by('memory_bytes', 'device'), '{{app}} {{table}} {{device}}']]), 12, 8],
    ],
    timeFrom='now-30d',
  );

{
  grafanaDashboards+:: {
    'wechat-miniprogram-performance.json': performance($._config),
  },
}
