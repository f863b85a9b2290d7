#!/bin/bash
# The batch-job test, on a real one-node Slurm cluster started here (scripts/slurm-cluster.sh):
# submits the Slurm examples' (from the unpacked tarball when scripts/package.sh made one) 4-way
# score and neighbours arrays with their dependent merges on
# generated data (the score array writes .jsonl shards with explanations and the sums beside them;
# the neighbours array is sharded all pairs: tile pairs of the symmetric schedule, candidates merged
# and ranked exactly), preempts one score task mid-run (scontrol requeue: SIGTERM, then requeued),
# checks that it resumed, that the merged scores, dataset summary and neighbours are byte-identical
# to single-process runs and so is the report made from them, that the neighbours shards together
# did one run's arithmetic, and that merge refuses 3 of 4 shards and shards of different jobs.
# Stops the daemons at the end.
# Needs root (it installs Slurm and starts daemons) and a built saegeo (swift build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/saegeo-slurm.XXXXXX)
chmod 755 "$work"   # the munge user must reach its folder inside
# The cluster runs what a GPU node is given: the unpacked tarball (its binary and its Slurm
# scripts) when scripts/package.sh has made one, else the development build and Examples/slurm.
examples=$root/Examples/slurm
tarball=$(ls "$root"/dist/saegeo-*.tar.gz 2>/dev/null | head -n 1 || true)
if [ -z "${SAEGEO:-}" ] && [ -n "$tarball" ]; then
    mkdir "$work/node" && tar -C "$work/node" -xzf "$tarball"
    saegeo=$(echo "$work"/node/saegeo-*/bin/saegeo) examples=$(echo "$work"/node/saegeo-*/slurm)
    echo "slurm-test: running the unpacked $(basename "$tarball")"
else
    saegeo=${SAEGEO:-$root/.build/debug/saegeo}
fi
[ -x "$saegeo" ] || { echo "slurm-test: no saegeo at $saegeo; run swift build first" >&2; exit 1; }
cleanup() {
    "$root/scripts/slurm-cluster.sh" stop "$work/cluster"
    [ -n "${KEEP_SLURM_TEST:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
step() { echo "slurm-test: $*"; }
fail() {
    echo "slurm-test: FAIL: $*" >&2
    for log in "$work"/saegeo-*.log; do [ -f "$log" ] && { echo "== $log" >&2; tail -n 5 "$log" >&2; }; done
    exit 1
}
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}

step "starting a one-node cluster"
SLURM_CONF=$("$root/scripts/slurm-cluster.sh" start "$work/cluster")
export SLURM_CONF
cd "$work"

step "generating a job and computing the single-process reference outputs"
"$saegeo" generate data --features 3000 --dimension 192 --samples 8000 --tokens 4
score=(--sae data/sae --toxic data/toxic.txt --activations data/activations.safetensors --offsets offsets --memory-budget 8MiB)
neighbors=(--sae data/sae -k 16)
# As the array runs it: .jsonl with 5 explanations each (score-array.sbatch's default), and the
# dataset summary with the default draws and seed (merge.sbatch's).
mkdir single
"$saegeo" score "${score[@]}" --device cpu --explain 5 -o single/scores.jsonl --summary single/summary.json
"$saegeo" neighbors "${neighbors[@]}" --device cpu -o single-neighbors.safetensors

step "submitting the 4-way arrays and their merges"
# The test node has no real GPU: the tasks get a "gpu" resource but compute on the cpu.
export SAEGEO=$saegeo SAEGEO_DEVICE=cpu SBATCH_OPTIONS="--cpus-per-task=1 --mem=1G --time=15"
read -r score_array score_merge < <("$examples/submit.sh" score 4 out "${score[@]}")
read -r neighbors_array neighbors_merge < <("$examples/submit.sh" neighbors 4 out "${neighbors[@]}")
step "score array $score_array (merge $score_merge), neighbours array $neighbors_array (merge $neighbors_merge)"

victim=${score_array}_1
step "preempting $victim once it has saved a block"
has_block() { compgen -G "out/scores.shard-1.jsonl.checkpoint/block-*.safetensors" >/dev/null; }
wait_for 300 has_block || fail "$victim never saved a checkpoint block"
[ ! -e out/scores.shard-1.jsonl ] || fail "$victim finished before it could be preempted; make the test data larger"
scontrol requeue "$victim"
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
wait_for 60 bash -c "[ \"\$(scontrol show job $victim | grep -o 'JobState=[A-Z]*')\" = JobState=PENDING ]" \
    || fail "$victim was not requeued (state $(state "$victim"))"
# Slurm holds a requeued job back for two minutes; let it start again now.
scontrol update JobId="$victim" StartTime=now

step "waiting for the arrays and the merges"
queue_done() {
    ! squeue -h -o %r | grep -q DependencyNeverSatisfied || fail "a task failed, so its merge can never run: $(squeue)"
    [ -z "$(squeue -h -o %i)" ]
}
wait_for 900 queue_done || fail "the jobs did not finish: $(squeue)"
for job in "$score_merge" "$neighbors_merge"; do
    [ "$(state "$job")" = COMPLETED ] || fail "merge job $job ended $(state "$job")"
done
restarts=$(scontrol show job "$victim" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
[ "$restarts" -ge 1 ] || fail "$victim was never restarted"
log=saegeo-score-$victim.log
grep -q "interrupted; .* saved in out/scores.shard-1.jsonl.checkpoint" "$log" || fail "$log does not show the interruption"
grep -q "resuming from out/scores.shard-1.jsonl.checkpoint" "$log" || fail "$log does not show the resume"
grep "interrupted\|resuming" "$log" | sed 's/^/slurm-test:   /'

step "comparing the merged outputs with the single runs"
cmp out/scores.jsonl single/scores.jsonl || fail "merged scores differ from the single run"
cmp out/summary.json single/summary.json || fail "the merged dataset summary differs from the single run's"
cmp out/neighbors.safetensors single-neighbors.safetensors || fail "merged neighbours differ from the single run"
[ ! -e out/scores.shard-1.jsonl.checkpoint ] || fail "the checkpoint was not removed after the shard finished"
grep -q '"explain": \[{"feature"' out/scores.jsonl || fail "the merged scores carry no explanations"
grep -h "dataset: mean score" saegeo-merge-"$score_merge".log | sed 's/^/slurm-test:   /'

step "the Slurm run's report equals the single run's"
# Each report made in its run's folder from the same relative names, at a fixed time.
for run in out single; do
    (cd "$run" && SOURCE_DATE_EPOCH=1780000000 "$saegeo" report --scores scores.jsonl --summary summary.json \
        --dataset ../data/dataset.jsonl --neighbors ../single-neighbors.safetensors --toxic ../data/toxic.txt \
        -o report.html 2>/dev/null) || fail "report failed in $run"
done
cmp out/report.html single/report.html || fail "the Slurm run's report differs from the single run's"
grep -q "No summary was given" out/report.html && fail "the Slurm run's report has no dataset summary"
grep -qi "toxic features" out/report.html || fail "the Slurm run's report states no verdict"

step "the neighbours array sharded all pairs by tile pairs"
for i in 0 1 2 3; do
    header=$(head -c 4096 "out/neighbors.shard-$i.safetensors" | tr -d '\0')
    [[ $header == *'"saegeo.command":"neighbors-pairs"'* ]] || fail "out/neighbors.shard-$i.safetensors is not an all-pairs candidate shard"
done
grep -h "tile pairs" saegeo-neighbors-"$neighbors_array"_*.log | sed 's/^/slurm-test:   /'
[ "$(grep -h "tile pairs .* of the work" saegeo-neighbors-"$neighbors_array"_*.log | wc -l)" -eq 4 ] \
    || fail "the neighbours tasks' logs do not show 4 shards of tile pairs"
grep -q "sharded all-pairs" saegeo-merge-"$neighbors_merge".log || fail "the neighbours merge did not rank all-pairs candidates"

step "merge refuses 3 of 4 shards and shards of different jobs"
refuses() {
    local expected=$1 bad=$2; shift 2
    if "$saegeo" merge -o "$bad" "$@" 2>merge.err; then fail "merge accepted $*"; fi
    grep -q "$expected" merge.err || fail "merge said '$(cat merge.err)', expected '$expected'"
    [ ! -e "$bad" ] && [ ! -e bad-summary.json ] || fail "merge left $bad or bad-summary.json behind"
}
refuses "shard 3/4 is missing" bad.jsonl --summary bad-summary.json out/scores.shard-{0,1,2}.jsonl
cp out/scores.shard-0.jsonl.sums keep.sums && cp out/scores.shard-2.jsonl.sums out/scores.shard-0.jsonl.sums
refuses "belongs to another shard" bad.jsonl --summary bad-summary.json out/scores.shard-{0,1,2,3}.jsonl
mv keep.sums out/scores.shard-0.jsonl.sums
# Another job: the same data with one toxic id fewer.
head -n 1 data/toxic.txt > other-toxic.txt
"$saegeo" score --sae data/sae --toxic other-toxic.txt --activations data/activations.safetensors --offsets offsets \
    --memory-budget 8MiB --device cpu --explain 5 --shard 3/4 -o foreign.jsonl 2>/dev/null
refuses "another job" bad.jsonl out/scores.shard-{0,1,2}.jsonl foreign.jsonl
refuses "shard 2/4 is missing" bad.safetensors out/neighbors.shard-{0,1,3}.safetensors
refuses "twice" bad.safetensors out/neighbors.shard-{0,1,2,3,0}.safetensors
step "passed"
