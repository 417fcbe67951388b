#!/usr/bin/env bash
# Dense vectors: Memp's FlatIndex (VectorBench) beside FAISS IndexFlatIP and numpy on the anchors' data, with
# the machine's stream-read bandwidth measured in the same run. Prints the markdown section on stdout; the raw
# JSON goes to Benchmarks/results/raw/. Run through `bash Benchmarks/run.sh vector`, or alone.
#   VECTOR_BENCH_QUICK=1       smoke test (1 rep, 20 single queries; the figures mean nothing)
#   VECTOR_BENCH_PEERS_ONLY=1  FAISS, numpy and bandwidth only
#   VECTOR_BENCH_ENV_UNSET=0   skip the extra peer row with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset (~2.5 min)
#   ANCHORS_WAIT_QUIET_S=N     wait up to N s (default 300) for an idle machine before each phase
# Needs: python3 with pip, gcc (for stream_read.c), about 5 GB of memory and 3.3 GB of disk under
# Benchmarks/data/ (generated data, git-ignored; a saved 1M index is written there and removed).
set -euo pipefail
BENCH_ROOT="${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
REPO_ROOT="${REPO_ROOT:-$(cd "$BENCH_ROOT/.." && pwd)}"
ANCHORS_DIR="$(cd "$REPO_ROOT/../shared/anchors" && pwd)"
export ANCHORS_DIR ANCHORS_HOME="$BENCH_ROOT/data/anchors"
say() { echo "[vector] $*" >&2; }

# (1) The pinned peers, only the ones this area uses.
pins=$(grep -E '^(faiss-cpu|numpy|threadpoolctl)==' "$ANCHORS_DIR/requirements.txt")
# shellcheck disable=SC2086
python3 -m pip install -q --disable-pip-version-check $pins >&2

# (2) Data: a no-op when present.
python3 "$ANCHORS_DIR/gen_data.py" >&2

# (3)-(4) VectorBench (release), then the run: bandwidth, peers, ours, bandwidth again.
args=()
if [ "${VECTOR_BENCH_QUICK:-0}" = 1 ]; then args+=(--quick); fi
if [ "${VECTOR_BENCH_ENV_UNSET:-1}" = 0 ]; then args+=(--no-env-unset); fi
if [ "${VECTOR_BENCH_PEERS_ONLY:-0}" = 1 ]; then
    args+=(--peers-only)
else
    swift build -c release --package-path "$BENCH_ROOT" --product VectorBench >&2
    bin="$(swift build -c release --package-path "$BENCH_ROOT" --show-bin-path)"
    args+=(--vector-bench "$bin/VectorBench")
fi
mkdir -p "$BENCH_ROOT/results/raw"
raw="$BENCH_ROOT/results/raw/vector-$(date -u +%Y%m%dT%H%M%SZ).json"
say "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$BENCH_ROOT/peers/dense_peers.py" "${args[@]}" --out "$raw"
cp "$raw" "$BENCH_ROOT/results/raw/vector-latest.json"

# (5) The markdown section.
python3 "$BENCH_ROOT/peers/vector_report.py" "$raw"
