"""All-pairs top-k: saegeo against faiss-cpu IndexFlatIP on the same unit vectors, A B A B.

saegeo runs as a whole process (`saegeo neighbors --queries all --keys all`, file in, file out);
faiss is timed from index construction to the search result, in this process, which favours it.
"""
import argparse
import os
import subprocess
import tempfile
import time

import faiss
import numpy as np

from alternate import alternate, read_indices


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--saegeo", required=True)
    parser.add_argument("--n", type=int, default=16384)
    parser.add_argument("--d", type=int, default=2304)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(7)
    x = rng.standard_normal((args.n, args.d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    folder = tempfile.mkdtemp(prefix="saegeo-faiss-")
    path = os.path.join(folder, "unit.npy")
    np.save(path, x)
    out = os.path.join(folder, "neighbours.safetensors")

    def run_faiss():
        start = time.perf_counter()
        index = faiss.IndexFlatIP(args.d)
        index.add(x)
        _, ids = index.search(x, args.k + 1)
        elapsed = time.perf_counter() - start
        # Drop each row's self match (or the last column when self was not returned).
        trimmed = np.empty((args.n, args.k), dtype=np.int64)
        for row in range(args.n):
            others = ids[row][ids[row] != row]
            trimmed[row] = others[: args.k]
        return elapsed, trimmed

    def run_saegeo():
        start = time.perf_counter()
        subprocess.run([args.saegeo, "neighbors", "--sae", path, "--queries", "all", "--keys", "all",
                        "-k", str(args.k), "-o", out, "--device", "cpu"], check=True, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start, read_indices(out)

    print(f"all pairs, {args.n} x {args.d} unit vectors, top-{args.k}; faiss {faiss.__version__}, "
          f"{faiss.omp_get_max_threads()} threads")
    fi, si = alternate("faiss", run_faiss, "saegeo", run_saegeo, args.runs)
    same = sum(set(fi[row]) == set(si[row]) for row in range(args.n))
    print(f"identical neighbour sets: {same} of {args.n} rows")


if __name__ == "__main__":
    main()
