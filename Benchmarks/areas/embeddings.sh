#!/usr/bin/env bash
# Embeddings area: Memp's MiniLMEmbedder beside sentence-transformers (torch CPU, 2 threads) on the same texts,
# in one run, in the environment as the user has it (nothing tuned: a figure taken with OPENBLAS_NUM_THREADS or
# another tuning variable set is labelled so by the report). Three sets: the shared anchor's 2,000 short task-like
# sentences, the 640 task texts of data/textworld-sample (about 150 tokens), and 320 generated texts of 100-250
# tokens. Also measured in the same run: this machine's sgemm rate (numpy on OpenBLAS) and `memp import` of the
# sample plus a 64-text `memp embed`, quiet and beside two busy processes. Prints a markdown section.
# Called by Benchmarks/run.sh (BENCH_ROOT, REPO_ROOT set; the release build done).
#   EMBED_SKIP_INSTALL=1   use the torch and sentence-transformers that are installed
#   EMBED_SKIP_LOAD=1      skip the import / embed under load part
#   EMBED_SHORT_N, EMBED_SAMPLE_N, EMBED_LONG_N, EMBED_REPEATS, EMBED_LOAD_RUNS
#                          fewer texts (defaults 2000, 640, 320), batch-32 passes (3) and load runs (3) for a
#                          quicker run on a busy machine; the report gives the counts used
#   MEMP_BIN=PATH          a prebuilt release memp instead of building one
set -euo pipefail
: "${BENCH_ROOT:?run through Benchmarks/run.sh}" "${REPO_ROOT:?run through Benchmarks/run.sh}"
results="$BENCH_ROOT/results"
raw="$results/raw"  # intermediate files, git-ignored
mkdir -p "$raw"
export REPO_ROOT
threads=2
say() { echo "[embeddings] $*" >&2; }

if [ "${EMBED_SKIP_INSTALL:-0}" != 1 ] && ! python3 -c "import torch, sentence_transformers" 2>/dev/null; then
    say "installing torch and sentence-transformers from PyPI"
    python3 -m pip install -q --disable-pip-version-check torch sentence-transformers >&2
fi

st="$BENCH_ROOT/areas/embeddings_st.py"
repeats="${EMBED_REPEATS:-3}"
python3 "$st" sentences "${EMBED_SHORT_N:-2000}" > "$raw/embeddings-short.txt"
python3 "$st" sample-tasks "$REPO_ROOT/data/textworld-sample/trajectories.jsonl" "${EMBED_SAMPLE_N:-640}" \
    > "$raw/embeddings-sample.txt"
python3 "$st" long "${EMBED_LONG_N:-320}" > "$raw/embeddings-long.txt"

bin="$(swift build -c release --package-path "$BENCH_ROOT" --show-bin-path)"
if [ -n "${MEMP_BIN:-}" ]; then
    memp="$MEMP_BIN"
else
    swift build -c release --package-path "$REPO_ROOT" --product memp >&2
    memp="$(swift build -c release --package-path "$REPO_ROOT" --show-bin-path)/memp"
fi

say "sgemm rate (numpy on OpenBLAS)"
python3 "$st" sgemm > "$raw/embeddings-sgemm.json"
model_dir=""
for set in short sample long; do
    say "$set: Memp MiniLMEmbedder"
    "$bin/EmbeddingBench" --sentences "$raw/embeddings-$set.txt" --repeats "$repeats" > "$raw/embeddings-memp-$set.json"
    model_dir="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_directory"])' \
        "$raw/embeddings-memp-$set.json")"
    say "$set: sentence-transformers, $threads torch threads"
    python3 "$st" bench "$model_dir" "$raw/embeddings-$set.txt" --threads "$threads" --repeats "$repeats" \
        > "$raw/embeddings-st-$set.json"
done
python3 "$st" sgemm > "$raw/embeddings-sgemm-after.json"

load_json=""
if [ "${EMBED_SKIP_LOAD:-0}" != 1 ]; then
    say "memp import and embed, quiet and beside two busy processes"
    python3 "$BENCH_ROOT/areas/embeddings_load.py" "$memp" "$REPO_ROOT/data/textworld-sample" "$raw/load-work" \
        --runs "${EMBED_LOAD_RUNS:-3}" \
        > "$raw/embeddings-load.json"
    load_json="$raw/embeddings-load.json"
fi

python3 "$BENCH_ROOT/areas/embeddings_report.py" "$raw" $load_json
