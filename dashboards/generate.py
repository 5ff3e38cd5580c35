#!/usr/bin/env python3
"""Generate the Grafana dashboards of wechat-exporter.

The JSON files beside this script are its output and are what users import
(or what Grafana provisioning loads). Edit this script, run it, commit both:

    python3 dashboards/generate.py          # rewrite dashboards/*.json
    python3 dashboards/generate.py --check  # exit 1 if the JSON is out of date

Queries use only the exporter's own metrics (no recording rules), so the
dashboards work as soon as Prometheus scrapes the exporter, with or without
deploy/prometheus/rules loaded. Metric names and labels: shared metrics.md.
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x; newer Grafana migrates it on load

# Label matchers every data query carries.
SEL = 'job=~"$job", instance=~"$instance", app=~"$app"'
SEL_NOAPP = 'job=~"$job", instance=~"$instance"'


def variables(app_metric):
    """datasource, job, instance, app: all multi-value, 'All' = regex .*"""

    def query_var(name, label, query, multi=True):
        return {
            "type": "query",
            "name": name,
            "label": label,
            "datasource": DS,
            "query": {"query": query, "refId": f"{name}-var"},
            "refresh": 2,  # on time range change: apps come and go
            "sort": 1,
            "multi": multi,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "hide": 0,
            "regex": "",
        }

    return [
        {
            "type": "datasource",
            "name": "datasource",
            "label": "Data source",
            "query": "prometheus",
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "regex": "",
        },
        query_var("job", "Job", "label_values(wechat_exporter_build_info, job)"),
        query_var("instance", "Instance", 'label_values(wechat_exporter_build_info{job=~"$job"}, instance)'),
        query_var("app", "App", f'label_values({app_metric}{{job=~"$job", instance=~"$instance"}}, app)'),
    ]


class Board:
    def __init__(self, uid, title, description, app_metric, tags, time_from="now-7d"):
        self.uid, self.title, self.description = uid, title, description
        self.app_metric, self.tags, self.time_from = app_metric, tags, time_from
        self.panels = []
        self.x = self.y = self.row_h = 0

    def add(self, panel, w, h):
        """Lay panels out left to right on a 24-column grid."""
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)

    def newline(self):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0

    def json(self):
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["wechat", "wechat-exporter"] + self.tags,
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": "5m",
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "",
            "links": [
                {
                    "title": "WeChat dashboards",
                    "type": "dashboards",
                    "tags": ["wechat-exporter"],
                    "asDropdown": True,
                    "includeVars": True,
                    "keepTime": True,
                    "icon": "external link",
                    "tooltip": "",
                    "url": "",
                    "targetBlank": False,
                }
            ],
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "hide": True,
                        "iconColor": "rgba(0, 211, 255, 1)",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "templating": {"list": variables(self.app_metric)},
            "panels": self.panels,
        }


def target(expr, legend="", ref="A", instant=False, fmt="time_series"):
    return {
        "datasource": DS,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend,
        "instant": instant,
        "range": not instant,
        "format": fmt,
        "editorMode": "code",
    }


def targets(queries, instant):
    """queries: list of (expr, legend); refIds A, B, C, ..."""
    return [target(e, l, chr(ord("A") + i), instant) for i, (e, l) in enumerate(queries)]


def thresholds(steps):
    """steps: [(color, value-or-None)], first value None (base)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


GREEN = [("green", None)]


def field_config(unit, steps=GREEN, decimals=None, mappings=None, color_mode=None, custom=None, min_=None, max_=None):
    d = {"unit": unit, "thresholds": thresholds(steps), "mappings": mappings or []}
    if decimals is not None:
        d["decimals"] = decimals
    if color_mode:
        d["color"] = {"mode": color_mode}
    if custom:
        d["custom"] = custom
    if min_ is not None:
        d["min"] = min_
    if max_ is not None:
        d["max"] = max_
    return {"defaults": d, "overrides": []}


def reduce_last():
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(title, desc, unit, queries, steps=GREEN, decimals=None, mappings=None, color_mode="thresholds", graph=False):
    return {
        "type": "stat",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": targets(queries, instant=not graph),
        "fieldConfig": field_config(unit, steps, decimals, mappings, color_mode),
        "options": {
            "reduceOptions": reduce_last(),
            "colorMode": "value",
            "graphMode": "area" if graph else "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
    }


def timeseries(title, desc, unit, queries, decimals=None, stack=False, draw="line", min_=None):
    custom = {
        "drawStyle": draw,
        # Values are daily: draw steps so a day's value stays flat all day.
        "lineInterpolation": "stepAfter",
        "lineWidth": 2,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": True,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "axisPlacement": "auto",
    }
    return {
        "type": "timeseries",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": targets(queries, instant=False),
        "fieldConfig": field_config(unit, decimals=decimals, color_mode="palette-classic", custom=custom, min_=min_),
        "options": {
            "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True, "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def bargauge(title, desc, unit, queries, steps=GREEN, decimals=None, min_=None, max_=None):
    return {
        "type": "bargauge",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": targets(queries, instant=True),
        "fieldConfig": field_config(unit, steps, decimals, color_mode="thresholds", min_=min_, max_=max_),
        "options": {
            "reduceOptions": reduce_last(),
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
            "namePlacement": "auto",
            "sizing": "auto",
            "minVizHeight": 16,
            "minVizWidth": 8,
            "maxVizHeight": 300,
        },
    }


def table(title, desc, unit, queries, columns, column_units=None, sort_by=None):
    """Instant queries in table format, merged on their labels; `columns`
    renames 'Value #A'... to readable names in query order."""
    tg = [target(e, "", chr(ord("A") + i), True, "table") for i, e in enumerate(queries)]
    rename = {f"Value #{chr(ord('A') + i)}": c for i, c in enumerate(columns)}
    if len(queries) == 1:
        rename = {"Value": columns[0]}
    fc = field_config(unit)
    for col, u in (column_units or {}).items():
        fc["overrides"].append(
            {"matcher": {"id": "byName", "options": col}, "properties": [{"id": "unit", "value": u}]}
        )
    return {
        "type": "table",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": tg,
        "fieldConfig": fc,
        "transformations": [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {"excludeByName": {"Time": True}, "renameByName": rename, "indexByName": {}},
            },
        ],
        "options": {
            "showHeader": True,
            "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""},
            "sortBy": [{"displayName": sort_by or columns[0], "desc": True}],
        },
    }


def state_mapping(ok, bad):
    return [
        {
            "type": "value",
            "options": {
                "1": {"text": ok, "color": "green", "index": 0},
                "0": {"text": bad, "color": "red", "index": 1},
            },
        }
    ]


# --------------------------------------------------------------------------
def miniprogram_overview():
    b = Board(
        "wechat-mp-overview",
        "WeChat Mini Program / Overview",
        "Visitors, opens, visits, stay and depth of WeChat Mini Programs (wechat-exporter). "
        "Values are WeChat's daily/weekly/monthly analytics: 'daily' is yesterday (Beijing time), "
        "released by WeChat after ~10:00 Beijing.",
        "wechat_miniprogram_visitors",
        ["miniprogram"],
    )
    by_period = "Latest complete day (yesterday), natural week and natural month, Beijing time."
    for title, metric, what in [
        ("Visitors", "wechat_miniprogram_visitors", "Unique visitors (visit_uv). Weekly/monthly values are de-duplicated over the period, not sums of days."),
        ("New visitors", "wechat_miniprogram_new_visitors", "First-time visitors (visit_uv_new)."),
        ("Opens", "wechat_miniprogram_sessions", "Times the mini program was opened (session_cnt)."),
        ("Visits", "wechat_miniprogram_visits", "Page visits (visit_pv)."),
    ]:
        b.add(stat(f"{title} by period", f"{what} {by_period}", "short",
                   [(f"{metric}{{{SEL}}}", "{{app}} {{period}}")]), 6, 5)
    change_steps = [("red", None), ("orange", -0.1), ("green", 0)]
    b.add(stat("Day-over-day change (daily)",
               "Yesterday's visitors, new visitors, opens and visits against the day before. Computed from "
               "Prometheus history (offset 1d), so it needs a day of it; before ~10:00 Beijing both sides are one "
               "day older.",
               "percentunit",
               [(f'{m}{{period="daily", {SEL}}} / ({m}{{period="daily", {SEL}}} offset 1d) - 1', f"{{{{app}}}} {n}")
                for m, n in [("wechat_miniprogram_visitors", "visitors"), ("wechat_miniprogram_new_visitors", "new visitors"),
                             ("wechat_miniprogram_sessions", "opens"), ("wechat_miniprogram_visits", "visits")]],
               steps=change_steps, decimals=1), 12, 5)
    b.add(stat("Week-over-week change",
               "Yesterday against the same weekday last week (daily, offset 7d), and the last complete week against "
               "the week before (weekly). Computed from Prometheus history, so it needs 7 days of it.",
               "percentunit",
               [(f'{m}{{period="{p}", {SEL}}} / ({m}{{period="{p}", {SEL}}} offset 7d) - 1', f"{{{{app}}}} {n} ({p})")
                for m, n in [("wechat_miniprogram_visitors", "visitors"), ("wechat_miniprogram_sessions", "opens")]
                for p in ("daily", "weekly")],
               steps=change_steps, decimals=1), 12, 5)
    b.add(stat("Cumulative visitors", "All visitors since the mini program started (visit_total of the daily summary).",
               "short", [(f"wechat_miniprogram_cumulative_visitors{{{SEL}}}", "{{app}}")]), 6, 5)
    b.add(stat("Shares (yesterday)", "Shares (share_pv) and users who shared (share_uv) yesterday.", "short",
               [(f'wechat_miniprogram_shares{{period="daily", {SEL}}}', "{{app}} shares"),
                (f'wechat_miniprogram_sharers{{period="daily", {SEL}}}', "{{app}} sharers")]), 6, 5)
    b.add(stat("Stay per visitor", f"Average time a visitor spent (stay_time_uv). {by_period}", "s",
               [(f"wechat_miniprogram_stay_per_visitor_seconds{{{SEL}}}", "{{app}} {{period}}")], decimals=0), 6, 5)
    b.add(stat("Stay per open", f"Average time per open (stay_time_session). {by_period}", "s",
               [(f"wechat_miniprogram_stay_per_session_seconds{{{SEL}}}", "{{app}} {{period}}")], decimals=0), 6, 5)
    b.newline()
    b.add(stat("Visit depth", f"Average pages per visit (visit_depth). {by_period}", "suffix: pages",
               [(f"wechat_miniprogram_visit_depth_pages{{{SEL}}}", "{{app}} {{period}}")], decimals=2), 6, 5)
    b.newline()
    b.add(timeseries("Daily visitors, new visitors, opens, visits",
                     "Yesterday's values as the exporter published them over time: each step is one day's data.",
                     "short",
                     [(f'wechat_miniprogram_visitors{{period="daily", {SEL}}}', "{{app}} visitors"),
                      (f'wechat_miniprogram_new_visitors{{period="daily", {SEL}}}', "{{app}} new visitors"),
                      (f'wechat_miniprogram_sessions{{period="daily", {SEL}}}', "{{app}} opens"),
                      (f'wechat_miniprogram_visits{{period="daily", {SEL}}}', "{{app}} visits")]), 12, 9)
    b.add(timeseries("Daily stay time",
                     "Average stay per visitor and per open of each day, over time.", "s",
                     [(f'wechat_miniprogram_stay_per_visitor_seconds{{period="daily", {SEL}}}', "{{app}} per visitor"),
                      (f'wechat_miniprogram_stay_per_session_seconds{{period="daily", {SEL}}}', "{{app}} per open")]), 12, 9)
    b.add(timeseries("Daily shares", "Shares and sharers of each day, over time.", "short",
                     [(f'wechat_miniprogram_shares{{period="daily", {SEL}}}', "{{app}} shares"),
                      (f'wechat_miniprogram_sharers{{period="daily", {SEL}}}', "{{app}} sharers")]), 12, 8)
    b.add(timeseries("Cumulative visitors over time", "visit_total of each day's summary.", "short",
                     [(f"wechat_miniprogram_cumulative_visitors{{{SEL}}}", "{{app}}")]), 12, 8)
    return b


def retention():
    b = Board(
        "wechat-mp-retention",
        "WeChat Mini Program / Retention",
        "Share of a cohort (new or active users of a day, week or month) that came back N periods later "
        "(wechat_miniprogram_retention_ratio, computed by the exporter within one cohort). "
        "Each offset comes from the most recent cohort that reached it: day-7 is the cohort of 8 days ago.",
        "wechat_miniprogram_retention_ratio",
        ["miniprogram"],
        time_from="now-30d",
    )
    steps = [("red", None), ("orange", 0.1), ("green", 0.3)]
    offsets = {"daily": ([1, 2, 3, 4, 5, 6, 7, 14, 30], "day"), "weekly": ([1, 2, 3, 4], "week"), "monthly": ([1], "month")}
    for period, (offs, unit_name) in offsets.items():
        for cohort, cname in (("new", "new users"), ("active", "active users")):
            queries = [
                (f'wechat_miniprogram_retention_ratio{{period="{period}", cohort="{cohort}", offset="{o}", {SEL}}}',
                 f"{{{{app}}}} {unit_name} {o}")
                for o in offs
            ]
            w, h = (12, 9) if period == "daily" else (12, 6) if period == "weekly" else (12, 4)
            b.add(bargauge(f"{period.capitalize()} retention: {cname}",
                           f"Share of the {cname} of a {unit_name} still visiting {unit_name} 1..N later "
                           f"(retention ratio, {period}; offsets {', '.join(map(str, offs))}).",
                           "percentunit", queries, steps=steps, decimals=1, min_=0, max_=1), w, h)
    b.add(timeseries("Day-1 and day-7 retention over time",
                     "Daily retention at offsets 1 and 7 for new and active users, as published each day.",
                     "percentunit",
                     [(f'wechat_miniprogram_retention_ratio{{period="daily", offset=~"1|7", {SEL}}}',
                       "{{app}} {{cohort}} day {{offset}}")], min_=0), 16, 9)
    b.add(stat("Cohort sizes", "Users in the latest cohort of each period (retention key 0: new users "
               "= visit_uv_new, active users = visit_uv).", "short",
               [(f'wechat_miniprogram_retained_users{{offset="0", {SEL}}}', "{{app}} {{period}} {{cohort}}")]), 8, 9)
    return b


def traffic():
    b = Board(
        "wechat-mp-traffic",
        "WeChat Mini Program / Traffic",
        "Where yesterday's visits came from (entry scenes), how long and how deep they went, and the top pages "
        "(wechat-exporter visit distribution and visit page APIs). Apps selected together are summed.",
        "wechat_miniprogram_page_visits",
        ["miniprogram"],
    )
    dist = "wechat_miniprogram_visit_distribution"
    b.add(bargauge("Opens by entry scene (yesterday)",
                   "Opens (sessions) of yesterday by entry scene (access_source_session_cnt). Names from WeChat's "
                   "scene table; unknown scenes show their number.", "short",
                   [(f'sort_desc(sum by (key_name) ({dist}{{index="access_source_session_cnt", {SEL}}}))', "{{key_name}}")]), 8, 12)
    b.add(bargauge("Visits by stay time (yesterday)",
                   "Visits of yesterday by how long they lasted (access_staytime_info buckets).", "short",
                   [(f'sum by (key, key_name) ({dist}{{index="access_staytime_info", {SEL}}})', "{{key_name}}")]), 8, 12)
    b.add(bargauge("Visits by depth (yesterday)",
                   "Visits of yesterday by number of pages seen (access_depth_info buckets).", "short",
                   [(f'sum by (key, key_name) ({dist}{{index="access_depth_info", {SEL}}})', "{{key_name}}")]), 8, 12)
    top = f"topk(20, sum by (page) (wechat_miniprogram_page_visits{{{SEL}}}))"
    cols = [("Visits", "wechat_miniprogram_page_visits"), ("Visitors", "wechat_miniprogram_page_visitors"),
            ("Entries", "wechat_miniprogram_page_entries"), ("Exits", "wechat_miniprogram_page_exits"),
            ("Shares", "wechat_miniprogram_page_shares"), ("Sharers", "wechat_miniprogram_page_sharers")]
    queries = [top] + [f"sum by (page) ({m}{{{SEL}}}) and on (page) {top}" for _, m in cols[1:]]
    queries.append(f"avg by (page) (wechat_miniprogram_page_stay_per_visit_seconds{{{SEL}}}) and on (page) {top}")
    b.add(table("Top pages (yesterday)",
                "The 20 pages with the most visits yesterday: visits, visitors, visits that entered (entries) or left "
                "(exits) at the page, shares and sharers, and average stay per visit. WeChat reports the top 200 pages.",
                "short", queries, [c for c, _ in cols] + ["Stay per visit"], {"Stay per visit": "s"}), 24, 12)
    b.add(timeseries("Opens by entry scene over time", "Daily opens per entry scene, as published each day; top 10 scenes.",
                     "short",
                     [(f'topk(10, sum by (key_name) ({dist}{{index="access_source_session_cnt", {SEL}}}))', "{{key_name}}")]), 12, 9)
    b.add(timeseries("Top 10 pages: visits over time", "Daily visits of the 10 most visited pages.", "short",
                     [(f"topk(10, sum by (page) (wechat_miniprogram_page_visits{{{SEL}}}))", "{{page}}")]), 12, 9)
    return b


def official_account():
    b = Board(
        "wechat-oa-overview",
        "WeChat Official Account / Followers",
        "Followers, follows and unfollows by source of WeChat Official Accounts (wechat-exporter user analysis). "
        "Values are yesterday's (Beijing time), released by WeChat during the morning.",
        "wechat_official_account_followers",
        ["official-account"],
        time_from="now-30d",
    )
    new = f"sum by (app) (wechat_official_account_new_followers{{{SEL}}})"
    gone = f"sum by (app) (wechat_official_account_unfollowers{{{SEL}}})"
    b.add(stat("Followers", "Total followers at the end of yesterday (cumulate_user).", "short",
               [(f"wechat_official_account_followers{{{SEL}}}", "{{app}}")], graph=True), 6, 6)
    b.add(stat("Net growth (yesterday)", "New follows minus unfollows of yesterday, all sources.", "short",
               [(f"{new} - {gone}", "{{app}}")], steps=[("red", None), ("green", 0)]), 6, 6)
    b.add(stat("New follows (yesterday)", "Follows of yesterday, all sources (new_user).", "short",
               [(new, "{{app}}")]), 6, 6)
    b.add(stat("Unfollows (yesterday)", "Unfollows of yesterday, all sources (cancel_user).", "short",
               [(gone, "{{app}}")], steps=[("green", None), ("orange", 50)]), 6, 6)
    b.add(bargauge("New follows by source (yesterday)",
                   "Where yesterday's followers came from (user_source; unknown codes show as numbers).", "short",
                   [(f"sort_desc(sum by (source_name) (wechat_official_account_new_followers{{{SEL}}}))", "{{source_name}}")]), 12, 10)
    b.add(bargauge("Unfollows by source (yesterday)",
                   "Yesterday's unfollows by the source the user had followed from.", "short",
                   [(f"sort_desc(sum by (source_name) (wechat_official_account_unfollowers{{{SEL}}}))", "{{source_name}}")],
                   steps=[("orange", None)]), 12, 10)
    b.add(timeseries("Followers over time", "Total followers, as published each day.", "short",
                     [(f"wechat_official_account_followers{{{SEL}}}", "{{app}}")]), 12, 9)
    b.add(timeseries("Follows, unfollows and net growth per day",
                     "Each day's follows, unfollows and net growth (follows - unfollows).", "short",
                     [(new, "{{app}} follows"), (gone, "{{app}} unfollows"), (f"{new} - {gone}", "{{app}} net")]), 12, 9)
    b.add(stat("Followers change vs last week",
               "Followers now minus followers 7 days ago (needs 7 days of Prometheus history).", "short",
               [(f"wechat_official_account_followers{{{SEL}}} - (wechat_official_account_followers{{{SEL}}} offset 7d)", "{{app}}")],
               steps=[("red", None), ("green", 0)]), 12, 5)
    return b


def exporter_health():
    b = Board(
        "wechat-exporter-health",
        "WeChat Exporter / Health",
        "Is wechat-exporter scraped, are its WeChat API calls working, and how fresh is the data. "
        "Errors by errcode: 45009 quota, 40164 IP whitelist, 40001/40014/42001 token, -1 busy, "
        "61503 not ready (normal before ~10:00 Beijing).",
        "wechat_exporter_poll_success",
        ["exporter"],
        time_from="now-24h",
    )
    req = "wechat_exporter_api_requests_total"
    err = "wechat_exporter_api_request_errors_total"
    b.add(stat("Exporter up", "Prometheus' up for the exporter targets (1 = scraped).", "none",
               [(f"up{{{SEL_NOAPP}}}", "{{instance}}")], mappings=state_mapping("UP", "DOWN"),
               steps=[("red", None), ("green", 1)]), 6, 5)
    b.add(stat("Version", "Exporter build (wechat_exporter_build_info).", "none",
               [(f"wechat_exporter_build_info{{{SEL_NOAPP}}}", "{{version}} ({{revision}})")], color_mode="fixed"), 6, 5)
    b.add(stat("API calls (range)", "WeChat API calls in the selected time range, token calls included.", "short",
               [(f"sum by (app) (increase({req}{{{SEL}}}[$__range]))", "{{app}}")], decimals=0), 6, 5)
    b.add(stat("API errors (range)", "Failed WeChat API calls in the selected time range (61503 'not ready' included).",
               "short", [(f"sum by (app) (increase({err}{{{SEL}}}[$__range]))", "{{app}}")],
               steps=[("green", None), ("orange", 1)], decimals=0), 6, 5)
    b.add(timeseries("API calls", "Rate of WeChat API calls by app and api.", "reqps",
                     [(f"sum by (app, api) (rate({req}{{{SEL}}}[$__rate_interval]))", "{{app}} {{api}}")]), 12, 8)
    b.add(timeseries("API errors by errcode", "Rate of failed WeChat API calls by errcode (WeChat's code, or http/timeout/decode).",
                     "reqps", [(f"sum by (app, errcode) (rate({err}{{{SEL}}}[$__rate_interval]))", "{{app}} {{errcode}}")]), 12, 8)
    b.add(bargauge("Errors by errcode (range)", "Failed calls in the selected range by app and errcode.", "short",
                   [(f"sort_desc(sum by (app, errcode) (increase({err}{{{SEL}}}[$__range])))", "{{app}} {{errcode}}")],
                   steps=[("green", None), ("orange", 1)], decimals=0), 12, 8)
    b.add(bargauge("Data age by API",
                   "Now minus the Beijing midnight that starts the day/week/month of the published data. Daily APIs: "
                   "1-2 days is normal (up to 2d 16h before a late release); weekly up to 14 days, monthly up to 62.",
                   "s", [(f"time() - wechat_data_date_timestamp_seconds{{{SEL}}}", "{{app}} {{api}}")],
                   steps=[("green", None), ("orange", 2 * 86400 + 16 * 3600), ("red", 3 * 86400)]), 12, 8)
    b.add(stat("Poll success", "1 if the last poll of an API succeeded or WeChat said data is not ready yet; 0 if it failed.",
               "none", [(f"wechat_exporter_poll_success{{{SEL}}}", "{{app}} {{api}}")],
               mappings=state_mapping("OK", "FAILED"), steps=[("red", None), ("green", 1)]), 12, 8)
    b.add(stat("Data ready", "1 once the latest period's data has been fetched; 0 while WeChat has not released it "
               "(normal before ~10:00 Beijing, sometimes until 15:00).", "none",
               [(f"wechat_exporter_data_ready{{{SEL}}}", "{{app}} {{api}}")],
               mappings=state_mapping("READY", "WAITING"), steps=[("orange", None), ("green", 1)]), 12, 8)
    b.add(bargauge("Time since last successful call", "Now minus the last time each API answered with data.", "s",
                   [(f"time() - wechat_exporter_last_success_timestamp_seconds{{{SEL}}}", "{{app}} {{api}}")],
                   steps=[("green", None), ("orange", 86400), ("red", 2 * 86400)]), 12, 8)
    b.add(timeseries("Token refreshes", "Rate of access tokens obtained. Steady ~1 per ~2h is normal; more means tokens "
                     "are being invalidated (see 40001 errors).", "reqps",
                     [(f"sum by (app) (rate(wechat_exporter_token_refreshes_total{{{SEL}}}[$__rate_interval]))", "{{app}}")]), 12, 8)
    b.add(stat("Token refreshes (range)", "Access tokens obtained in the selected time range.", "short",
               [(f"sum by (app) (increase(wechat_exporter_token_refreshes_total{{{SEL}}}[$__range]))", "{{app}}")], decimals=0), 12, 8)
    b.add(bargauge("API latency p95 (range)", "95th percentile of WeChat API call latency over the selected range, by api.",
                   "s", [(f"histogram_quantile(0.95, sum by (le, api) (increase(wechat_exporter_api_request_duration_seconds_bucket{{{SEL_NOAPP}}}[$__range])))", "{{api}}")],
                   steps=[("green", None), ("orange", 2), ("red", 5)]), 12, 10)
    return b


BOARDS = {
    "wechat-miniprogram-overview.json": miniprogram_overview,
    "wechat-miniprogram-retention.json": retention,
    "wechat-miniprogram-traffic.json": traffic,
    "wechat-official-account.json": official_account,
    "wechat-exporter-health.json": exporter_health,
}


def render(fn):
    return json.dumps(fn().json(), indent=2, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, fn in BOARDS.items():
        path = HERE / name
        text = render(fn)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python3 dashboards/generate.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
