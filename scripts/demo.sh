#!/usr/bin/env bash
# The main job on the embedded defaults: set up, build, then show the exact vector index at work.
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
echo "== A seeded data set: 100,000 x 384 unit vectors, 1,000 queries ($work)"
python3 scripts/make_vectors.py "$work" --count 100000 --queries 1000
echo "== memp index build"
memp index build --input "$work/base.fvecs" --output "$work/base.mvi" --metric cosine
memp index info "$work/base.mvi"
echo
echo "== memp index search: one query at a time, then all 1,000 as one batch"
memp index search --index "$work/base.mvi" --queries "$work/queries.fvecs" -k 10 --batch-size 1 --json
memp index search --index "$work/base.mvi" --queries "$work/queries.fvecs" -k 10 --output "$work/result.ivecs" --json
python3 - "$work/result.ivecs" <<'PY'
import sys, numpy as np
rows = np.fromfile(sys.argv[1], dtype=np.int32).reshape(-1, 11)[:, 1:]
for q in range(3):
    print(f"query {q}: top-10 ids {rows[q].tolist()}")
PY
