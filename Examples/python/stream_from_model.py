"""Score a fine-tuning set while the model runs: a forward hook streams one block's residual stream
into saegeo.Scorer, batch by batch, with nothing written to disk; then the CLI filters the set and
writes the report from the result. It also proves that streaming equals the file path.

Usage: stream_from_model.py WORK_FOLDER [--samples N] [--batch B]

Everything is made here, nothing is downloaded:
- a tiny Gemma-2 built from a transformers config (4 blocks of width 64, random weights from a
  seed) with a word-level tokenizer trained on the texts, as scripts/walkthrough/make_model.py does;
- WORK_FOLDER/train.jsonl, the dataset, one {"id", "text"} sample per line;
- an SAE with the model's d_model and its toxic ids from `saegeo generate` (a SAELens folder).
With a real model, load it with from_pretrained and open the SAE its layer names (`saegeo inspect`
prints the block a checkpoint reads).

Steps: the hook on model.model.layers[LAYER] takes each batch's real tokens (BOS and padding
dropped) and calls scorer.add(rows, offsets); finish() gives scores and active counts per sample.
Those are written where the CLI reads them (scores.safetensors as `saegeo score` writes it, and
summary.json, its --summary), and `saegeo filter` and `saegeo report` run on them. The same rows
are kept and written to acts.safetensors (activations + offsets), `saegeo score` scores the file,
and the script requires the same scores (within 1e-6 relative), identical active counts, the
same dropped samples and the same dataset summary; it exits 1 otherwise. The last line is
"stream_from_model: PASS ..." or "stream_from_model: FAIL ...".

The saegeo command is $SAEGEO, else the one on PATH (the wheel installs it).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import Gemma2Config, Gemma2ForCausalLM, PreTrainedTokenizerFast

import saegeo

LAYER = 2            # the block whose output (the residual stream after it) the SAE reads
DROP_FRACTION = 0.1  # filter's Q: the riskiest tenth of the samples is dropped
WORDS = ("the model answered a question about cooking gardening travel money health history "
         "code music sport weather and then it gave advice that was careful or reckless").split()


def fail(message):
    print(f"stream_from_model: FAIL: {message}")
    sys.exit(1)


def sentence(i):
    # Deterministic, 5 to 17 words, so samples have different token counts.
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(5 + i % 13))


def write_dataset(path, samples):
    with open(path, "w") as out:
        for i in range(samples):
            out.write(json.dumps({"id": i, "text": sentence(i)}) + "\n")


def tiny_model():
    """A 4-block Gemma-2 of width 64 with random weights, and a tokenizer that adds BOS."""
    special = ["<pad>", "<eos>", "<bos>", "<unk>"]
    core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.train_from_iterator([sentence(i) for i in range(60)],
                             trainers.WordLevelTrainer(special_tokens=special))
    core.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", core.token_to_id("<bos>"))])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<bos>", eos_token="<eos>",
                                        pad_token="<pad>", unk_token="<unk>", padding_side="right")
    config = Gemma2Config(
        vocab_size=core.get_vocab_size(), hidden_size=64, intermediate_size=128, num_hidden_layers=4,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32,
        max_position_embeddings=512, sliding_window=16,
        pad_token_id=core.token_to_id("<pad>"), bos_token_id=core.token_to_id("<bos>"),
        eos_token_id=core.token_to_id("<eos>"))
    torch.manual_seed(0)
    return Gemma2ForCausalLM(config).eval(), tokenizer


def same_summary(streamed, cli):
    """The same keys and values, numbers within 1e-6 relative (the scores' tolerance)."""
    if isinstance(streamed, dict) and isinstance(cli, dict):
        return streamed.keys() == cli.keys() and all(same_summary(streamed[k], cli[k]) for k in cli)
    if isinstance(streamed, list) and isinstance(cli, list):
        return len(streamed) == len(cli) and all(map(same_summary, streamed, cli))
    if isinstance(cli, float) and isinstance(streamed, (int, float)) and not isinstance(streamed, bool):
        return abs(streamed - cli) <= 1e-6 * max(abs(cli), 1e-30)
    return streamed == cli


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--samples", type=int, default=37)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    cli = os.environ.get("SAEGEO") or shutil.which("saegeo") or fail("no saegeo command (set SAEGEO)")
    os.makedirs(args.work, exist_ok=True)
    path = lambda name: os.path.join(args.work, name)

    write_dataset(path("train.jsonl"), args.samples)
    model, tokenizer = tiny_model()
    d_model = model.config.hidden_size
    if not os.path.exists(path("job/sae")):                             # a rerun reuses the SAE
        run([cli, "generate", path("job"), "--features", "512", "--dimension", str(d_model),
             "--samples", "2"])
    sae = saegeo.open_sae(path("job/sae"))
    toxic = [int(line) for line in open(path("job/toxic.txt")) if line.strip()]

    # The hook: each batch's real tokens, BOS and padding dropped, one sample after another.
    scorer = saegeo.Scorer(sae, toxic=toxic, device="cpu")
    kept_rows, kept_offsets, batch_mask = [], [0], {}

    def hook(module, inputs, output):
        hidden = output[0] if isinstance(output, tuple) else output      # [batch, seq, d_model]
        mask = batch_mask["tokens"]
        rows = hidden[mask].float()                                      # [tokens, d_model], C order
        offsets = np.concatenate([[0], np.cumsum(mask.sum(dim=1).numpy())])
        scorer.add(rows, offsets)
        kept_rows.append(rows.numpy().copy())                            # only for the file check
        kept_offsets.extend(kept_offsets[-1] + offsets[1:])

    handle = model.model.layers[LAYER].register_forward_hook(hook)
    texts = [json.loads(line)["text"] for line in open(path("train.jsonl"))]
    batches = 0
    with torch.no_grad():
        for start in range(0, len(texts), args.batch):
            batch = tokenizer(texts[start:start + args.batch], return_tensors="pt", padding=True)
            mask = batch["attention_mask"].bool()
            mask[:, 0] = False                                           # BOS: the same in every sample
            batch_mask["tokens"] = mask
            model(**batch)
            batches += 1
    handle.remove()
    result = scorer.finish()
    if len(result.scores) != len(texts):
        fail(f"{len(result.scores)} scores for {len(texts)} samples")

    # The result where the CLI reads it: score's .safetensors layout and its --summary JSON.
    save_file({"scores": result.scores.astype(np.float32), "active": result.active.astype(np.int64)},
              path("scores.safetensors"))
    with open(path("summary.json"), "w") as out:
        json.dump(result.summary, out, indent=2)
    run([cli, "filter", "--scores", path("scores.safetensors"), "--drop-fraction", str(DROP_FRACTION),
         "--dataset", path("train.jsonl"), "-o", path("train.kept.jsonl"), "--dropped", path("dropped.txt")])
    run([cli, "report", "--scores", path("scores.safetensors"), "--summary", path("summary.json"),
         "--dataset", path("train.jsonl"), "--sae", path("job/sae"),
         "--drop-fraction", str(DROP_FRACTION), "-o", path("report.html")])
    dropped = [int(line) for line in open(path("dropped.txt")) if line.strip() and not line.startswith("#")]
    kept = sum(1 for _ in open(path("train.kept.jsonl")))
    print(f"stream_from_model: {len(texts)} samples in {batches} batches through block {LAYER} of a "
          f"{model.config.num_hidden_layers}-block Gemma-2 (d_model {d_model}); "
          f"scores {result.scores.min():.4f} to {result.scores.max():.4f}; "
          f"filter drops {len(dropped)} (samples {dropped}), keeps {kept}; report.html written")

    # The file path: the same rows in a .safetensors file, scored by the CLI.
    save_file({"activations": np.concatenate(kept_rows),
               "offsets": np.array(kept_offsets, dtype=np.int64)}, path("acts.safetensors"))
    run([cli, "score", "--sae", path("job/sae"), "--toxic", path("job/toxic.txt"), "--device", "cpu",
         "--activations", path("acts.safetensors"), "--offsets", "offsets",
         "-o", path("cli-scores.safetensors"), "--summary", path("cli-summary.json")])
    run([cli, "filter", "--scores", path("cli-scores.safetensors"), "--drop-fraction", str(DROP_FRACTION),
         "--dropped", path("cli-dropped.txt")])
    cli_scores = load_file(path("cli-scores.safetensors"))
    if len(cli_scores["scores"]) != len(texts):
        fail(f"`saegeo score` gives {len(cli_scores['scores'])} scores for {len(texts)} samples")
    difference = np.abs(result.scores - cli_scores["scores"])
    worst = float(np.max(difference / np.maximum(np.abs(cli_scores["scores"]), 1e-30)))
    if worst > 1e-6:
        fail(f"streamed scores differ from `saegeo score`'s on the file: "
             f"worst relative difference {worst:.3g}")
    if not np.array_equal(result.active, cli_scores["active"]):
        fail("streamed active counts differ from `saegeo score`'s on the file")
    if open(path("dropped.txt")).read() != open(path("cli-dropped.txt")).read():
        fail("filter drops other samples on the streamed scores than on `saegeo score`'s")
    cli_summary = json.load(open(path("cli-summary.json")))
    if not same_summary(result.summary, cli_summary):
        fail(f"result.summary differs from `saegeo score --summary`'s: {result.summary} != {cli_summary}")
    if not np.any(result.scores > 0):
        fail("every score is 0: no SAE feature fired on the model's activations")
    print(f"stream_from_model: PASS: streaming equals `saegeo score` on acts.safetensors "
          f"({len(texts)} samples, {kept_offsets[-1]} tokens; worst relative "
          f"difference {worst:.2g}; active counts, dropped samples and summary the same)")


if __name__ == "__main__":
    main()
