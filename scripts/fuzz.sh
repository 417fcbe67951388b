#!/usr/bin/env bash
# Fuzzes one of Memp's parsers with libFuzzer for a number of seconds.
#
#   bash scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
#   TARGET: trajectories | vector-file | index-file | keyword-index | bundle-manifest | query-files | safetensors |
#           wordpiece | server-requests | line-splitter
#           (wordpiece needs the installed MiniLM: memp model install minilm)
#   bash scripts/fuzz.sh build             builds every target (then two targets can run at once without waiting
#                                          for each other's build)
#
# Builds the Fuzz/ package in release mode with -sanitize=fuzzer (coverage-guided, its own build directory), then
# runs the target on a scratch copy of its committed seed corpus (Fuzz/Corpus/TARGET). A crash leaves
# Fuzz/crashes/TARGET/crash-* (the input that crashed) and exits non-zero; turn it into a regression test.
# Prints one summary line: target, seconds, runs, corpus size, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: fuzz.sh TARGET SECONDS}"
if [ "$target" != build ]; then
    seconds="${2:?usage: fuzz.sh TARGET SECONDS}"
    shift 2
fi
if [ "$target" = build ]; then
    (cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library >&2)
    exit 0
fi
case "$target" in
    trajectories) product=FuzzTrajectories ;;
    vector-file) product=FuzzVectorFile ;;
    index-file) product=FuzzIndexFile ;;
    keyword-index) product=FuzzKeywordIndex ;;
    bundle-manifest) product=FuzzBundleManifest ;;
    query-files) product=FuzzQueryFiles ;;
    safetensors) product=FuzzSafeTensors ;;
    wordpiece) product=FuzzWordPiece ;;
    server-requests) product=FuzzServerRequests ;;
    line-splitter) product=FuzzLineSplitter ;;
    *)
        echo "unknown target $target (trajectories, vector-file, index-file, keyword-index, bundle-manifest," \
            "query-files, safetensors, wordpiece, server-requests, line-splitter)" >&2
        exit 64
        ;;
esac
(cd Fuzz && swift build -c release --product "$product" -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library >&2)
binary="Fuzz/.build/release/$product"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "Fuzz/Corpus/$target" "$work/corpus"
mkdir -p "Fuzz/crashes/$target"
status=0
# Swift's own crash backtracer would take the signal of a trap first and end the process before libFuzzer writes
# the crashing input; with it off, libFuzzer's handler saves the input under Fuzz/crashes/TARGET/.
SWIFT_BACKTRACE=enable=no "$binary" "$work/corpus" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="Fuzz/crashes/$target/" -print_final_stats=1 "$@" 2>"$work/log" || status=$?
runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$' || echo 0)
crashes=$(find "Fuzz/crashes/$target" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
echo "fuzz $target: ${seconds}s, $runs runs, corpus $(ls "$work/corpus" | wc -l) inputs, $crashes crash/timeout/oom files, exit $status"
[ "$status" -eq 0 ] || tail -40 "$work/log" >&2
exit "$status"
