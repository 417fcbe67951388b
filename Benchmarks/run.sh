#!/usr/bin/env bash
# Runs every benchmark area beside its peers on the same data, in one run, and writes docs/benchmarks.md.
#   bash Benchmarks/run.sh [AREA ...]     areas: the names of Benchmarks/areas/*.sh (default: all)
# Each area script prints one markdown section on stdout (its raw JSON goes to Benchmarks/results/).
set -euo pipefail
cd "$(dirname "$0")"
export BENCH_ROOT="$PWD" REPO_ROOT="$(cd .. && pwd)"
mkdir -p results
swift build -c release --package-path . >&2
areas=("$@")
if [ ${#areas[@]} -eq 0 ]; then for f in areas/*.sh; do areas+=("$(basename "$f" .sh)"); done; fi
for area in "${areas[@]}"; do
    echo "[bench] $area" >&2
    bash "areas/$area.sh" > "results/$area.md"
done
python3 assemble.py > ../docs/benchmarks.md
echo "[bench] wrote docs/benchmarks.md" >&2
