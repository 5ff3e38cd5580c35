#!/usr/bin/env bash
# Issue 17's figure: time and disk of docs/backfill.md's import path for 30 days
# of one Mini Program with 200 pages (page_limit 200, every API), against the
# simulator on loopback. Runs the real commands: `wechat-exporter simulate`,
# `wechat-exporter backfill`, `promtool tsdb create-blocks-from openmetrics`.
#
#   benches/backfill_30d.sh                 # uses target/release if built, else target/debug
#   BIN=path/to/wechat-exporter DAYS=30 benches/backfill_30d.sh
#   SPLIT_DAYS=1 benches/backfill_30d.sh    # one file per day, promtool per file
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$( [ -x target/release/wechat-exporter ] && echo target/release/wechat-exporter || echo target/debug/wechat-exporter )}
DAYS=${DAYS:-30}
SPLIT_DAYS=${SPLIT_DAYS:-0}
tmp=$(mktemp -d)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" simulate --listen "127.0.0.1:$port" --release-hour 0 >"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
printf demo0c1d2e3f4a5b6c7d8e9f0a1b2c3d4 >"$tmp/mp.secret"
cat >"$tmp/wechat.yml" <<YAML
wechat:
  api_url: http://127.0.0.1:$port
apps:
  - name: shop
    type: miniprogram
    appid: wx5d3c9a1e7f2b4068
    secret_file: $tmp/mp.secret
    page_limit: 200
YAML
to=$(TZ=Asia/Shanghai date -d yesterday +%F)
from=$(TZ=Asia/Shanghai date -d "$to - $((DAYS - 1)) days" +%F)

t0=$(date +%s.%N)
"$BIN" backfill --config.file "$tmp/wechat.yml" --from "$from" --to "$to" \
    --output "$tmp/history.om" --rate 1000 --split-days "$SPLIT_DAYS" 2>"$tmp/backfill.log"
t1=$(date +%s.%N)
if [ "$SPLIT_DAYS" = 0 ]; then
  files=("$tmp/history.om")
  promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$tmp/history.om" "$tmp/blocks" >/dev/null
else
  files=("$tmp"/history.om.part-*)
  for f in "${files[@]}"; do promtool tsdb create-blocks-from openmetrics "$f" "$tmp/blocks" >/dev/null; done
fi
t2=$(date +%s.%N)

pages=$(cat "${files[@]}" | grep -o 'wechat_miniprogram_page_visits{[^}]*page="[^"]*"' | sed 's/.*page="//' | sort -u | wc -l)
lines=$(cat "${files[@]}" | grep -vc '^#')
echo "binary:                 $BIN"
echo "range:                  $from .. $to ($DAYS days), pages served by the simulator: $pages"
tail -n +1 "$tmp/backfill.log" | grep '^backfill:' | tail -1
echo "backfill wall time:     $(echo "$t1 - $t0" | bc) s (--rate 1000; at the default --rate 5 the calls alone take calls/5 s)"
echo "OpenMetrics:            $(cat "${files[@]}" | wc -c) bytes in ${#files[@]} file(s), $lines sample lines"
echo "promtool wall time:     $(echo "$t2 - $t1" | bc) s ($(promtool --version 2>&1 | head -1 | cut -d' ' -f3), $([ "$SPLIT_DAYS" = 0 ] && echo "--max-block-duration=24h" || echo "one run per file"))"
echo "TSDB blocks on disk:    $(du -sb "$tmp/blocks" | cut -f1) bytes"
