#!/usr/bin/env bash
# The Python streaming scorer on in-memory activations against `saegeo score` on the same
# activations from a file (whole processes, alternating; issue 24: >= 0.95x the CLI's
# throughput), peak RSS of each, and the peak RSS of a scorer streamed --memory-gb GB of
# generated activations in --memory-batch-mb MB batches against batch + budget.
#   Benchmarks/python_stream_vs_cli.sh [--runs 5] [--features 16384] [--d 512] [--samples 2000]
#       [--tokens 64] [--null-sets 10] [--device cpu] [--batch-mb 64] [--memory-gb 2]
#       [--memory-batch-mb 64] [--memory-features 1024] [--memory-budget 256MiB] [--skip-throughput]
#       [--python PATH]
# --python: an interpreter with the saegeo wheel and numpy installed (its `saegeo` beside it is the
# CLI compared with). Without it the wheel is built (scripts/build-wheel.sh) and installed in
# Benchmarks/.venv (numpy from pip). Generated files go to a temporary folder removed at the end.
set -euo pipefail
args=() python=
while [ $# -gt 0 ]; do
    case "$1" in
        --python) python=$(realpath -s "${2:?--python needs a path}"); shift 2 ;;
        --python=*) python=$(realpath -s "${1#--python=}"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done
cd "$(dirname "$0")/.."
if [ -z "$python" ]; then
    wheel=$(scripts/build-wheel.sh | tail -n 1)
    python3 -m venv Benchmarks/.venv
    Benchmarks/.venv/bin/pip install -q --disable-pip-version-check numpy
    Benchmarks/.venv/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall "$wheel"
    python=$PWD/Benchmarks/.venv/bin/python
fi
saegeo=$(dirname "$python")/saegeo
[ -x "$saegeo" ] || { echo "python_stream_vs_cli.sh: no saegeo command beside $python" >&2; exit 1; }
exec "$python" Benchmarks/python_stream_vs_cli.py --saegeo "$saegeo" --python "$python" "${args[@]}"
