#!/bin/bash
# Checks that saegeo does not under-report an OpenCL device: its peak figures (fp32 GFLOP/s,
# memory bandwidth, host-to-device transfer) must be at least 0.75x those of clpeak (Debian's
# package), measured one after the other on the same device, and no figure of a workload may
# exceed its device's measured peak. Installs clpeak if needed; needs a built saegeo.
#   scripts/clpeak-check.sh [DEVICE_INDEX]       (default 0: opencl:0, clpeak -d 0)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
saegeo=${SAEGEO:-$root/.build/debug/saegeo}
index=${1:-0}
if ! command -v clpeak >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq clpeak >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# clpeak numbers the devices of each platform; saegeo lists them across platforms. Find the
# platform and device of opencl:N by name (the common case, one platform, is platform 0).
echo "clpeak-check: clpeak on platform 0, device $index"
clpeak -p 0 -d "$index" --compute-sp --global-bandwidth --transfer-bandwidth > "$work/clpeak.txt"
echo "clpeak-check: saegeo bench on opencl:$index"
"$saegeo" bench --device "opencl:$index" --budget 20 --json "$work/bench.json" > /dev/null

python3 - "$work/clpeak.txt" "$work/bench.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def best(section):
    block = re.search(section + r".*?\n((?:\s+\S.*:\s*[\d.]+\n)+)", text)
    if not block:
        sys.exit(f"clpeak-check: FAIL: no '{section}' in clpeak's output")
    return max(float(v) for v in re.findall(r":\s*([\d.]+)", block.group(1)))
clpeak = {
    "peak_gflops": best(r"Single-precision compute \(GFLOPS\)"),
    "bandwidth_gbs": best(r"Global memory bandwidth \(GBPS\)"),
    "transfer_gbs": max(float(v) for v in re.findall(r"enqueueWriteBuffer\s*(?:non-blocking)?\s*:\s*([\d.]+)", text)),
}
device = json.load(open(sys.argv[2]))["devices"][0]
failed = False
for key, reference in clpeak.items():
    ours = device[key]
    ratio = ours / reference
    print(f"clpeak-check: {key}: saegeo {ours:.2f}, clpeak {reference:.2f}, ratio {ratio:.2f}")
    failed |= ratio < 0.75
peak = device["peak_gflops"]
figures = [("similarity d" + d, g) for d, g in device["similarity_gflops"].items()]
figures += [(w["name"], w["gflops"]) for w in device["workloads"]]
for name, gflops in figures:
    if gflops > peak:
        print(f"clpeak-check: {name} reports {gflops:.1f} GFLOP/s, above the device's peak {peak:.1f}")
        failed = True
if failed:
    sys.exit("clpeak-check: FAIL")
print("clpeak-check: passed")
PY
