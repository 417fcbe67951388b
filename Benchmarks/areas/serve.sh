#!/usr/bin/env bash
# memp serve: lookups over HTTP (keep-alive, 1 and 8 clients) against one `memp query` process per lookup, on a
# store of SERVE_BENCH_SIZE memories (default 10,000) built from the TextWorldExpress sample's trajectories (their
# tasks run to ~106 words), embedded with MiniLM when installed, else the hashing embedder. Prints the markdown
# section on stdout; the raw JSON goes to Benchmarks/results/raw/.
#   MEMP=PATH             a prebuilt release memp (default: build one)
#   SERVE_BENCH_SIZE=N    memories in the store (kept in Benchmarks/data/serve-N and reused when present)
set -euo pipefail
BENCH_ROOT="${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
REPOSITORY="$(cd "$BENCH_ROOT/.." && pwd)"
say() { echo "[serve] $*" >&2; }
size="${SERVE_BENCH_SIZE:-10000}"
if [ -z "${MEMP:-}" ]; then
    swift build -c release --package-path "$REPOSITORY" --product memp >&2
    MEMP="$(swift build -c release --package-path "$REPOSITORY" --show-bin-path)/memp"
fi
embedder=hashing
if [ -d "${MEMP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/memp}/models/all-MiniLM-L6-v2" ]; then embedder=minilm; fi
store="$BENCH_ROOT/data/serve-$size-$embedder"
if [ ! -f "$store/memp.sqlite" ]; then
    mkdir -p "$BENCH_ROOT/data"
    python3 - "$REPOSITORY/data/textworld-sample/trajectories.jsonl" "$size" > "$store.jsonl" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
for number in range(int(sys.argv[2])):
    record = dict(lines[number % len(lines)])
    record["id"] = f"{record['id']}-{number}"
    record["task"] = f"{record['task']} (variant {number // len(lines)})"
    print(json.dumps(record))
PY
    "$MEMP" init --store "$store" --embedder "$embedder" >&2
    start=$(date +%s.%N)
    "$MEMP" import --store "$store" "$store.jsonl" --build trajectory >&2
    say "imported $size trajectories in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
mkdir -p "$BENCH_ROOT/results/raw"
raw="$BENCH_ROOT/results/raw/serve-$(date -u +%Y%m%dT%H%M%SZ).json"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$BENCH_ROOT/areas/serve_bench.py" --memp "$MEMP" --store "$store" --queries "${SERVE_BENCH_QUERIES:-304}" \
    --cli-queries "${SERVE_BENCH_CLI_QUERIES:-20}" > "$raw"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$raw" "$size" "$embedder" "$load_before" "$load_after" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
size, embedder, before, after = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
print("## memp serve: lookups over HTTP\n")
print(f"`Benchmarks/areas/serve.sh` ({embedder}, {data['cpus']} CPUs, {size:,} memories built from the TextWorldExpress "
      f"sample's trajectories; tasks are its held-out queries, {data['task_words_mean']} words on average): "
      f"{data['mode']} lookups, k = {data['k']}, embedding included, through `memp serve` over HTTP with keep-alive "
      "connections (Python `http.client`, one connection per client thread; latency is the client's, from request "
      "to the last byte), and the same lookups as one `memp query` process each (process start, model and index "
      f"load, lookup). The server was ready {data['server_ready_seconds']} s after it started and exited "
      f"{data['server_exit_status']} on SIGTERM. Load average (1, 5, 15 min) before: {before}; after: {after} — on "
      "this 2-CPU machine anything above 2 means other processes took CPU time from the measurement.\n")
print("| Configuration | Lookups | p50 (ms) | p95 (ms) | Lookups/s |")
print("|---|---:|---:|---:|---:|")
for name, key in [("HTTP, 1 client", "http_1_client"), ("HTTP, 8 clients", "http_8_clients"),
                  ("`memp query`, one process per lookup", "memp_query_process")]:
    r = data[key]
    print(f"| {name} | {r['lookups']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['lookups_per_second']:.1f} |")
PY
