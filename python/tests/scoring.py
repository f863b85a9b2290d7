"""Helpers of the scoring tests: the CLI's score of the same activations, and a float64 numpy
reference of the score (docs/definitions.md) for generate's JumpReLU SAE."""
import json

import numpy as np

from conftest import read_safetensors, run_cli, write_safetensors


def cli_score(cli, tmp_path, job, activations, offsets, *extra, explain=0):
    """(scores float32, active int64, summary dict, jsonl lines) of `saegeo score` on these arrays
    (the .jsonl with --explain when explain > 0)."""
    acts = tmp_path / "acts.safetensors"
    tensors = {"activations": np.ascontiguousarray(activations, dtype=np.float32)}
    if offsets is not None:
        tensors["offsets"] = np.asarray(offsets, dtype=np.int64)
    write_safetensors(acts, tensors)
    toxic = tmp_path / "toxic.txt"
    toxic.write_text("".join(f"{i}\n" for i in job.toxic))
    args = ["score", "--sae", job.sae_path, "--toxic", toxic, "--activations", acts, "--device", "cpu",
            "--summary", tmp_path / "summary.json", *extra]
    if offsets is not None:
        args += ["--offsets", "offsets"]
    run_cli(cli, *args, "-o", tmp_path / "scores.safetensors")
    out = read_safetensors(tmp_path / "scores.safetensors")
    summary = json.loads((tmp_path / "summary.json").read_text())
    run_cli(cli, *args, *(["--explain", explain] if explain else []), "-o", tmp_path / "scores.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    return out["scores"], out["active"], summary, lines


def reference_score(job, activations, offsets):
    """(scores, active, ambiguous) in float64: ambiguous marks samples holding a pre-activation so
    close to its threshold that float32 and float64 may disagree on whether it fires."""
    w = {name: value.astype(np.float64) for name, value in job.weights.items()}
    x = activations.astype(np.float64)
    if job.cfg.get("apply_b_dec_to_input"):
        x = x - w["b_dec"]
    pre = x @ w["W_enc"] + w["b_enc"]
    fires = pre > w["threshold"]
    a = np.where(fires, pre, 0.0)
    unit = w["W_dec"] / np.linalg.norm(w["W_dec"], axis=1, keepdims=True)
    proximity = (unit @ unit[job.toxic].T).max(axis=1)
    # float32 rounding of a 64-term dot product stays well under 4e-6 relative here.
    near = np.abs(pre - w["threshold"]) < 4e-6 * (1 + np.abs(pre))
    bounds = offsets if offsets is not None else np.arange(len(x) + 1)
    scores, active, ambiguous = [], [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        mass = a[start:stop].sum()
        scores.append((a[start:stop] @ proximity).sum() / mass if mass > 0 else 0.0)
        active.append(int((a[start:stop] != 0).any(axis=0).sum()))   # distinct features active in the sample
        ambiguous.append(bool(near[start:stop].any()))
    return np.array(scores), np.array(active), np.array(ambiguous)


def assert_same_numbers(left, right, rtol=1e-6, path="summary"):
    """Nested JSON values equal: numbers within rtol, everything else exactly."""
    if isinstance(left, dict):
        assert set(left) == set(right), f"{path}: keys {sorted(left)} != {sorted(right)}"
        for key in left:
            assert_same_numbers(left[key], right[key], rtol, f"{path}.{key}")
    elif isinstance(left, list):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right)):
            assert_same_numbers(a, b, rtol, f"{path}[{i}]")
    elif isinstance(left, float) or isinstance(right, float):
        np.testing.assert_allclose(left, right, rtol=rtol, atol=1e-12, err_msg=path)
    else:
        assert left == right, f"{path}: {left!r} != {right!r}"
