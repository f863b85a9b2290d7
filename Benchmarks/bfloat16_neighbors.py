"""`saegeo neighbors --device cpu --precision bfloat16` against `--precision float32`, A B A B in one
run, whole processes, on random unit rows (numpy, bare .npy dictionaries):
- all pairs of an N x d dictionary (default 16384 x 2304), top k;
- Q random queries against an M x d dictionary (default 1024 against 131072 x 2304).
Each pair of outputs must be byte-identical (the certified first pass changes no result), or the
script fails. Prints each run, the median ratio float32 / bfloat16 (above 1: bfloat16 is faster),
each process's peak resident memory, and the first pass's own line (candidates per query).
"""
import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def timed(command):
    """Runs a command; returns (seconds, peak RSS in MiB, stderr). A failure ends the benchmark."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"FAILED ({process.returncode}): {' '.join(command)}\n{stderr}")
    return seconds, usage.ru_maxrss / 1024, stderr


def unit_rows(path, rows, d, seed):
    """Random Gaussian rows (their directions are uniform on the sphere), float32 .npy, in blocks."""
    generator = np.random.default_rng(seed)
    matrix = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, d))
    for start in range(0, rows, 8192):
        matrix[start:start + 8192] = generator.standard_normal((min(8192, rows - start), d), dtype=np.float32)
    matrix.flush()
    del matrix


def first_pass_line(stderr):
    lines = [line for line in stderr.splitlines() if "bfloat16 first pass" in line]
    return lines[-1] if lines else "(no first-pass line)"


def compare(name, args, command, folder):
    """Alternates float32 and bfloat16 on one job; checks the outputs are byte-identical."""
    outputs = {p: os.path.join(folder, f"{name}-{p}.safetensors") for p in ("float32", "bfloat16")}
    times = {p: [] for p in outputs}
    peaks = {p: [] for p in outputs}
    said = ""
    for run in range(args.runs):
        for precision, output in outputs.items():
            seconds, peak, stderr = timed(command + ["--precision", precision, "-o", output])
            times[precision].append(seconds)
            peaks[precision].append(peak)
            if precision == "bfloat16":
                said = first_pass_line(stderr)
        if not filecmp.cmp(outputs["float32"], outputs["bfloat16"], shallow=False):
            sys.exit(f"FAILED: {name}: the bfloat16 output differs from the float32 output")
        f, b = times["float32"][-1], times["bfloat16"][-1]
        print(f"{name} run {run + 1}: float32 {f:.3f} s, bfloat16 {b:.3f} s, float32 / bfloat16 {f / b:.2f}; outputs byte-identical")
    ratios = sorted(f / b for f, b in zip(times["float32"], times["bfloat16"]))
    print(f"{name}: median float32 {statistics.median(times['float32']):.3f} s, bfloat16 {statistics.median(times['bfloat16']):.3f} s; "
          f"float32 / bfloat16 median {statistics.median(ratios):.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f}); "
          f"peak RSS float32 {max(peaks['float32']):.0f} MiB, bfloat16 {max(peaks['bfloat16']):.0f} MiB")
    print(f"{name}: {said}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--saegeo", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--d", type=int, default=2304)
    parser.add_argument("--all-pairs", type=int, default=16384, help="features of the all-pairs dictionary (0: skip)")
    parser.add_argument("--keys", type=int, default=131072, help="features of the query-subset dictionary (0: skip)")
    parser.add_argument("--queries", type=int, default=1024)
    parser.add_argument("--memory-budget", default=None, help="passed to saegeo (e.g. 4GiB)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="saegeo-bf16-")
    try:
        common = [args.saegeo, "neighbors", "--device", "cpu", "-k", str(args.k), "--progress-interval", "0"]
        if args.memory_budget:
            common += ["--memory-budget", args.memory_budget]
        print(f"{os.cpu_count()} cores; k {args.k}, d {args.d}; {args.runs} runs each, alternating")
        if args.all_pairs:
            path = os.path.join(folder, "allpairs.npy")
            unit_rows(path, args.all_pairs, args.d, seed=1)
            compare(f"all pairs {args.all_pairs} x {args.d}", args, common + ["--sae", path], folder)
            os.remove(path)
        if args.keys:
            path = os.path.join(folder, "keys.npy")
            unit_rows(path, args.keys, args.d, seed=2)
            ids = os.path.join(folder, "queries.txt")
            chosen = np.sort(np.random.default_rng(3).choice(args.keys, size=args.queries, replace=False))
            with open(ids, "w") as f:
                f.write("\n".join(map(str, chosen)) + "\n")
            compare(f"{args.queries} queries x {args.keys} keys x {args.d}", args,
                    common + ["--sae", path, "--queries", ids], folder)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
