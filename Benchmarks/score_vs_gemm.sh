#!/usr/bin/env bash
# saegeo score and saegeo contrast --device cpu (whole processes) on a generated 16384 x 2304 JumpReLU SAE over 20000
# activation rows, against a bare multi-threaded cblas_sgemm of the same product and the same
# scoring in numpy, alternating A B C in one run; checks saegeo's scores against numpy's (1e-5).
#   Benchmarks/score_vs_gemm.sh [--runs 3] [--rows 20000] [--features 16384] [--d 2304] [--tokens 8] [--saegeo PATH]
# Builds saegeo (release) unless --saegeo names a binary; creates Benchmarks/.venv with numpy from
# PyPI; compiles Benchmarks/ScoreVsGemm/sgemm.c against the system OpenBLAS (pkg-config openblas).
# Generated files go to a temporary folder that is removed at the end.
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
venv=Benchmarks/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check numpy
if [ -z "$saegeo" ]; then
    swift build -c release --product saegeo >/dev/null
    saegeo=$PWD/.build/release/saegeo
fi
exec "$venv/bin/python" Benchmarks/score_vs_gemm.py --saegeo "$saegeo" "${args[@]}"
