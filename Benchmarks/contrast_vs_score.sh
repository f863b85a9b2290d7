#!/usr/bin/env bash
# saegeo contrast against saegeo score (whole processes) on the same generated data, alternating,
# on each device: contrast's time per activation row over score's (issue 23: within 1.2).
#   Benchmarks/contrast_vs_score.sh [--runs 5] [--features 16384] [--d 512] [--samples 2000] [--tokens 16]
#                                   [--null-sets 10] [--devices cpu,opencl:0] [--saegeo PATH]
# Builds saegeo (release) unless --saegeo names a binary; needs only python3. Generated files go
# to a temporary folder that is removed at the end.
set -euo pipefail
args=() saegeo=
while [ $# -gt 0 ]; do
    case "$1" in
        # Made absolute before the cd below, so a path relative to the caller's folder works.
        --saegeo) saegeo=$(realpath "${2:?--saegeo needs a path}"); shift 2 ;;
        --saegeo=*) saegeo=$(realpath "${1#--saegeo=}"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done
cd "$(dirname "$0")/.."
if [ -z "$saegeo" ]; then
    swift build -c release --product saegeo >/dev/null
    saegeo=$PWD/.build/release/saegeo
fi
exec python3 Benchmarks/contrast_vs_score.py --saegeo "$saegeo" "${args[@]}"
