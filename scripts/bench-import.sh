#!/usr/bin/env bash
# Import at scale (issue 8): N requirements from one CSV into SQLite by `reqloop import`, against
# the sqlite3 shell's `.import` of the same rows into the same table, in one run on copies of
# one database (the demo data). `reqloop import` does what a collected requirement does — code,
# response clock, owner, KPI count, audit entry, identification hand-off — all in one
# transaction; `.import` only inserts the rows. Also exports the list again as .xlsx through a
# running server and reports its peak memory.
# Usage: BENCH_DIR=/path scripts/bench-import.sh [rows]   (needs sqlite3; default 1,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
dir="${BENCH_DIR:?set BENCH_DIR to a scratch directory}"
mkdir -p "$dir"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/reqloop-target}"
cargo build --release -p reqloop -p reqloop-load >/dev/null
bin="$CARGO_TARGET_DIR/release/reqloop"
rm -f "$dir"/base.db* "$dir"/ours.db* "$dir"/shell.db*
"$bin" --db "$dir/base.db" demo >/dev/null
python3 scripts/gen-import.py "$dir/base.db" "$rows" "$dir/import.csv" "$dir/shell.csv"
ls -l "$dir/import.csv" "$dir/shell.csv" | awk '{print $5, $9}'
cp "$dir/base.db" "$dir/ours.db"
cp "$dir/base.db" "$dir/shell.db"

echo "== sqlite3 .import of $rows rows into requirements"
start=$(date +%s.%N)
sqlite3 "$dir/shell.db" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
.import --csv --skip 1 $dir/shell.csv requirements
SQL
end=$(date +%s.%N)
shell=$(echo "$end - $start" | bc)
echo "sqlite3 .import: ${shell} s ($(echo "$rows / $shell" | bc) rows/s); rows now $(sqlite3 "$dir/shell.db" 'SELECT COUNT(*) FROM requirements')"

echo "== reqloop import requirements ($rows rows)"
start=$(date +%s.%N)
/usr/bin/time -f "peak memory %M KB" "$bin" --db "$dir/ours.db" import requirements "$dir/import.csv" 2>"$dir/import.err"
end=$(date +%s.%N)
grep -a "peak memory" "$dir/import.err"
ours=$(echo "$end - $start" | bc)
echo "reqloop import: ${ours} s ($(echo "$rows / $ours" | bc) rows/s); speed ratio to .import: $(echo "scale=2; $shell / $ours" | bc)"
echo "rows written: requirements $(sqlite3 "$dir/ours.db" 'SELECT COUNT(*) FROM requirements'), hand-offs $(sqlite3 "$dir/ours.db" 'SELECT COUNT(*) FROM handoffs'), audit entries $(sqlite3 "$dir/ours.db" 'SELECT COUNT(*) FROM audit_log')"

echo "== sqlite3 .import of every row reqloop import wrote, into the same tables"
# The same rows into the same tables: the requirements, hand-offs, department links and audit
# entries that the import above added, dumped from its database and loaded into a copy of the
# base one by the shell.
cp "$dir/base.db" "$dir/shell-all.db"
rm -f "$dir/shell-all.db-wal" "$dir/shell-all.db-shm"
tables="requirements handoffs requirement_departments audit_log"
for t in $tables; do
  key=$([ "$t" = audit_log ] && echo seq || echo rowid)
  before=$(sqlite3 "$dir/base.db" "SELECT COALESCE(MAX($key), 0) FROM $t")
  sqlite3 -csv -header "$dir/ours.db" "SELECT * FROM $t WHERE $key > $before" >"$dir/all-$t.csv"
done
{
  echo "PRAGMA journal_mode=WAL;"
  echo "PRAGMA synchronous=NORMAL;"
  echo "BEGIN;"
  for t in $tables; do echo ".import --csv --skip 1 $dir/all-$t.csv $t"; done
  echo "COMMIT;"
} >"$dir/all.sql"
start=$(date +%s.%N)
sqlite3 "$dir/shell-all.db" <"$dir/all.sql" >/dev/null
end=$(date +%s.%N)
all=$(echo "$end - $start" | bc)
echo "sqlite3 .import of $(cat "$dir"/all-*.csv | wc -l) rows in $tables: ${all} s; speed ratio of reqloop import to it: $(echo "scale=2; $all / $ours" | bc)"

echo "== the same file again (every key on file: nothing changes)"
start=$(date +%s.%N)
"$bin" --db "$dir/ours.db" import requirements "$dir/import.csv" 2>/dev/null
end=$(date +%s.%N)
echo "re-import: $(echo "$end - $start" | bc) s"

echo "== export of the whole list to .xlsx through the server"
port=18937
"$bin" --db "$dir/ours.db" serve --bind "127.0.0.1:$port" >"$dir/serve-import.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -H 'content-type: application/json' -d '{"username":"admin","password":"admin123"}' \
  "http://127.0.0.1:$port/api/v1/auth/login" | sed 's/.*"token":"\([0-9a-f]*\)".*/\1/')
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s KB  ", $1, $2}' "/proc/$pid/status"; echo; }
echo "server before: $(rss)"
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $token" -o "$dir/requirements.xlsx" "http://127.0.0.1:$port/requirements?format=xlsx"
end=$(date +%s.%N)
echo "xlsx export: $(echo "$end - $start" | bc) s, $(stat -c %s "$dir/requirements.xlsx") bytes; server after: $(rss)"
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $token" -o "$dir/requirements.csv" "http://127.0.0.1:$port/requirements?format=csv"
end=$(date +%s.%N)
echo "csv export: $(echo "$end - $start" | bc) s, $(wc -l <"$dir/requirements.csv") lines; server after: $(rss)"
