#!/usr/bin/env bash
# memp serve on a PostgreSQL store: HTTP lookups with 1 to 16 concurrent keep-alive clients, and `memp query`
# processes, for several builds of memp measured in turns on one store and one server (postgres_serve_bench.py), e.g.
# before and after a change to the PostgreSQL backend. Starts a throwaway server with scripts/pg_server.sh (stopped
# when this script exits), builds the store with the first build (hashing embedder, `trajectory` policy, the
# TextWorldExpress sample's trajectories repeated with a variant number in each task). Prints the markdown section
# on stdout; the raw JSON goes to Benchmarks/results/raw/.
#   MEMPS="LABEL=PATH LABEL=PATH"   the builds (release, --traits PostgreSQL); required; ratios are to the first
#   PG_SERVE_SIZE=N                 memories (default 10000)
#   PG_SERVE_ROUNDS=N               rounds (default 3)
#   PG_SERVE_CLIENTS=1,4,8,16       client counts
#   PG_SERVE_MODES=hybrid,query     lookup modes (`memp query` uses the first)
#   PG_SERVE_QUERIES=N              HTTP lookups per configuration (default 304)
set -euo pipefail
BENCH_ROOT="${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
REPO_ROOT="${REPO_ROOT:-$(cd "$BENCH_ROOT/.." && pwd)}"
: "${MEMPS:?MEMPS=\"LABEL=PATH LABEL=PATH\" names the memp builds to measure}"
size="${PG_SERVE_SIZE:-10000}"
builds=()
for build in $MEMPS; do builds+=(--memp "$build"); done
first="${MEMPS%% *}"
first="${first#*=}"
. "$BENCH_ROOT/areas/lib/throwaway_postgres.bash" memp-pg-serve
python3 "$BENCH_ROOT/areas/sample_variants.py" "$size" > "$state/trajectories.jsonl"
"$first" init --store "$state/store" --backend postgres --url "$PG_URL?sslmode=disable" \
    --password-file "$PG_PASSWORD_FILE" --embedder hashing >&2
"$first" import --store "$state/store" "$state/trajectories.jsonl" --build trajectory >&2
# Autovacuum would otherwise visit the new rows during the first build's lookups.
server_psql -q -c "VACUUM ANALYZE" >&2
mkdir -p "$BENCH_ROOT/results/raw"
raw="$BENCH_ROOT/results/raw/postgres-serve-$(date -u +%Y%m%dT%H%M%SZ).json"
started_at="$(date -u '+%Y-%m-%d %H:%M UTC')"
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$BENCH_ROOT/areas/postgres_serve_bench.py" --store "$state/store" "${builds[@]}" \
    --rounds "${PG_SERVE_ROUNDS:-3}" --clients "${PG_SERVE_CLIENTS:-1,4,8,16}" \
    --modes "${PG_SERVE_MODES:-hybrid,query}" --queries "${PG_SERVE_QUERIES:-304}" > "$raw"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$raw" "$started_at" "$machine" "$load_before" "$load_after" "$size" <<'PY'
import json, statistics, sys
data = json.load(open(sys.argv[1]))
started_at, machine, before, after, size = sys.argv[2:7]
runs = data["runs"]
builds = list(dict.fromkeys(run["build"] for run in runs))
rounds = max(run["round"] for run in runs)
print("## Memory service on PostgreSQL: `memp serve` lookups with concurrent clients\n")
print(f"`bash Benchmarks/areas/postgres_serve.sh` ({started_at}; {machine}): a PostgreSQL store of {int(size):,} "
      "memories (hashing embedder, `trajectory` policy) on the throwaway server of `scripts/pg_server.sh` "
      "(loopback, fsync off), served by `memp serve` of each build in turn, "
      f"{rounds} rounds; each figure is the median over the rounds of that round's p50, p95 or rate. Lookups: the "
      f"sample's held-out queries, k = {data['k']}; keep-alive HTTP clients on the same 2 CPUs; server CPU is the "
      "server process's CPU time per lookup. `memp query`: one process per lookup, builds alternating, the median "
      f"over all. Load average (1, 5, 15 min) before: {before}; after: {after}.\n")
def median(values):
    return statistics.median(values) if values else float("nan")
keys = list(dict.fromkeys((run["mode"], run["clients"]) for run in runs))
header = "| Mode | Clients | " + " | ".join(f"{b} p50 / p95 (ms)" for b in builds) + " | " + " | ".join(
    f"{b} lookups/s" for b in builds) + " | " + " | ".join(f"{b} server CPU (ms)" for b in builds)
header += "".join(f" | {b}/{builds[0]} p50 | {b}/{builds[0]} lookups/s" for b in builds[1:]) + " |"
print(header)
print("|" + "---|" * (header.count("|") - 1))
for mode, clients in keys:
    figures = {}
    for build in builds:
        mine = [run for run in runs if run["build"] == build and run["mode"] == mode and run["clients"] == clients]
        if clients == "memp query":
            walls = [run["p50_ms"] for run in mine]
            figures[build] = (median(walls), sorted(walls)[int(0.95 * (len(walls) - 1))], float("nan"), float("nan"))
        else:
            figures[build] = (median([r["p50_ms"] for r in mine]), median([r["p95_ms"] for r in mine]),
                              median([r["lookups_per_second"] for r in mine]),
                              median([r["server_cpu_ms_per_lookup"] for r in mine]))
    row = f"| {mode} | {clients} | " + " | ".join(f"{figures[b][0]:.2f} / {figures[b][1]:.2f}" for b in builds)
    row += " | " + " | ".join(f"{figures[b][2]:.1f}" for b in builds)
    row += " | " + " | ".join(f"{figures[b][3]:.2f}" for b in builds)
    row += "".join(f" | {figures[b][0] / figures[builds[0]][0]:.2f} | {figures[b][2] / figures[builds[0]][2]:.2f}"
                   for b in builds[1:]) + " |"
    print(row.replace("nan", "—"))
PY
