#!/usr/bin/env bash
# The Python package as a user gets it: builds the wheel (scripts/build-wheel.sh), installs it in a
# fresh virtual environment under .build-python/ with numpy, pytest and, where they install, pandas
# and torch's CPU wheel (torch 2.13.0+cpu, else the plain 2.13.0 wheel, else those tests skip), then runs
# python/tests with the Swift toolchain hidden from PATH and a bare environment: the wheel must
# work on a machine without Swift. The CLI the tests compare with is the wheel's own `saegeo`
# command. Ends with one line: "python-test: PASS ..." or "python-test: FAIL ...".
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
echo "python-test: PASS $(basename "$wheel"): $summary; $(( $(date +%s) - started )) s"
