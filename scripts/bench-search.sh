#!/usr/bin/env bash
# Search at scale (issue 8: p99 under 50 ms over 1,000,000 requirements): a release
# `reqloop serve` on the monitoring benchmark's database (scripts/bench-monitoring.sh makes it;
# give the same BENCH_DIR) with its search index built, driven by wrk with 8 connections for a
# bounded time, on 127.0.0.1. Every bench requirement says 交期 and 包装 (a million matches
# each); codes and customer names match one record; one word matches nothing.
# Usage: BENCH_DIR=/path scripts/bench-search.sh [seconds]   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
dir="${BENCH_DIR:?set BENCH_DIR to the directory of bench-monitoring.sh}"
[ -f "$dir/pristine.db" ] || { echo "run scripts/bench-monitoring.sh with BENCH_DIR=$dir first" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reqloop-target}"
cargo build --release -p reqloop -p reqloop-load >/dev/null
bin="$CARGO_TARGET_DIR/release/reqloop"
cp "$dir/pristine.db" "$dir/s.db"; rm -f "$dir/s.db-wal" "$dir/s.db-shm"
echo "search index: $("$bin" --db "$dir/s.db" reindex)"
port=18934
"$bin" --db "$dir/s.db" serve --bind "127.0.0.1:$port" >"$dir/serve-search.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$dir/s.db" "$dir/s.db-wal" "$dir/s.db-shm"' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
token=$(curl -sf -H 'content-type: application/json' -d '{"username":"marketing","password":"reqloop123"}' \
  "$base/api/v1/auth/login" | sed 's/.*"token":"\([0-9a-f]*\)".*/\1/')
run() { # NAME QUERY-PREFIX ADD-NUMBER(0/1) MODULUS
  cat >"$dir/search.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
local i = 0
request = function()
  i = i + 1
  local q = "$2"
  if $3 == 1 then q = q .. tostring(($4 > 0) and ((i * 7919) % $4) or 0) end
  return wrk.format("GET", "/api/v1/search?q=" .. q)
end
LUA
  echo "== $1"
  wrk -t2 -c8 -d"${secs}s" --latency -s "$dir/search.lua" "$base" | grep -E 'Requests/sec|50%|90%|99%'
}
run "交期 (in every bench requirement)" "%E4%BA%A4%E6%9C%9F" 0 0
run "交期 包装 (two words, both everywhere)" "%E4%BA%A4%E6%9C%9F%20%E5%8C%85%E8%A3%85" 0 0
run "a requirement code (BQ-00NNNNNN, one match)" "BQ-00" 1 900000
run "a customer name (压测客户N, one match)" "%E5%8E%8B%E6%B5%8B%E5%AE%A2%E6%88%B7" 1 100000
run "精密 (demo records only)" "%E7%B2%BE%E5%AF%86" 0 0
run "不存在的词 (no match)" "%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D" 0 0
echo "server resident memory: $(ps -o rss= -p $pid | awk '{printf "%.1f MB", $1/1024}')"
