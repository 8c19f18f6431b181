#!/usr/bin/env bash
# gateway_bench.sh — requests per second of cached GET /api/v1/tasks through
# the gateway of a running `./dojo up` stack, measured with wrk.
#
#   bench/gateway_bench.sh [DURATION_S] [CONNECTIONS] [THREADS]
#
# Defaults: 10 s, 64 connections, 2 wrk threads. The gateway address comes
# from DOJO_GATEWAY_ADDR (default 127.0.0.1:8080). One warm-up second first
# fills the gateway's cache (DOJO_GATEWAY_TASKS_CACHE_TTL, default 2 s: wrk
# keeps every entry hot, so nearly every request is a cache hit).
# Budget (DESIGN.md): ≥ 30k req/s for cached JSON reads.
set -euo pipefail

duration=${1:-10}
conns=${2:-64}
threads=${3:-2}
addr=${DOJO_GATEWAY_ADDR:-127.0.0.1:8080}
url="http://$addr/api/v1/tasks"

command -v wrk >/dev/null || { echo "wrk not found: ./dojo deps (Debian package wrk)" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)
if [[ $code != 200 ]]; then
  echo "GET $url answered ${code:-nothing}: start the stack first (./dojo up)" >&2
  exit 1
fi
tasks=$(curl -s --max-time 5 "$url" | grep -o '"slug"' | wc -l)
bytes=$(curl -s --max-time 5 "$url" | wc -c)

wrk -t"$threads" -c"$conns" -d1s "$url" >/dev/null  # warm-up
out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$url")
rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")

printf 'gateway cached GET /api/v1/tasks (%s tasks, %s bytes of JSON)\n' "$tasks" "$bytes"
printf 'wrk: %s threads, %s connections, %s s on %s cores\n' "$threads" "$conns" "$duration" "$(nproc)"
printf 'requests/s: %s   latency p50: %s   p99: %s   non-2xx: %s\n' "$rps" "$p50" "$p99" "${errors:-0}"
