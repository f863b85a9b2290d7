"""Shared by the comparison scripts: reading saegeo's neighbour indices, and timing two
implementations in turn (A B A B ...) with the ratio pair by pair."""
import json
import statistics
import struct

import numpy as np


def read_indices(path):
    """The `indices` tensor of a saegeo neighbours .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    begin, end = header["indices"]["data_offsets"]
    return np.frombuffer(data[8 + length + begin : 8 + length + end], dtype=np.int64).reshape(header["indices"]["shape"])


def alternate(name_a, run_a, name_b, run_b, runs):
    """Runs A then B `runs` times; each returns (seconds, result). Prints each pair and the
    medians, and returns the last results of both."""
    times_a, times_b = [], []
    for run in range(runs):
        ta, result_a = run_a()
        tb, result_b = run_b()
        times_a.append(ta)
        times_b.append(tb)
        print(f"run {run + 1}: {name_a} {ta:.3f} s, {name_b} {tb:.3f} s, {name_a} / {name_b} {ta / tb:.2f}")
    ratios = sorted(a / b for a, b in zip(times_a, times_b))
    print(f"median {name_a} {statistics.median(times_a):.3f} s, {name_b} {statistics.median(times_b):.3f} s; "
          f"{name_a} / {name_b} median {statistics.median(ratios):.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f})")
    return result_a, result_b
