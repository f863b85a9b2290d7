#!/usr/bin/env bash
# Exact top-32 of 1024 queries among 32768 x 2304 unit vectors: saegeo against numpy (matmul,
# argpartition, sort), alternating in the same run; also compares the neighbour sets.
#   Benchmarks/topk_vs_numpy.sh [--runs 3] [--queries 1024] [--n 32768] [--d 2304] [--k 32] [--device cpu]
# Creates its own virtual environment (Benchmarks/.venv) with numpy from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=Benchmarks/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check numpy
swift build -c release --product saegeo >/dev/null
exec "$venv/bin/python" Benchmarks/topk_vs_numpy.py --saegeo .build/release/saegeo "$@"
