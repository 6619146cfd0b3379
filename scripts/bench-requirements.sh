#!/usr/bin/env bash
# Requirement-loop benchmark at scale (issue 3 targets): a release `reqloop serve` on a SQLite
# file with the demo data plus N bulk requirements (scripts/gen-requirements.py), driven by wrk
# with 8 connections for a bounded time per operation, on 127.0.0.1 only.
# Usage: scripts/bench-requirements.sh [requirements] [seconds]   (needs: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
secs="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reqloop-target}"
cargo build --release -p reqloop -p reqloop-load >/dev/null
bin="$CARGO_TARGET_DIR/release/reqloop"
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" --db "$dir/b.db" demo >/dev/null
python3 scripts/gen-requirements.py "$dir/b.db" "$n" 5000
port=18932
start=$(date +%s.%N)
"$bin" --db "$dir/b.db" serve --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.05; done
echo "start-up on the full database: $(echo "$(date +%s.%N) - $start" | bc) s"
base="http://127.0.0.1:$port"
token=$(curl -sf -H 'content-type: application/json' -d '{"username":"admin","password":"admin123"}' "$base/api/v1/auth/login" | sed 's/.*"token":"\([0-9a-f]*\)".*/\1/')
cat >"$dir/list.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
local stages = {"review", "determination", "transmission", "realization", "verification", "closed"}
request = function()
  local c = math.random(49, 5048)
  return wrk.format("GET", "/api/v1/requirements?customer_id=" .. c .. "&stage=" .. stages[math.random(1, #stages)] .. "&per_page=50")
end
LUA
cat >"$dir/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  return wrk.format("GET", "/api/v1/requirements/" .. math.random(201, $n))
end
LUA
marketing=$(curl -sf -H 'content-type: application/json' -d '{"username":"marketing","password":"reqloop123"}' "$base/api/v1/auth/login" | sed 's/.*"token":"\([0-9a-f]*\)".*/\1/')
cat >"$dir/mine.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $marketing"
request = function()
  return wrk.format("GET", "/api/v1/handoffs?mine=true&per_page=50&page=" .. math.random(1, 20))
end
LUA
cat >"$dir/overdue.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  return wrk.format("GET", "/api/v1/handoffs?overdue=true&department_id=" .. math.random(1, 8) .. "&per_page=50")
end
LUA
cat >"$dir/move.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  -- Every tenth bulk requirement waits in identification with an item; threads take disjoint ones.
  local id = 10 * (21 + (counter * 2 + tid))
  return wrk.format(nil, "/api/v1/requirements/" .. id .. "/transitions", nil, '{"to":"review"}')
end
LUA
run() {
  echo "### $1"
  shift
  wrk -t2 -c8 -d"${secs}s" --latency "$@" | grep -E '^ +(50|90|99)%|Requests/sec|Non-2xx'
  echo
}
echo "reqloop $(git rev-parse --short HEAD) · $(nproc) cores · $n bulk requirements · $(date -u +%Y-%m-%dT%H:%MZ)"
run "GET /livez" "$base/livez"
run "GET /api/v1/requirements?customer_id=…&stage=…&per_page=50" -s "$dir/list.lua" "$base"
run "GET /api/v1/requirements/{id}" -s "$dir/get.lua" "$base"
run "GET /api/v1/handoffs?mine=true&per_page=50 (marketing manager)" -s "$dir/mine.lua" "$base"
run "GET /api/v1/handoffs?overdue=true&department_id=…&per_page=50" -s "$dir/overdue.lua" "$base"
run "POST /api/v1/requirements/{id}/transitions (identification → review, opens its hand-offs)" -s "$dir/move.lua" "$base"
echo "### POST /api/v1/requirements/{id}/transitions, one client, one request after another"
python3 scripts/seq-transitions.py "$port" 5000 40000
echo
echo "resident memory: $(ps -o rss= -p $pid | awk '{printf "%.1f MB", $1/1024}')"
