"""`saegeo score` in numpy, as a process of its own (files in, file out), for Benchmarks/score_vs_gemm.py.

    python score_numpy.py SAE_FOLDER TOXIC.txt ACTIVATIONS.safetensors OUT.npy

Reads a SAELens JumpReLU checkpoint (the kind `saegeo generate` writes, float32) and activations
with `offsets`, and computes what DESIGN.md ("Definitions") defines: p_f = max over live toxic t
of cos(W_dec[f], W_dec[t]) in float64, rounded to float32 like saegeo's neighbour scores, 1 for a
live toxic feature, 0 for a dead one; a = pre if pre > threshold (and > 0, as saegeo sums only
positive a) with pre = x W_enc + b_enc; score = sum a p / sum a over a sample's tokens, 0 when
nothing is active. Rows go through in chunks of 2048, as in saegeo, so [rows, d_sae] never exists.
Writes the float32 scores as .npy.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "I64": np.int64}


def tensors(path):
    """name -> (array memory-mapped from a .safetensors file, absolute byte offset of its data)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        begin = 8 + length + t["data_offsets"][0]
        out[name] = (np.memmap(path, dtype=DTYPES[t["dtype"]], mode="r", offset=begin, shape=tuple(t["shape"])), begin)
    return out


def proximity(w_dec, toxic):
    w = np.asarray(w_dec, dtype=np.float64)
    norms = np.linalg.norm(w, axis=1)
    live = np.isfinite(norms) & (norms > 0)
    keys = [t for t in sorted(set(toxic)) if live[t]]
    p = np.zeros(len(w))
    if keys:
        cos = (w @ w[keys].T) / np.outer(np.where(live, norms, 1), norms[keys])
        p = np.where(live, cos.max(axis=1), 0)
        p[keys] = 1
    return p.astype(np.float32)


def main(sae, toxic_path, activations_path, out, chunk=2048):
    with open(f"{sae}/cfg.json") as f:
        cfg = json.load(f)
    assert cfg["architecture"] == "jumprelu" and cfg.get("normalize_activations", "none") == "none", cfg
    sae_tensors = {k: v[0] for k, v in tensors(f"{sae}/sae_weights.safetensors").items()}
    act = tensors(activations_path)
    x, offsets = act["activations"][0], np.asarray(act["offsets"][0])
    toxic = [int(line) for line in open(toxic_path) if line.strip() and not line.startswith("#")]
    p = proximity(sae_tensors["W_dec"], toxic)
    w_enc, b_enc = np.asarray(sae_tensors["W_enc"]), np.asarray(sae_tensors["b_enc"])
    threshold = np.maximum(np.asarray(sae_tensors["threshold"]), 0)
    b_dec = np.asarray(sae_tensors["b_dec"]) if cfg.get("apply_b_dec_to_input", False) else 0
    num, den = np.zeros(len(x)), np.zeros(len(x))  # per token row, float64
    for r in range(0, len(x), chunk):
        pre = (np.asarray(x[r : r + chunk]) - b_dec) @ w_enc
        pre += b_enc
        a = np.where(pre > threshold, pre, 0)
        num[r : r + chunk] = a @ p  # few features are active per row: float32 sums are exact enough
        den[r : r + chunk] = a.sum(axis=1)
    # Per sample: sums over its token rows (cumulative sums handle empty samples).
    cnum, cden = np.concatenate([[0], np.cumsum(num)]), np.concatenate([[0], np.cumsum(den)])
    snum, sden = cnum[offsets[1:]] - cnum[offsets[:-1]], cden[offsets[1:]] - cden[offsets[:-1]]
    np.save(out, np.where(sden > 0, snum / np.where(sden > 0, sden, 1), 0).astype(np.float32))


if __name__ == "__main__":
    main(*sys.argv[1:5])
