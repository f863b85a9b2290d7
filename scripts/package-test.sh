#!/usr/bin/env bash
# Tests the tarball of scripts/package.sh the way a cluster node sees it: unpacked into an empty
# folder and run with a PATH and LD_LIBRARY_PATH holding no Swift toolchain (and an empty
# environment otherwise): devices, demo, a neighbors job on a generated dictionary whose output
# must be the one the development build writes, and its gpu-check.sh on an OpenCL device. ldd must
# show no Swift runtime library.
set -euo pipefail
cd "$(dirname "$0")/.."
tarball=${1:-$(scripts/package.sh)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/node"
tar -C "$work/node" -xzf "$tarball"
saegeo=$(echo "$work"/node/saegeo-*/bin/saegeo)
if ldd "$saegeo" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|/opt/swift'; then
    echo "package-test: the packaged binary needs the Swift runtime" >&2; exit 1
fi
node() { env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= HOME="$work" "$saegeo" "$@"; }
node devices
node demo --device cpu | tail -3
node generate "$work/job" --features 700 --dimension 45 --samples 50 --tokens 3 >/dev/null
node neighbors --sae "$work/job/sae" -k 9 --device cpu -o "$work/packaged.safetensors" 2>/dev/null
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product saegeo --scratch-path .build-rel >/dev/null
.build-rel/release/saegeo neighbors --sae "$work/job/sae" -k 9 --device cpu -o "$work/built.safetensors" 2>/dev/null
cmp "$work/packaged.safetensors" "$work/built.safetensors"
# The GPU check runs from the tarball with bash alone; PoCL's CPU device stands in for a GPU.
if node devices | grep -q '^opencl:0'; then
    env -i PATH=/usr/bin:/bin HOME="$work" bash "$work"/node/saegeo-*/gpu-check.sh --devices opencl:0 --quick | tail -1
fi
# The Slurm examples run the unpacked binary through SAEGEO=.
grep -q 'SAEGEO:-saegeo' "$work"/node/saegeo-*/slurm/score-array.sbatch
echo "package-test: passed ($(basename "$tarball"): devices, demo, neighbors identical to the development build)"
