#!/usr/bin/env bash
# Renders the monitoring mixin into the files the repository ships:
# deploy/prometheus/rules/*.yml, deploy/kubernetes/prometheusrule.yaml and
# dashboards/*.json. Needs jsonnet (Debian/Ubuntu: apt-get install jsonnet).
#
#   mixin/render.sh          # rewrite them in this checkout
#   mixin/render.sh DIR      # write them under DIR instead (tests compare)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/..}
mkdir -p "$out/dashboards" "$out/deploy/prometheus/rules" "$out/deploy/kubernetes"
jsonnet -S -m "$out" "$here/render-rules.jsonnet" >/dev/null
jsonnet -m "$out" "$here/render-dashboards.jsonnet" >/dev/null
