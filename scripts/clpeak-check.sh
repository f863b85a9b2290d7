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
# A shared machine's other work can slow either side at any moment: when a ratio fails, both are
# measured once more and each side's best figures compared.
for attempt in 1 2; do
    echo "clpeak-check: clpeak on platform 0, device $index (attempt $attempt)"
    clpeak -p 0 -d "$index" --compute-sp --global-bandwidth --transfer-bandwidth > "$work/clpeak-$attempt.txt"
    echo "clpeak-check: saegeo bench on opencl:$index (attempt $attempt)"
    "$saegeo" bench --device "opencl:$index" --budget 20 --json "$work/bench-$attempt.json" > /dev/null
    if python3 - "$work" "$attempt" <<'PY'
import json, re, sys
work, attempts = sys.argv[1], int(sys.argv[2])
def best(text, section):
    block = re.search(section + r".*?\n((?:\s+\S.*:\s*[\d.]+\n)+)", text)
    if not block:
        sys.exit(f"clpeak-check: FAIL: no '{section}' in clpeak's output")
    return max(float(v) for v in re.findall(r":\s*([\d.]+)", block.group(1)))
def clpeak(path):
    text = open(path).read()
    return {
        "peak_gflops": best(text, r"Single-precision compute \(GFLOPS\)"),
        "bandwidth_gbs": best(text, r"Global memory bandwidth \(GBPS\)"),
        "transfer_gbs": max(float(v) for v in re.findall(r"enqueueWriteBuffer\s*(?:non-blocking)?\s*:\s*([\d.]+)", text)),
    }
references = [clpeak(f"{work}/clpeak-{a}.txt") for a in range(1, attempts + 1)]
devices = [json.load(open(f"{work}/bench-{a}.json"))["devices"][0] for a in range(1, attempts + 1)]
failed = False
for key in references[0]:
    ours, reference = max(d[key] for d in devices), max(r[key] for r in references)
    ratio = ours / reference
    print(f"clpeak-check: {key}: saegeo {ours:.2f}, clpeak {reference:.2f}, ratio {ratio:.2f}")
    failed |= ratio < 0.75
for device in devices:
    peak = device["peak_gflops"]
    figures = [("similarity d" + d, g) for d, g in device["similarity_gflops"].items()]
    figures += [(w["name"], w["gflops"]) for w in device["workloads"]]
    for name, gflops in figures:
        if gflops > peak:
            print(f"clpeak-check: {name} reports {gflops:.1f} GFLOP/s, above the device's peak {peak:.1f}")
            sys.exit("clpeak-check: FAIL")
sys.exit(1 if failed else 0)
PY
    then
        echo "clpeak-check: passed"
        exit 0
    fi
done
echo "clpeak-check: FAIL" >&2
exit 1
