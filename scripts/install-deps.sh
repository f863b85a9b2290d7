#!/usr/bin/env bash
# Installs the system packages saegeo builds, runs and tests with, on Debian (as root).
# Swift itself comes with the machine image (/opt/swift); this script checks for it.
set -euo pipefail
packages=(ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo libopenblas-dev zlib1g-dev pkg-config oclgrind libdnnl-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# scripts/walkthrough-test.sh makes a Python virtual environment. Debian's python3 makes one only
# with python3-venv (it holds ensurepip); a python3 that is not Debian's (pyenv's) needs nothing.
# So try to make one rather than ask dpkg.
probe=$(mktemp -d)
if ! python3 -m venv "$probe/venv" >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
fi
rm -rf "$probe"
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "swift 6 is required (https://www.swift.org/install/linux/)" >&2
    fi
    exit 1
fi
