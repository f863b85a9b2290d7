"""`saegeo contrast` against `saegeo score` on the same generated data, in turn (score, contrast,
score, contrast ...), per device: the figure is contrast's time per activation row over score's
(issue 23 holds it within 1.2).

Both are timed as whole processes, files in and results out, on a `saegeo generate`d JumpReLU
SAE (SAELens layout) and its activations:
- score: `saegeo score` of the activations (rows R), with `--null-sets` draws of the summary's null;
- contrast: `saegeo contrast` of the activations against themselves (rows 2 R: both sets pass
  through the encoder), which reduces per-feature statistics on the device.
The ratio of each pair is (contrast seconds / 2 R) / (score seconds / R); the median of the pairs
is reported, with the spread.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(command):
    """Runs a command; returns its seconds. A failure ends the benchmark with its stderr."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"FAILED ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return seconds


def spread(values):
    values = sorted(values)
    return f"median {statistics.median(values):.3f} (min {values[0]:.3f}, max {values[-1]:.3f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--saegeo", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--features", type=int, default=16384, help="d_sae")
    parser.add_argument("--d", type=int, default=512, help="d_model")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=16, help="token rows per sample")
    parser.add_argument("--null-sets", type=int, default=10, help="score's summary draws (few: the encoder is timed)")
    parser.add_argument("--devices", default="cpu,opencl:0", help="comma-separated; each device timed on its own")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="saegeo-contrast-score-")
    try:
        subprocess.run([args.saegeo, "generate", folder, "--features", str(args.features), "--dimension", str(args.d),
                        "--samples", str(args.samples), "--tokens", str(args.tokens)], check=True, capture_output=True)
        rows = args.samples * args.tokens
        print(f"{args.features} x {args.d} JumpReLU SAE, {args.samples} samples x {args.tokens} tokens = {rows} rows; "
              f"score {rows} rows, contrast 2 x {rows} rows; {args.runs} runs each, alternating")
        activations = f"{folder}/activations.safetensors"
        for device in args.devices.split(","):
            common = ["--sae", f"{folder}/sae", "--device", device, "--progress-interval", "0"]
            score = [args.saegeo, "score", *common, "--toxic", f"{folder}/toxic.txt", "--activations", activations,
                     "--offsets", "offsets", "--null-sets", str(args.null_sets), "-o", f"{folder}/scores.safetensors"]
            contrast = [args.saegeo, "contrast", *common, "--activations", activations, "--offsets", "offsets",
                        "--baseline", activations, "--baseline-offsets", "offsets", "-o", f"{folder}/contrast.safetensors"]
            timed(score), timed(contrast)  # warm-up: kernels built, files in the page cache
            scores, contrasts, ratios = [], [], []
            for run in range(args.runs):
                s, c = timed(score), timed(contrast)
                scores.append(s)
                contrasts.append(c)
                ratios.append((c / (2 * rows)) / (s / rows))
                print(f"{device} run {run + 1}: score {s:.3f} s, contrast {c:.3f} s, per row contrast / score {ratios[-1]:.2f}")
            print(f"{device}: score {spread(scores)} s, contrast {spread(contrasts)} s; "
                  f"per activation row contrast / score {spread(ratios)}")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
