#!/bin/bash
# compare-builds.sh OLD_BINARY NEW_BINARY
#
# Checks that a refactor changed no output: runs two builds of saegeo on the same small generated
# jobs and compares what they write.
#   - neighbors (all pairs, query subsets, key subsets, forced tiling; k 1, 7, 40; every device in
#     COMPARE_DEVICES): outputs must be byte-identical (saegeo promises exact neighbours).
#   - score (.jsonl with --explain, .csv, .safetensors, --summary; every device): byte-identical
#     where possible, else every number within 1e-6 relative (each case is reported).
#   - contrast (unpaired and --paired; .jsonl, .csv, .safetensors; --ids with --distinct-cosine;
#     --toxic with --summary; forced tiling; every single device): byte-identical, and so are the
#     lines on stderr once timings and the old/ new/ folders are masked (contrast, score, neighbors).
#     Runs on several devices at once (cpu,opencl:0) are not bit-deterministic for score and
#     contrast in either build (chunks go to whichever device is free): score is compared there
#     within 1e-5 relative and counted apart, contrast not at all; neighbours stay byte-identical.
#   - generate, inspect --scan, plan and filter: byte-identical.
#   - batch jobs, on NEW only: 3 shards + merge must equal NEW's single run byte for byte, with one
#     shard interrupted part-way (SIGTERM / SIGINT) and resumed from its checkpoint, and one shard
#     run twice. On every device: contrast shards (unpaired and --paired, merged into .safetensors,
#     .jsonl and .csv) and score shards with `merge --summary` (= `score --summary`), each shard
#     also byte-identical to OLD's.
# Ends with one line, `compare-builds: PASS (N byte-identical, M within 1e-6)` or
# `compare-builds: FAIL (...)`, and exit status 0 or 1. COMPARE_IGNORE_JOB=1 counts a .safetensors
# output as identical when it differs only in `saegeo.job` (the job fingerprint) and the
# `saegeo.checksum` that covers it, every other byte equal: for a change of the fingerprint itself.
# The jobs are small (about a minute on
# 2 cores). COMPARE_DEVICES (default "cpu opencl:0 cpu,opencl:0": the last runs on both at once)
# picks the devices; KEEP_COMPARE_BUILDS=1 keeps the work folder for inspection.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 OLD_BINARY NEW_BINARY" >&2
    exit 64
fi
old=$(realpath -s "$1")
new=$(realpath -s "$2")
for bin in "$old" "$new"; do
    [ -x "$bin" ] || { echo "compare-builds: $bin is not an executable" >&2; exit 1; }
done
devices=${COMPARE_DEVICES:-cpu opencl:0 cpu,opencl:0}
# The single devices (no comma), and the last of them, for the jobs that are only deterministic on
# one device: on several at once, chunks of samples go to whichever device is free, so the floats
# of score and contrast may differ in their last bits between two runs of one build (neighbours are
# exact on any mix of devices).
single_devices=$(for device in $devices; do [[ $device == *,* ]] || echo "$device"; done)
last_single=$(echo "$single_devices" | tail -n 1)
tolerance=1e-6
multi_tolerance=1e-5   # several devices at once: DESIGN.md's promise across devices

work=$(mktemp -d "${TMPDIR:-/tmp}/compare-builds.XXXXXX")
cleanup() {
    if [ -n "${KEEP_COMPARE_BUILDS:-}" ]; then echo "compare-builds: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# Every path handed to saegeo is relative to $work, so that the paths it records in its outputs'
# metadata (saegeo.sae, ...) are the same for both builds.
cd "$work"
mkdir -p old new batch logs

identical=0     # comparisons that were byte-identical
close=0         # comparisons equal only within the tolerance
multi=0         # comparisons of runs on several devices at once equal within multi_tolerance
failures=()     # one reason per failed check
step() { echo "compare-builds: $*"; }
fail() { failures+=("$*"); echo "  FAIL  $*"; }

# ---------------------------------------------------------------------------------------------
# Numeric comparison of two outputs (stdlib python3 only): .safetensors (header parsed by hand:
# metadata and integer tensors exact, float tensors within tolerance), .jsonl / .json (same
# structure, integers and strings exact, floats within tolerance), .csv (likewise per field).
# Prints the largest relative difference; exit 0 within tolerance, 1 otherwise (with the reason).
cat > numcmp.py <<'PY'
import array, json, math, struct, sys

a_path, b_path, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
worst = 0.0

class Differ(Exception):
    pass

def close(x, y, where):
    """Floats: equal (infinities, NaN included) or within tol relative to the larger magnitude."""
    global worst
    if x == y or (math.isnan(x) and math.isnan(y)):
        return
    if math.isinf(x) or math.isinf(y) or math.isnan(x) or math.isnan(y):
        raise Differ(f"{where}: {x!r} vs {y!r}")
    rel = abs(x - y) / max(abs(x), abs(y))
    worst = max(worst, rel)
    if rel > tol:
        raise Differ(f"{where}: {x!r} vs {y!r} (relative difference {rel:.3g})")

def same(x, y, where):
    """JSON values: integers, strings, booleans and structure exact; floats within tol."""
    if isinstance(x, bool) or isinstance(y, bool) or isinstance(x, str) or x is None:
        if x != y or type(x) != type(y):
            raise Differ(f"{where}: {x!r} vs {y!r}")
    elif isinstance(x, int) and isinstance(y, int):
        if x != y:
            raise Differ(f"{where}: {x} vs {y}")
    elif isinstance(x, (int, float)) and isinstance(y, (int, float)):
        close(float(x), float(y), where)
    elif isinstance(x, dict) and isinstance(y, dict):
        if list(x) != list(y):
            raise Differ(f"{where}: keys {list(x)} vs {list(y)}")
        for key in x:
            same(x[key], y[key], f"{where}.{key}")
    elif isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            raise Differ(f"{where}: {len(x)} vs {len(y)} items")
        for i, (u, v) in enumerate(zip(x, y)):
            same(u, v, f"{where}[{i}]")
    else:
        raise Differ(f"{where}: {x!r} vs {y!r}")

def safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    return header, blob[8 + size:]

CODES = {"F32": "f", "F64": "d", "I64": "q", "I32": "i", "U8": "B"}

def compare_safetensors():
    (ha, da), (hb, db) = safetensors(a_path), safetensors(b_path)
    ma, mb = ha.pop("__metadata__", {}), hb.pop("__metadata__", {})
    # saegeo.checksum is a CRC-32 of the contents too: it may differ only where the data do.
    if da != db:
        ma.pop("saegeo.checksum", None); mb.pop("saegeo.checksum", None)
    for key in sorted(set(ma) | set(mb)):
        if ma.get(key) != mb.get(key):
            raise Differ(f"__metadata__ {key}: {ma.get(key)!r} vs {mb.get(key)!r}")
    if ha != hb:
        raise Differ(f"tensors differ: {ha} vs {hb}")
    for name, t in ha.items():
        lo, hi = t["data_offsets"]
        xs, ys = array.array(CODES[t["dtype"]]), array.array(CODES[t["dtype"]])
        xs.frombytes(da[lo:hi]); ys.frombytes(db[lo:hi])
        exact = t["dtype"] not in ("F32", "F64")
        for i, (x, y) in enumerate(zip(xs, ys)):
            if exact and x != y:
                raise Differ(f"{name}[{i}]: {x} vs {y}")
            if not exact:
                close(x, y, f"{name}[{i}]")

def lines(path):
    with open(path) as f:
        return f.read().split("\n")

def compare_lines(parse):
    la, lb = lines(a_path), lines(b_path)
    if len(la) != len(lb):
        raise Differ(f"{len(la)} vs {len(lb)} lines")
    for n, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            same(parse(x), parse(y), f"line {n}")

def csv_fields(line):
    def value(field):
        for kind in (int, float):
            try:
                return kind(field)
            except ValueError:
                pass
        return field
    return [value(field) for field in line.split(",")]

try:
    if a_path.endswith(".safetensors"):
        compare_safetensors()
    elif a_path.endswith(".jsonl"):
        compare_lines(json.loads)
    elif a_path.endswith(".json"):
        with open(a_path) as fa, open(b_path) as fb:
            same(json.load(fa), json.load(fb), "$")
    elif a_path.endswith(".csv"):
        compare_lines(csv_fields)
    else:
        raise Differ("no numeric comparison for this kind of file")
except Differ as reason:
    print(reason)
    sys.exit(1)
print(f"{worst:.3g}")
PY

# Byte-identical or FAIL (neighbours, generated files, filter output, merged shards).
expect_identical() {
    local label=$1 a=$2 b=$3 detail
    if [ ! -s "$a" ] || [ ! -s "$b" ]; then
        fail "$label: output missing or empty ($( [ -s "$a" ] || echo "$a " )$( [ -s "$b" ] || echo "$b" ))"
    elif cmp -s "$a" "$b"; then
        identical=$((identical + 1)); echo "  identical      $label"
    elif [ -n "${COMPARE_IGNORE_JOB:-}" ] && python3 - "$a" "$b" <<'PY'
import json, struct, sys
def parts(path):
    blob = open(path, "rb").read()
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    for key in ("saegeo.job", "saegeo.checksum"):
        header.get("__metadata__", {}).pop(key, None)
    return header, blob[8 + size:]
sys.exit(0 if sys.argv[1].endswith(".safetensors") and parts(sys.argv[1]) == parts(sys.argv[2]) else 1)
PY
    then
        identical=$((identical + 1)); echo "  identical but for the job fingerprint  $label"
    else
        # Say how far apart they are, to tell a reordering from a rounding change.
        detail=$(python3 numcmp.py "$a" "$b" "$tolerance" 2>&1 || true)
        fail "$label: not byte-identical ($(cmp "$a" "$b" 2>&1 | head -1 | sed 's/.*differ: //'); numerically: $detail)"
    fi
}

# Byte-identical, else within the tolerance (scores: float sums may legitimately be re-associated).
expect_close() {
    local label=$1 a=$2 b=$3 detail
    if [ ! -s "$a" ] || [ ! -s "$b" ]; then
        fail "$label: output missing or empty"
    elif cmp -s "$a" "$b"; then
        identical=$((identical + 1)); echo "  identical      $label"
    elif [ -n "${COMPARE_IGNORE_JOB:-}" ] && [ "${a%.safetensors}" != "$a" ]; then
        expect_identical "$label" "$a" "$b"
    elif detail=$(python3 numcmp.py "$a" "$b" "$tolerance" 2>&1); then
        close=$((close + 1)); echo "  within $tolerance  $label (max relative difference $detail)"
    else
        fail "$label: differs beyond $tolerance: $detail"
    fi
}

# A run on several devices at once (LABEL A B DEVICE): byte-identical, else within multi_tolerance,
# counted apart (neither build is bit-deterministic there); on one device: byte-identical.
expect_on() {
    local label=$1 a=$2 b=$3 device=$4 detail
    if [[ $device != *,* ]]; then
        expect_identical "$label" "$a" "$b"
    elif [ -s "$a" ] && [ -s "$b" ] && cmp -s "$a" "$b"; then
        identical=$((identical + 1)); echo "  identical      $label"
    elif detail=$(python3 numcmp.py "$a" "$b" "$multi_tolerance" 2>&1); then
        multi=$((multi + 1)); echo "  within $multi_tolerance  $label (several devices; max relative difference $detail)"
    else
        fail "$label: differs beyond $multi_tolerance on several devices: $detail"
    fi
}

# The same lines on stderr, in the same order, once the figures that time a run (seconds, rates)
# are masked: what a command says must not change either.
expect_same_lines() {
    local label=$1 a=$2 b=$3
    local mask='s/[0-9]+(\.[0-9]+)? (s|GFLOP\/s|rows\/s)\b/T \2/g; s/(^|[ (])(old|new)\//\1SIDE\//g'
    if diff <(sed -E "$mask" "$a") <(sed -E "$mask" "$b") >/dev/null; then
        identical=$((identical + 1)); echo "  same lines     $label"
    else
        fail "$label: stderr differs: $(diff <(sed -E "$mask" "$a") <(sed -E "$mask" "$b") | grep '^[<>]' | head -2 | tr '\n' ' ')"
    fi
}

# The verdict: every failure again, together, then one line; exit 0 or 1.
finish() {
    step "$runs saegeo runs"
    if [ ${#failures[@]} -eq 0 ]; then
        echo "compare-builds: PASS ($identical byte-identical, $close within $tolerance$( [ $multi -eq 0 ] || echo "; $multi runs on several devices at once within $multi_tolerance, as two runs of either build are"))"
        exit 0
    fi
    for reason in "${failures[@]}"; do echo "  - $reason"; done
    echo "compare-builds: FAIL (${#failures[@]} checks failed, first: ${failures[0]}; $identical byte-identical, $close within $tolerance)"
    exit 1
}

# run LABEL COMMAND...: runs one saegeo command, its stdout in logs/N.out and stderr in
# logs/N.err; a failure is a FAIL with saegeo's one-line error, and returns 1.
runs=0
run() {
    local label=$1; shift
    local rc=0
    runs=$((runs + 1))
    "$@" </dev/null >"logs/$runs.out" 2>"logs/$runs.err" || rc=$?
    if [ $rc -ne 0 ]; then
        fail "$label: exit status $rc ($(tail -n 1 "logs/$runs.err"))"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
declare -A err   # the stderr log of the old and of the new run of a case
step "old: $old"
step "new: $new"
for device in ${devices//,/ }; do
    if [ "$device" != cpu ] && ! "$old" devices | grep -q "^$device "; then
        fail "$device is not listed by 'saegeo devices'; install PoCL (scripts/install-deps.sh) or set COMPARE_DEVICES=cpu"
    fi
done

# ---------------------------------------------------------------------------------------------
step "generating the jobs (sizes that are no multiple of 16 or 64)"
# generate only writes JumpReLU SAELens checkpoints; the ReLU and TopK jobs are the same kind of
# files with cfg.json saying otherwise (the encoder weights serve any of the three).
#   name      features dim samples tokens seed architecture
jobs_spec="jumprelu  1000  77  301  5  3   jumprelu
relu       777   45  123  3  11  standard
topk      1500  130  257  7  5   topk"
jobs=()
while read -r name features dim samples tokens seed arch; do
    jobs+=("$name")
    run "generate $name" "$old" generate "$name" --features "$features" --dimension "$dim" \
        --samples "$samples" --tokens "$tokens" --seed "$seed" || finish   # nothing to compare without it
    # The new build's generate must write the very same files.
    run "generate $name (new)" "$new" generate "new/gen-$name" --features "$features" --dimension "$dim" \
        --samples "$samples" --tokens "$tokens" --seed "$seed" || true
    for file in sae/sae_weights.safetensors sae/cfg.json activations.safetensors toxic.txt dataset.jsonl; do
        expect_identical "generate $name: $file" "$name/$file" "new/gen-$name/$file"
    done
    case $arch in
        standard) # ReLU; b_dec is subtracted from the input (it is zero here, but the path runs).
            echo "{\"architecture\": \"standard\", \"d_in\": $dim, \"d_sae\": $features, \"apply_b_dec_to_input\": true}" >"$name/sae/cfg.json" ;;
        topk)     # TopK with k from the config (activation_fn_kwargs, as SAELens writes it).
            echo "{\"architecture\": \"topk\", \"d_in\": $dim, \"d_sae\": $features, \"activation_fn_kwargs\": {\"k\": 9}, \"apply_b_dec_to_input\": false}" >"$name/sae/cfg.json" ;;
    esac
    # Id files: a spread of queries in no particular order, with a comment and a blank line
    # (which must be ignored), the toxic ids and the last feature; 30 keys, fewer than k 40, so
    # that rows are padded with -1 / -inf.
    { echo "# queries: toxic ids, a spread, the last feature"
      cat "$name/toxic.txt"
      echo
      awk -v n="$features" 'BEGIN { for (i = n - 1; i > 3; i -= 37) print i }'
    } >"$name/queries.txt"
    awk -v n="$features" 'BEGIN { for (i = 5; i < n && c < 30; i += 23) { print i; c++ } }' >"$name/keys.txt"
done <<<"$jobs_spec"

# ---------------------------------------------------------------------------------------------
step "neighbors: old vs new, byte for byte"
# Each case: a name and its arguments. The tiny --memory-budget forces many tiles (and on the CPU
# the triangle of diagonal tiles), where tiling code changes would show.
neighbor_cases=(
    "q-k1|--queries JOB/queries.txt -k 1"
    "q-k7|--queries JOB/queries.txt -k 7"
    "q-k40|--queries JOB/queries.txt -k 40"
    "all-k1|-k 1"
    "all-k7|-k 7"
    "all-k40|-k 40"
    "q-keys-k40|--queries JOB/queries.txt --keys JOB/keys.txt -k 40"
    "q-same-k7|--queries JOB/queries.txt --keys JOB/queries.txt -k 7"
    "all-k7-tiled|-k 7 --memory-budget 1MiB"
)
for job in "${jobs[@]}"; do
    for device in $devices; do
        for case in "${neighbor_cases[@]}"; do
            name=${case%%|*}; args=${case#*|}; args=${args//JOB/$job}
            out=n-$job-$name-${device/:/}.safetensors
            # shellcheck disable=SC2086 # args is a list of words
            run "neighbors $job $name $device (old)" "$old" neighbors --sae "$job/sae" $args --device "$device" -o "old/$out" || continue
            old_err=logs/$runs.err
            # shellcheck disable=SC2086
            run "neighbors $job $name $device (new)" "$new" neighbors --sae "$job/sae" $args --device "$device" -o "new/$out" || continue
            expect_identical "neighbors $job $name $device" "old/$out" "new/$out"
            [ "$name" != q-k7 ] || expect_same_lines "neighbors $job $name $device: stderr" "$old_err" "logs/$runs.err"
        done
    done
done

# ---------------------------------------------------------------------------------------------
step "score: old vs new (byte-identical, else within $tolerance relative)"
score_cases=(
    "jsonl|.jsonl|--explain 5 --summary SUMMARY"
    "csv|.csv|"
    "safetensors|.safetensors|"
    "chunked|.safetensors|--memory-budget 256KiB"
)
# On one job also the --architecture override (TopK with --topk on a JumpReLU checkpoint).
for job in "${jobs[@]}"; do
    for device in $devices; do
        cases=("${score_cases[@]}")
        [ "$job" != jumprelu ] || cases+=("as-topk|.jsonl|--architecture topk --topk 6 --explain 2")
        for case in "${cases[@]}"; do
            IFS='|' read -r name ext args <<<"$case"
            base=s-$job-$name-${device/:/}
            for side in old new; do
                bin=$old; [ $side = old ] || bin=$new
                # shellcheck disable=SC2086
                run "score $job $name $device ($side)" "$bin" score --sae "$job/sae" --toxic "$job/toxic.txt" \
                    --activations "$job/activations.safetensors" --offsets offsets --device "$device" \
                    ${args//SUMMARY/$side/$base.summary.json} -o "$side/$base$ext" || true
                err[$side]=logs/$runs.err
            done
            if [[ $device == *,* ]]; then
                expect_on "score $job $name $device" "old/$base$ext" "new/$base$ext" "$device"
                [ ! -f "old/$base.summary.json" ] || expect_on "score $job $name $device --summary" "old/$base.summary.json" "new/$base.summary.json" "$device"
                continue
            fi
            expect_close "score $job $name $device" "old/$base$ext" "new/$base$ext"
            expect_same_lines "score $job $name $device: stderr" "${err[old]}" "${err[new]}"
            [ ! -f "old/$base.summary.json" ] || expect_close "score $job $name $device --summary" "old/$base.summary.json" "new/$base.summary.json"
        done
    done
done

# ---------------------------------------------------------------------------------------------
step "contrast: old vs new, byte for byte (single devices)"
# A: the job's labelled toxic set, B: its ordinary one (the same shapes, so --paired applies too).
# Not on several devices at once: there the chunks' sums land in either order, and a t near 0 (a
# difference of two nearly equal means) differs between two runs of either build by more than any
# relative tolerance would call equal.
contrast_cases=(
    "jsonl|.jsonl|"
    "csv|.csv|"
    "safetensors|.safetensors|"
    "paired-jsonl|.jsonl|--paired"
    "paired-csv|.csv|--paired"
    "paired-safetensors|.safetensors|--paired"
    "ids-toxic|.jsonl|--top 12 --ids IDS --toxic JOB/toxic.txt --summary SUMMARY --null-sets 300 --seed 9"
    "paired-toxic|.csv|--paired --top 7 --toxic JOB/toxic.txt --summary SUMMARY"
    "ids-distinct|.csv|--top 15 --ids IDS --distinct-cosine 0.3"
    "tiled|.safetensors|--memory-budget 192KiB"
)
for job in "${jobs[@]}"; do
    for device in $single_devices; do
        for case in "${contrast_cases[@]}"; do
            IFS='|' read -r name ext args <<<"$case"
            base=c-$job-$name-${device/:/}
            args=${args//JOB/$job}
            for side in old new; do
                bin=$old; [ $side = old ] || bin=$new
                side_args=${args//SUMMARY/$side/$base.summary.json}
                # shellcheck disable=SC2086
                run "contrast $job $name $device ($side)" "$bin" contrast --sae "$job/sae" \
                    --activations "$job/labelled-toxic.safetensors" --offsets offsets \
                    --baseline "$job/labelled-ordinary.safetensors" --baseline-offsets offsets --device "$device" \
                    ${side_args//IDS/$side/$base.ids.txt} -o "$side/$base$ext" || true
                err[$side]=logs/$runs.err
            done
            expect_on "contrast $job $name $device" "old/$base$ext" "new/$base$ext" "$device"
            [ ! -f "old/$base.summary.json" ] || expect_on "contrast $job $name $device: summary.json" "old/$base.summary.json" "new/$base.summary.json" "$device"
            [ ! -f "old/$base.ids.txt" ] || expect_identical "contrast $job $name $device: ids.txt" "old/$base.ids.txt" "new/$base.ids.txt"
            [[ $device == *,* ]] || expect_same_lines "contrast $job $name $device: stderr" "${err[old]}" "${err[new]}"
        done
    done
done

# ---------------------------------------------------------------------------------------------
step "inspect, plan and filter: old vs new"
job=${jobs[0]}
for side in old new; do
    bin=$old; [ $side = old ] || bin=$new
    run "inspect ($side)" "$bin" inspect "$job/sae" --json --scan && cp "logs/$runs.out" "$side/inspect.json"
    for device in $devices; do
        run "plan $device ($side)" "$bin" plan --sae "$job/sae" -k 40 --device "$device" --memory-budget 1MiB --json \
            && cp "logs/$runs.out" "$side/plan-${device/:/}.json"
    done
    # Both filter the same (old) scores, so that only filter itself is compared.
    run "filter geometry ($side)" "$bin" filter --scores "old/s-$job-jsonl-cpu.jsonl" --drop-fraction 0.1 \
        --dataset "$job/dataset.jsonl" -o "$side/kept.jsonl" --dropped "$side/dropped.txt" || true
    run "filter random ($side)" "$bin" filter --scores "old/s-$job-safetensors-cpu.safetensors" --drop-fraction 0.07 \
        --strategy random --seed 5 --dropped "$side/dropped-random.txt" || true
done
for file in inspect.json $(for device in $devices; do echo "plan-${device/:/}.json"; done) kept.jsonl dropped.txt dropped-random.txt; do
    expect_identical "$file" "old/$file" "new/$file"
done

# ---------------------------------------------------------------------------------------------
step "batch jobs on new: shards 0/3 1/3 2/3 + merge = single run; a resumed shard; a shard run twice"
# A larger job, so that a shard saves several checkpoint blocks before it ends and can be stopped
# part-way.
run "generate batch job" "$old" generate big --features 6000 --dimension 192 --samples 2400 --tokens 4 --seed 13 || finish

# Starts a shard, waits for its first checkpoint block, stops it with $signal, then runs the same
# command again, which must resume from the checkpoint. The process is frozen (SIGSTOP) between
# seeing the block and sending the signal, so that it cannot finish in between; a shard that ends
# before any block appears is run twice instead (and said so).
interrupt_and_resume() {
    local label=$1 signal=$2 out=$3; shift 3
    local pid rc=0 log
    runs=$((runs + 1)); log=logs/$runs.err
    # In its own process group (job control on just for this start), so that the signals reach
    # saegeo even when the binary given is a wrapper script.
    set -m
    "$@" </dev/null >/dev/null 2>"$log" & pid=$!
    set +m
    while kill -0 "$pid" 2>/dev/null && ! compgen -G "$out.checkpoint/block-*" >/dev/null; do sleep 0.01; done
    if kill -STOP -- "-$pid" 2>/dev/null; then kill "-$signal" -- "-$pid"; kill -CONT -- "-$pid"; fi
    wait "$pid" || rc=$?
    # A wrapper may end before the saegeo under it has written its message: wait for the group.
    while kill -0 -- "-$pid" 2>/dev/null; do sleep 0.01; done
    if [ $rc -eq 0 ]; then
        echo "  note           $label: finished before it could be interrupted; running it again instead"
    elif [ -e "$out" ]; then
        fail "$label: interrupted (SIG$signal, exit $rc) but left an output"; return 1
    elif ! grep -q "interrupted; .* saved in $out.checkpoint" "$log"; then
        fail "$label: SIG$signal did not stop it as documented (exit $rc): $(tail -n 1 "$log")"; return 1
    else
        echo "  interrupted    $label (SIG$signal): $(grep -o '[0-9]* of [0-9]* [a-z ]* saved' "$log")"
    fi
    run "$label (resumed)" "$@" || return 1
    if [ $rc -ne 0 ] && ! grep -q "resuming from $out.checkpoint" "logs/$runs.err"; then
        fail "$label: the second run did not resume from $out.checkpoint"
    elif [ -e "$out.checkpoint" ]; then
        fail "$label: $out.checkpoint is still there after the output was written"
    fi
}

# Runs shards 0..2 of a command (the resumed one and the one run twice named), merges them given
# in another order, and compares with the single run.
#   sharded LABEL OUT_BASE EXT RESUME_SHARD SIGNAL TWICE_SHARD -- SAEGEO_ARGS...
sharded() {
    local label=$1 base=$2 ext=$3 resume=$4 signal=$5 twice=$6; shift 7
    run "$label single run" "$new" "$@" -o "batch/$base$ext" || return 0
    local i out
    for i in 0 1 2; do
        out=batch/$base.shard-$i$ext
        if [ "$i" = "$resume" ]; then
            interrupt_and_resume "$label shard $i/3" "$signal" "$out" "$new" "$@" --shard "$i/3" -o "$out" || return 0
        else
            run "$label shard $i/3" "$new" "$@" --shard "$i/3" -o "$out" || return 0
        fi
        if [ "$i" = "$twice" ]; then
            cp "$out" "batch/$base.first$ext"
            run "$label shard $i/3 again" "$new" "$@" --shard "$i/3" -o "$out" || return 0
            expect_identical "$label: shard $i/3 run twice" "batch/$base.first$ext" "$out"
        fi
    done
    run "$label merge" "$new" merge -o "batch/$base.merged$ext" \
        "batch/$base.shard-2$ext" "batch/$base.shard-0$ext" "batch/$base.shard-1$ext" || return 0
    expect_identical "$label: merged shards = single run" "batch/$base$ext" "batch/$base.merged$ext"
}

# The resumed shards run on the cpu (the quickest to stop part-way); the others on the last single
# device of COMPARE_DEVICES (opencl:0 by default).
sharded "neighbors big all-pairs k40 cpu" n-big .safetensors 1 TERM none -- \
    neighbors --sae big/sae -k 40 --device cpu --memory-budget 8MiB
sharded "neighbors jumprelu queries k7 $last_single" n-jumprelu .safetensors none TERM 2 -- \
    neighbors --sae jumprelu/sae --queries jumprelu/queries.txt -k 7 --device "$last_single"
# Score shards are whole chunks of samples, so a small --memory-budget makes enough chunks for 3.
score_big=(score --sae big/sae --toxic big/toxic.txt --activations big/activations.safetensors --offsets offsets)
sharded "score big jsonl --explain 3 cpu" s-big .jsonl 1 INT none -- \
    "${score_big[@]}" --explain 3 --device cpu --memory-budget 1MiB
sharded "score relu csv $last_single" s-relu .csv none INT 0 -- \
    score --sae relu/sae --toxic relu/toxic.txt --activations relu/activations.safetensors --offsets offsets \
    --device "$last_single" --memory-budget 128KiB
sharded "score topk safetensors cpu" s-topk .safetensors 2 TERM none -- \
    score --sae topk/sae --toxic topk/toxic.txt --activations topk/activations.safetensors --offsets offsets \
    --device cpu --memory-budget 256KiB

# Shards on every single device, each shard also byte-identical to OLD's (run whole, never stopped), the
# second shard stopped part-way and resumed: contrast (unpaired and --paired), merged into every
# format; score, merged with --summary, which must equal the single run's --summary.
#   sharded_with_old LABEL BASE EXT SIGNAL -- SAEGEO_ARGS...   (sets `shards`, in another order)
sharded_with_old() {
    local label=$1 base=$2 ext=$3 signal=$4; shift 5
    local i out companion
    shards=()
    for i in 0 1 2; do
        out=batch/$base.shard-$i$ext
        run "$label shard $i/3 (old)" "$old" "$@" --shard "$i/3" -o "batch/$base.old-shard-$i$ext" || return 0
        if [ "$i" = 1 ]; then
            interrupt_and_resume "$label shard $i/3" "$signal" "$out" "$new" "$@" --shard "$i/3" -o "$out" || return 0
        else
            run "$label shard $i/3" "$new" "$@" --shard "$i/3" -o "$out" || return 0
        fi
        expect_identical "$label: shard $i/3 = old's" "batch/$base.old-shard-$i$ext" "$out"
        # A text shard's manifest and a score shard's sums, beside it.
        for companion in .shard.json .sums; do
            [ ! -e "batch/$base.old-shard-$i$ext$companion" ] \
                || expect_identical "$label: shard $i/3 $companion = old's" "batch/$base.old-shard-$i$ext$companion" "$out$companion"
        done
    done
    shards=("batch/$base.shard-2$ext" "batch/$base.shard-0$ext" "batch/$base.shard-1$ext")
}

contrast_sets=(--activations big/labelled-toxic.safetensors --offsets offsets
               --baseline big/labelled-ordinary.safetensors --baseline-offsets offsets)
for device in $single_devices; do
    tag=${device/:/}
    for pairing in unpaired paired; do
        flag=(); [ $pairing = unpaired ] || flag=(--paired)
        base=c-big-$pairing-$tag
        args=(contrast --sae big/sae "${contrast_sets[@]}" "${flag[@]}" --device "$device" --memory-budget 320KiB)
        sharded_with_old "contrast big $pairing $device" "$base" .safetensors TERM -- "${args[@]}"
        [ ${#shards[@]} -eq 3 ] || continue
        for ext in .safetensors .jsonl .csv; do
            run "contrast big $pairing $device merge $ext (old)" "$old" merge -o "batch/$base.old-merged$ext" \
                "batch/$base.old-shard-1.safetensors" "batch/$base.old-shard-2.safetensors" "batch/$base.old-shard-0.safetensors" || continue
            run "contrast big $pairing $device merge $ext" "$new" merge -o "batch/$base.merged$ext" "${shards[@]}" || continue
            expect_identical "contrast big $pairing $device: merged shards = old's merged shards ($ext)" \
                "batch/$base.old-merged$ext" "batch/$base.merged$ext"
            # A single run's .safetensors carries less metadata than a merge's; its rows are compared as text.
            [ $ext != .safetensors ] || continue
            run "contrast big $pairing $device single run $ext" "$new" "${args[@]}" -o "batch/$base$ext" || continue
            expect_identical "contrast big $pairing $device: merged shards = single run ($ext)" "batch/$base$ext" "batch/$base.merged$ext"
        done
    done
    base=s-sum-$tag
    args=("${score_big[@]}" --device "$device" --memory-budget 1MiB)
    sharded_with_old "score big summary $device" "$base" .jsonl INT -- "${args[@]}"
    [ ${#shards[@]} -eq 3 ] || continue
    run "score big summary $device single run" "$new" "${args[@]}" --summary "batch/$base.summary.json" --null-sets 400 --seed 4 \
        -o "batch/$base.jsonl" || continue
    run "score big summary $device merge --summary" "$new" merge --summary "batch/$base.merged.summary.json" --null-sets 400 \
        --seed 4 -o "batch/$base.merged.jsonl" "${shards[@]}" || continue
    expect_identical "score big summary $device: merged shards = single run" "batch/$base.jsonl" "batch/$base.merged.jsonl"
    expect_identical "score big summary $device: merge --summary = score --summary" "batch/$base.summary.json" \
        "batch/$base.merged.summary.json"
done

# ---------------------------------------------------------------------------------------------
finish
