#!/usr/bin/env bash
# Embeddings area: Memp's MiniLMEmbedder beside sentence-transformers (torch CPU, 2 threads) on the same 2,000
# task-like sentences (those of shared/anchors/bench_embed.py), in one run. Prints a markdown section.
# Called by Benchmarks/run.sh (BENCH_ROOT, REPO_ROOT set; the release build done).
#
# torch: PyPI has no CPU-only torch wheel (the CPU builds live on PyTorch's own index, which this machine cannot
# reach), so this installs PyPI's default torch wheel. It runs on the CPU as is, but pulls the CUDA runtime wheels
# (about 1.2 GB torch + 3 GB nvidia-* packages installed). Set EMBED_SKIP_INSTALL=1 to use what is installed.
set -euo pipefail
: "${BENCH_ROOT:?run through Benchmarks/run.sh}" "${REPO_ROOT:?run through Benchmarks/run.sh}"
results="$BENCH_ROOT/results"
raw="$results/raw"  # intermediate files, git-ignored
mkdir -p "$raw"
export REPO_ROOT
threads="${EMBED_THREADS:-2}"

if [ "${EMBED_SKIP_INSTALL:-0}" != 1 ] && ! python3 -c "import torch, sentence_transformers" 2>/dev/null; then
    echo "[embeddings] installing torch and sentence-transformers from PyPI (large: CUDA runtime wheels)" >&2
    python3 -m pip install -q --disable-pip-version-check torch sentence-transformers >&2
fi

sentences="$raw/embeddings-sentences.txt"
python3 "$BENCH_ROOT/areas/embeddings_st.py" sentences 2000 > "$sentences"

bin="$(swift build -c release --package-path "$BENCH_ROOT" --show-bin-path)"
quiet="${EMBED_WAIT_QUIET_S:-300}"
echo "[embeddings] Memp MiniLMEmbedder, $threads BLAS threads (after waiting up to ${quiet}s for an idle machine)" >&2
python3 "$REPO_ROOT/../shared/anchors/anchor_common.py" wait-quiet "$quiet" >&2
OPENBLAS_NUM_THREADS="$threads" "$bin/EmbeddingBench" --sentences "$sentences" > "$raw/embeddings-memp.json"
model_dir="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_directory"])' "$raw/embeddings-memp.json")"

echo "[embeddings] sentence-transformers, $threads torch threads" >&2
python3 "$BENCH_ROOT/areas/embeddings_st.py" bench "$model_dir" --threads "$threads" \
    --wait-quiet "$quiet" > "$raw/embeddings-st.json"

python3 "$BENCH_ROOT/areas/embeddings_report.py" "$raw/embeddings-memp.json" "$raw/embeddings-st.json"
