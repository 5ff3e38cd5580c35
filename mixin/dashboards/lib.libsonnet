// Building blocks of the dashboards: variables, panels, layout. Every query
// carries the job, instance and app variables (dashboard-linter's target
// rules), every panel the $datasource variable.
{
  ds:: { type: 'prometheus', uid: '${datasource}' },
  // Label matchers every data query carries.
  sel:: 'job=~"$job", instance=~"$instance", app=~"$app"',
  selNoApp:: 'job=~"$job", instance=~"$instance"',

  // datasource, job, instance, app: multi-value, "All" = regex .+ (the
  // label must be present), refreshed on time range change: apps come and go.
  variables(appMetric):: [
    {
      type: 'datasource',
      name: 'datasource',
      label: 'Data source',
      query: 'prometheus',
      hide: 0,
      includeAll: false,
      multi: false,
      options: [],
      refresh: 1,
      regex: '',
    },
  ] + [
    {
      type: 'query',
      name: v.name,
      label: v.label,
      datasource: $.ds,
      query: { query: v.query, refId: v.name + '-var' },
      refresh: 2,
      sort: 1,
      multi: true,
      includeAll: true,
      allValue: '.+',
      current: { selected: true, text: ['All'], value: ['$__all'] },
      options: [],
      hide: 0,
      regex: '',
    }
    for v in [
      { name: 'job', label: 'Job', query: 'label_values(wechat_exporter_build_info, job)' },
      { name: 'instance', label: 'Instance', query: 'label_values(wechat_exporter_build_info{job=~"$job"}, instance)' },
      { name: 'app', label: 'App', query: 'label_values(%s{job=~"$job", instance=~"$instance"}, app)' % appMetric },
    ]
  ],

  // panels: [[panel, w, h] or 'newline'], laid out left to right on a
  // 24-column grid; ids in order.
  layout(items)::
    local step(acc, item) =
      if item == 'newline' then
        (if acc.x > 0 then acc { x: 0, y: acc.y + acc.rowH, rowH: 0 } else acc)
      else
        local p = item[0], w = item[1], h = item[2];
        local wrap = acc.x + w > 24;
        local x = if wrap then 0 else acc.x;
        local y = if wrap then acc.y + acc.rowH else acc.y;
        local rowH = if wrap then 0 else acc.rowH;
        acc {
          x: x + w,
          y: y,
          rowH: std.max(rowH, h),
          panels+: [p { id: std.length(acc.panels) + 1, gridPos: { x: x, y: y, w: w, h: h } }],
        };
    std.foldl(step, items, { x: 0, y: 0, rowH: 0, panels: [] }).panels,

  dashboard(cfg, uid, title, description, appMetric, tags, panels, timeFrom='now-7d'):: {
    uid: uid,
    title: title,
    description: description,
    tags: cfg.dashboardTags + tags,
    timezone: 'browser',
    // dashboard-linter: provisioned dashboards are not edited in place;
    // change the mixin instead.
    editable: false,
    graphTooltip: 1,
    schemaVersion: cfg.grafanaSchemaVersion,
    version: 1,
    refresh: cfg.dashboardRefresh,
    time: { from: timeFrom, to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [
      {
        title: 'WeChat dashboards',
        type: 'dashboards',
        tags: ['wechat-exporter'],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
        icon: 'external link',
        tooltip: '',
        url: '',
        targetBlank: false,
      },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: { list: $.variables(appMetric) },
    panels: $.layout(panels),
  },

  target(expr, legend='', ref='A', instant=false, format='time_series'):: {
    datasource: $.ds,
    refId: ref,
    expr: expr,
    legendFormat: legend,
    instant: instant,
    range: !instant,
    format: format,
    editorMode: 'code',
  },

  // queries: [[expr, legend]]; refIds A, B, C, ...
  targets(queries, instant):: [
    $.target(queries[i][0], queries[i][1], std.char(65 + i), instant)
    for i in std.range(0, std.length(queries) - 1)
  ],

  // steps: [[color, value or null]], the first value null (base).
  thresholds(steps):: { mode: 'absolute', steps: [{ color: s[0], value: s[1] } for s in steps] },
  green:: [['green', null]],

  fieldConfig(unit, steps=$.green, decimals=null, mappings=[], colorMode=null, custom=null, min=null, max=null):: {
    defaults: { unit: unit, thresholds: $.thresholds(steps), mappings: mappings }
              + (if decimals != null then { decimals: decimals } else {})
              + (if colorMode != null then { color: { mode: colorMode } } else {})
              + (if custom != null then { custom: custom } else {})
              + (if min != null then { min: min } else {})
              + (if max != null then { max: max } else {}),
    overrides: [],
  },

  reduceLast:: { calcs: ['lastNotNull'], fields: '', values: false },

  stat(title, desc, unit, queries, steps=$.green, decimals=null, mappings=[], colorMode='thresholds', graph=false):: {
    type: 'stat',
    title: title,
    description: desc,
    datasource: $.ds,
    targets: $.targets(queries, !graph),
    fieldConfig: $.fieldConfig(unit, steps, decimals, mappings, colorMode),
    options: {
      reduceOptions: $.reduceLast,
      colorMode: 'value',
      graphMode: if graph then 'area' else 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
      wideLayout: true,
      showPercentChange: false,
    },
  },

  timeseries(title, desc, unit, queries, decimals=null, stack=false, draw='line', min=null):: {
    type: 'timeseries',
    title: title,
    description: desc,
    datasource: $.ds,
    targets: $.targets(queries, false),
    fieldConfig: $.fieldConfig(unit, decimals=decimals, colorMode='palette-classic', min=min, custom={
      drawStyle: draw,
      // Values are daily: draw steps so a day's value stays flat all day.
      lineInterpolation: 'stepAfter',
      lineWidth: 2,
      fillOpacity: 10,
      showPoints: 'never',
      spanNulls: true,
      stacking: { mode: if stack then 'normal' else 'none', group: 'A' },
      axisPlacement: 'auto',
    }),
    options: {
      legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  },

  bargauge(title, desc, unit, queries, steps=$.green, decimals=null, min=null, max=null):: {
    type: 'bargauge',
    title: title,
    description: desc,
    datasource: $.ds,
    targets: $.targets(queries, true),
    fieldConfig: $.fieldConfig(unit, steps, decimals, colorMode='thresholds', min=min, max=max),
    options: {
      reduceOptions: $.reduceLast,
      orientation: 'horizontal',
      displayMode: 'gradient',
      showUnfilled: true,
      valueMode: 'color',
      namePlacement: 'auto',
      sizing: 'auto',
      minVizHeight: 16,
      minVizWidth: 8,
      maxVizHeight: 300,
    },
  },

  // Instant queries in table format, merged on their labels; `columns`
  // renames 'Value #A'... to readable names in query order.
  table(title, desc, unit, queries, columns, columnUnits={}, sortBy=null):: {
    local n = std.length(queries),
    type: 'table',
    title: title,
    description: desc,
    datasource: $.ds,
    targets: [$.target(queries[i], '', std.char(65 + i), true, 'table') for i in std.range(0, n - 1)],
    fieldConfig: $.fieldConfig(unit) {
      overrides: [
        { matcher: { id: 'byName', options: col }, properties: [{ id: 'unit', value: columnUnits[col] }] }
        for col in std.objectFields(columnUnits)
      ],
    },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true },
          renameByName: if n == 1 then { Value: columns[0] } else { ['Value #' + std.char(65 + i)]: columns[i] for i in std.range(0, n - 1) },
          indexByName: {},
        },
      },
    ],
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: false, reducer: ['sum'], countRows: false, fields: '' },
      sortBy: [{ displayName: if sortBy != null then sortBy else columns[0], desc: true }],
    },
  },

  stateMapping(ok, bad):: [
    {
      type: 'value',
      options: {
        '1': { text: ok, color: 'green', index: 0 },
        '0': { text: bad, color: 'red', index: 1 },
      },
    },
  ],
}
