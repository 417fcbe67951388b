#!/usr/bin/env bash
# Scale-out: lookup latency of a MemoryStore on PostgreSQL + pgvector next to the local engine at 100k memories
# (PostgresBench). Starts a throwaway server with scripts/pg_server.sh (stopped when this script exits). Prints the
# markdown section on stdout; the raw JSON goes to Benchmarks/results/raw/. Run through
# `bash Benchmarks/run.sh postgres`.
#   POSTGRES_BENCH_SIZE=N      memories (default 100000)
#   POSTGRES_BENCH_QUICK=1     smoke test (5,000 memories, 50 queries)
#   POSTGRES_BENCH_BIN=PATH    a prebuilt PostgresBench instead of building one
set -euo pipefail
BENCH_ROOT="${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
REPO_ROOT="${REPO_ROOT:-$(cd "$BENCH_ROOT/.." && pwd)}"
size="${POSTGRES_BENCH_SIZE:-100000}"
queries=300
if [ "${POSTGRES_BENCH_QUICK:-0}" = 1 ]; then size=5000; queries=50; fi
if [ -n "${POSTGRES_BENCH_BIN:-}" ]; then
    bench="$POSTGRES_BENCH_BIN"
else
    swift build -c release --package-path "$BENCH_ROOT" --product PostgresBench >&2
    bench="$(swift build -c release --package-path "$BENCH_ROOT" --show-bin-path)/PostgresBench"
fi
. "$BENCH_ROOT/areas/lib/throwaway_postgres.bash" memp-pg-bench
mkdir -p "$BENCH_ROOT/results/raw"
raw="$BENCH_ROOT/results/raw/postgres-$(date -u +%Y%m%dT%H%M%SZ).json"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" --url "$PG_URL?sslmode=disable" --password-file "$PG_PASSWORD_FILE" --size "$size" --queries "$queries" > "$raw"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
# The versions the benchmark ran on, from the server itself (setup may have fallen back to an older pgserver wheel).
versions="$(server_psql -At -F '|' -c "SELECT current_setting('server_version'),
        (SELECT extversion FROM pg_extension WHERE extname = 'vector')")"
wheel="$(cat "${MEMP_PG_PREFIX:-/opt/memp-pg}/memp-pgvector-checked" 2>/dev/null || echo "pgserver")"
python3 - "$raw" "$load_before" "$load_after" "$versions" "$wheel" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
before, after = sys.argv[2:4]
server_version, vector_version = sys.argv[4].split("|")
wheel = sys.argv[5]
print("## Scale-out: PostgreSQL + pgvector\n")
load = data["load_seconds"]
print(f"`PostgresBench`: {data['size']:,} memories with {data['dimension']}-dimensional vectors (seeded, drawn around "
      f"2,000 cluster centres; distinct four-word tasks), in PostgreSQL {server_version} + pgvector {vector_version} "
      f"({wheel}, loopback, fsync off, default shared_buffers) and in the local engine; {data['queries']} lookups per mode (k = {data['k']}, "
      f"after {data['warmup']} warm-up lookups) from one client. Local times are the in-process FlatIndex search a "
      "MemoryStore runs; PostgreSQL times are `MemoryStore.retrieve` on a store opened on the database with each "
      "search mode: the SQL lookup, then the reads of the k hits' memories and of their source trajectories. "
      "Recall@k is against the exact top-k of the local f32 index. No model runs: the embedder returns the "
      "benchmark's precomputed vectors. "
      + (f"Loading through `MemoryStore.add` took {load:.0f} s ({data['size'] / load:,.0f} memories/s, HNSW built "
         "on insert). " if load else "")
      + f"Load average before: {before}; after: {after} (2 CPUs shared with other work).\n")
print("| Engine | Mode | p50 (ms) | p95 (ms) | recall@10 |")
print("|---|---|---:|---:|---:|")
for r in data["results"]:
    recall = f"{r['recall_at_k']:.3f}" if "recall_at_k" in r else "–"
    print(f"| {r['engine']} | {r['mode']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {recall} |")
PY
