#!/usr/bin/env bash
# The check to run first on a machine with a GPU, with nothing but the unpacked tarball and bash
# (no Python, no network, no Swift). On every GPU and on cpu, over generated jobs: neighbours
# (query subsets and all pairs, several k) must be bit-identical to cpu's, scores within 1e-5;
# then `tune --quick` and `bench --json` on each GPU. Ends with one verdict line; exit 0 on PASS.
#   gpu-check.sh [--devices opencl:0,opencl:1] [--quick] [--saegeo PATH] [--keep DIR]
# --devices replaces "every GPU" (e.g. a CPU OpenCL device, to test the script itself); --quick
# leaves out the Gemma-sized job (20011 x 2304) and shortens bench.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
saegeo=$here/bin/saegeo devices= keep= quick=
while [ $# -gt 0 ]; do
    case "$1" in
        --devices) devices=${2:?}; shift 2 ;;
        --saegeo) saegeo=${2:?}; shift 2 ;;
        --keep) keep=${2:?}; shift 2 ;;
        --quick) quick=1; shift ;;
        *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -x "$saegeo" ] || { echo "gpu-check: no saegeo at $saegeo (give --saegeo PATH)" >&2; exit 2; }
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
failures=() notes=()
fail() { failures+=("$1"); echo "  FAIL  $1"; }

echo "gpu-check: $("$saegeo" --version) on $(uname -n)"
"$saegeo" devices | tee "$work/devices.txt"
if [ -z "$devices" ]; then
    devices=$(awk '$2 == "gpu" { print $1 }' "$work/devices.txt" | paste -sd, -)
    [ -n "$devices" ] || { echo "gpu-check: NO GPU (the OpenCL loader lists none; see 'saegeo devices' above)"; exit 1; }
fi
IFS=, read -r -a gpus <<< "$devices"

# The bytes of a safetensors file after its header: the tensors alone (the metadata names the device).
tensors() { local n; n=$(od -An -t u8 -N8 "$1" | tr -d ' '); tail -c +$((n + 9)) "$1"; }

# Jobs of awkward sizes (no multiple of 16 or 64).
"$saegeo" generate "$work/small" --features 1501 --dimension 77 --samples 301 --tokens 5 --seed 3 >/dev/null 2>&1
jobs=(small)
printf '%s\n' 0 7 99 1000 1500 > "$work/small.queries"
if [ -z "$quick" ]; then
    "$saegeo" generate "$work/large" --features 20011 --dimension 2304 --samples 4001 --tokens 5 --seed 4 >/dev/null 2>&1
    seq 0 37 20010 > "$work/large.queries"
    jobs+=(large)
fi

checked=0 worst=0
for job in "${jobs[@]}"; do
    for k in 1 8 40; do
        for set in queries all; do
            args=(neighbors --sae "$work/$job/sae" -k "$k")
            [ "$set" = queries ] && args+=(--queries "$work/$job.queries")
            [ "$job" = large ] && [ "$set" = all ] && [ "$k" != 8 ] && continue   # all pairs of 20011 once
            "$saegeo" "${args[@]}" --device cpu -o "$work/n-$job-$k-$set-cpu.safetensors" 2>/dev/null
            for gpu in "${gpus[@]}"; do
                out="$work/n-$job-$k-$set-$gpu.safetensors"
                if ! "$saegeo" "${args[@]}" --device "$gpu" -o "$out" 2>"$work/err.txt"; then
                    fail "neighbors $job k $k $set on $gpu: $(tail -1 "$work/err.txt")"; continue
                fi
                if cmp -s <(tensors "$out") <(tensors "$work/n-$job-$k-$set-cpu.safetensors"); then
                    checked=$((checked + 1))
                else
                    fail "neighbors $job k $k $set: $gpu differs from cpu"
                fi
            done
        done
    done
    "$saegeo" score --sae "$work/$job/sae" --toxic "$work/$job/toxic.txt" --activations "$work/$job/activations.safetensors" \
        --offsets offsets --device cpu -o "$work/s-$job-cpu.csv" 2>/dev/null
    for gpu in "${gpus[@]}"; do
        if ! "$saegeo" score --sae "$work/$job/sae" --toxic "$work/$job/toxic.txt" \
            --activations "$work/$job/activations.safetensors" --offsets offsets --device "$gpu" \
            -o "$work/s-$job-$gpu.csv" 2>"$work/err.txt"; then
            fail "score $job on $gpu: $(tail -1 "$work/err.txt")"; continue
        fi
        # Largest relative difference of the scores (a floor of 1e-3 for scores near 0).
        # Each line pastes the two files' columns side by side: the score is the second of each half.
        diff=$(paste -d, "$work/s-$job-$gpu.csv" "$work/s-$job-cpu.csv" | awk -F, 'NR > 1 {
            c = $(NF / 2 + 2); d = $2 - c; if (d < 0) d = -d; m = c < 0 ? -c : c; if (m < 1e-3) m = 1e-3
            if (d / m > w) w = d / m } END { printf "%.3g", w + 0 }')
        if awk -v d="$diff" 'BEGIN { exit !(d <= 1e-5) }'; then
            checked=$((checked + 1))
            worst=$(awk -v a="$worst" -v b="$diff" 'BEGIN { print (b > a ? b : a) }')
        else
            fail "score $job: $gpu differs from cpu by $diff relative"
        fi
    done
done

for gpu in "${gpus[@]}"; do
    if "$saegeo" tune --device "$gpu" --quick >"$work/tune-$gpu.txt" 2>&1; then
        notes+=("$gpu tuned: $(grep -m1 '^ *1 ' "$work/tune-$gpu.txt" | tr -s ' ')")
    else
        fail "tune on $gpu: $(tail -1 "$work/tune-$gpu.txt")"
    fi
    if "$saegeo" bench --device "$gpu" --budget "$([ -n "$quick" ] && echo 6 || echo 30)" --json "$work/bench-$gpu.json" >"$work/bench-$gpu.txt" 2>&1; then
        notes+=("$gpu bench: $(grep -o '"peak_gflops" *: *[0-9.]*' "$work/bench-$gpu.json" | head -1 | tr -d ' "')")
    else
        fail "bench on $gpu: $(tail -1 "$work/bench-$gpu.txt")"
    fi
done
for note in "${notes[@]}"; do echo "  $note"; done
if [ ${#failures[@]} -eq 0 ]; then
    echo "gpu-check: PASS on ${gpus[*]} ($checked comparisons with cpu: neighbours bit-identical, scores within $worst)"
else
    echo "gpu-check: FAIL on ${gpus[*]}: ${#failures[@]} of $((checked + ${#failures[@]})) checks failed, first: ${failures[0]}"
    exit 1
fi
