"""Exact top-k of a query set among keys: saegeo against numpy (matmul + argpartition + sort), A B A B.

saegeo runs as a whole process (`saegeo neighbors --queries FILE`, file in, file out); numpy is
timed from the normalised matrix in memory to the sorted top-k, which favours it.
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np

from alternate import alternate, read_indices


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--saegeo", required=True)
    parser.add_argument("--queries", type=int, default=1024)
    parser.add_argument("--n", type=int, default=32768)
    parser.add_argument("--d", type=int, default=2304)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    rng = np.random.default_rng(7)
    x = rng.standard_normal((args.n, args.d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    queries = np.sort(rng.choice(args.n, size=args.queries, replace=False))
    folder = tempfile.mkdtemp(prefix="saegeo-numpy-")
    path, ids_path = os.path.join(folder, "unit.npy"), os.path.join(folder, "queries.txt")
    np.save(path, x)
    with open(ids_path, "w") as f:
        f.write("\n".join(map(str, queries)) + "\n")
    out = os.path.join(folder, "neighbours.safetensors")

    def run_numpy():
        start = time.perf_counter()
        s = x[queries] @ x.T
        s[np.arange(args.queries), queries] = -np.inf  # the query itself is not its neighbour
        top = np.argpartition(-s, args.k, axis=1)[:, : args.k]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
        result = np.take_along_axis(top, order, axis=1)
        return time.perf_counter() - start, result

    def run_saegeo():
        start = time.perf_counter()
        subprocess.run([args.saegeo, "neighbors", "--sae", path, "--queries", ids_path, "-k", str(args.k),
                        "-o", out, "--device", args.device], check=True, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start, read_indices(out)

    print(f"top-{args.k} of {args.queries} queries among {args.n} x {args.d} unit vectors; numpy {np.__version__}, "
          f"saegeo on {args.device}")
    ni, si = alternate("numpy", run_numpy, "saegeo", run_saegeo, args.runs)
    same = sum(set(ni[row]) == set(si[row]) for row in range(args.queries))
    print(f"identical neighbour sets: {same} of {args.queries} rows (numpy's float32 may swap near-ties)")


if __name__ == "__main__":
    main()
