#!/usr/bin/env bash
# Platform mode at full size (1,000 authorized apps, 900 with the analytics
# permission), two ways:
#  1. the binary as users run it: `wechat-exporter simulate --authorized 1000
#     --release-hour 0 --ticket-file F` and the exporter on a platform-mode
#     config; times start → /-/ready and counts the simulator's calls by kind;
#  2. `cargo bench --bench platform`: 7 simulated days on a manual clock
#     (discovery hourly, rounds every 30 min): token and discovery calls per
#     hour, data calls per app per day against the floor.
# Needs: cargo, curl, bc, python3. Loopback only; ends only what it started.
# N=100 for a smaller run; CARGO_BENCH=0 for part 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
SIM_PORT=${SIM_PORT:-19251}
EXP_PORT=${EXP_PORT:-19250}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "== building (release)" >&2
cargo build --release --quiet
BIN=target/release/wechat-exporter

# The working directory is the repository root (above).
. benches/lib.sh

"$BIN" simulate --listen "127.0.0.1:$SIM_PORT" --release-hour 0 --authorized "$N" \
  --ticket-file "$TMP/ticket" --log.level warn &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SIM_PORT/simulator/requests" && break; sleep 0.05; done
printf 'demo-component-secret-7d1f0e9a2b' >"$TMP/secret"
cat >"$TMP/config.yml" <<YAML
wechat:
  api_url: http://127.0.0.1:$SIM_PORT
poll:
  concurrency: 32
  release_hour: 0
platform:
  component_appid: wx0c0a1b2c3d4e5f60
  component_secret_file: $TMP/secret
  component_verify_ticket_file: $TMP/ticket
YAML
"$BIN" --config.file "$TMP/config.yml" --web.listen-address "127.0.0.1:$EXP_PORT" --log.level error &
PIDS+=($!)
READY_S=$(wait_http "http://127.0.0.1:$EXP_PORT/-/ready" 600)
curl -s "http://127.0.0.1:$SIM_PORT/simulator/requests" >"$TMP/requests.json"
COUNTS=$(python3 - "$TMP/requests.json" <<'PY'
import json, sys, collections
c = collections.Counter()
for r in json.load(open(sys.argv[1])):
    c["data" if r["path"].startswith("/datacube/") or r["path"] == "/wxa/business/performance/boot" else (r.get("token_kind") or "other")] += 1
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))
PY
)
APPS=$(curl -s "http://127.0.0.1:$EXP_PORT/metrics" | grep -c '^wechat_exporter_platform_app_info{' || true)
echo "RESULT platform_binary authorized=$N polled=$APPS start_to_ready_s=$READY_S calls: $COUNTS"

# CARGO_BENCH=0 skips the simulated days (a few minutes at 1,000 apps).
if [ "${CARGO_BENCH:-1}" != 0 ]; then
  echo "== cargo bench --bench platform (simulated days)" >&2
  BENCH_AUTHORIZED=$N cargo bench --quiet --bench platform 2>/dev/null | grep '^RESULT'
fi
