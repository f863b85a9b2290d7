#!/usr/bin/env bash
# Fuzzes saegeo's readers of untrusted bytes (safetensors, npy, npz, PyTorch .pt/.pth, checkpoint blocks, shard manifests and score shards) with libFuzzer and AddressSanitizer for a
# bounded time (default 120 s), starting from the committed seeds in Fuzz/Corpus. A crash or a
# sanitizer report fails the script and leaves the input in the working folder it prints.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
export SWIFT_BACKTRACE=enable=no
# Every module gets ASan and libFuzzer's coverage; only the fuzz executable links libFuzzer itself.
swift build --package-path Fuzz --scratch-path .build-fuzz --product saegeo-fuzz \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    -Xswiftc -use-ld=lld
work="$(mktemp -d -t saegeo-fuzz-XXXXXX)"
echo "fuzzing for ${seconds}s; new inputs and any crash go to $work" >&2
status=0
.build-fuzz/debug/saegeo-fuzz "$work" Fuzz/Corpus -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$work/" -print_final_stats=1 2>&1 | tail -n 25 || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzzing found a failure (exit $status); inputs are in $work" >&2
    exit "$status"
fi
rm -rf "$work"
