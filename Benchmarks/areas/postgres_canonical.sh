#!/usr/bin/env bash
# Scale-out: what selecting by a source or label up to canonical equivalence costs on PostgreSQL, before and after
# the indexes of schema v5 (PostgresSchema.swift, CanonicalSelection.swift), on the SQL the backend runs: two tables
# of 200,000 rows shaped like `memory`, one with v4's indexes (`plain`), one with v5's as well (`indexed`); bulk
# inserts into each, then the selections, three rounds each. Starts a throwaway server with scripts/pg_server.sh
# (stopped when this script exits). Prints a markdown section on stdout. Run through
# `bash Benchmarks/run.sh postgres_canonical`.
set -euo pipefail
BENCH_ROOT="${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
REPO_ROOT="${REPO_ROOT:-$(cd "$BENCH_ROOT/.." && pwd)}"
sql="$BENCH_ROOT/areas/postgres_canonical"
. "$BENCH_ROOT/areas/lib/throwaway_postgres.bash" memp-pg-canonical
# "count | time" for each statement psql timed: the time lines follow the rows they belong to.
timings() { grep -E '^ +[0-9]+$|^Time:' | sed -E 's/^ +//; s/^Time: ([0-9.]+) ms.*/\1/' | paste -sd' '; }
echo "## Canonical selections on PostgreSQL (schema v5)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg); no tuning variables."
echo
echo "Bulk inserts of 200,000 rows (ms): plain, indexed"
echo
for round in 1 2 3; do
    echo "- round $round: $(server_psql -q -f "$sql/tables.sql" -f "$sql/insert.sql" | timings)"
done
echo
echo "Selections, in select.sql's order (rows matched, then ms, per statement)"
echo
for round in 1 2 3; do
    echo "- round $round: $(server_psql -q -f "$sql/select.sql" | timings)"
done
