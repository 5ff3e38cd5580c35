#!/usr/bin/env python3
"""Deploy checks for wechat-exporter: rules, alerts, Alertmanager, dashboards
(schema + live data), compose, Kubernetes, systemd, Dockerfile, YAML lint.

Run through tests/deploy/run.sh, which installs the Python/npm tools first.
Prints one line per check and ends with `N passed, M failed`.
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROM_DIR = DEPLOY / "prometheus"
RULE_FILES = sorted(PROM_DIR.glob("rules/*.yml"))
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
JOB = "wechat-exporter"
EXPORTER_PORT = 10240

PASSED, FAILED = [], []


def report(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    line = f"{'PASS' if ok else 'FAIL'}  {name}"
    if detail and not ok:
        line += "\n      " + detail.strip().replace("\n", "\n      ")
    print(line, flush=True)


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=kw.pop("cwd", ROOT), **kw)
    return p.returncode, (p.stdout + p.stderr)


def check_cmd(name, cmd, **kw):
    rc, out = run(cmd, **kw)
    report(name, rc == 0, out[-3000:])
    return rc == 0


def guarded(fn):
    """A check function that raises counts as one failure, not a crash."""

    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except Exception as e:  # noqa: BLE001
            report(fn.__name__, False, f"{e}\n{traceback.format_exc(limit=3)}")

    return wrapper


def load_yaml_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def rel(p):
    return str(Path(p).relative_to(ROOT))


# ---------------------------------------------------------------- tools ---
def tools():
    missing = [t for t in ("prometheus", "promtool", "amtool", "jsonnet") if not shutil.which(t)]
    am = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    if not am:
        missing.append("alertmanager (Debian: prometheus-alertmanager)")
    report("tools: prometheus, promtool, alertmanager, amtool, jsonnet installed", not missing,
           "missing: " + ", ".join(missing) + "\ninstall: apt-get install -y prometheus prometheus-alertmanager jsonnet")
    return not missing


# ------------------------------------------------------------ prometheus ---
@guarded
def prometheus_static():
    check_cmd("promtool check config deploy/prometheus/prometheus.yml",
              ["promtool", "check", "config", rel(PROM_DIR / "prometheus.yml")])
    check_cmd("promtool check rules " + " ".join(rel(f) for f in RULE_FILES),
              ["promtool", "check", "rules"] + [rel(f) for f in RULE_FILES])
    tests = sorted(PROM_DIR.glob("tests/*.yml"))
    check_cmd("promtool test rules " + " ".join(rel(f) for f in tests),
              ["promtool", "test", "rules"] + [rel(f) for f in tests])

    # Every alert: severity, category, summary/description/runbook_url.
    runbook = (ROOT / "docs/runbook.md").read_text()
    alerts, records = {}, []
    for f in RULE_FILES:
        for g in yaml.safe_load(open(f))["groups"]:
            for r in g["rules"]:
                if "alert" in r:
                    alerts[r["alert"]] = r
                else:
                    records.append(r["record"])
    bad = []
    for name, r in alerts.items():
        labels, ann = r.get("labels", {}), r.get("annotations", {})
        if labels.get("severity") not in ("critical", "warning", "info"):
            bad.append(f"{name}: severity label missing or not critical|warning|info")
        if not labels.get("category"):
            bad.append(f"{name}: category label missing")
        for a in ("summary", "description", "runbook_url"):
            if not ann.get(a):
                bad.append(f"{name}: annotation {a} missing")
        if "runbook" in ann:
            bad.append(f"{name}: annotation runbook: the convention is runbook_url")
        url = ann.get("runbook_url", "")
        if not re.fullmatch(r"https?://\S+#[a-z0-9-]+", url):
            bad.append(f"{name}: runbook_url {url!r} is not an http(s) URL with an anchor")
        elif "## " + name not in runbook or url.rsplit("#", 1)[1] != name.lower():
            bad.append(f"{name}: runbook_url anchor {url.rsplit('#', 1)[1]!r} has no section '## {name}' in docs/runbook.md")
        # The job is a mixin setting; only the rendered default may name it.
        if 'job="' in r["expr"] and 'job="wechat-exporter"' not in r["expr"]:
            bad.append(f"{name}: a job selector other than the mixin's default")
    report(f"alerts have severity/category labels and summary/description/runbook_url into docs/runbook.md ({len(alerts)} alerts)",
           not bad and bool(alerts), "\n".join(bad))

    # Every alert is unit-tested both firing and not firing.
    firing, quiet = set(), set()
    for f in tests:
        for t in yaml.safe_load(open(f)).get("tests", []):
            for a in t.get("alert_rule_test", []):
                (firing if a.get("exp_alerts") else quiet).add(a["alertname"])
    missing = [f"{a}: {'' if a in firing else 'no firing test '}{'' if a in quiet else 'no not-firing test'}"
               for a in alerts if a not in firing or a not in quiet]
    report("every alert has a firing and a not-firing promtool test", not missing, "\n".join(missing))
    return alerts, records


# ---------------------------------------------------------- alertmanager ---
@guarded
def alertmanager_static(alerts):
    cfg = rel(DEPLOY / "alertmanager" / "alertmanager.yml")
    check_cmd(f"amtool check-config {cfg}", ["amtool", "check-config", cfg])
    # Which receiver each severity must reach.
    expected = {"critical": "wechat-work-oncall", "warning": "wechat-work-team", "info": "default", "": "default"}
    for sev, recv in expected.items():
        labels = [f"severity={sev}"] if sev else ["alertname=Unlabelled"]
        check_cmd(f"amtool config routes test: {labels[0]} -> {recv}",
                  ["amtool", "config", "routes", "test", f"--config.file={cfg}", f"--verify.receivers={recv}"] + labels)
    # Each real alert routes to the receiver of its severity.
    bad = []
    for name, r in (alerts or {}).items():
        sev = r["labels"]["severity"]
        rc, out = run(["amtool", "config", "routes", "test", f"--config.file={cfg}",
                       f"--verify.receivers={expected[sev]}", f"alertname={name}", f"severity={sev}",
                       f"category={r['labels'].get('category', '')}", "app=shop"])
        if rc:
            bad.append(f"{name} ({sev}): {out.strip()}")
    report("every alert routes to the receiver of its severity", not bad, "\n".join(bad))
    am = yaml.safe_load(open(ROOT / cfg))
    has_wechat = any(r.get("wechat_configs") for r in am["receivers"])
    report("alertmanager has a native wechat_configs receiver and inhibit rules",
           has_wechat and bool(am.get("inhibit_rules")))
    # Inhibit rules only name alerts that exist.
    names = set(alerts or {})
    unknown = []
    for ir in am.get("inhibit_rules", []):
        for m in ir.get("source_matchers", []) + ir.get("target_matchers", []):
            mm = re.fullmatch(r'alertname(=~?)"(.*)"', m)
            if mm:
                for n in mm.group(2).split("|"):
                    if n not in names:
                        unknown.append(n)
    report("inhibit rules reference existing alerts", not unknown, "unknown: " + ", ".join(unknown))


# ------------------------------------------------------------ dashboards ---
def all_panels(d):
    for p in d.get("panels", []):
        yield p
        yield from p.get("panels", [])


@guarded
def dashboards_static():
    report("dashboards exist", len(DASHBOARDS) >= 5, f"found {len(DASHBOARDS)}")
    uids, panel_count, problems = {}, 0, []
    for f in DASHBOARDS:
        d = json.load(open(f))
        n = f.name
        if d.get("uid") in uids:
            problems.append(f"{n}: uid {d.get('uid')} also in {uids[d['uid']]}")
        uids[d.get("uid")] = n
        if not d.get("uid") or len(d["uid"]) > 40:
            problems.append(f"{n}: missing or too long uid")
        if not 39 <= d.get("schemaVersion", 0) <= 41:
            problems.append(f"{n}: schemaVersion {d.get('schemaVersion')} not in 39..41")
        vars_ = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        for v in ("datasource", "job", "instance", "app"):
            if v not in vars_:
                problems.append(f"{n}: template variable ${v} missing")
        if vars_.get("datasource", {}).get("query") != "prometheus":
            problems.append(f"{n}: $datasource is not of type prometheus")
        for v in vars_.values():
            if v["name"] != "datasource" and v.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"{n}: variable {v['name']} does not use ${{datasource}}")
        ids = set()
        for p in all_panels(d):
            panel_count += 1
            t = f"{n}: panel '{p.get('title')}'"
            if p.get("id") in ids:
                problems.append(f"{t}: duplicate id")
            ids.add(p.get("id"))
            if not p.get("description"):
                problems.append(f"{t}: no description")
            if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
                problems.append(f"{t}: no unit")
            if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                problems.append(f"{t}: datasource is not the $datasource variable")
            if not p.get("targets"):
                problems.append(f"{t}: no queries")
            weekly = any(re.search(r"offset\s+(7d|1w)", tg.get("expr", "")) for tg in p.get("targets", []))
            desc = p.get("description", "")
            if weekly and not ("7 days" in desc and "backfill" in desc):
                problems.append(f"{t}: compares with last week but its description does not say it needs "
                                "7 days of history or a backfill")
            # Comparisons join on what identifies an app, not on instance.
            for tg in p.get("targets", []):
                e = tg.get("expr", "")
                if re.search(r"\boffset\s+\d", e) and not re.search(r"(max|sum|avg) by \(app(, period)?\)|on ?\(app", e):
                    problems.append(f"{t}: compares periods without aggregating or joining on app: {e}")
            for tg in p.get("targets", []):
                if tg.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                    problems.append(f"{t} {tg.get('refId')}: datasource is not the $datasource variable")
                expr = tg.get("expr", "")
                for rng in re.findall(r"\b(?:rate|irate)\s*\([^\[]*\[([^\]]*)\]", expr):
                    if rng != "$__rate_interval":
                        problems.append(f"{t}: rate() over [{rng}], not [$__rate_interval]")
                for rng in re.findall(r"\bincrease\s*\([^\[]*\[([^\]]*)\]", expr):
                    if rng not in ("$__range", "$__rate_interval"):
                        problems.append(f"{t}: increase() over [{rng}], not a Grafana interval")
                if "wechat_" in expr and 'job=~"$job"' not in expr:
                    problems.append(f"{t}: query does not filter on $job: {expr}")
                if re.search(r"wechat_(miniprogram|official_account|exporter_(api_requests|api_request_errors|poll|data|token|last))", expr) \
                        and 'app=~"$app"' not in expr:
                    problems.append(f"{t}: query does not filter on $app: {expr}")
    report(f"dashboards: unique uids, variables, unit+description on every panel, $datasource, "
           f"$__rate_interval, period comparisons by app, last-week panels say they need history ({panel_count} panels)", not problems, "\n".join(problems))


@guarded
def dashboards_schema():
    d = ROOT / "tests/deploy/grafana-schema"
    if not (d / "node_modules/@grafana/schema").exists():
        rc, out = run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=d)
        if rc:
            report("npm ci in tests/deploy/grafana-schema", False, out[-2000:])
            return
    check_cmd("dashboards type-check against @grafana/schema Dashboard (tsc --noEmit)",
              ["npm", "run", "-s", "check"], cwd=d)


# ------------------------------------------------------- dashboard-linter ---
# The rules of grafana/dashboard-linter (lint/rule_*.go), implemented here
# because neither Grafana nor a Go toolchain is available to the tests. Each
# function is one linter rule, named as the linter names it; PromQL is parsed
# with a real PromQL parser (promql-parser), after expanding Grafana
# variables outside quoted strings as the linter does (variables.go).
# Where the linter is lax by accident we are stricter, and say so.

# lint/rule_panel_units.go: Grafana's unit ids (valueFormats/categories.ts).
VALID_UNITS = set("""
none string short percent percentunit humidity dB hex0x hex sci locale pixel accMS2 accFS2 accG degree radian
grad arcmin arcsec areaM2 areaF2 areaMI2 flops mflops gflops tflops pflops eflops zflops yflops ppm conppb
conngm3 conngNm3 conμgm3 conμgNm3 conmgm3 conmgNm3 congm3 congNm3 conmgdL conmmolL currencyUSD currencyGBP
currencyEUR currencyJPY currencyRUB currencyUAH currencyBRL currencyDKK currencyISK currencyNOK currencySEK
currencyCZK currencyCHF currencyPLN currencyBTC currencymBTC currencyμBTC currencyZAR currencyINR currencyKRW
currencyIDR currencyPHP currencyVND bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes
decgbytes tbytes dectbytes pbytes decpbytes pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs
Mbits GiBs Gibits GBs Gbits TiBs Tibits TBs Tbits PiBs Pibits PBs Pbits dateTimeAsIso dateTimeAsIsoNoDateIfToday
dateTimeAsUS dateTimeAsUSNoDateIfToday dateTimeAsLocal dateTimeAsLocalNoDateIfToday dateTimeAsSystem
dateTimeFromNow watt kwatt megwatt gwatt mwatt Wm2 voltamp kvoltamp voltampreact kvoltampreact watth watthperkg
kwatth kwattm amph kamph mamph joule ev amp kamp mamp volt kvolt mvolt dBm ohm kohm Mohm farad µfarad nfarad
pfarad ffarad henry mhenry µhenry lumens flowgpm flowcms flowcfs flowcfm litreh flowlpm flowmlpm lux forceNm
forcekNm forceN forcekN Hs KHs MHs GHs THs PHs EHs massmg massg masslb masskg masst lengthmm lengthin lengthft
lengthm lengthkm lengthmi pressurembar pressurebar pressurekbar pressurepa pressurehpa pressurekpa pressurehg
pressurepsi radbq radci radgy radrad radsv radmsv radusv radrem radexpckg radr radsvh radmsvh radusvh rotrpm
rothz rotrads rotdegs celsius fahrenheit kelvin hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms
timeticks clockms clocks cps ops reqps rps wps iops cpm opm rpm wpm mps mpm velocityms velocitykmh velocitymph
velocityknot mlitre litre m3 Nm3 dm3 gallons bool bool_yes_no bool_on_off
""".split())

# lint/variables.go: sample values of Grafana's global variables.
# The linter's odd millisecond values, cut to whole seconds: the Rust
# parser refuses durations beyond 2^32 ms; they stay distinct from any range
# a query would spell out.
GRAFANA_GLOBALS = {"__rate_interval": "8869990s", "__interval": "4867856s", "__interval_ms": "7781188786",
                   "__range_ms": "6737667980", "__range_s": "9397795485", "__range": "6069770s",
                   "__auto": "12345s"}
RATE_INTERVAL_S = 8869990
LINT_VAR = re.compile(r"\$(\w+)|\$\{([^}]+)\}|\[\[([^\[\]]+)\]\]")


def lint_expand(expr):
    """Grafana variables -> sample values outside double-quoted strings
    (inside them, `job=~"$job"` stays literal, as in the linter)."""
    parts = expr.split('"')
    for i in range(0, len(parts), 2):
        def sub(m):
            name = (m.group(1) or m.group(2) or m.group(3)).split(":")[0]
            return GRAFANA_GLOBALS.get(name, name)
        parts[i] = LINT_VAR.sub(sub, parts[i])
    return '"'.join(parts)


def promql_walk(node, parents=()):
    """(node, parents) for every node of a promql_parser AST, depth first."""
    import promql_parser as pp
    yield node, parents
    kids = []
    if isinstance(node, pp.BinaryExpr):
        kids = [node.lhs, node.rhs]
    elif isinstance(node, pp.AggregateExpr):
        kids = [node.expr] + ([node.param] if node.param is not None else [])
    elif isinstance(node, pp.Call):
        kids = list(node.args)
    elif isinstance(node, pp.MatrixSelector):
        kids = [node.vector_selector]
    elif isinstance(node, (pp.ParenExpr, pp.SubqueryExpr, pp.UnaryExpr)):
        kids = [node.expr]
    for k in kids:
        yield from promql_walk(k, parents + (node,))


def lint_dashboard(d):
    """[(rule, message)] of every dashboard-linter rule that fails."""
    import promql_parser as pp
    errors = []
    err = errors.append
    tmpl = d.get("templating", {}).get("list", [])
    ds_vars = [t for t in tmpl if t.get("type", "").lower() == "datasource"]
    prometheus = bool(ds_vars) and ds_vars[0].get("query") == "prometheus"

    # template-datasource-rule
    if not ds_vars:
        err(("template-datasource-rule", "no templated data source"))
    for t in ds_vars:
        q = t.get("query", "").lower()
        names = {f"{q}_datasource"} | ({"datasource"} if len(ds_vars) == 1 else set())
        labels = {f"{q.title()} data source"} | ({"Data source"} if len(ds_vars) == 1 else set())
        if t.get("name") not in names:
            err(("template-datasource-rule", f"data source variable named {t.get('name')!r}, not {sorted(names)}"))
        if t.get("label") not in labels:
            err(("template-datasource-rule", f"data source variable labelled {t.get('label')!r}, not {sorted(labels)}"))

    # template-job-rule, template-instance-rule
    if prometheus:
        for name in ("job", "instance"):
            t = next((t for t in tmpl if t.get("name") == name), None)
            rule = f"template-{name}-rule"
            if t is None:
                err((rule, f"no {name} template"))
                continue
            uid = (t.get("datasource") or {}).get("uid") if isinstance(t.get("datasource"), dict) else t.get("datasource")
            if uid not in ("$datasource", "${datasource}", "$prometheus_datasource", "${prometheus_datasource}"):
                err((rule, f"{name} template uses data source {uid!r}, not $datasource"))
            if t.get("type") != "query":
                err((rule, f"{name} template is of type {t.get('type')!r}, not a query"))
            if t.get("label") != name.title():
                err((rule, f"{name} template labelled {t.get('label')!r}, not {name.title()!r}"))
            if not t.get("multi"):
                err((rule, f"{name} template is not multi-select"))
            if t.get("allValue") != ".+":
                err((rule, f"{name} template allValue is {t.get('allValue')!r}, not '.+'"))
            # Stricter than the linter: an allValue is only offered with "All".
            if not t.get("includeAll"):
                err((rule, f"{name} template does not include All"))

    for t in tmpl:
        if t.get("type") != "query":
            continue
        q = t.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        # template-label-promql-rule: a known function over valid PromQL.
        if prometheus:
            m = re.fullmatch(r"\s*([a-z_]+)\((.+)\)\s*", q, re.S)
            if not m or m.group(1) not in ("label_names", "label_values", "metrics", "query_result"):
                err(("template-label-promql-rule", f"{t['name']}: {q!r} is not label_values/label_names/metrics/query_result"))
            else:
                arg = m.group(2)
                if m.group(1) == "label_values" and "," in arg:
                    arg = arg.rsplit(",", 1)[0]
                try:
                    pp.parse(lint_expand(arg))
                except Exception as e:  # noqa: BLE001
                    err(("template-label-promql-rule", f"{t['name']}: {q!r}: {e}"))
        # template-on-time-change-reload-rule
        if t.get("refresh") != 2:
            err(("template-on-time-change-reload-rule", f"{t['name']}: refresh is {t.get('refresh')}, not 2 (on time range change)"))

    # uneditable-dashboard
    if d.get("editable", False):
        err(("uneditable-dashboard", "editable is true"))

    ds_uids = {f"${t['name']}" for t in ds_vars} | {f"${{{t['name']}}}" for t in ds_vars}
    for p in all_panels(d):
        title, typ = p.get("title"), p.get("type")
        where = f"panel {title!r}"
        graphish = typ in ("stat", "singlestat", "graph", "table", "timeseries", "gauge")
        # panel-datasource-rule (the linter checks singlestat, graph, table
        # and timeseries; every panel here queries, so every panel).
        ds = p.get("datasource")
        uid = ds.get("uid") if isinstance(ds, dict) else ds
        if uid not in ds_uids:
            err(("panel-datasource-rule", f"{where}: data source {uid!r} is not a templated one"))
        # panel-title-description-rule (stricter: every panel type)
        if not title or not p.get("description"):
            err(("panel-title-description-rule", f"{where}: missing title or description"))
        # panel-units-rule: a unit from Grafana's list unless value mappings
        # say what a value means. (The linter also skips panels whose
        # mappings are an empty list; that is an accident of its JSON
        # decoding, so an empty list does not exempt a panel here.)
        fc = p.get("fieldConfig") or {}
        unit = None
        for o in fc.get("overrides", []):
            for prop in o.get("properties", []):
                if prop.get("id") == "unit":
                    unit = prop.get("value")
        unit = unit or (fc.get("defaults") or {}).get("unit")
        mapped = bool((fc.get("defaults") or {}).get("mappings"))
        if not mapped and unit not in VALID_UNITS:
            err(("panel-units-rule", f"{where}: unit {unit!r} is not a Grafana unit"))
        # panel-no-targets-rule
        if graphish and not p.get("targets"):
            err(("panel-no-targets-rule", f"{where}: no targets"))
        if not prometheus:
            continue
        for tg in p.get("targets", []):
            expr = tg.get("expr", "")
            what = f"{where} {tg.get('refId')}"
            # target-promql-rule
            try:
                ast = pp.parse(lint_expand(expr))
            except Exception as e:  # noqa: BLE001
                err(("target-promql-rule", f"{what}: invalid PromQL {expr!r}: {e}"))
                continue
            for node, parents in promql_walk(ast):
                # target-job-rule, target-instance-rule: every selector.
                if isinstance(node, pp.VectorSelector):
                    ms = {(m.name, str(m.op)): m.value for m in node.matchers.matchers}
                    for label in ("job", "instance"):
                        if ms.get((label, "MatchOp.Re")) != f"${label}":
                            err((f"target-{label}-rule", f"{what}: selector {node} has no {label}=~\"${label}\""))
                    # target-counter-agg-rule (the linter compares the
                    # selector's text, which with matchers never ends in
                    # _total; the metric name is what is meant).
                    name = node.name or ""
                    if name.endswith("_total"):
                        ok = (len(parents) >= 2 and isinstance(parents[-1], pp.MatrixSelector)
                              and isinstance(parents[-2], pp.Call)
                              and parents[-2].func.name in ("rate", "irate", "increase"))
                        if not ok:
                            err(("target-counter-agg-rule", f"{what}: counter {name} not in rate/irate/increase"))
                # target-rate-interval-rule
                if isinstance(node, pp.MatrixSelector):
                    if round(node.range.total_seconds()) == RATE_INTERVAL_S or not parents:
                        continue
                    parent = parents[-1]
                    if not isinstance(parent, pp.Call):
                        err(("target-rate-interval-rule", f"{what}: range outside a function: {expr!r}"))
                    elif parent.func.name in ("rate", "irate"):
                        err(("target-rate-interval-rule", f"{what}: {parent.func.name}() should use $__rate_interval: {expr!r}"))
    return errors


@guarded
def dashboards_lint():
    """dashboard-linter's rules, one line per dashboard; a planted mistake of
    each kind must be caught too (so the linter cannot pass by accident)."""
    for f in DASHBOARDS:
        d = json.load(open(f))
        errs = lint_dashboard(d)
        report(f"dashboard-linter rules: {f.name}", not errs, "\n".join(f"{r}: {m}" for r, m in errs))
    d = json.load(open(DASHBOARDS[0]))
    bad = json.loads(json.dumps(d))
    bad["editable"] = True
    job = next(t for t in bad["templating"]["list"] if t["name"] == "job")
    job["allValue"] = ".*"
    job["refresh"] = 1
    panels = list(all_panels(bad))
    panels[0]["fieldConfig"]["defaults"]["unit"] = "suffix: pages"
    panels[0]["fieldConfig"]["defaults"]["mappings"] = []
    panels[1]["datasource"] = {"type": "prometheus", "uid": "prom"}
    panels[1]["description"] = ""
    panels[2]["targets"][0]["expr"] = 'rate(wechat_exporter_api_requests_total{job=~"$job"}[5m]) + wechat_exporter_api_requests_total{job=~"$job", instance=~"$instance"}'
    panels[3]["targets"][0]["expr"] = "sum(rate(x{"
    want = {"uneditable-dashboard", "template-job-rule", "template-on-time-change-reload-rule", "panel-units-rule",
            "panel-datasource-rule", "panel-title-description-rule", "target-rate-interval-rule",
            "target-instance-rule", "target-counter-agg-rule", "target-promql-rule"}
    got = {r for r, _ in lint_dashboard(bad)}
    report("dashboard-linter rules catch a planted mistake of each kind", want <= got,
           f"not caught: {sorted(want - got)}")


# ------------------------------------------------------------------ mixin ---
MIXIN_OUTPUTS = ["dashboards", "deploy/prometheus/rules", "deploy/kubernetes"]


def render_mixin(out_dir, config=None):
    """mixin/render.sh OUT (with _config overrides); the files it wrote."""
    script = ROOT / "mixin/render.sh"
    if config is not None:
        # A copy of the mixin whose config is overridden stands in for it.
        tmp = out_dir / "_mixin"
        shutil.copytree(ROOT / "mixin", tmp)
        (tmp / "mixin.libsonnet").write_text(
            (ROOT / "mixin/mixin.libsonnet").read_text() + f" + {{ _config+:: {json.dumps(config)} }}\n")
        script = tmp / "render.sh"
    rc, out = run(["bash", str(script), str(out_dir)])
    if rc:
        raise RuntimeError(out)
    return sorted(str(p) for sub in MIXIN_OUTPUTS for p in (out_dir / sub).glob("*") if p.is_file())


@guarded
def mixin():
    tmp = Path(tempfile.mkdtemp(prefix="wechat-mixin-"))
    try:
        files = render_mixin(tmp)
        outputs = [str(Path(f).relative_to(tmp)) for f in files]
        stale = [o for o in outputs if not (ROOT / o).exists() or (ROOT / o).read_text() != (tmp / o).read_text()]
        shipped = {rel(f) for f in DASHBOARDS + RULE_FILES} | {"deploy/kubernetes/prometheusrule.yaml"}
        missing = sorted(shipped - set(outputs))
        report(f"mixin renders exactly the shipped rules, alerts, PrometheusRule and dashboards ({len(outputs)} files)",
               not stale and not missing,
               "out of date (run: mixin/render.sh): " + ", ".join(stale)
               + ("\nnot rendered by the mixin: " + ", ".join(missing) if missing else ""))
        # The rendered YAML is written as a person would: plain keys (no
        # `"alert": "..."`), multi-line exprs as literal blocks.
        quoted = [f"{o}:{n}" for o in outputs if o.endswith((".yml", ".yaml"))
                  for n, line in enumerate((tmp / o).read_text().splitlines(), 1)
                  if re.match(r'\s*(- )?"[^"]*":', line)]
        report("mixin renders rule files and the PrometheusRule with plain keys",
               not quoted, "quoted keys at " + ", ".join(quoted[:10]))
        # PrometheusRule carries the very groups of the rule files.
        pr = yaml.safe_load((ROOT / "deploy/kubernetes/prometheusrule.yaml").read_text())
        groups = [g for f in RULE_FILES for g in yaml.safe_load(open(f))["groups"]]
        key = lambda g: g["name"]  # noqa: E731
        report("deploy/kubernetes/prometheusrule.yaml holds the groups of deploy/prometheus/rules/*.yml",
               sorted(pr["spec"]["groups"], key=key) == sorted(groups, key=key))

        # The job selector is a setting: another job name reaches every rule.
        other = tmp / "other"
        render_mixin(other, {"selector": 'job="wx-analytics"'})
        exprs = [r["expr"] for f in RULE_FILES for g in yaml.safe_load((other / rel(f)).read_text())["groups"]
                 for r in g["rules"]]
        text = "\n".join(exprs)
        ok = 'job="wechat-exporter"' not in text and 'up{job="wx-analytics"}' in text
        rc, out = run(["promtool", "check", "rules"] + [str(other / rel(f)) for f in RULE_FILES])
        report("mixin _config.selector replaces the job selector in every rule (promtool check rules)",
               ok and rc == 0, out[-2000:] + ("" if ok else "\njob=\"wechat-exporter\" still in the rendered rules"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------- live: exporter + prom ---
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_for(fn, timeout, what):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            if fn():
                return
        except RuntimeError:
            raise  # a process we wait for has exited: no point waiting
        except Exception as e:  # noqa: BLE001
            last = e
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} ({last})")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+\S+)?$")


def parse_exposition(text):
    """[(name, '{labels}' or '', value)] of a Prometheus text exposition."""
    types, out = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(None, 3)
            types[name] = typ
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"cannot parse exposition line: {line}")
        out.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return types, out


def family_type(name, types):
    for suffix in ("", "_total", "_bucket", "_count", "_sum", "_created"):
        if suffix and name.endswith(suffix) and name[: -len(suffix)] in types:
            return types[name[: -len(suffix)]]
        if not suffix and name in types:
            return types[name]
    return "untyped"


def om_value(x):
    """A float as OpenMetrics spells it (NaN, +Inf, -Inf)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x))


def history_openmetrics(text, job, instance, now, days=8, step=300, skip_recent=3 * 3600):
    """OpenMetrics with timestamps every `step` s from now-`days` to
    now-`skip_recent` (Prometheus' head block starts there), built from one
    scrape. Daily gauges vary a little from day to day; counters and
    histograms grow monotonically up to the scraped value; epoch gauges go
    back one day per day; 0/1 state gauges stay as they are."""
    types, samples = parse_exposition(text)
    start = now - days * 86400
    end = now - skip_recent
    ts = list(range(int(start - start % step), int(end), step))
    out = []
    for name, labels, v in samples:
        inner = labels[1:-1].strip().rstrip(",") if labels else ""
        lab = f'{{job="{job}",instance="{instance}"' + (f",{inner}" if inner else "") + "}"
        typ = family_type(name, types)
        seed = sum(map(ord, name + labels)) % 97
        for t in ts:
            days_ago = int((now - t) // 86400)
            if typ in ("counter", "histogram", "summary") and not name.endswith(("_created",)):
                x = math.floor(v * (t - start) / (now - start)) if v > 0 else v
            elif name.endswith("_timestamp_seconds"):
                x = v - days_ago * 86400 if v > 0 else v
            elif v in (0.0, 1.0) or name.endswith("_info") or math.isnan(v):
                x = v
            else:
                # +-8% per day, deterministic; ratios stay within [0, 1]
                f = 1 + 0.08 * math.sin(days_ago * 1.7 + seed)
                x = v * f
                if name.endswith("_ratio"):
                    x = min(x, 1.0)
                if float(v).is_integer():
                    x = round(x)
            out.append(f"{name}{lab} {om_value(x)} {t}")
    out.append("# EOF")
    return "\n".join(out) + "\n"


def substitute(expr, job):
    """Grafana variables -> values for an instant query now."""
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "1d").replace("$__interval", "1m")
            .replace("$job", job).replace("$instance", ".*").replace("$app", ".*")
            .replace("${datasource}", "").replace("$datasource", ""))


class Live:
    def __init__(self, exporter_cmd, tmp, fixture):
        self.exporter_cmd, self.tmp, self.procs, self.fixture = exporter_cmd, tmp, [], fixture

    def spawn(self, cmd, log):
        f = open(self.tmp / log, "w")
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)

    def log(self, name):
        try:
            return (self.tmp / name).read_text()[-2000:]
        except OSError:
            return ""


def query(prom, expr, t=None):
    args = {"query": expr} | ({"time": str(t)} if t is not None else {})
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode(args)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
    return body["data"]["result"]


# Beijing time, a fixed +08:00 offset (no daylight saving).
BEIJING = 8 * 3600
HISTORY_DAYS = 12  # covers offset 7d of daily and weekly values


def beijing_midnight_ts(d):
    import datetime as dt
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp()) - BEIJING


def backfill_history(lv, tmp, instance):
    """docs/backfill.md's import path with the real binary: the simulator, a
    config of the demo apps, `backfill --instance` of the live target.
    Returns the OpenMetrics files, or None after reporting a failure."""
    import datetime as dt
    binary = lv.exporter_cmd[0]
    sport = free_port()
    sim = lv.spawn([binary, "simulate", "--listen", f"127.0.0.1:{sport}", "--release-hour", "0"], "simulator.log")

    def up():
        if sim.poll() is not None:
            raise RuntimeError(f"simulator exited: {lv.log('simulator.log')}")
        with socket.create_connection(("127.0.0.1", sport), timeout=1):
            return True

    wait_for(up, 30, "simulator port")
    secrets = {}
    for app, secret in (("mp", "demo0c1d2e3f4a5b6c7d8e9f0a1b2c3d4"), ("oa", "demo9f8e7d6c5b4a3f2e1d0c9b8a7f6e5")):
        secrets[app] = tmp / f"{app}.secret"
        secrets[app].write_text(secret)
    cfg = tmp / "backfill.yml"
    cfg.write_text(yaml.safe_dump({
        "wechat": {"api_url": f"http://127.0.0.1:{sport}", "retry_delay": "10ms"},
        # The names --demo gives its apps: the live series' `app` label.
        "apps": [
            {"name": "demo-miniprogram", "type": "miniprogram", "appid": "wx5d3c9a1e7f2b4068",
             "secret_file": str(secrets["mp"]), "page_limit": 5},
            {"name": "demo-official-account", "type": "official_account", "appid": "wx8e1f4b7a2c5d9036",
             "secret_file": str(secrets["oa"])},
        ],
    }))
    yesterday = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=BEIJING)).date() - dt.timedelta(days=1)
    lv.first_day = yesterday - dt.timedelta(days=HISTORY_DAYS - 1)
    om = tmp / "history.om"
    cmd = [binary, "backfill", "--config.file", str(cfg), "--from", str(lv.first_day), "--to", str(yesterday),
           "--output", str(om), "--rate", "1000", "--instance", instance]
    rc, out = run(cmd)
    name = (f"history: wechat-exporter backfill --from {lv.first_day} --to {yesterday} --instance {instance} "
            f"(job default {JOB}) against wechat-exporter simulate")
    report(name, rc == 0 and om.exists(), out[-2000:])
    return [om] if rc == 0 and om.exists() else None


def history_joins_live(prom, lv, instance):
    """Issue 17's promise: one series per app and period across imported
    history and live data, from the oldest imported day to now."""
    span = f"{HISTORY_DAYS + 2}d"
    problems = []
    for expr, want in ((f"count by (app, period) (count_over_time(wechat_miniprogram_visitors[{span}]))",
                        {("demo-miniprogram", p) for p in ("daily", "weekly", "monthly")}),
                       (f"count by (app) (count_over_time(wechat_official_account_followers[{span}]))",
                        {("demo-official-account", None)})):
        r = query(prom, expr)
        got = {(x["metric"].get("app"), x["metric"].get("period")): float(x["value"][1]) for x in r}
        if set(got) != want:
            problems.append(f"{expr}: series for {sorted(got)}, expected {sorted(want, key=str)}")
        for k, n in got.items():
            if n != 1:
                problems.append(f"{k}: {int(n)} series over {span} (history and live are separate series)")
    q = 'wechat_miniprogram_visitors{app="demo-miniprogram", period="daily"}'
    t_old = beijing_midnight_ts(lv.first_day) + 86400 + 12 * 3600  # noon after the oldest day
    old, now = query(prom, q, t_old), query(prom, q)
    if len(old) != 1 or len(now) != 1:
        problems.append(f"{q}: {len(old)} series at the oldest imported day, {len(now)} now; expected 1 and 1")
    elif old[0]["metric"] != now[0]["metric"]:
        problems.append(f"{q}: history {old[0]['metric']} and live {now[0]['metric']} are different series")
    elif now[0]["metric"].get("job") != JOB or now[0]["metric"].get("instance") != instance:
        problems.append(f"{q}: labels {now[0]['metric']}, expected job {JOB} and instance {instance}")
    report(f"daily visitors: one series from the oldest imported day ({lv.first_day}) to the live scrape; "
           "one series per app and period", not problems, "\n".join(problems))


@guarded
def live(exporter_cmd, records, fixture=False):
    tmp = Path(tempfile.mkdtemp(prefix="wechat-deploy-test-"))
    lv = Live(exporter_cmd, tmp, fixture)
    try:
        _live(lv, tmp, records)
    finally:
        lv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _live(lv, tmp, records):
    eport = free_port()
    instance = f"127.0.0.1:{eport}"
    exp = lv.spawn(lv.exporter_cmd + [f"--web.listen-address={instance}"], "exporter.log")
    base = f"http://{instance}"

    def ready():
        if exp.poll() is not None:
            raise RuntimeError(f"exporter exited with {exp.returncode}: {lv.log('exporter.log')}")
        return http_get(base + "/-/ready")[0] == 200

    try:
        wait_for(ready, 60, "exporter /-/ready")
        ok = http_get(base + "/-/healthy")[0] == 200
        report("exporter starts in --demo mode, /-/healthy and /-/ready answer 200", ok)
    except Exception as e:  # noqa: BLE001
        report("exporter starts in --demo mode, /-/healthy and /-/ready answer 200", False,
               f"{e}\n{lv.log('exporter.log')}")
        return
    # Data families appear once every app has been polled; give it a moment.
    text = ""

    def scraped():
        nonlocal text
        text = http_get(base + "/metrics")[1]
        return "wechat_official_account_followers" in text and "wechat_miniprogram_retention_ratio" in text

    try:
        wait_for(scraped, 30, "data metrics on /metrics")
    except TimeoutError:
        pass
    rc, out = run(["promtool", "check", "metrics"], input=text)
    report("exporter /metrics passes promtool check metrics", rc == 0, out[-2000:])

    # History: in --fixture mode a synthetic one; otherwise docs/backfill.md's import
    # path, `wechat-exporter backfill` against `wechat-exporter simulate`
    # (same seed and apps as --demo), labelled for this scrape target.
    data = tmp / "data"
    data.mkdir()
    now = time.time()
    if lv.fixture:
        om = tmp / "history.om"
        om.write_text(history_openmetrics(text, JOB, instance, now))
        oms = [om]
    else:
        oms = backfill_history(lv, tmp, instance)
        if oms is None:
            return
    ok, out = True, ""
    for om in oms:
        rc, o = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=200h",
                     str(om), str(data)])
        ok, out = ok and rc == 0, out + o[-1000:]
        om.unlink()
    report("history turned into blocks with promtool tsdb create-blocks-from openmetrics", ok, out[-2000:])

    # Prometheus: the shipped config with the test's target, 1s intervals and
    # absolute rule paths.
    cfg = yaml.safe_load(open(PROM_DIR / "prometheus.yml"))
    cfg["global"]["scrape_interval"] = cfg["global"]["evaluation_interval"] = "1s"
    cfg["rule_files"] = [str(f) for f in RULE_FILES]
    cfg.pop("alerting", None)
    jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == JOB]
    jobs[0]["static_configs"] = [{"targets": [instance]}]
    jobs[0]["scrape_timeout"] = "1s"
    cfg["scrape_configs"] = jobs
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    pport = free_port()
    prom = f"http://127.0.0.1:{pport}"
    pp = lv.spawn(["prometheus", f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
                   f"--web.listen-address=127.0.0.1:{pport}", "--storage.tsdb.retention.time=30d",
                   "--log.level=warn"], "prometheus.log")

    def scraped_enough():
        if pp.poll() is not None:
            raise RuntimeError(f"prometheus exited: {lv.log('prometheus.log')}")
        r = query(prom, f'count_over_time(up{{job="{JOB}"}}[1m]) >= 5 and up{{job="{JOB}"}} == 1')
        return bool(r)

    try:
        wait_for(scraped_enough, 60, "5 successful scrapes")
        time.sleep(2)  # a couple of rule evaluations
        report("prometheus scrapes the exporter (up == 1)", True)
    except Exception as e:  # noqa: BLE001
        report("prometheus scrapes the exporter (up == 1)", False, f"{e}\n{lv.log('prometheus.log')}")
        return
    r = query(prom, f'wechat_miniprogram_visitors{{period="daily", job="{JOB}"}} offset 7d')
    report("backfilled history is queryable (offset 7d)", bool(r))
    if not lv.fixture:
        history_joins_live(prom, lv, instance)

    # Every panel query returns data.
    for f in DASHBOARDS:
        d = json.load(open(f))
        empty = []
        count = 0
        for p in all_panels(d):
            for tg in p.get("targets", []):
                count += 1
                expr = substitute(tg["expr"], JOB)
                try:
                    if not query(prom, expr):
                        empty.append(f"'{p['title']}' {tg['refId']}: empty: {expr}")
                except Exception as e:  # noqa: BLE001
                    empty.append(f"'{p['title']}' {tg['refId']}: {e}: {expr}")
        report(f"{f.name}: all {count} panel queries return data", not empty, "\n".join(empty))
        # Template variables resolve too.
        for v in d["templating"]["list"]:
            if v["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", v["query"]["query"])
            sel = substitute(m.group(1), JOB)
            url = f"{prom}/api/v1/label/{m.group(2)}/values?" + urllib.parse.urlencode({"match[]": sel})
            vals = json.load(urllib.request.urlopen(url, timeout=10))["data"]
            if not vals:
                report(f"{f.name}: variable ${v['name']} has values", False, v["query"]["query"])

    # Every recording rule has data. The error-rate rule can only have data
    # when the exporter has counted errors (the demo may have none).
    needs = {"app_api_errcode:wechat_exporter_api_request_errors:increase1h":
             "wechat_exporter_api_request_errors_total > 0"}
    bad = []
    for rec in records or []:
        if not query(prom, rec):
            pre = needs.get(rec)
            if pre and not query(prom, pre):
                print(f"      note: {rec} empty because {pre} is empty (no errors in the demo)")
                continue
            bad.append(rec)
    report(f"all {len(records or [])} recording rules produce data", not bad, "empty: " + ", ".join(bad))
    rules = json.load(urllib.request.urlopen(f"{prom}/api/v1/rules", timeout=10))["data"]["groups"]
    health = [f"{r['name']}: {r.get('lastError')}" for g in rules for r in g["rules"] if r.get("health") == "err"]
    report("all rules evaluate without error in Prometheus", not health and bool(rules), "\n".join(health))


@guarded
def backfill_defaults(binary):
    """`backfill --job/--instance` defaults are the labels the shipped scrape
    configs give the live series (static config and ServiceMonitor)."""
    rc, out = run([binary, "backfill", "--help"])
    flat = " ".join(out.split())
    job = re.search(r"--job <JOB> .*?\[default: ([^\]]+)\]", flat)
    inst = re.search(r"--instance <INSTANCE> .*?\[default: ([^\]]+)\]", flat)
    prom = yaml.safe_load(open(PROM_DIR / "prometheus.yml"))
    sc = next(j for j in prom["scrape_configs"] if j["job_name"] == JOB)
    targets = [t for c in sc["static_configs"] for t in c["targets"]]
    sm = yaml.safe_load(open(DEPLOY / "kubernetes/servicemonitor.yaml"))
    relabel = [r.get("replacement") for e in sm["spec"]["endpoints"] for r in e.get("relabelings", [])
               if r.get("targetLabel") == "instance"]
    svc = yaml.safe_load(open(DEPLOY / "kubernetes/service.yaml"))["metadata"]["name"]
    problems = []
    if not job or not inst:
        problems.append("backfill --help shows no --job/--instance default:\n" + out[-1500:])
    else:
        if job.group(1) != JOB or svc != JOB:
            problems.append(f"--job default {job.group(1)}, scrape job {JOB}, Kubernetes Service {svc}")
        if targets != [inst.group(1)] or relabel != [inst.group(1)]:
            problems.append(f"--instance default {inst.group(1)}, prometheus.yml targets {targets}, "
                            f"ServiceMonitor instance {relabel}")
    report("backfill --job/--instance defaults equal the shipped scrape config and ServiceMonitor labels",
           not problems, "\n".join(problems))


# --------------------------------------------------------------- compose ---
@guarded
def compose():
    path = DEPLOY / "docker-compose.yml"
    c = yaml.safe_load(open(path))
    problems = []
    if shutil.which("docker") and run(["docker", "compose", "version"])[0] == 0:
        check_cmd("docker compose config -q", ["docker", "compose", "-f", rel(path), "config", "-q"])
    services = c.get("services", {})
    for want in ("wechat-exporter", "prometheus", "alertmanager", "grafana"):
        if want not in services:
            problems.append(f"service {want} missing")
    ports = {"wechat-exporter": 10240, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}
    for name, s in services.items():
        for v in s.get("volumes", []):
            src = v.split(":")[0] if isinstance(v, str) else v.get("source")
            if src.startswith((".", "/")):
                p = (path.parent / src).resolve()
                if not p.exists():
                    problems.append(f"{name}: volume source {src} does not exist")
            elif src not in (c.get("volumes") or {}):
                problems.append(f"{name}: named volume {src} not declared")
        for p in s.get("ports", []):
            container = int(str(p).split(":")[-1].split("/")[0])
            if name in ports and container != ports[name]:
                problems.append(f"{name}: publishes container port {container}, expected {ports[name]}")
        for dep in s.get("depends_on", []):
            if dep not in services:
                problems.append(f"{name}: depends_on unknown service {dep}")
    ex = services.get("wechat-exporter", {})
    cmd = " ".join(ex.get("command", []) if isinstance(ex.get("command"), list) else [str(ex.get("command"))])
    if "--demo" not in cmd:
        problems.append("wechat-exporter does not run --demo")
    # Prometheus' scrape target / alertmanager target are compose services.
    prom_cfg = yaml.safe_load(open(PROM_DIR / "prometheus.yml"))
    for j in prom_cfg["scrape_configs"]:
        for sc in j.get("static_configs", []):
            for t in sc["targets"]:
                host, port = t.rsplit(":", 1)
                if host != "localhost" and (host not in services or int(port) != ports.get(host)):
                    problems.append(f"prometheus.yml target {t} is no compose service:port")
    for am in prom_cfg["alerting"]["alertmanagers"]:
        for sc in am["static_configs"]:
            for t in sc["targets"]:
                host, port = t.rsplit(":", 1)
                if host not in services or int(port) != 9093:
                    problems.append(f"prometheus.yml alertmanager {t} is no compose service:9093")
    # Grafana provisioning points at the dashboards and the prometheus service.
    prov = DEPLOY / "grafana/provisioning"
    ds = yaml.safe_load(open(prov / "datasources/datasources.yml"))
    if not any(d.get("type") == "prometheus" and "prometheus:9090" in d.get("url", "") for d in ds["datasources"]):
        problems.append("grafana datasource does not point at http://prometheus:9090")
    db = yaml.safe_load(open(prov / "dashboards/dashboards.yml"))
    dpath = db["providers"][0]["options"]["path"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"] if isinstance(v, str)}
    src = next((s for m, s in mounts.items() if dpath.startswith(m)), None)
    if not src or not list((path.parent / src).resolve().glob("*.json")):
        problems.append(f"grafana dashboard provider path {dpath} is not a mounted directory with dashboards")
    report("docker-compose.yml: services, volume paths, ports, provisioning", not problems, "\n".join(problems))


# ------------------------------------------------------------ kubernetes ---
@guarded
def kubernetes():
    k = DEPLOY / "kubernetes"
    kz = yaml.safe_load(open(k / "kustomization.yaml"))
    missing = [r for r in kz.get("resources", []) if not (k / r).exists()]
    report("kustomization.yaml resources exist", not missing, "missing: " + ", ".join(missing))
    built = None
    if shutil.which("kubectl"):
        rc, out = run(["kubectl", "kustomize", str(k)])
        report("kubectl kustomize deploy/kubernetes builds", rc == 0, out[-2000:])
        if rc == 0:
            built = [d for d in yaml.safe_load_all(out) if d]
    if built is None:
        built = [d for r in kz["resources"] for d in load_yaml_all(k / r)]
    core = [d for d in built if d["kind"] not in ("ServiceMonitor", "PrometheusRule")]
    tmp = Path(tempfile.mkdtemp())
    try:
        files = []
        for i, d in enumerate(core):
            f = tmp / f"{i}-{d['kind']}.yaml"
            f.write_text(yaml.safe_dump(d))
            files.append(str(f))
        kv = shutil.which("kubernetes-validate")
        if kv:
            rc, out = run([kv, "--strict"] + files)
            report(f"kubernetes-validate --strict ({', '.join(d['kind'] for d in core)})", rc == 0, out[-3000:])
        else:
            report("kubernetes-validate installed", False, "pip install kubernetes-validate")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    by_kind = {}
    for d in built:
        by_kind.setdefault(d["kind"], []).append(d)
    problems = []
    dep = by_kind["Deployment"][0]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
    if not sc.get("runAsNonRoot"):
        problems.append("Deployment: runAsNonRoot not set")
    if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        problems.append("Deployment: readOnlyRootFilesystem not set")
    if c.get("securityContext", {}).get("capabilities", {}).get("drop") != ["ALL"]:
        problems.append("Deployment: capabilities not drop ALL")
    if not c.get("resources", {}).get("limits") or not c.get("resources", {}).get("requests"):
        problems.append("Deployment: resources requests/limits missing")
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/-/healthy":
        problems.append("Deployment: liveness probe not /-/healthy")
    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/-/ready":
        problems.append("Deployment: readiness probe not /-/ready")
    cports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if cports.get("metrics") != EXPORTER_PORT:
        problems.append("Deployment: container port metrics != 10240")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    if not any("secret" in v for v in vols.values()) or not any("configMap" in v for v in vols.values()):
        problems.append("Deployment: secret and configMap volumes expected")
    names = {kind: {d["metadata"]["name"] for d in ds} for kind, ds in by_kind.items()}
    for v in vols.values():
        if "secret" in v and v["secret"]["secretName"] not in names.get("Secret", set()):
            problems.append(f"volume {v['name']}: Secret {v['secret']['secretName']} not in kustomization")
        if "configMap" in v and v["configMap"]["name"] not in names.get("ConfigMap", set()):
            problems.append(f"volume {v['name']}: ConfigMap {v['configMap']['name']} not in kustomization")
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols:
            problems.append(f"volumeMount {m['name']} has no volume")
    svc = by_kind["Service"][0]
    sp = {p["name"]: p for p in svc["spec"]["ports"]}
    if "metrics" not in sp or sp["metrics"].get("targetPort") not in ("metrics", EXPORTER_PORT):
        problems.append("Service: no port named metrics targeting the container port")
    sel = svc["spec"]["selector"]
    if any(dep["spec"]["template"]["metadata"]["labels"].get(k) != v for k, v in sel.items()):
        problems.append("Service selector does not match the pod labels")
    if svc["metadata"]["name"] != JOB:
        problems.append(f"Service name should be {JOB}: it becomes the job label the alerts use")
    # ServiceMonitor structure
    sm = by_kind.get("ServiceMonitor", [None])[0]
    if not sm or sm.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.append("ServiceMonitor missing or not monitoring.coreos.com/v1")
    else:
        if any(svc["metadata"]["labels"].get(k) != v for k, v in sm["spec"]["selector"]["matchLabels"].items()):
            problems.append("ServiceMonitor selector does not match the Service labels")
        if not all(e.get("port") in sp for e in sm["spec"]["endpoints"]):
            problems.append("ServiceMonitor endpoint port is not a Service port name")
    pr = by_kind.get("PrometheusRule", [None])[0]
    if not pr or pr.get("apiVersion") != "monitoring.coreos.com/v1" or not pr.get("spec", {}).get("groups"):
        problems.append("PrometheusRule missing or malformed")
    report("kubernetes manifests: security context, probes, ports, secret/config wiring, CRD structure",
           not problems, "\n".join(problems))
    if pr:
        tmp = Path(tempfile.mkdtemp())
        (tmp / "rules.yml").write_text(yaml.safe_dump({"groups": pr["spec"]["groups"]}))
        check_cmd("promtool check rules on the PrometheusRule's spec", ["promtool", "check", "rules", str(tmp / "rules.yml")])
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------- systemd ---
SYSTEMD_REQUIRED = {
    "Service": ["ExecStart", "DynamicUser|User", "ProtectSystem", "NoNewPrivileges", "PrivateTmp",
                "CapabilityBoundingSet", "ProtectHome", "StateDirectory"],
    "Install": ["WantedBy"],
}


@guarded
def systemd():
    unit = DEPLOY / "systemd/wechat-exporter.service"
    sections, problems, cur = {}, [], None
    # Join backslash continuations into one logical line, as systemd does.
    logical, buf, start = [], "", 0
    for n, line in enumerate(unit.read_text().splitlines(), 1):
        if not buf:
            start = n
        if line.rstrip().endswith("\\") and not line.lstrip().startswith(("#", ";")):
            buf += line.rstrip()[:-1] + " "
            continue
        logical.append((start, buf + line))
        buf = ""
    for n, line in logical:
        s = line.strip()
        if not s or s.startswith(("#", ";")):
            continue
        if s.startswith("["):
            if not re.fullmatch(r"\[[A-Za-z]+\]", s):
                problems.append(f"line {n}: bad section header {s}")
            cur = s[1:-1]
            sections.setdefault(cur, {})
            continue
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)=(.*)", s)
        if not m or cur is None:
            problems.append(f"line {n}: not Key=Value inside a section: {s}")
            continue
        sections[cur].setdefault(m.group(1), []).append(m.group(2))
    for sec, keys in SYSTEMD_REQUIRED.items():
        for k in keys:
            if not any(alt in sections.get(sec, {}) for alt in k.split("|")):
                problems.append(f"[{sec}] {k} missing")
    svc = sections.get("Service", {})
    if svc.get("CapabilityBoundingSet") and svc["CapabilityBoundingSet"][-1] != "":
        problems.append("CapabilityBoundingSet should be empty")
    if svc.get("ProtectSystem", [""])[-1] != "strict":
        problems.append("ProtectSystem should be strict")
    if "10240" not in " ".join(svc.get("ExecStart", [])):
        problems.append("ExecStart does not listen on 10240")
    report("systemd unit: syntax and hardening directives", not problems, "\n".join(problems))
    if shutil.which("systemd-analyze"):
        # The binary path in ExecStart must exist for verify: point it at a
        # stand-in executable.
        tmp = Path(tempfile.mkdtemp())
        fake = tmp / "wechat-exporter"
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
        text = unit.read_text().replace("/usr/local/bin/wechat-exporter", str(fake))
        (tmp / "wechat-exporter.service").write_text(text)
        rc, out = run(["systemd-analyze", "verify", "--man=no", str(tmp / "wechat-exporter.service")])
        # In a container without systemd as PID 1 verify may not run at all;
        # only a complaint about our unit counts.
        ours = [l for l in out.splitlines() if "wechat-exporter.service" in l]
        report("systemd-analyze verify wechat-exporter.service", not ours, "\n".join(ours))
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------ dockerfile ---
@guarded
def dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    problems = []
    if len(froms) < 2:
        problems.append("not multi-stage")
    users = [l.split(None, 1)[1] for l in lines if l.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"\d+(:\d+)?", users[-1]) or users[-1].split(":")[0] == "0":
        problems.append("final USER is not a numeric non-root uid")
    if not any(re.fullmatch(r"EXPOSE\s+10240(/tcp)?", l, re.I) for l in lines):
        problems.append("EXPOSE 10240 missing")
    ep = [l for l in lines if l.upper().startswith("ENTRYPOINT")]
    if not ep or "wechat-exporter" not in ep[-1]:
        problems.append("ENTRYPOINT is not the binary")
    copies = [l for l in lines if l.upper().startswith("COPY ") and "--from" not in l]
    for l in copies:
        for src in l.split()[1:-1]:
            if not src.startswith("--") and not (ROOT / src).exists():
                problems.append(f"COPY source {src} does not exist")
    if not (ROOT / ".dockerignore").exists():
        problems.append(".dockerignore missing")
    elif "target" not in (ROOT / ".dockerignore").read_text():
        problems.append(".dockerignore does not exclude target/")
    report("Dockerfile: multi-stage, numeric non-root USER, EXPOSE 10240, ENTRYPOINT, COPY sources exist",
           not problems, "\n".join(problems))


# -------------------------------------------------------------- yamllint ---
@guarded
def yamllint():
    files = sorted(set(glob.glob(str(DEPLOY / "**/*.yml"), recursive=True)
                       + glob.glob(str(DEPLOY / "**/*.yaml"), recursive=True)))
    check_cmd(f"yamllint ({len(files)} YAML files under deploy/)",
              [sys.executable, "-m", "yamllint", "-c", ".yamllint", "--strict"] + [rel(f) for f in files])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", action="store_true",
                    help="development only: serve tests/deploy/fixtures/metrics.txt instead of the real exporter")
    ap.add_argument("--skip-live", action="store_true", help="skip the exporter + Prometheus panel test")
    args = ap.parse_args()

    have_tools = tools()
    alerts = records = None
    if have_tools:
        res = prometheus_static()
        if res:
            alerts, records = res
        alertmanager_static(alerts)
    mixin()
    dashboards_static()
    dashboards_lint()
    dashboards_schema()
    if have_tools and not args.skip_live:
        if args.fixture:
            print("NOTE  --fixture: panel queries checked against the hand-made fixture, not the exporter")
            cmd = [sys.executable, str(ROOT / "tests/deploy/fixture_server.py")]
        else:
            binary = os.environ.get("WECHAT_EXPORTER_BIN", "target/debug/wechat-exporter")
            path = (ROOT / binary) if not os.path.isabs(binary) else Path(binary)
            if not (path.is_file() and os.access(path, os.X_OK)):
                report(f"exporter binary {binary} exists", False,
                       "build it (cargo build) or set WECHAT_EXPORTER_BIN; --fixture is for local development only")
                cmd = None
            else:
                cmd = [str(path), "--demo"]
                backfill_defaults(str(path))
        if cmd:
            live(cmd, records, args.fixture)
    compose()
    kubernetes()
    systemd()
    dockerfile()
    yamllint()
    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
