#!/usr/bin/env bash
# Runs every benchmark of docs/performance.md and prints its table.
#
#   benches/run.sh                          # everything, ~10 minutes
#   DURATION=5s benches/run.sh              # shorter wrk runs
#   BIN=/path/to/wechat-exporter benches/run.sh   # another build (no cargo build)
#   SIZES="1 100" benches/run.sh            # fewer app counts
#   CARGO_BENCHES=0 benches/run.sh          # skip the two cargo benches
#
# Needs: cargo, curl, wrk, nginx (/usr/sbin/nginx or on PATH). Loopback only.
# What it does:
#  1. builds the release binary (unless BIN is given);
#  2. starts `wechat-exporter simulate --apps 2000 --pages $PAGES --release-hour 0`
#     (data of yesterday is released, so every app's first round finds data);
#  3. for 1, 100 and 1,000 Mini Programs (every API, $PAGES pages each): starts
#     the exporter on a generated config, times start → /-/ready, waits for
#     the round to end, reads VmRSS at rest, saves /metrics (plain and gzip);
#  4. for 1 and 100 apps: 32 connections scrape for $DURATION (plain, then
#     gzip) while VmRSS is sampled: the growth over the RSS at rest; then
#     nginx serves the saved bytes (gzip_static for the gzip copy: the
#     ceiling for serving precomputed bytes) and the same wrk load runs
#     against both;
#  5. stops the exporter (it saves its state file) and reads the file's size;
#  6. runs `cargo bench --bench render` (build time per publish, 1,000 apps)
#     and `cargo bench --bench calls_per_day` (calls per app per day).
# Every ratio compares figures measured in this run on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
PAGES=${PAGES:-200}
SIZES=${SIZES:-1 100 1000}
SIM_PORT=${SIM_PORT:-19241}
EXP_PORT=${EXP_PORT:-19240}
NGINX_PORT=${NGINX_PORT:-19242}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
for t in curl wrk bc "$NGINX"; do
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

if [ -z "${BIN:-}" ]; then
  echo "== building (release)" >&2
  cargo build --release --quiet
  BIN=target/release/wechat-exporter
fi

# The working directory is the repository root (above).
. benches/lib.sh

"$BIN" simulate --listen "127.0.0.1:$SIM_PORT" --apps 2000 --pages "$PAGES" --release-hour 0 --log.level warn &
SIM_PID=$!
PIDS+=("$SIM_PID")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SIM_PORT/simulator/requests" && break; sleep 0.05; done

gen_config() { # n → config path; app i is the simulator's generated Mini Program 2i
  local n=$1 cfg="$TMP/config-$1.yml" i appid
  mkdir -p -m 700 "$TMP/secrets"
  {
    echo "wechat:"
    echo "  api_url: http://127.0.0.1:$SIM_PORT"
    echo "poll:"
    echo "  concurrency: ${CONCURRENCY:-64}"
    echo "  release_hour: 0"
    echo "apps:"
    for ((i = 0; i < n; i++)); do
      [ -f "$TMP/secrets/$i" ] || printf 'sim-secret-%d' $((2 * i)) >"$TMP/secrets/$i"
      appid=$(printf 'wx%016x' $((0x00be0c0000000000 + 2 * i)))
      echo "  - name: app-$i"
      echo "    type: miniprogram"
      echo "    appid: $appid"
      echo "    secret_file: $TMP/secrets/$i"
    done
  } >"$cfg"
  echo "$cfg"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

EXP_PID=
start_exporter() { # n → sets READY_S, RSS_KB, CALLS; leaves the exporter running
  local cfg
  cfg=$(gen_config "$1")
  rm -rf "$TMP/state-$1"
  curl -s -X DELETE "http://127.0.0.1:$SIM_PORT/simulator/requests" >/dev/null
  "$BIN" --config.file "$cfg" --web.listen-address "127.0.0.1:$EXP_PORT" \
    --storage.path "$TMP/state-$1" --log.level error &
  EXP_PID=$!
  PIDS+=("$EXP_PID")
  READY_S=$(wait_http "http://127.0.0.1:$EXP_PORT/-/ready" 600)
  # At rest: the round's last publish is done and nothing else runs.
  sleep $((3 + $1 / 200))
  RSS_KB=$(rss_kb "$EXP_PID")
  CALLS=$(curl -s "http://127.0.0.1:$SIM_PORT/simulator/requests" | grep -o '"path"' | wc -l)
}
stop_exporter() { # → STATE_B: size of the state file saved at shutdown
  kill -TERM "$EXP_PID" 2>/dev/null || true
  wait "$EXP_PID" 2>/dev/null || true
  STATE_B=$(stat -c %s "$TMP/state-$1/state.json" 2>/dev/null || echo 0)
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

# Peak VmRSS of the exporter while wrk runs against it → "rps p99 peak_kb".
wrk_with_rss() { # url, gzip
  local peak=0 r
  (
    while kill -0 "$EXP_PID" 2>/dev/null; do rss_kb "$EXP_PID"; sleep 0.1; done
  ) >"$TMP/rss.log" &
  local sampler=$!
  r=$(wrk_run "$1" "$2")
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$TMP/rss.log" | tail -1)
  echo "$r $peak"
}

declare -A READY RSS BODY GZ NCALLS STATE SERIES GROW_P GROW_G
RESULTS=()
for n in $SIZES; do
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
  SERIES[$n]=$(grep -vc '^#' "$TMP/www-$n/metrics")
  # The gzip copy must decode to the plain body (multi-member gzip included).
  gzip -dc "$TMP/www-$n/metrics.gz" | cmp -s - "$TMP/www-$n/metrics" || { echo "gzip copy differs from the body" >&2; exit 1; }
  if [ "$n" != 1000 ]; then
    for gz in 0 1; do
      echo "== $n app(s), gzip=$gz: $CONNS connections for $DURATION (exporter, RSS sampled)" >&2
      # Growth over the RSS at rest, before any scrape.
      base=${RSS[$n]}
      read -r e_rps e_p99 peak < <(wrk_with_rss "http://127.0.0.1:$EXP_PORT/metrics" "$gz")
      if [ "$gz" = 1 ]; then GROW_G[$n]="$base $peak"; else GROW_P[$n]="$base $peak"; fi
      E_RESULT[$gz]="$e_rps $e_p99"
    done
    start_nginx "$TMP/www-$n"
    # nginx must serve exactly the bytes the exporter serves.
    curl -s "http://127.0.0.1:$NGINX_PORT/metrics" | cmp -s - "$TMP/www-$n/metrics" || { echo "nginx bytes differ" >&2; exit 1; }
    for gz in 0 1; do
      echo "== $n app(s), gzip=$gz: nginx, $CONNS connections for $DURATION" >&2
      read -r n_rps n_p99 < <(wrk_run "http://127.0.0.1:$NGINX_PORT/metrics" "$gz")
      RESULTS+=("$n $gz ${E_RESULT[$gz]} $n_rps $n_p99")
    done
    stop_nginx
  fi
  stop_exporter "$n"
  STATE[$n]=$STATE_B
done

RENDER_LINE= CALLS_LINE=
if [ "${CARGO_BENCHES:-1}" = 1 ]; then
  echo "== build time per publish, 1,000 apps (cargo bench --bench render)" >&2
  RENDER_LINE=$(BENCH_PAGES=$PAGES cargo bench --quiet --bench render 2>/dev/null | grep '^RESULT' || true)
  echo "== calls per app per simulated day (cargo bench --bench calls_per_day)" >&2
  CALLS_LINE=$(cargo bench --quiet --bench calls_per_day 2>/dev/null | grep '^RESULT' || true)
fi

mib() { echo "scale=1; $1 / 1024" | bc; }
# The table (markdown), as in docs/performance.md.
echo
echo "Machine: $(nproc) cores, $(uname -sr); Mini Programs with every API and $PAGES pages each; wrk -t2 -c$CONNS -d$DURATION; $(date -u +%F)"
echo
echo "| benchmark | exporter | reference (same run) | ratio |"
echo "| --- | --- | --- | --- |"
for n in $SIZES; do
  printf '| VmRSS at rest ÷ body, %s app(s) (%s series) | %s MiB | body %s MiB | %.2f |\n' \
    "$n" "${SERIES[$n]}" "$(mib "${RSS[$n]}")" "$(echo "scale=1; ${BODY[$n]} / 1048576" | bc)" \
    "$(echo "${RSS[$n]} * 1024 / ${BODY[$n]}" | bc -l)"
done
for n in $SIZES; do
  [ -n "${GROW_P[$n]:-}" ] || continue
  for gz in P G; do
    if [ "$gz" = P ]; then read -r b p <<<"${GROW_P[$n]}"; enc=plain; else read -r b p <<<"${GROW_G[$n]}"; enc=gzip; fi
    printf '| VmRSS growth, %s app(s), %s conns scraping %s | %s → %s MiB (peak) | body %s MiB | +%.1f %% |\n' \
      "$n" "$CONNS" "$enc" "$(mib "$b")" "$(mib "$p")" "$(echo "scale=1; ${BODY[$n]} / 1048576" | bc)" \
      "$(echo "($p - $b) * 100 / $b" | bc -l)"
  done
done
for r in "${RESULTS[@]}"; do
  read -r n gz e_rps e_p99 n_rps n_p99 <<<"$r"
  enc=$([ "$gz" = 1 ] && echo gzip || echo plain)
  size=$([ "$gz" = 1 ] && echo "${GZ[$n]}" || echo "${BODY[$n]}")
  printf '| /metrics req/s, %s app(s), %s (%s B) | %.0f | nginx %.0f | %.2f |\n' \
    "$n" "$enc" "$size" "$e_rps" "$n_rps" "$(echo "$e_rps / $n_rps" | bc -l)"
  printf '| p99 scrape latency, %s app(s), %s | %.2f ms | nginx %.2f ms | %.2f |\n' \
    "$n" "$enc" "$e_p99" "$n_p99" "$(echo "$e_p99 / $n_p99" | bc -l)"
done
for n in $SIZES; do
  printf '| gzip copy ÷ body, %s app(s) | %s B | body %s B | %.3f |\n' "$n" "${GZ[$n]}" "${BODY[$n]}" "$(echo "${GZ[$n]} / ${BODY[$n]}" | bc -l)"
  printf '| state file ÷ body, %s app(s) | %s B | body %s B | %.2f |\n' "$n" "${STATE[$n]}" "${BODY[$n]}" "$(echo "${STATE[$n]} / ${BODY[$n]}" | bc -l)"
done
for n in $SIZES; do
  printf '| start → ready, %s app(s) | %.2f s | %s WeChat calls | %.0f calls/s |\n' \
    "$n" "${READY[$n]}" "${NCALLS[$n]}" "$(echo "${NCALLS[$n]} / ${READY[$n]}" | bc -l)"
done
val() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
if [ -n "$RENDER_LINE" ]; then
  # RESULT render apps=.. pages=.. body_bytes=.. full_ms=.. one_app_ms=.. unchanged_ms=..
  printf '| build per publish, %s apps: first / one app changed / nothing changed | %s / %s / %s ms | body %s B | |\n' \
    "$(val "$RENDER_LINE" apps)" "$(val "$RENDER_LINE" full_ms)" "$(val "$RENDER_LINE" one_app_ms)" \
    "$(val "$RENDER_LINE" unchanged_ms)" "$(val "$RENDER_LINE" body_bytes)"
fi
if [ -n "$CALLS_LINE" ]; then
  printf '| WeChat data calls per app per day (%s apps, %s days) | %s (+%s token) | floor %s | %s |\n' \
    "$(val "$CALLS_LINE" apps)" "$(val "$CALLS_LINE" days)" "$(val "$CALLS_LINE" data_per_app_day)" \
    "$(val "$CALLS_LINE" token_per_app_day)" "$(val "$CALLS_LINE" floor_per_app_day)" "$(val "$CALLS_LINE" ratio)"
fi
