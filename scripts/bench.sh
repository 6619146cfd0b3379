#!/usr/bin/env bash
# The benchmark suite (issue 9) in one command: builds the release binaries, fills a SQLite file
# (the demo data plus N bulk requirements, scripts/gen-requirements.py) and a PostgreSQL database
# (the demo data plus PG_ROWS requirements through `reqloop import`), starts `reqloop serve` on
# each in turn, times its start-up, drives it with `reqloop-load` (8 clients, a bounded time per
# scenario, 127.0.0.1 only), runs the criterion benchmarks of the domain core, and writes it all
# between the suite markers of BENCHMARKS.md with the machine, the date and the commit.
# Usage: BENCH_DIR=/scratch scripts/bench.sh [requirements=1000000] [seconds=10] [pg_rows=100000]
# Needs: python3, sqlite3's Python module, psql, a PostgreSQL at 127.0.0.1:5432 (trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
secs="${2:-10}"
pg_rows="${3:-100000}"
dir="${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
mkdir -p "$dir"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reqloop-target}"
cargo build --release -p reqloop -p reqloop-load >/dev/null
bin="$CARGO_TARGET_DIR/release/reqloop"
load="$CARGO_TARGET_DIR/release/reqloop-load"
out="$dir/suite.md"
port=18950
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null || true' EXIT

# Starts `reqloop serve` on $1, waits for /livez, prints the start-up time.
serve() {
  local start
  start=$(date +%s.%N)
  "$bin" --db "$1" serve --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.01; done
  printf 'start-up (process start to the first /livez answer): %.3f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

{
  echo "Written by \`BENCH_DIR=… scripts/bench.sh $n $secs $pg_rows\`, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')."
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)."
  echo "Each scenario runs ${secs} s with 8 clients (\`reqloop-load\`: one thread, one keep-alive connection per client);"
  echo "the ratio compares a scenario's throughput with \`/livez\` measured in the same run."
  echo
} >"$out"

echo "== SQLite: demo data + $n requirements"
rm -f "$dir"/suite.db*
"$bin" --db "$dir/suite.db" demo >/dev/null
python3 scripts/gen-requirements.py "$dir/suite.db" "$n" 5000 >/dev/null
# The bulk rows bypass the application: index them for search now, not while the load runs.
"$bin" --db "$dir/suite.db" reindex --full >/dev/null
{
  echo "### SQLite: the demo data, 5,000 more customers, $n requirements with items and 5 hand-offs each"
  echo
  echo "Database file: $(du -m "$dir/suite.db" | cut -f1) MB."
  serve "$dir/suite.db"
  echo
  "$load" --base "http://127.0.0.1:$port" --clients 8 --seconds "$secs" --pid "$pid" 2>"$dir/load-sqlite.err"
  echo
} >>"$out"
stop

echo "== PostgreSQL: demo data + $pg_rows requirements by import"
pg="postgres://postgres@127.0.0.1:5432/reqloop_bench"
psql -h 127.0.0.1 -U postgres -d postgres -qc 'DROP DATABASE IF EXISTS reqloop_bench' -c 'CREATE DATABASE reqloop_bench' >/dev/null
"$bin" --db "$pg" demo >/dev/null
rm -f "$dir"/pgbase.db*
"$bin" --db "$dir/pgbase.db" demo >/dev/null
python3 scripts/gen-import.py "$dir/pgbase.db" "$pg_rows" "$dir/pg-import.csv" "$dir/pg-shell.csv"
start=$(date +%s.%N)
"$bin" --db "$pg" import requirements "$dir/pg-import.csv" 2>/dev/null
imported=$(echo "$(date +%s.%N) - $start" | bc | cut -c1-6)
{
  echo "### PostgreSQL 15 (local): the demo data and $pg_rows requirements imported ($imported s)"
  echo
  serve "$pg"
  echo
  "$load" --base "http://127.0.0.1:$port" --clients 8 --seconds "$secs" --pid "$pid" 2>"$dir/load-pg.err"
  echo
} >>"$out"
stop

echo "== criterion: the domain core"
{
  echo "### The domain core (criterion, \`cargo bench -p reqloop-domain\`)"
  echo
  echo "| benchmark | median time |"
  echo "|---|---:|"
  cargo bench -p reqloop-domain --bench core >/dev/null 2>&1
  python3 - "$CARGO_TARGET_DIR/criterion" <<'PY'
import glob, json, os, sys
def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.1f} ns"
for bench in sorted(glob.glob(os.path.join(sys.argv[1], "**", "new", "benchmark.json"), recursive=True)):
    title = json.load(open(bench))["full_id"]
    median = json.load(open(os.path.join(os.path.dirname(bench), "estimates.json")))["median"]["point_estimate"]
    print(f"| {title} | {fmt(median)} |")
PY
  echo
} >>"$out"

python3 - "$out" <<'PY'
import re, sys
suite = open(sys.argv[1], encoding="utf-8").read()
path = "BENCHMARKS.md"
text = open(path, encoding="utf-8").read()
begin, end = "<!-- suite:begin -->", "<!-- suite:end -->"
block = f"{begin}\n{suite}{end}"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n## The benchmark suite (issue 9, `scripts/bench.sh`)\n\n" + block + "\n"
open(path, "w", encoding="utf-8").write(text)
PY
echo "written to BENCHMARKS.md (and $out)"
