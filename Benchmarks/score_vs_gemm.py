"""`saegeo score --device cpu` (in float32, and with the certified bfloat16 first pass) against a bare
cblas_sgemm of the same product and against numpy, A B C D A B C D;
and `saegeo contrast --device cpu` of the activations against themselves (two passes: twice the
product), held to the same bare product.

All three are timed as whole processes, files in (and, for saegeo and numpy, scores out):
- saegeo: `saegeo score --precision float32` on a `saegeo generate`d JumpReLU SAE (SAELens layout)
  and activations; saegeo-bf16: the same with `--precision bfloat16`, whose scores must equal the
  float32 run's within 1e-6 relative with the same active counts (or the script fails);
- sgemm: ScoreVsGemm/sgemm.c, activations x W_enc from the same files, row chunks of 2048, all
  cores; it also reports the seconds of the product alone, the floor saegeo's rate is held to;
- numpy: ScoreVsGemm/score_numpy.py, the same scores from the same files (DESIGN.md).
The work counted is the product's, 2 rows d_model d_sae FLOPs, for all three. saegeo's scores
must equal numpy's within 1e-5 relative, or the script fails.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "ScoreVsGemm"))
from score_numpy import tensors  # noqa: E402


def timed(command):
    """Runs a command; returns (seconds, stdout). A failure ends the benchmark with its stderr."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"FAILED ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return seconds, done.stdout, done.stderr


def spread(values):
    values = sorted(values)
    return f"median {statistics.median(values):.3f} (min {values[0]:.3f}, max {values[-1]:.3f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--saegeo", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20000, help="activation rows (tokens)")
    parser.add_argument("--features", type=int, default=16384, help="d_sae")
    parser.add_argument("--d", type=int, default=2304, help="d_model")
    parser.add_argument("--tokens", type=int, default=8, help="token rows per sample (must divide --rows)")
    args = parser.parse_args()
    if args.rows % args.tokens:
        parser.error("--rows must be a multiple of --tokens")

    folder = tempfile.mkdtemp(prefix="saegeo-score-gemm-")
    try:
        run(args, folder)
    finally:
        shutil.rmtree(folder)


def run(args, folder):
    # The bare product, compiled here so that it links the system's OpenBLAS (the one saegeo uses).
    sgemm = os.path.join(folder, "sgemm")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True, text=True,
                           check=True).stdout.split()
    subprocess.run(["cc", "-O2", os.path.join(HERE, "ScoreVsGemm", "sgemm.c"), "-o", sgemm] + flags, check=True)

    job = os.path.join(folder, "job")
    timed([args.saegeo, "generate", job, "--features", str(args.features), "--dimension", str(args.d),
           "--samples", str(args.rows // args.tokens), "--tokens", str(args.tokens)])
    sae, toxic, acts = os.path.join(job, "sae"), os.path.join(job, "toxic.txt"), os.path.join(job, "activations.safetensors")
    weights = os.path.join(sae, "sae_weights.safetensors")
    w_enc, enc_offset = tensors(weights)["W_enc"]
    x, act_offset = tensors(acts)["activations"]
    assert w_enc.shape == (args.d, args.features) and x.shape == (args.rows, args.d), (w_enc.shape, x.shape)
    del w_enc, x

    saegeo_out, numpy_out = os.path.join(folder, "scores.safetensors"), os.path.join(folder, "numpy.npy")
    bf16_out = os.path.join(folder, "scores-bf16.safetensors")
    commands = {
        "saegeo": [args.saegeo, "score", "--device", "cpu", "--sae", sae, "--toxic", toxic, "--activations", acts,
                   "--offsets", "offsets", "--precision", "float32", "-o", saegeo_out],
        "saegeo-bf16": [args.saegeo, "score", "--device", "cpu", "--sae", sae, "--toxic", toxic, "--activations", acts,
                        "--offsets", "offsets", "--precision", "bfloat16", "-o", bf16_out],
        "sgemm": [sgemm, acts, str(act_offset), str(args.rows), str(args.d), weights, str(enc_offset),
                  str(args.features), "2048"],
        "numpy": [sys.executable, os.path.join(HERE, "ScoreVsGemm", "score_numpy.py"), sae, toxic, acts, numpy_out],
        "contrast": [args.saegeo, "contrast", "--device", "cpu", "--sae", sae, "--activations", acts, "--offsets", "offsets",
                     "--baseline", acts, "--baseline-offsets", "offsets", "--precision", "float32",
                     "-o", os.path.join(folder, "contrast.safetensors")],
    }
    gflop = 2 * args.rows * args.d * args.features / 1e9
    print(f"score {args.rows} rows x d {args.d} through a {args.features}-feature JumpReLU SAE "
          f"({args.rows // args.tokens} samples of {args.tokens} tokens), {gflop:.1f} GFLOP of product; "
          f"{os.cpu_count()} cores, numpy {np.__version__}")

    times = {name: [] for name in commands}
    product, ratio_rate, ratio_process, ratio_numpy, ratio_contrast = [], [], [], [], []
    bf16_over_f32, bf16_over_product, bf16_said = [], [], ""
    for r in range(args.runs):
        for name, command in commands.items():  # A B C, A B C: drift hits all three alike
            seconds, out, err = timed(command)
            times[name].append(seconds)
            if name == "sgemm":
                product.append(float(out.split("product_seconds")[1]))
                blas = out.splitlines()[0]
            elif name == "saegeo":
                said = err.strip().splitlines()[-1]
            elif name == "saegeo-bf16":
                bf16_said = "; ".join(line for line in err.strip().splitlines() if "bfloat16 first pass" in line)
        s, g, n, p = times["saegeo"][-1], times["sgemm"][-1], times["numpy"][-1], product[-1]
        c = times["contrast"][-1]
        h = times["saegeo-bf16"][-1]
        bf16_over_f32.append(s / h)  # how much faster bfloat16 is than float32
        bf16_over_product.append(p / h)  # bfloat16's rate over the bare float32 product's
        ratio_contrast.append(2 * p / c)  # contrast multiplies both sets: twice the product
        ratio_rate.append(p / s)  # saegeo's GFLOP/s over the bare product's
        ratio_process.append(g / s)
        ratio_numpy.append(n / s)
        print(f"run {r + 1}: saegeo {s:.3f} s ({gflop / s:.1f} GFLOP/s); sgemm process {g:.3f} s "
              f"({gflop / g:.1f} GFLOP/s), product {p:.3f} s ({gflop / p:.1f} GFLOP/s); numpy {n:.3f} s "
              f"({gflop / n:.1f} GFLOP/s); saegeo / sgemm rate {p / s:.3f}; numpy / saegeo time {n / s:.2f}; "
              f"contrast {c:.3f} s ({2 * gflop / c:.1f} GFLOP/s, {2 * p / c:.3f} of the product's rate); "
              f"saegeo bfloat16 {h:.3f} s ({gflop / h:.1f} GFLOP/s): {s / h:.2f}x float32, {p / h:.2f}x the bare product")

    med = {name: statistics.median(t) for name, t in times.items()}
    mp = statistics.median(product)
    print(f"median: saegeo {med['saegeo']:.3f} s ({gflop / med['saegeo']:.1f} GFLOP/s), sgemm process "
          f"{med['sgemm']:.3f} s ({gflop / med['sgemm']:.1f} GFLOP/s), product {mp:.3f} s ({gflop / mp:.1f} GFLOP/s), "
          f"numpy {med['numpy']:.3f} s ({gflop / med['numpy']:.1f} GFLOP/s)")
    print(f"saegeo rate / bare sgemm product rate: {spread(ratio_rate)}")
    print(f"saegeo rate / bare sgemm process rate: {spread(ratio_process)}")
    print(f"numpy time / saegeo time: {spread(ratio_numpy)}")
    print(f"contrast rate / bare sgemm product rate: {spread(ratio_contrast)}")
    print(f"saegeo bfloat16 speed-up over saegeo float32 (time / time): {spread(bf16_over_f32)}")
    print(f"saegeo bfloat16 rate / bare float32 sgemm product rate: {spread(bf16_over_product)}")
    print(f"sgemm: {blas}; saegeo's own line (last run): {said}")
    print(f"saegeo bfloat16: {bf16_said}")

    # Scores: relative difference per sample; a zero on one side only counts as infinite.
    ours, theirs = np.asarray(tensors(saegeo_out)["scores"][0], dtype=np.float64), np.load(numpy_out).astype(np.float64)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    diff = np.abs(ours - theirs)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0, diff / np.abs(theirs))
    worst = int(np.argmax(rel))
    print(f"scores: max relative difference saegeo vs numpy {rel[worst]:.3e} (sample {worst}: "
          f"{ours[worst]:.8g} vs {theirs[worst]:.8g}) over {len(ours)} samples")
    if not rel[worst] <= 1e-5:
        sys.exit("FAILED: saegeo's scores differ from numpy's by more than 1e-5 relative")

    # bfloat16 against float32: the same active counts, scores within 1e-6 relative.
    f32, bf16 = tensors(saegeo_out), tensors(bf16_out)
    a, b = np.asarray(f32["scores"][0], dtype=np.float64), np.asarray(bf16["scores"][0], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(a == b, 0, np.abs(a - b) / np.abs(a))
    same_active = all(np.array_equal(np.asarray(f32[name][0]), np.asarray(bf16[name][0]))
                      for name in f32 if "active" in name)
    print(f"bfloat16 vs float32: max relative score difference {rel.max():.3e}; active counts identical: {same_active}")
    if not (rel.max() <= 1e-6 and same_active):
        sys.exit("FAILED: saegeo's bfloat16 run differs from its float32 run")


if __name__ == "__main__":
    main()
