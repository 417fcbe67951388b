#!/usr/bin/env bash
# Measures the SIMD-scan / BLAS crossover of `memp index search` for docs/vector-index.md: for each batch
# size, the throughput of answering the queries in batches of that size by per-query SIMD scans and by BLAS
# sgemm tiles. Usage: scripts/vector-crossover.sh INDEX.mvi QUERIES.fvecs [K]
set -euo pipefail
cd "$(dirname "$0")/.."
index=${1:?usage: $0 INDEX.mvi QUERIES.fvecs [K]}
queries=${2:?usage: $0 INDEX.mvi QUERIES.fvecs [K]}
k=${3:-10}
swift build -c release --product memp >&2
memp=$(swift build -c release --show-bin-path)/memp
qps() {
    "$memp" index search --index "$index" --queries "$queries" -k "$k" --skip-verify --json "$@" \
        | python3 -c 'import json, sys; print(round(json.load(sys.stdin)["queriesPerSecond"], 1))'
}
printf '%-10s %12s %12s\n' batch scan_qps blas_qps
for batch in 1 4 16 64 256 1000; do
    printf '%-10s %12s %12s\n' "$batch" "$(qps --batch-size "$batch" --method scan)" \
        "$(qps --batch-size "$batch" --method blas)"
done
