#!/usr/bin/env bash
# All-pairs top-16 on 16384 x 2304 unit vectors: saegeo (cpu, symmetric tiles) against faiss-cpu
# IndexFlatIP, alternating in the same run; also checks that both find the same neighbour sets.
#   Benchmarks/allpairs_vs_faiss.sh [--runs 3] [--n 16384] [--d 2304] [--k 16]
# Creates its own virtual environment (Benchmarks/.venv) with faiss-cpu and numpy from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=Benchmarks/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check faiss-cpu numpy
swift build -c release --product saegeo >/dev/null
exec "$venv/bin/python" Benchmarks/allpairs_vs_faiss.py --saegeo .build/release/saegeo "$@"
