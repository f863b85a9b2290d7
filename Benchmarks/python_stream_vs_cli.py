"""The Python streaming scorer on in-memory activations against `saegeo score` on the same
activations from a .safetensors file (issue 24: at least 0.95x the CLI's throughput), and the peak
resident memory of a scorer streamed a large amount of generated activations (issue 24: "stays
within the batch plus the plan's budget").

Throughput: a `saegeo generate`d JumpReLU SAE (SAELens layout) and its activations. Each side is a
whole process, run in turn (CLI, Python, CLI, Python ...) after one warm-up of each:
- cli: `saegeo score --activations FILE --offsets offsets --null-sets N`;
- python: a fresh interpreter that imports saegeo, reads the same file into memory (numpy), then
  `Scorer.add`s batches of whole samples of about --batch-mb MB and `finish()`es.
Throughput is activation rows per second of the whole process; the figure is Python's over the
CLI's, pair by pair (median, min-max). The Python process also reports its add+finish seconds
alone. Peak RSS of each process is the kernel's ru_maxrss (os.wait4), as /usr/bin/time -v reports
it. The scores of both are compared (within 1e-6 relative; active counts identical).

Memory: a fresh interpreter opens a small SAE, makes a Scorer with --memory-budget and adds
--memory-gb GB of activations in --memory-batch-mb MB batches drawn from a seeded generator into
one reused buffer (never all in memory). Reported: VmHWM growth from before the batch buffer and
the Scorer exist to the end, against batch + budget, after one warm-up scorer fed one sample (so
that what a first scorer costs once whatever it is fed, the library's code paged in, BLAS and
OpenCL threads and their buffers, is reported apart and not counted as streaming).
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

MB = 1 << 20


def read_tensors(path):
    """{name: numpy array} of a .safetensors file, read into memory."""
    import numpy as np
    dtypes = {"F32": np.float32, "I64": np.int64, "F64": np.float64}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        body = f.read()
    return {name: np.frombuffer(body, dtype=dtypes[entry["dtype"]], count=_count(entry), offset=entry["data_offsets"][0])
            .reshape(entry["shape"]) for name, entry in header.items() if name != "__metadata__"}


def _count(entry):
    count = 1
    for size in entry["shape"]:
        count *= size
    return count


def proc_status(field):
    """A /proc/self/status field in bytes (VmHWM: peak resident set, VmRSS: current)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def sample_batches(offsets, rows_per_batch):
    """(first sample, end sample) ranges of whole samples holding about rows_per_batch rows each."""
    samples = len(offsets) - 1
    first = 0
    while first < samples:
        end = first + 1
        while end < samples and offsets[end + 1] - offsets[first] <= rows_per_batch:
            end += 1
        yield first, end
        first = end


def worker_stream(args):
    """One Python run: read the file into memory, stream it through a Scorer; prints a JSON line."""
    import numpy as np
    import saegeo
    started = time.perf_counter()
    tensors = read_tensors(args.activations)
    activations, offsets = tensors["activations"], tensors["offsets"]
    toxic = [int(line) for line in open(args.toxic) if line.strip()]
    sae = saegeo.open_sae(args.sae)
    scoring = time.perf_counter()
    scorer = saegeo.Scorer(sae, toxic, device=args.device, null_sets=args.null_sets)
    rows_per_batch = max(1, args.batch_mb * MB // (4 * activations.shape[1]))
    batches = 0
    for first, end in sample_batches(offsets, rows_per_batch):
        begin, stop = int(offsets[first]), int(offsets[end])
        scorer.add(activations[begin:stop], offsets[first:end + 1] - begin)
        batches += 1
    result = scorer.finish()
    scored = time.perf_counter()
    np.save(args.out, np.stack([result.scores, result.active.astype(np.float64)]))
    print(json.dumps({"batches": batches, "scoring_s": scored - scoring, "in_process_s": scored - started}))


def worker_memory(args):
    """The memory case: --memory-gb GB in --memory-batch-mb MB batches from a seeded generator."""
    import numpy as np
    import saegeo
    sae = saegeo.open_sae(args.sae)
    toxic = [int(line) for line in open(args.toxic) if line.strip()]
    d = sae.d_model
    rows = args.memory_batch_mb * MB // (4 * d) // args.tokens * args.tokens
    total_batches = max(1, int(args.memory_gb * 1024 * MB) // (rows * 4 * d))
    offsets = np.arange(0, rows + 1, args.tokens, dtype=np.int64)
    cold_hwm = proc_status("VmHWM")
    # One tiny scorer first: what any scorer costs once, whatever it is fed (the library's code
    # paged in, the BLAS / OpenCL threads and their buffers, the SAE's pages), is not streaming.
    warm = saegeo.Scorer(sae, toxic, device=args.device, null_sets=args.null_sets,
                         memory_budget=None if args.memory_budget == "auto" else args.memory_budget)
    warm.add(np.zeros((args.tokens, d), dtype=np.float32), np.array([0, args.tokens], dtype=np.int64))
    warm.finish()
    del warm
    before_hwm, before_rss = proc_status("VmHWM"), proc_status("VmRSS")
    buffer = np.empty((rows, d), dtype=np.float32)
    generator = np.random.default_rng(args.seed)
    budget = None if args.memory_budget == "auto" else args.memory_budget
    scorer = saegeo.Scorer(sae, toxic, device=args.device, null_sets=args.null_sets, memory_budget=budget)
    started = time.perf_counter()
    hwm_after_first = None
    for batch in range(total_batches):
        generator.standard_normal(out=buffer, dtype=np.float32)
        scorer.add(buffer, offsets)
        if batch == 0:
            hwm_after_first = proc_status("VmHWM")
    result = scorer.finish()
    seconds = time.perf_counter() - started
    print(json.dumps({"batches": total_batches, "batch_bytes": buffer.nbytes, "fed_bytes": total_batches * buffer.nbytes,
                      "samples": len(result.scores), "seconds": seconds, "cold_hwm": cold_hwm, "before_hwm": before_hwm,
                      "before_rss": before_rss, "hwm_after_first": hwm_after_first, "hwm": proc_status("VmHWM"),
                      "rss_end": proc_status("VmRSS"), "default_budget": default_budget(saegeo, args.device)}))


def default_budget(saegeo, device):
    """The budget a plan gets without memory_budget: three quarters of the device's memory."""
    memory = [d.memory for d in saegeo.devices() if d.name == device]
    return memory[0] * 3 // 4 if memory else 0


def run_process(command):
    """(seconds, peak RSS bytes, stdout) of a whole process; a failure ends the benchmark."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 before reading: the outputs are small (a JSON line), well within a pipe's buffer.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if process.returncode != 0:
        sys.exit(f"FAILED ({process.returncode}): {' '.join(command)}\n{err}")
    return seconds, usage.ru_maxrss * 1024, out


def spread(values, unit=""):
    values = sorted(values)
    return f"median {statistics.median(values):.3f}{unit} (min {values[0]:.3f}, max {values[-1]:.3f})"


def throughput(args, folder, python):
    import numpy as np
    rows = args.samples * args.tokens
    activations = f"{folder}/activations.safetensors"
    common = ["--sae", f"{folder}/sae", "--toxic", f"{folder}/toxic.txt", "--device", args.device]
    cli = [args.saegeo, "score", *common, "--activations", activations, "--offsets", "offsets",
           "--null-sets", str(args.null_sets), "--progress-interval", "0", "-o", f"{folder}/scores.safetensors"]
    py = [python, os.path.abspath(__file__), "--worker", "stream", "--sae", f"{folder}/sae", "--toxic",
          f"{folder}/toxic.txt", "--activations", activations, "--device", args.device, "--null-sets",
          str(args.null_sets), "--batch-mb", str(args.batch_mb), "--out", f"{folder}/python-scores.npy"]
    size = os.path.getsize(activations) / MB
    print(f"throughput: {args.features} x {args.d} JumpReLU SAE, {args.samples} samples x {args.tokens} tokens = "
          f"{rows} rows ({size:.0f} MB), device {args.device}, null sets {args.null_sets}, Python batches of "
          f"~{args.batch_mb} MB; {args.runs} runs each, alternating after a warm-up")
    run_process(cli), run_process(py)  # warm-up: page cache, kernels
    ratios, cli_s, py_s, py_scoring, cli_rss, py_rss = [], [], [], [], [], []
    for run in range(args.runs):
        tc, rc, _ = run_process(cli)
        tp, rp, out = run_process(py)
        report = json.loads(out.strip().splitlines()[-1])
        cli_s.append(tc), py_s.append(tp), py_scoring.append(report["scoring_s"])
        cli_rss.append(rc / MB), py_rss.append(rp / MB)
        ratios.append(tc / tp)  # rows / tp over rows / tc
        print(f"run {run + 1}: cli {tc:.3f} s ({rows / tc:,.0f} rows/s, peak RSS {rc / MB:.0f} MB), python {tp:.3f} s "
              f"({rows / tp:,.0f} rows/s, add+finish {report['scoring_s']:.3f} s, {report['batches']} batches, "
              f"peak RSS {rp / MB:.0f} MB, {size:.0f} MB of it the activations read into memory); python / cli throughput {ratios[-1]:.3f}")
    print(f"cli: {spread(cli_s, ' s')}, peak RSS {spread(cli_rss, ' MB')}")
    print(f"python: {spread(py_s, ' s')}, add+finish {spread(py_scoring, ' s')}, peak RSS {spread(py_rss, ' MB')}")
    print(f"python / cli throughput (whole processes): {spread(ratios)}; target >= 0.95: "
          f"{'MET' if statistics.median(ratios) >= 0.95 else 'NOT MET'}")
    expected = read_tensors(f"{folder}/scores.safetensors")
    got = np.load(f"{folder}/python-scores.npy")
    names = sorted(expected)
    score_name = "scores" if "scores" in expected else names[0]
    cli_scores = expected[score_name].astype(np.float64)
    agree = np.allclose(got[0], cli_scores, rtol=1e-6, atol=0)
    active_note = ""
    if "active" in expected:
        active_note = f", active counts {'identical' if np.array_equal(got[1], expected['active']) else 'DIFFER'}"
    print(f"results: python scores {'equal the CLI within 1e-6 relative' if agree else 'DIFFER from the CLI'}{active_note}")


def memory(args, folder, python):
    command = [python, os.path.abspath(__file__), "--worker", "memory", "--sae", f"{folder}/sae", "--toxic",
               f"{folder}/toxic.txt", "--device", args.device, "--null-sets", str(args.null_sets), "--tokens",
               str(args.tokens), "--memory-gb", str(args.memory_gb), "--memory-batch-mb", str(args.memory_batch_mb),
               "--memory-budget", args.memory_budget, "--seed", "7"]
    _, maxrss, out = run_process(command)
    r = json.loads(out.strip().splitlines()[-1])
    budget = r["default_budget"] if args.memory_budget == "auto" else parse_size(args.memory_budget)
    growth = r["hwm"] - r["before_hwm"]
    bound = r["batch_bytes"] + budget
    print(f"memory: {args.memory_features} x {args.d} SAE, {r['fed_bytes'] / MB:.0f} MB fed in {r['batches']} batches of "
          f"{r['batch_bytes'] / MB:.1f} MB ({r['samples']} samples of {args.tokens} tokens), memory_budget "
          f"{args.memory_budget}, device {args.device}, {r['seconds']:.1f} s")
    print(f"memory: peak before any scorer {r['cold_hwm'] / MB:.0f} MB; after a one-sample warm-up scorer: peak "
          f"{r['before_hwm'] / MB:.0f} MB, RSS {r['before_rss'] / MB:.0f} MB (fixed cost of a first scorer "
          f"{(r['before_hwm'] - r['cold_hwm']) / MB:.0f} MB)")
    print(f"memory: streaming peak (VmHWM) {r['hwm'] / MB:.0f} MB "
          f"(after the first batch {r['hwm_after_first'] / MB:.0f} MB; ru_maxrss {maxrss / MB:.0f} MB); RSS at the end "
          f"{r['rss_end'] / MB:.0f} MB")
    print(f"memory: peak growth over the warm process {growth / MB:.0f} MB against batch + budget {bound / MB:.0f} MB: "
          f"{'WITHIN' if growth <= bound else 'OVER'}")


def parse_size(text):
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[:-len(unit)]) * factor)
    return int(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=["stream", "memory"])
    parser.add_argument("--saegeo", help="the saegeo CLI")
    parser.add_argument("--python", default=sys.executable, help="the interpreter with saegeo installed")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--features", type=int, default=16384, help="d_sae of the throughput SAE")
    parser.add_argument("--d", type=int, default=512, help="d_model")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=64, help="token rows per sample")
    parser.add_argument("--null-sets", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-mb", type=int, default=64)
    parser.add_argument("--memory-gb", type=float, default=2.0, help="0: no memory case")
    parser.add_argument("--memory-batch-mb", type=int, default=64)
    parser.add_argument("--memory-features", type=int, default=1024, help="d_sae of the memory case's SAE")
    parser.add_argument("--memory-budget", default="256MiB", help="a size, or auto: the default (3/4 of the device's memory)")
    parser.add_argument("--skip-throughput", action="store_true")
    # worker-only
    parser.add_argument("--sae"), parser.add_argument("--toxic"), parser.add_argument("--activations")
    parser.add_argument("--out"), parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.worker == "stream":
        return worker_stream(args)
    if args.worker == "memory":
        return worker_memory(args)
    if not args.saegeo:
        sys.exit("--saegeo is required")
    folder = tempfile.mkdtemp(prefix="saegeo-py-bench-")
    try:
        if not args.skip_throughput:
            subprocess.run([args.saegeo, "generate", folder, "--features", str(args.features), "--dimension",
                            str(args.d), "--samples", str(args.samples), "--tokens", str(args.tokens)],
                           check=True, capture_output=True)
            throughput(args, folder, args.python)
        if args.memory_gb > 0:
            small = f"{folder}/memory"
            subprocess.run([args.saegeo, "generate", small, "--features", str(args.memory_features), "--dimension",
                            str(args.d), "--samples", "2", "--tokens", "2"], check=True, capture_output=True)
            memory(args, small, args.python)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
