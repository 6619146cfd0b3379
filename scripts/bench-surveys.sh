#!/usr/bin/env bash
# Survey analysis benchmark at scale (issue 6 target: one half-year over 100,000 customers and
# 1,000,000 answered questionnaires renders in under 300 ms): a release `reqloop serve` on a SQLite
# file with the demo data plus the bulk surveys of scripts/gen-surveys.py, driven by wrk with 8
# connections for a bounded time per page, on 127.0.0.1 only.
# Usage: scripts/bench-surveys.sh [customers] [responses] [seconds]   (needs: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
customers="${1:-100000}"
responses="${2:-1000000}"
secs="${3:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reqloop-target}"
cargo build --release -p reqloop -p reqloop-load >/dev/null
bin="$CARGO_TARGET_DIR/release/reqloop"
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" --db "$dir/b.db" demo >/dev/null
python3 scripts/gen-surveys.py "$dir/b.db" "$customers" "$responses" 10
port=18933
"$bin" --db "$dir/b.db" serve --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.05; done
base="http://127.0.0.1:$port"
token=$(curl -sf -H 'content-type: application/json' -d '{"username":"admin","password":"admin123"}' "$base/api/v1/auth/login" | sed 's/.*"token":"\([0-9a-f]*\)".*/\1/')
echo "wrk.headers[\"Authorization\"] = \"Bearer $token\"" >"$dir/auth.lua"
run() {
  echo "### $1"
  wrk -t2 -c8 -d"${secs}s" --latency -s "$dir/auth.lua" "$base$1" | grep -E '^ +(50|90|99)%|Requests/sec|Non-2xx'
  echo
}
echo "reqloop $(git rev-parse --short HEAD) · $(nproc) cores · $customers bulk customers · $responses answered questionnaires · $(date -u +%Y-%m-%dT%H:%MZ)"
echo "### GET /livez"
wrk -t2 -c8 -d"${secs}s" --latency "$base/livez" | grep -E '^ +(50|90|99)%|Requests/sec'
echo
run "/api/v1/survey-analysis?from=2026-01-01&to=2026-06-30"
run "/api/v1/survey-analysis?from=2026-01-01&to=2026-06-30&by=grade"
run "/survey-analysis?from=2026-01-01&to=2026-06-30&by=grade"
run "/survey-analysis?from=2026-01-01&to=2026-06-30&by=province"
run "/survey-report?year=2026&half=1"
run "/survey-coverage?year=2026"
echo "resident memory: $(ps -o rss= -p $pid | awk '{printf "%.1f MB", $1/1024}')"
