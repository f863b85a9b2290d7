#!/usr/bin/env bash
# The README's "Workflow on a real checkpoint", every step, taken from README.md itself and run
# on generated data; proves that a user who follows it gets activations from the block the SAE
# names and ends in a report with no dead link.
#
# Step 1 (the Python script) runs as written but for the model name: a tiny Gemma-2 built here
# from a config (Gemma-2 2B's 26 blocks at width 64, random weights from a seed, a word-level
# tokenizer with Gemma's special tokens and chat template; scripts/walkthrough/make_model.py),
# on a train.jsonl of "text" lines and "messages" lines. Nothing is downloaded (HF_HUB_OFFLINE).
# scripts/walkthrough/check_acts.py then recomputes every sample's hidden states and requires
# acts.safetensors to be hidden_states[N] less the BOS row, N taken from `saegeo inspect`'s reads
# line for the README's SAE path, and not hidden_states[N - 1].
# Steps 2 to 6 (inspect, contrast, score, filter, neighbors, report) are the README's saegeo
# commands verbatim, files and all: the folder is laid out under the names they use. The SAE at
# the README's path (gemma-scope-2b-pt-res/layer_20/.../params.npz) is `saegeo generate`'s
# (d_model = the tiny model's width) written as Gemma Scope's params.npz (same tensor names, no
# b_dec on the input, so the same encoder); contrast's toxic-acts and ordinary-acts are generate's
# labelled sets (random models give no toxic texts to extract them from); acts.safetensors and
# train.jsonl are step 1's. scripts/walkthrough/readme.py fails if the README no longer has that
# shape (another model line, a step that is not one of these six, a line that is neither).
# Checks: inspect names block 20 as the script's hook, summary.json has leans_toxic, filter's
# outputs add up, and every href="#id" in report.html has its element.
#
# The Python environment (torch CPU, transformers, safetensors, numpy, tokenizers; pinned) is
# made once in .build-walkthrough/venv, or WALKTHROUGH_VENV, and reused. SAEGEO names the binary
# (default: the debug build). The work folder is kept and printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SAEGEO=${SAEGEO:-$root/.build/debug/saegeo}
[ -x "$SAEGEO" ] || { echo "walkthrough: no saegeo at $SAEGEO; run swift build first" >&2; exit 1; }
fail() { echo "walkthrough: FAIL: $*" >&2; exit 1; }
started=$(date +%s)

# torch's CPU wheel (+cpu) is a fifth of the default one, which brings CUDA; where the package
# index has no +cpu build, the plain wheel of the same version computes the same on the CPU.
venv=${WALKTHROUGH_VENV:-$root/.build-walkthrough/venv}
pins=(transformers==5.25.0 tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6 jinja2==3.1.6)
stamp="torch==2.13.0 ${pins[*]}"
if [ "$(cat "$venv/pins" 2>/dev/null)" != "$stamp" ]; then
    echo "walkthrough: making $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv; scripts/install-deps.sh does)"
    "$venv/bin/pip" install -q --disable-pip-version-check "torch==2.13.0+cpu" "${pins[@]}" ||
        "$venv/bin/pip" install -q --disable-pip-version-check "torch==2.13.0" "${pins[@]}" ||
        fail "pip could not install torch 2.13.0 and ${pins[*]}"
    echo "$stamp" > "$venv/pins"
fi
python=$venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME=$root/.build-walkthrough/hf-home HF_HUB_DISABLE_PROGRESS_BARS=1

work=$(mktemp -d /tmp/saegeo-walkthrough.XXXXXX)
cd "$work"
"$python" "$root/scripts/walkthrough/readme.py" "$root/README.md" "$work/tiny-gemma-2" "$work/readme"
"$python" "$root/scripts/walkthrough/make_model.py" "$work/tiny-gemma-2" train.jsonl
d_model=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["hidden_size"])' tiny-gemma-2/config.json)

# The inputs under the README's names. generate's SAE has W_enc, W_dec, b_enc, b_dec and
# threshold with apply_b_dec_to_input false: Gemma Scope's params.npz holds the same tensors
# under the same names and encodes the same way.
"$SAEGEO" generate job --features 2048 --dimension "$d_model" --samples 20 2>/dev/null
sae=$(cat readme/sae-path)
mkdir -p "$(dirname "$sae")"
"$python" -c 'import sys, numpy as np; from safetensors.numpy import load_file
np.savez(sys.argv[2], **load_file(sys.argv[1]))' job/sae/sae_weights.safetensors "$sae"
cp job/labelled-toxic.safetensors toxic-acts.safetensors
cp job/labelled-ordinary.safetensors ordinary-acts.safetensors

echo "walkthrough: step 1 (README's script, layer $(cat readme/step1-layer))"
"$python" readme/step1.py
[ -s acts.safetensors ] || fail "step 1 wrote no acts.safetensors"

# The site the SAE reads, from inspect (step 2 prints it again), checked against step 1's hook.
reads=$("$SAEGEO" inspect "$sae" | grep '^reads ') || fail "inspect prints no reads line"
index=$(grep -oE 'hidden_states\[[0-9]+\]' <<<"$reads" | head -n 1 | tr -dc '0-9')
hooked=$(grep -oE 'model\.model\.layers\[[0-9]+\]' <<<"$reads" | head -n 1 | tr -dc '0-9')
[ -n "$index" ] && [ "$hooked" = "$(cat readme/step1-layer)" ] ||
    fail "inspect's reads line ($reads) does not name the block step 1 hooks ($(cat readme/step1-layer))"
"$python" "$root/scripts/walkthrough/check_acts.py" tiny-gemma-2 train.jsonl acts.safetensors "$index"

# Steps 2 to 6, as the README writes them.
SAEGEO=$SAEGEO bash readme/steps.sh > steps.log 2>&1 || { cat steps.log >&2; fail "a README step failed (log above)"; }
grep '^walkthrough: ' steps.log

samples=$(wc -l < train.jsonl)
[ "$(wc -l < scores.jsonl)" -eq "$samples" ] || fail "scores.jsonl has $(wc -l < scores.jsonl) lines for $samples samples"
"$python" - <<'PY' || fail "summary.json"
import json, sys
summary = json.load(open("summary.json"))
if not isinstance(summary.get("leans_toxic"), bool):
    sys.exit(f"walkthrough: summary.json has no boolean leans_toxic: {sorted(summary)}")
scores = [json.loads(line) for line in open("scores.jsonl")]
if not any(s["score"] > 0 for s in scores):
    sys.exit("walkthrough: every score is 0: no SAE feature fired on step 1's activations")
print(f"walkthrough: summary leans_toxic {summary['leans_toxic']}; "
      f"{sum(s['score'] > 0 for s in scores)} of {len(scores)} samples score above 0")
PY
dropped=$(grep -cv '^#' dropped.txt || true)
[ "$dropped" -ge 1 ] || fail "filter dropped nothing"
[ "$(wc -l < train.kept.jsonl)" -eq $((samples - dropped)) ] ||
    fail "train.kept.jsonl has $(wc -l < train.kept.jsonl) lines; $samples samples less $dropped dropped"
[ "$(wc -l < toxic.txt)" -ge 1 ] && [ -s contrast.jsonl ] && [ -s neighbors.safetensors ] || fail "contrast or neighbors wrote nothing"

# Every in-page link has its target (as GeneratedWorkflowTests checks in process).
links=$(grep -oE 'href="#[^"]+"' report.html | sed 's/^href="#//; s/"$//' | sort -u)
targets=$(grep -oE ' id="[^"]+"' report.html | sed 's/^ id="//; s/"$//' | sort -u)
[ -n "$links" ] || fail "report.html has no in-page link"
dead=$(comm -23 <(echo "$links") <(echo "$targets"))
[ -z "$dead" ] || fail "report.html has dead links: $(echo $dead)"
echo "walkthrough: report.html: $(wc -l <<<"$links") in-page links, none dead ($work)"
echo "walkthrough: passed in $(( $(date +%s) - started )) s"
