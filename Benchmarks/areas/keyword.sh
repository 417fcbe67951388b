#!/usr/bin/env bash
# Keyword area: Memp's BM25 beside bm25s on the shared docstring corpus, plus hybrid latency at 100k documents.
# Called by Benchmarks/run.sh (BENCH_ROOT, REPO_ROOT set; the release build done); prints a markdown section.
set -euo pipefail
: "${BENCH_ROOT:?run through Benchmarks/run.sh}" "${REPO_ROOT:?run through Benchmarks/run.sh}"
anchors="$REPO_ROOT/../shared/anchors"
data_home="$BENCH_ROOT/data/anchors"
results="$BENCH_ROOT/results/raw"  # raw JSON, git-ignored; run.sh keeps the markdown
mkdir -p "$data_home" "$results"

python3 -m pip install -q --disable-pip-version-check -r "$anchors/requirements.txt" >&2
ANCHORS_HOME="$data_home" python3 "$anchors/gen_corpus.py" >&2
corpus="$data_home/data/corpus.jsonl"
queries="$data_home/data/bm25-queries.jsonl"

echo "[keyword] bm25s reference run" >&2
ANCHORS_HOME="$data_home" ANCHORS_WAIT_QUIET_S="${ANCHORS_WAIT_QUIET_S:-60}" \
    python3 "$anchors/bench_bm25.py" > "$results/keyword-bm25s.json"
python3 "$BENCH_ROOT/areas/keyword_bm25s_top10.py" "$corpus" "$queries" > "$results/keyword-bm25s-top10.jsonl"

echo "[keyword] Memp KeywordBench" >&2
bin="$(swift build -c release --package-path "$BENCH_ROOT" --show-bin-path)"
"$bin/KeywordBench" --corpus "$corpus" --queries "$queries" --top10 "$results/keyword-memp-top10.jsonl" \
    --hybrid-documents "${KEYWORD_HYBRID_DOCUMENTS:-100000}" > "$results/keyword-memp.json"

python3 "$BENCH_ROOT/areas/keyword_report.py" "$results/keyword-bm25s.json" "$results/keyword-bm25s-top10.jsonl" \
    "$results/keyword-memp.json" "$results/keyword-memp-top10.jsonl"
