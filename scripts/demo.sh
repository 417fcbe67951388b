#!/usr/bin/env bash
# The main job on the embedded defaults: set up, build, show the exact vector index at work, then build a procedural
# memory from real TextWorldExpress trajectories, look tasks up with explained hybrid hits, and evaluate every
# retrieval policy on the sample's held-out queries (tables on stdout, an HTML report in the work directory).
#   bash scripts/demo.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product memp >&2
memp() { .build/release/memp "$@"; }
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
echo "== memp doctor"
memp doctor
echo
echo "== The exact vector index: 100,000 x 384 seeded unit vectors, 1,000 queries searched as one batch ($work)"
python3 scripts/make_vectors.py "$work" --count 100000 --queries 1000
memp index build --input "$work/base.fvecs" --output "$work/base.mvi" --metric cosine
memp index search --index "$work/base.mvi" --queries "$work/queries.fvecs" -k 10 --output "$work/result.ivecs" --json
echo
echo "== Procedural memory from real TextWorldExpress trajectories (data/textworld-sample: 640 trajectories, 80 queries)"
# MiniLM when it can be installed; otherwise `memp init` falls back to the hashing embedder and says so.
if ! memp model install minilm >&2; then
    echo "note: \`memp model install minilm\` failed (see above). \`memp init\` uses MiniLM if it is installed" \
        "already, else the hashing embedder (it says which): hashing runs anywhere but has no semantics, so the" \
        "query, keyword and hybrid numbers below are lower than with MiniLM." >&2
fi
rm -rf "$work/memory"
memp init --store "$work/memory"
memp import --store "$work/memory" data/textworld-sample/trajectories.jsonl
memp stats --store "$work/memory"
for task in \
    "You are hungry! Cook a meal with the recipe from the cookbook, then eat it." \
    "Find the coin somewhere in the house and take it." \
    "Tidy up: put the dirty clothes and the dishes back where they belong."; do
    echo
    echo "== memp query --explain -k 3 \"$task\""
    memp query --store "$work/memory" --explain -k 3 "$task" | { grep -E '^[0-9]+\.|why:' || true; }
done
echo
echo "== memp eval: every retrieval policy on the 80 held-out queries, with a hybrid alpha sweep"
memp eval --store "$work/memory" --queries data/textworld-sample/queries.jsonl -k 10 --alpha-sweep 0:1:0.1 \
    --report "$work/report.html"
echo
echo "== memp serve: the store as a service; the Python client (clients/python) asks it for a procedure"
.build/release/memp serve --store "$work/memory" --port 0 2> "$work/serve.log" &
server=$!
until grep -q "Listening on" "$work/serve.log"; do kill -0 "$server"; sleep 0.2; done
url="$(grep -o 'http://[^ ]*' "$work/serve.log" | head -1)"
echo "$(grep 'Listening on' "$work/serve.log")"
python3 - "$url" <<'PY'
import sys
sys.path.insert(0, "clients/python")
from memp_client import MempClient
memp = MempClient(sys.argv[1])
hit = memp.lookup("Find the coin somewhere in the house and take it.", k=1)[0]
print(f"lookup -> {hit.id} (score {hit.score:.4f}, source attempt succeeded: {hit.outcome.success if hit.outcome else None})")
print("\n".join(hit.procedure().splitlines()[:6]))
change = memp.record_outcome([hit.id], success=True)[0]
print(f"record_outcome -> {change.memory_id}: {change.success_count} of {change.hit_count} uses succeeded")
PY
kill -TERM "$server"
wait "$server"
echo
echo "Report: $work/report.html (self-contained HTML; open it in any browser)."
