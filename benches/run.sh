#!/usr/bin/env bash
# Runs every benchmark of docs/performance.md and prints its table.
#
#   benches/run.sh                 # everything, a few minutes
#   DURATION=5s benches/run.sh     # shorter wrk runs
#
# Needs: cargo, curl, wrk, nginx (/usr/sbin/nginx or on PATH). Loopback only.
# What it does:
#  1. builds the release binary;
#  2. starts `wechat-exporter simulate --apps 1000 --release-hour 0` (data of
#     yesterday is released, so every app's first round finds data);
#  3. for 1, 100 and 1,000 apps: starts the exporter on a generated config,
#     times start → /-/ready, reads VmRSS, saves /metrics (plain and gzip);
#  4. for 1 and 100 apps: serves the saved bytes with nginx (gzip_static for
#     the gzip copy: the ceiling for serving precomputed bytes) and runs the
#     same wrk load against both, with and without Accept-Encoding: gzip;
#  5. runs `cargo bench --bench calls_per_day` (calls per app per day vs the
#     floor).
# Every ratio compares figures measured in this run on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
SIM_PORT=${SIM_PORT:-19241}
EXP_PORT=${EXP_PORT:-19240}
NGINX_PORT=${NGINX_PORT:-19242}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
for t in curl wrk "$NGINX"; do
  command -v "$t" >/dev/null || { echo "benches/run.sh: $t is required" >&2; exit 2; }
done

TMP=$(mktemp -d)
# nginx workers drop to an unprivileged user when started as root: they
# must be able to read the saved bytes.
chmod 755 "$TMP"
PIDS=()
cleanup() {
  # Only the processes this script started, by pid.
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "== building (release)" >&2
cargo build --release --quiet
BIN=target/release/wechat-exporter

wait_http() { # url, timeout seconds → prints seconds waited, fails on timeout
  local url=$1 limit=$2 t0 now
  t0=$(date +%s.%N)
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ]; do
    now=$(date +%s.%N)
    if (($(echo "$now - $t0 > $limit" | bc))); then
      echo "timeout waiting for $url" >&2
      return 1
    fi
    sleep 0.02
  done
  echo "$(date +%s.%N) - $t0" | bc
}

"$BIN" simulate --listen "127.0.0.1:$SIM_PORT" --apps 1000 --release-hour 0 --log.level warn &
PIDS+=($!)
SIM_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SIM_PORT/simulator/requests" && break; sleep 0.05; done

gen_config() { # n → config path; app i mirrors the simulator's generated app i
  local n=$1 cfg="$TMP/config-$1.yml" i kind appid
  mkdir -p -m 700 "$TMP/secrets"
  {
    echo "wechat:"
    echo "  api_url: http://127.0.0.1:$SIM_PORT"
    echo "poll:"
    echo "  concurrency: 32"
    echo "  release_hour: 0"
    echo "apps:"
    for ((i = 0; i < n; i++)); do
      [ -f "$TMP/secrets/$i" ] || printf 'sim-secret-%d' "$i" >"$TMP/secrets/$i"
      if ((i % 2 == 0)); then kind=miniprogram; else kind=official_account; fi
      appid=$(printf 'wx%016x' $((0x00be0c0000000000 + i)))
      echo "  - name: app-$i"
      echo "    type: $kind"
      echo "    appid: $appid"
      echo "    secret_file: $TMP/secrets/$i"
    done
  } >"$cfg"
  echo "$cfg"
}

EXP_PID=
start_exporter() { # n → sets READY_S, RSS_KB; leaves the exporter running
  local cfg
  cfg=$(gen_config "$1")
  curl -s -X DELETE "http://127.0.0.1:$SIM_PORT/simulator/requests" >/dev/null
  "$BIN" --config.file "$cfg" --web.listen-address "127.0.0.1:$EXP_PORT" --log.level error &
  EXP_PID=$!
  PIDS+=("$EXP_PID")
  READY_S=$(wait_http "http://127.0.0.1:$EXP_PORT/-/ready" 300)
  RSS_KB=$(awk '/^VmRSS/ {print $2}' "/proc/$EXP_PID/status")
  CALLS=$(curl -s "http://127.0.0.1:$SIM_PORT/simulator/requests" | grep -o '"path"' | wc -l)
}
stop_exporter() {
  kill "$EXP_PID" 2>/dev/null || true
  wait "$EXP_PID" 2>/dev/null || true
}

NGINX_PID=
start_nginx() { # dir → serves dir/metrics, and dir/metrics.gz to gzip clients
  local root=$1
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  default_type "text/plain; version=0.0.4; charset=utf-8";
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $root;
    gzip_static on;
  }
}
EOF
  "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$NGINX_PORT/metrics" 10 >/dev/null
}
stop_nginx() {
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
}

wrk_run() { # url, gzip(0/1) → "rps p99_ms"
  local out
  if [ "$2" = 1 ]; then
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H 'Accept-Encoding: gzip' "$1")
  else
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$1")
  fi
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "wrk saw errors against $1:" >&2
    echo "$out" >&2
    return 1
  fi
  local rps p99
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}')
  echo "$rps $p99"
}

declare -A READY RSS BODY GZ NCALLS
RESULTS=()
for n in 1 100 1000; do
  echo "== $n app(s): start to ready" >&2
  start_exporter "$n"
  READY[$n]=$READY_S
  RSS[$n]=$RSS_KB
  NCALLS[$n]=$CALLS
  mkdir -p "$TMP/www-$n"
  curl -s -o "$TMP/www-$n/metrics" "http://127.0.0.1:$EXP_PORT/metrics"
  curl -s -H 'Accept-Encoding: gzip' -o "$TMP/www-$n/metrics.gz" "http://127.0.0.1:$EXP_PORT/metrics"
  BODY[$n]=$(stat -c %s "$TMP/www-$n/metrics")
  GZ[$n]=$(stat -c %s "$TMP/www-$n/metrics.gz")
  if [ "$n" != 1000 ]; then
    start_nginx "$TMP/www-$n"
    # nginx must serve exactly the bytes the exporter serves.
    curl -s "http://127.0.0.1:$NGINX_PORT/metrics" | cmp -s - "$TMP/www-$n/metrics" || { echo "nginx bytes differ" >&2; exit 1; }
    for gz in 0 1; do
      echo "== $n app(s), gzip=$gz: wrk $DURATION x2 (exporter, nginx)" >&2
      read -r e_rps e_p99 < <(wrk_run "http://127.0.0.1:$EXP_PORT/metrics" "$gz")
      read -r n_rps n_p99 < <(wrk_run "http://127.0.0.1:$NGINX_PORT/metrics" "$gz")
      RESULTS+=("$n $gz $e_rps $n_rps $e_p99 $n_p99")
    done
    stop_nginx
  fi
  stop_exporter
done

echo "== calls per app per simulated day (cargo bench)" >&2
CALLS_LINE=$(cargo bench --quiet --bench calls_per_day 2>/dev/null | grep '^RESULT')

# The table (markdown), as in docs/performance.md.
echo
echo "Machine: $(nproc) cores, $(uname -sr); wrk -t2 -c$CONNS -d$DURATION; $(date -u +%F)"
echo
echo "| benchmark | exporter | reference (same run) | ratio |"
echo "| --- | --- | --- | --- |"
for r in "${RESULTS[@]}"; do
  read -r n gz e_rps n_rps e_p99 n_p99 <<<"$r"
  enc=$([ "$gz" = 1 ] && echo gzip || echo plain)
  printf '| /metrics req/s, %s app(s), %s (%s B) | %.0f | nginx %.0f | %.2f |\n' \
    "$n" "$enc" "$([ "$gz" = 1 ] && echo "${GZ[$n]}" || echo "${BODY[$n]}")" \
    "$e_rps" "$n_rps" "$(echo "$e_rps / $n_rps" | bc -l)"
  if [ "$n" = 100 ]; then
    printf '| p99 scrape latency, 100 apps, %s, %d conns | %.2f ms | nginx %.2f ms | %.2f |\n' \
      "$enc" "$CONNS" "$e_p99" "$n_p99" "$(echo "$e_p99 / $n_p99" | bc -l)"
  fi
done
for n in 1 100 1000; do
  printf '| VmRSS after ready, %s app(s) | %.1f MiB (%.0f KiB/app) | /metrics body %.0f KiB/app | %.2f |\n' \
    "$n" "$(echo "${RSS[$n]} / 1024" | bc -l)" "$(echo "${RSS[$n]} / $n" | bc -l)" \
    "$(echo "${BODY[$n]} / 1024 / $n" | bc -l)" "$(echo "${RSS[$n]} * 1024 / ${BODY[$n]}" | bc -l)"
done
printf '| marginal VmRSS per app (1 → 1,000 apps) | %.0f KiB | | |\n' \
  "$(echo "(${RSS[1000]} - ${RSS[1]}) / 999" | bc -l)"
for n in 1 100 1000; do
  printf '| start → ready, %s app(s) | %.2f s | %s WeChat calls | %.0f calls/s |\n' \
    "$n" "${READY[$n]}" "${NCALLS[$n]}" "$(echo "${NCALLS[$n]} / ${READY[$n]}" | bc -l)"
done
# RESULT calls_per_day apps=.. days=.. data_per_app_day=.. token_per_app_day=.. floor_per_app_day=.. ratio=..
val() { echo "$CALLS_LINE" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
printf '| WeChat data calls per app per day (%s apps, %s days) | %s (+%s token) | floor %s | %s |\n' \
  "$(val apps)" "$(val days)" "$(val data_per_app_day)" "$(val token_per_app_day)" "$(val floor_per_app_day)" "$(val ratio)"
kill "$SIM_PID" 2>/dev/null || true
