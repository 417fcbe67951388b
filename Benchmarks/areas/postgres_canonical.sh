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
state="$(mktemp -d "${TMPDIR:-/tmp}/memp-pg-canonical.XXXXXX")"
chmod 755 "$state"  # the server user must reach the data directory inside
bash "$REPO_ROOT/scripts/setup.d/50-postgres.sh"
bash "$REPO_ROOT/scripts/pg_server.sh" start "$state/server" $$ >/dev/null
trap 'bash "$REPO_ROOT/scripts/pg_server.sh" stop "$state/server"; rm -rf "$state"' EXIT
. "$state/server/server.env"
psql() {
    PGPASSWORD="$(cat "$PG_PASSWORD_FILE")" "$PG_BIN/psql" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" \
        -q "$@"
}
# "count | time" for each statement psql timed: the time lines follow the rows they belong to.
timings() { grep -E '^ +[0-9]+$|^Time:' | sed -E 's/^ +//; s/^Time: ([0-9.]+) ms.*/\1/' | paste -sd' '; }
echo "## Canonical selections on PostgreSQL (schema v5)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg); no tuning variables."
echo
echo "Bulk inserts of 200,000 rows (ms): plain, indexed"
echo
for round in 1 2 3; do
    echo "- round $round: $(psql -f "$sql/tables.sql" -f "$sql/insert.sql" | timings)"
done
echo
echo "Selections, in select.sql's order (rows matched, then ms, per statement)"
echo
for round in 1 2 3; do
    echo "- round $round: $(psql -f "$sql/select.sql" | timings)"
done
