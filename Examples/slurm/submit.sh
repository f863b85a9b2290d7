#!/bin/bash
# Submits an N-way saegeo array job and its merge, which waits for the whole array to succeed.
#   Examples/slurm/submit.sh score N OUT_DIR --sae SAE --toxic TOXIC --activations ACTS [options]
#   Examples/slurm/submit.sh neighbors N OUT_DIR --sae SAE -k K [options]
# Prints the array's and the merge's job ids. SBATCH_OPTIONS adds sbatch options to both jobs
# (e.g. "--partition=gpu --account=me"); they override the scripts' #SBATCH lines. Size N with
# 'saegeo plan' (see the README).
set -euo pipefail
kind=${1:?score or neighbors}
shards=${2:?the number of shards}
out=${3:?the output folder}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
case $kind in
    score) script=score-array.sbatch merged=scores ;;
    neighbors) script=neighbors-array.sbatch merged=neighbors ;;
    *) echo "submit.sh: the kind is score or neighbors, not '$kind'" >&2; exit 2 ;;
esac
mkdir -p "$out"
read -r -a extra <<< "${SBATCH_OPTIONS:-}"
array=$(sbatch --parsable "${extra[@]}" --array=0-$((shards - 1)) "$here/$script" "$out" "$@")
merge=$(sbatch --parsable "${extra[@]}" --dependency=afterok:"$array" "$here/merge.sbatch" "$out" "$merged")
echo "$array $merge"
