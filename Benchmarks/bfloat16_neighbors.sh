#!/usr/bin/env bash
# saegeo neighbors --precision bfloat16 against float32 (whole processes, alternating, outputs
# checked byte-identical): all pairs of 16384 x 2304 and 1024 queries against 131072 x 2304.
#   Benchmarks/bfloat16_neighbors.sh [--runs 3] [--k 32] [--all-pairs 16384] [--keys 131072] [--queries 1024] [--saegeo PATH]
# Builds saegeo (release) unless --saegeo names a binary; creates Benchmarks/.venv with numpy.
# The dictionaries (random unit rows, 1.2 GB for 131072 x 2304) go to a temporary folder.
set -euo pipefail
args=() saegeo=
while [ $# -gt 0 ]; do
    case "$1" in
        --saegeo) saegeo=$(realpath "${2:?--saegeo needs a path}"); shift 2 ;;
        --saegeo=*) saegeo=$(realpath "${1#--saegeo=}"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done
cd "$(dirname "$0")/.."
venv=Benchmarks/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check numpy
if [ -z "$saegeo" ]; then
    swift build -c release --product saegeo >/dev/null
    saegeo=$PWD/.build/release/saegeo
fi
exec "$venv/bin/python" Benchmarks/bfloat16_neighbors.py --saegeo "$saegeo" "${args[@]}"
