#!/usr/bin/env bash
# Regenerates the memory-effect experiment (docs/experiments.md, "The memory effect"): installs TextWorldExpress
# and java if missing, builds memp in release (or uses $MEMP), installs MiniLM if it can (else the stores use the
# hashing embedder, and the results say so), runs every condition and writes docs/experiments/memory-effect/
# {results.json, table.md} and report.html there (generated, not committed). Extra arguments go to scripts/memory_effect.py; with --quick (a smoke
# check) the output goes to a temporary directory unless --out is given, so the committed results stay.
#   bash scripts/memory-effect.sh [--quick] [--out DIR] ...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.d/60-textworld.sh
memp="${MEMP:-}"
if [ -z "$memp" ]; then
    swift build -c release --product memp >&2
    memp="$(swift build -c release --product memp --show-bin-path)/memp"
fi
embedder=minilm
if ! "$memp" model install minilm >&2; then
    echo "note: MiniLM could not be installed; the memory stores use the hashing embedder." >&2
    embedder=hashing
fi
out=docs/experiments/memory-effect
for argument in "$@"; do
    [ "$argument" = "--quick" ] && out="$(mktemp -d)"
done
python3 scripts/memory_effect.py --memp "$memp" --out "$out" --embedder "$embedder" "$@"
