# Shell helpers the bench scripts share (sourced, not run).

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
