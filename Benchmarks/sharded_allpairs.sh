#!/usr/bin/env bash
# Sharded all pairs against one all-pairs run (issue 15): a generated dictionary (default 32768 x
# 2304 F32, Gemma Scope 2B's width; `saegeo generate`), all pairs with k 32 on one device (default cpu), then the same job
# as 4 and as 16 shards run one after another on the same device, each merged. Prints, per shard
# count, each shard's wall seconds, their sum, the single run's (run before and after the shards,
# alternating, since a shared machine's speed drifts: the ratio uses their mean), the ratio
# (target: within 1.15), and merge's own wall seconds and peak resident memory (/usr/bin/time -v);
# checks that every merged file is the single run's, byte for byte. Check `uptime` first: other
# work on the machine moves every figure.
#   Benchmarks/sharded_allpairs.sh [FOLDER]    FEATURES, DIMENSION, DEVICE, SHARDS override
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-/tmp/saegeo-sharded-allpairs}"
features=${FEATURES:-32768} dimension=${DIMENSION:-2304} device=${DEVICE:-cpu} counts=${SHARDS:-"4 16"}
bin=${SAEGEO:-.build-rel/release/saegeo}
[ -x "$bin" ] || swift build -c release --scratch-path .build-rel --product saegeo >&2
mkdir -p "$folder"
[ -d "$folder/job/sae" ] || "$bin" generate "$folder/job" --features "$features" --dimension "$dimension" --samples 16 --tokens 1 >&2
sae="$folder/job/sae"
# Wall seconds and peak KiB of one command, its stderr kept in $folder/last.err.
measure() {
    /usr/bin/time -v "$@" 2> "$folder/last.err" >/dev/null || { cat "$folder/last.err" >&2; exit 1; }
    local wall peak
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$folder/last.err")
    peak=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$folder/last.err")
    echo "$wall $peak"
}
single_run() { measure "$bin" neighbors --sae "$sae" -k 32 --device "$device" -o "$folder/single.safetensors"; }
read -r before single_peak < <(single_run)
echo "single all-pairs run ($features x $dimension, k 32, $device): ${before} s, peak $((single_peak / 1024)) MiB"
for n in $counts; do
    rm -f "$folder"/shard-*.safetensors
    sum=0 line=""
    for ((i = 0; i < n; i++)); do
        read -r wall _ < <(measure "$bin" neighbors --sae "$sae" -k 32 --device "$device" --shard "$i/$n" -o "$folder/shard-$i.safetensors")
        sum=$(echo "$sum + $wall" | bc -l)
        line="$line $wall"
    done
    read -r after _ < <(single_run)
    single=$(echo "($before + $after) / 2" | bc -l)
    read -r merge merge_peak < <(measure "$bin" merge -o "$folder/merged-$n.safetensors" "$folder"/shard-*.safetensors)
    cmp "$folder/single.safetensors" "$folder/merged-$n.safetensors" || { echo "the merge of $n shards differs from the single run" >&2; exit 1; }
    printf '%d shards: per shard%s s; sum %.2f s; single %.2f s (%.2f before, %.2f after); ratio %.3f; merge %.2f s, peak %d MiB; identical to the single run\n' \
        "$n" "$line" "$sum" "$single" "$before" "$after" "$(echo "$sum / $single" | bc -l)" "$merge" "$((merge_peak / 1024))"
    before=$after
done
