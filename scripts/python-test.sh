#!/usr/bin/env bash
# The Python package as a user gets it: builds the wheel (scripts/build-wheel.sh), installs it in a
# fresh virtual environment under .build-python/ with numpy, pytest and, where they install, pandas
# and torch's CPU wheel (torch 2.13.0+cpu, else the plain 2.13.0 wheel, else those tests skip), then runs
# python/tests with the Swift toolchain hidden from PATH and a bare environment: the wheel must
# work on a machine without Swift. The CLI the tests compare with is the wheel's own `saegeo`
# command. Then Examples/python/stream_from_model.py runs in the same bare environment (a tiny
# model built from a transformers config, nothing downloaded; transformers pinned as in
# scripts/walkthrough-test.sh): it needs torch and transformers, so here they must install, and its
# last line must say PASS. Ends with one line: "python-test: PASS ..." or "python-test: FAIL ...".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)
fail() { echo "python-test: FAIL: $*" >&2; exit 1; }

wheel=$(scripts/build-wheel.sh | tail -n 1)
[ -f "$wheel" ] || fail "build-wheel.sh made no wheel"

venv=$root/.build-python/venv
rm -rf "$venv"
python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
"$venv/bin/pip" install -q --disable-pip-version-check numpy pytest || fail "pip could not install numpy and pytest"
"$venv/bin/pip" install -q --disable-pip-version-check "torch==2.13.0+cpu" 2>/dev/null ||
    "$venv/bin/pip" install -q --disable-pip-version-check "torch==2.13.0" 2>/dev/null ||
    echo "python-test: torch did not install; its tests skip" >&2
# The example's model: transformers and its tokenizers, pinned as scripts/walkthrough-test.sh pins them.
example_pins=(transformers==5.25.0 tokenizers==0.23.3 safetensors==0.8.0)
"$venv/bin/pip" install -q --disable-pip-version-check "${example_pins[@]}" ||
    fail "pip could not install ${example_pins[*]} (Examples/python/stream_from_model.py needs them)"
"$venv/bin/pip" install -q --disable-pip-version-check pandas 2>/dev/null ||
    echo "python-test: pandas did not install; to_pandas's test skips" >&2
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps "$wheel" || fail "pip could not install $wheel"

# No toolchain, no SAEGEO_* from the caller, only the venv and the system's bin folders.
log=$root/.build-python/pytest.log
status=0
env -i HOME="$root/.build-python" PATH="$venv/bin:/usr/bin:/bin" SAEGEO_INSTALLED_TEST=1 \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    --rootdir "$root/python/tests" "$root/python/tests" >"$log" 2>&1 || status=$?
tail -n 25 "$log"
summary=$(tail -n 1 "$log")
[ "$status" -eq 0 ] || fail "pytest: $summary (log: $log)"

# The end-to-end example: a forward hook streams a model's activations into saegeo.Scorer, the
# CLI filters and reports from the result, and streaming must equal `saegeo score` on a file.
example=$root/.build-python/example
example_log=$root/.build-python/example.log
rm -rf "$example"
"$venv/bin/python" -c 'import torch, transformers' 2>/dev/null ||
    fail "torch or transformers is missing from $venv: Examples/python/stream_from_model.py cannot run"
example_started=$(date +%s)
env -i HOME="$root/.build-python" PATH="$venv/bin:/usr/bin:/bin" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    HF_HOME="$root/.build-python/hf-home" "$venv/bin/python" "$root/Examples/python/stream_from_model.py" \
    "$example" >"$example_log" 2>&1 || true
cat "$example_log"
example_line=$(tail -n 1 "$example_log")
[[ $example_line == "stream_from_model: PASS"* ]] ||
    fail "Examples/python/stream_from_model.py: ${example_line:-no output} (log: $example_log)"
echo "python-test: PASS $(basename "$wheel"): $summary; stream_from_model.py passed in" \
    "$(( $(date +%s) - example_started )) s; $(( $(date +%s) - started )) s"
