#!/usr/bin/env bash
# HTTP benchmark of the foundation: starts a release `reqloop serve` on a fresh SQLite file
# with the demo data and drives it with wrk (Debian package) on 127.0.0.1 only, 8 connections,
# a bounded duration per endpoint. Prints wrk's latency distribution for each.
# Usage: scripts/bench-http.sh [seconds-per-endpoint]   (needs: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reqloop-target}"
cargo build --release -p reqloop -p reqloop-load >/dev/null
bin="$CARGO_TARGET_DIR/release/reqloop"
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
port=18931
"$bin" --db "$dir/bench.db" serve --demo --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
token=$(curl -sf -H 'content-type: application/json' -d '{"username":"admin","password":"admin123"}' "$base/api/v1/auth/login" | sed 's/.*"token":"\([0-9a-f]*\)".*/\1/')
auth="Authorization: Bearer $token"
cat >"$dir/create.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"name":"压测客户' .. counter .. '-' .. math.random(1, 1000000000) .. '","province":"江苏省"}')
end
LUA
run() {
  echo "### $1"
  shift
  wrk -t2 -c8 -d"${secs}s" --latency "$@" | grep -E 'Requests/sec|50%|90%|99%|Non-2xx'
  echo
}
echo "reqloop $(git rev-parse --short HEAD) · $(nproc) cores · $(date -u +%Y-%m-%dT%H:%MZ)"
run "GET /livez (HTTP floor)" "$base/livez"
run "GET /api/v1/customers?grade=A&per_page=50" -H "$auth" "$base/api/v1/customers?grade=A&per_page=50"
run "GET /api/v1/customers?q=钢铁&sort=-annual_revenue" -H "$auth" "$base/api/v1/customers?q=%E9%92%A2%E9%93%81&sort=-annual_revenue"
run "GET /api/v1/customers/5" -H "$auth" "$base/api/v1/customers/5"
run "GET /customers (HTML list page)" -H "$auth" "$base/customers"
run "POST /api/v1/customers (create with audit entry)" -s "$dir/create.lua" "$base/api/v1/customers"
echo "resident memory after the run: $(ps -o rss= -p $pid | awk '{printf "%.1f MB", $1/1024}')"
"$bin" --db "$dir/bench.db" audit verify
