#!/usr/bin/env bash
# The largest dictionaries of 2026 at their real size (issue 13's scale check, a benchmark, not
# a test): a generated 1,048,576 x 5376 BF16 decoder in Gemma Scope 2's layout (Gemma 3 27B's 1M
# SAEs; params.safetensors of about 11 GB holding w_dec, plus config.json), then
#   - `inspect` (header only): seconds and peak resident memory;
#   - `neighbors` of 1024 queries against all keys, k 32, --device cpu --memory-budget 2GiB:
#     seconds, GFLOP/s and peak resident memory (must stay under 2.5 GB);
#   - `plan` for all pairs of it on an 80 GiB GPU with a 20 GiB largest allocation.
#   Benchmarks/large_dictionary.sh [FOLDER]   (default: a folder under /tmp; needs 12 GB free)
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-/tmp/saegeo-large-dictionary}"
features=1048576 dimension=5376
bin=.build-rel/release/saegeo
[ -x "$bin" ] || swift build -c release --scratch-path .build-rel --product saegeo >&2
sae="$folder/resid_post/layer_40_width_1m_l0_medium"
mkdir -p "$sae"
if [ ! -s "$sae/params.safetensors" ]; then
    echo "writing $sae/params.safetensors ($features x $dimension BF16)" >&2
    python3 - "$sae" "$features" "$dimension" <<'PY'
import json, os, struct, sys
import numpy as np
folder, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
header = {"w_dec": {"dtype": "BF16", "shape": [n, d], "data_offsets": [0, n * d * 2]}}
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
rng = np.random.default_rng(7)
with open(os.path.join(folder, "params.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for start in range(0, n, 8192):
        rows = rng.standard_normal((min(8192, n - start), d), dtype=np.float32)
        f.write((rows.view(np.uint32) >> 16).astype(np.uint16).tobytes())   # BF16: the high half
with open(os.path.join(folder, "config.json"), "w") as f:
    json.dump({"architecture": "jump_relu", "width": n, "type": "sae",
               "hf_hook_point_in": "model.layers.40.output", "hf_hook_point_out": "model.layers.40.output"}, f)
PY
fi
ls -l "$sae/params.safetensors" >&2
seq 0 1023 | awk '{ print $1 * 1021 }' > "$folder/queries.txt"
measure() { /usr/bin/time -f "%e s, %M KiB peak resident" "$@"; }
echo "inspect:" >&2
measure "$bin" inspect "$sae" > /dev/null
echo "neighbors, 1024 queries x all keys, k 32, cpu, 2 GiB budget:" >&2
start=$(date +%s.%N)
measure "$bin" neighbors --sae "$sae" --queries "$folder/queries.txt" -k 32 --device cpu --memory-budget 2GiB \
    -o "$folder/neighbors.safetensors" --progress-interval 30
end=$(date +%s.%N)
python3 -c "import sys; s=float(sys.argv[1]); print(f'{s:.1f} s wall, {2*1024*$features*$dimension/s/1e9:.1f} GFLOP/s over the product')" "$(echo "$end - $start" | bc)"
echo "plan, all pairs on an 80 GiB GPU (20 GiB largest allocation):" >&2
"$bin" plan --sae "$sae" -k 32 --assume-memory 80GiB --assume-max-allocation 20GiB 2>&1 || true
