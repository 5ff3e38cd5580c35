#!/usr/bin/env bash
# Deploy tests of wechat-exporter: one entry point, exits non-zero on any
# failure, last line "N passed, M failed".
#
#   tests/deploy/run.sh             # CI: runs $WECHAT_EXPORTER_BIN --demo
#                                   # (default target/debug/wechat-exporter)
#   tests/deploy/run.sh --fixture   # local development without the binary
#   tests/deploy/run.sh --skip-live # static checks only
#
# Needs (Debian) prometheus, prometheus-alertmanager (promtool, amtool) and jsonnet,
# python3 and node/npm; installs the Python and npm tools it uses.
set -u
cd "$(dirname "$0")/../.."

PY=${PYTHON:-python3}
missing=()
for t in prometheus promtool amtool jsonnet "$PY" node npm; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
command -v alertmanager >/dev/null 2>&1 || command -v prometheus-alertmanager >/dev/null 2>&1 \
  || missing+=("alertmanager")
if ((${#missing[@]})); then
  echo "MISSING TOOLS: ${missing[*]}" >&2
  echo "  apt-get install -y prometheus prometheus-alertmanager jsonnet   (prometheus, promtool, alertmanager, amtool, jsonnet)" >&2
  echo "  python3 and node/npm must be on PATH" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Python tools (quiet; no-op when present).
# promql-parser: a real PromQL parser for the dashboard-linter rules.
if ! "$PY" -c 'import yaml, yamllint, kubernetes_validate, check_jsonschema, promql_parser' >/dev/null 2>&1; then
  "$PY" -m pip install --quiet --disable-pip-version-check pyyaml kubernetes-validate check-jsonschema yamllint promql-parser \
    || { echo "pip install failed"; echo "0 passed, 1 failed"; exit 1; }
fi
# kubernetes-validate's script may land outside PATH (user installs).
PATH="$PATH:$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export PATH

# npm tools for the dashboard schema check (pinned by package-lock.json).
if [ ! -d tests/deploy/grafana-schema/node_modules/@grafana/schema ]; then
  (cd tests/deploy/grafana-schema && npm ci --no-audit --no-fund --loglevel=error) \
    || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

exec "$PY" tests/deploy/checks.py "$@"
