"""Checks that step 1 of the README wrote the activations the SAE reads.

Usage: check_acts.py MODEL_FOLDER TRAIN_JSONL ACTS HIDDEN_INDEX

HIDDEN_INDEX is N of `hidden_states[N]` in `saegeo inspect`'s reads line for the SAE (21 for
Gemma Scope's layer_20 resid_post). For every sample this recomputes the model's hidden states
with output_hidden_states=True, tokenising on its own route (the chat template rendered to text,
then tokenised), and requires ACTS's rows of that sample to be hidden_states[N] without the BOS
row, and to differ clearly from hidden_states[N - 1], so that reading the wrong block (the
off-by-one the README once had) fails. It also pins what hidden_states[0] is in this version of
transformers (the input of block 0), since the index convention is what is being tested, and
checks that offsets count each sample's tokens less its BOS.
"""
import json
import sys

import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

folder, train_path, acts_path, index = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def fail(message):
    sys.exit(f"walkthrough: FAIL: step 1's activations: {message}")


tok, model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder)
model.eval()
stored = load_file(acts_path)
if sorted(stored) != ["activations", "offsets"]:
    fail(f"tensors {sorted(stored)}, not activations and offsets")
acts, offsets = stored["activations"], stored["offsets"]
if acts.dtype != np.float32 or offsets.dtype != np.int64 or acts.shape[1] != model.config.hidden_size:
    fail(f"activations {acts.dtype} {acts.shape}, offsets {offsets.dtype}")

# hidden_states[0] must be what block 0 receives (the scaled embeddings): then hidden_states[k]
# is the output of block k - 1, the convention inspect's reads line states.
first_input = {}


def keep_input(module, args, kwargs):
    first_input["h"] = (args[0] if args else kwargs["hidden_states"]).detach()


model.model.layers[0].register_forward_pre_hook(keep_input, with_kwargs=True)
samples = [json.loads(line) for line in open(train_path)]
if len(offsets) != len(samples) + 1 or offsets[0] != 0 or offsets[-1] != len(acts):
    fail(f"{len(offsets)} offsets ending at {offsets[-1]} for {len(samples)} samples and {len(acts)} rows")
worst, nearest_other, chats = 0.0, np.inf, 0
for i, sample in enumerate(samples):
    if "messages" in sample:
        text = tok.apply_chat_template(sample["messages"], tokenize=False)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        chats += 1
    else:
        ids = tok(sample["text"], return_tensors="pt")["input_ids"]
    if ids[0, 0].item() != tok.bos_token_id:
        fail(f"sample {i} does not start with BOS, so the drop of the BOS row is not tested")
    with torch.no_grad():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
    if len(hidden) != model.config.num_hidden_layers + 1:
        fail(f"{len(hidden)} hidden states for {model.config.num_hidden_layers} blocks")
    if not torch.equal(hidden[0], first_input["h"]):
        fail("hidden_states[0] is not the input of block 0 in this transformers version")
    rows = acts[offsets[i]:offsets[i + 1]]
    want, other = hidden[index][0, 1:].numpy(), hidden[index - 1][0, 1:].numpy()
    if rows.shape != want.shape:
        fail(f"sample {i} has {len(rows)} rows; its {ids.shape[1]} tokens less BOS are {len(want)}")
    scale = float(np.abs(want).max())
    worst = max(worst, float(np.abs(rows - want).max()) / scale)
    nearest_other = min(nearest_other, float(np.abs(rows - other).max()) / scale)
if chats == 0:
    fail("no chat (messages) sample, so the chat template branch is not tested")
# The same float32 computation in another process: equal to rounding; the neighbouring block's
# output differs at the size of a whole block's update.
if worst > 1e-5:
    fail(f"differs from hidden_states[{index}] by {worst:.3g} (relative to the largest entry)")
if nearest_other < 1e-2:
    fail(f"hidden_states[{index - 1}] is as close as {nearest_other:.3g}: the check cannot tell blocks apart")
print(f"walkthrough: step 1 wrote hidden_states[{index}] less BOS for all {len(samples)} samples "
      f"({chats} through the chat template, {len(acts)} rows): largest difference {worst:.2g}, "
      f"hidden_states[{index - 1}] at {nearest_other:.2g} (relative to the largest entry)")
