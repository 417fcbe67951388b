#!/usr/bin/env bash
# memp serve: lookups over HTTP (keep-alive, 1 and 8 clients) and over MCP (the official `mcp` Python SDK, stdio and
# streamable HTTP, 1 client) against one `memp query` process per lookup, on a
# store of SERVE_BENCH_SIZE memories (default 10,000) built from the TextWorldExpress sample's trajectories (their
# tasks run to ~106 words), embedded with MiniLM when installed, else the hashing embedder. Prints the markdown
# section (date, machine, load, store size as the server reports it, the Mem0 paper's published search latency
# for scale) on stdout; the raw JSON goes to Benchmarks/results/raw/. Run through `bash Benchmarks/run.sh serve`.
#   MEMP=PATH                   a prebuilt release memp (default: build one)
#   SERVE_BENCH_SIZE=N          memories in the store (kept in Benchmarks/data/serve-N-EMBEDDER and reused when
#                               present; the import is not part of the measurement)
#   SERVE_BENCH_STORE=DIR       an existing store to serve instead (e.g. MemoryBench's 100k store kept by
#                               `MEMORY_BENCH_SIZES=100000 bash Benchmarks/run.sh memory` in Benchmarks/data/memory)
#   SERVE_BENCH_QUERIES=N       HTTP lookups per configuration (default 304, 38 per client with 8 clients)
#   SERVE_BENCH_CLI_QUERIES=N   `memp query` processes (default 20)
# MiniLM embeds each ~140-token task in tens of milliseconds of CPU, so building 100,000 memories takes over an hour
# of one core.
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
store="${SERVE_BENCH_STORE:-$BENCH_ROOT/data/serve-$size-$embedder}"
if [ -n "${SERVE_BENCH_STORE:-}" ] && [ ! -f "$store/memp.sqlite" ]; then
    echo "serve.sh: SERVE_BENCH_STORE=$store holds no store (no memp.sqlite)" >&2
    exit 1
fi
if [ ! -f "$store/memp.sqlite" ]; then
    mkdir -p "$BENCH_ROOT/data"
    python3 "$BENCH_ROOT/areas/sample_variants.py" "$size" > "$store.jsonl"
    "$MEMP" init --store "$store" --embedder "$embedder" >&2
    start=$(date +%s.%N)
    "$MEMP" import --store "$store" "$store.jsonl" --build trajectory >&2
    say "imported $size trajectories in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
mkdir -p "$BENCH_ROOT/results/raw"
raw="$BENCH_ROOT/results/raw/serve-$(date -u +%Y%m%dT%H%M%SZ).json"
started_at="$(date -u '+%Y-%m-%d %H:%M UTC')"
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load before: $load_before; store $store"
python3 "$BENCH_ROOT/areas/serve_bench.py" --memp "$MEMP" --store "$store" --queries "${SERVE_BENCH_QUERIES:-304}" \
    --cli-queries "${SERVE_BENCH_CLI_QUERIES:-20}" > "$raw"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load after: $load_after"
origin="built with the \`trajectory\` policy from the TextWorldExpress sample's trajectories repeated with a variant number in each task"
if [ -n "${SERVE_BENCH_STORE:-}" ]; then origin="in the existing store ${SERVE_BENCH_STORE#"$REPOSITORY"/}"; fi
python3 - "$raw" "$started_at" "$machine" "$load_before" "$load_after" "${OPENBLAS_NUM_THREADS:-}" "$origin" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
started_at, machine, before, after, blas_threads, origin = sys.argv[2:8]
print("## Memory service: `memp serve` lookups over HTTP and MCP\n")
print(f"`bash Benchmarks/areas/serve.sh` ({started_at}; {machine}; embedder {data['embedder']}"
      + (f", OPENBLAS_NUM_THREADS={blas_threads}" if blas_threads else ", default environment") + "): "
      f"a store of {data['memories']:,} memories {origin}; the lookups are the sample's held-out "
      f"queries ({data['task_words_mean']} words on average), {data['mode']} mode, k = {data['k']}, embedding "
      "included. Over HTTP: `memp serve` on loopback, keep-alive connections (Python `http.client`, one connection "
      "per client thread, the clients on the same 2 CPUs as the server; latency is the client's, from sending the "
      "request to reading the last byte of the answer, which carries each memory's task and steps), after 30 "
      "warm-up lookups. MCP: the official `mcp` Python SDK's `ClientSession` calling the `lookup_procedures` tool, "
      "over streamable HTTP to the same server's `/mcp` and over stdio to a second `memp serve --mcp-stdio`, after "
      "30 warm-up calls; its ping column is the median of as many `ping` round trips, which do no store work. "
      "Server CPU is the server process's user and system time over the timed lookups, per lookup. "
      "`memp query`: one process per lookup (process start, model and index load, lookup, "
      "`--json`); `memp show`: one process per memory shown, which loads neither. The last two rows: another "
      "process imports one trajectory while the server runs (a write, which rewrites the index cache files), "
      "then the server's next lookup catches up with it before answering; the trajectories are deleted again "
      f"after the rounds. The server was ready {data['server_ready_seconds']} s after it started and exited "
      f"{data['server_exit_status']} on SIGTERM. Load average (1, 5, 15 min) before the run: {before}; after: "
      f"{after} — on this 2-CPU machine anything above 2 means other processes took CPU time from the "
      "measurement.\n")
print("| Configuration | Lookups | p50 (ms) | p95 (ms) | Lookups/s | Server CPU (ms/lookup) | ping p50 (ms) "
      "| 1-min load at start |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, key in [("HTTP, 1 client", "http_1_client"), ("HTTP, 8 clients", "http_8_clients"),
                  ("MCP over streamable HTTP, 1 client", "mcp_http_1_client"),
                  ("MCP over stdio, 1 client", "mcp_stdio_1_client"),
                  ("`memp query`, one process per lookup", "memp_query_process"),
                  ("`memp show`, one process (no lookup)", "memp_show_process"),
                  ("`memp import` of one trajectory beside the server, one process", "import_process"),
                  ("HTTP, the first lookup after that import (the server catches up)", "first_lookup_after_import")]:
    if key not in data:
        continue
    r = data[key]
    ping = f"{r['ping_p50_ms']:.2f}" if "ping_p50_ms" in r else "—"
    cpu = f"{r['server_cpu_ms_per_lookup']:.2f}" if "server_cpu_ms_per_lookup" in r else "—"
    print(f"| {name} | {r['lookups']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['lookups_per_second']:.1f} "
          f"| {cpu} | {ping} | {r['load_1min_before']:.2f} |")
if not data["mcp_measured"]:
    print("\nMCP was not measured: python3 has no `mcp` package (bash scripts/setup.d/70-mcp.sh installs it).")
one, eight = data["http_1_client"], data["http_8_clients"]
print(f"\nIssue 15's goal on 2 CPUs (p50 ≤ 15 ms over HTTP at 100k memories, ≥ 100 lookups/s with 8 clients): this "
      f"run has {data['memories']:,} memories, p50 {one['p50_ms']:.2f} ms with 1 client and "
      f"{eight['lookups_per_second']:.1f} lookups/s with 8 clients.")
print("\nFor scale, not measured here: the Mem0 paper (Chhikara et al., arXiv 2504.19413, Table 2 and §4.4) reports "
      "Mem0's search latency on LOCOMO as p50 0.148 s and p95 0.200 s (Mem0 with graph memory: 0.476 s / 0.657 s); "
      "that search embeds the question with a hosted embedding model and queries a vector database over the "
      "network, on other hardware and another workload: its p50 is "
      f"{148 / one['p50_ms']:.1f}× and its p95 {200 / one['p95_ms']:.1f}× this run's single-client HTTP figures, "
      "context rather than a comparison on equal terms.")
PY
