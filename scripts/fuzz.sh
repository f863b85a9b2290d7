#!/usr/bin/env bash
# Fuzzes saegeo's readers of untrusted bytes with libFuzzer and AddressSanitizer for a bounded
# time, starting from the committed seeds in Fuzz/Corpus: the pickle reader and the zip reader
# (the readers of hostile PyTorch checkpoints and npz archives) each for PICKLE_ZIP_SECONDS, at
# the same time (one process each), then the other readers (safetensors, npy, checkpoint blocks,
# shard manifests and score shards, strict JSON) for OTHER_SECONDS. A crash or a sanitizer report
# fails the script and leaves the input in the working folder it prints.
#   scripts/fuzz.sh [PICKLE_ZIP_SECONDS [OTHER_SECONDS]]     (defaults: 120 and 60)
set -euo pipefail
cd "$(dirname "$0")/.."
pickle_zip_seconds="${1:-120}"
other_seconds="${2:-60}"
export SWIFT_BACKTRACE=enable=no
# SwiftPM keeps the parent package's list of source files in its build plan and may miss a new
# file: plan again each time (cheap; what was compiled is kept).
rm -f .build-fuzz/debug.yaml .build-fuzz/*/debug/description.json
# Every module gets ASan and libFuzzer's coverage; only the fuzz executable links libFuzzer itself.
swift build --package-path Fuzz --scratch-path .build-fuzz --product saegeo-fuzz \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    -Xswiftc -use-ld=lld
work="$(mktemp -d -t saegeo-fuzz-XXXXXX)"
echo "fuzzing pickle and zip for ${pickle_zip_seconds}s each, then the other readers for ${other_seconds}s; new inputs and any crash go to $work" >&2

# Runs one target for SECONDS with its seed folders; its last lines go to $work/TARGET.log.
fuzz() {
    local target="$1" seconds="$2"; shift 2
    mkdir -p "$work/$target"
    SAEGEO_FUZZ_TARGET="$target" .build-fuzz/debug/saegeo-fuzz "$work/$target" "$@" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$work/$target-" -print_final_stats=1 \
        >"$work/$target.log" 2>&1
}

status=0
fuzz pickle "$pickle_zip_seconds" Fuzz/Corpus/pickle & pickle_pid=$!
fuzz zip "$pickle_zip_seconds" Fuzz/Corpus & zip_pid=$!
wait "$pickle_pid" || status=$?
tail -n 12 "$work/pickle.log"
wait "$zip_pid" || status=$?
tail -n 12 "$work/zip.log"
if [ "$status" -eq 0 ]; then
    fuzz others "$other_seconds" Fuzz/Corpus || status=$?
    tail -n 12 "$work/others.log"
fi
if [ "$status" -ne 0 ]; then
    echo "fuzzing found a failure (exit $status); inputs and logs are in $work" >&2
    exit "$status"
fi
rm -rf "$work"
