"""Memory stays bounded while streaming (issue 24): a scorer fed 256 MiB of activations in 16 MiB
batches grows its process's peak resident set (VmHWM) by no more than the batch plus the memory
budget plus a stated slack, and the batches after the first hardly raise it (nothing is kept per
batch). Measured in a fresh interpreter so that this process's own imports
and fixtures do not count, after a one-sample warm-up scorer: what a first scorer costs once,
whatever it is fed (the library's code paged in, BLAS threads and their buffers, the SAE's pages),
is not streaming. A control run that keeps every batch shows the measurement sees such growth."""
import json
import subprocess
import sys

MIB = 1 << 20
FED = 256 * MIB
BATCH = 16 * MIB
BUDGET = 64 * MIB
# Allocator and interpreter noise, the per-sample results (a few tens of bytes per sample) and
# the chunk the library reads a batch in: small next to what keeping the data would cost (FED).
SLACK = 32 * MIB
# What the 15 batches after the first may add to the peak: the per-sample results (65,536 samples,
# about 40 bytes each) and noise; keeping even 1 MiB per batch would break it.
LATER_SLACK = 12 * MIB

_CHILD = r"""
import json, sys
import numpy as np
import saegeo

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

sae_path, toxic, fed, batch, budget, tokens, keep = json.loads(sys.argv[1])
sae = saegeo.open_sae(sae_path)
d = sae.d_model
rows = batch // (4 * d) // tokens * tokens
offsets = np.arange(0, rows + 1, tokens, dtype=np.int64)
warm = saegeo.Scorer(sae, toxic, device="cpu", null_sets=8, memory_budget=budget)
warm.add(np.zeros((tokens, d), dtype=np.float32), offsets[:2])
warm.finish()
del warm
before = peak()
buffer = np.empty((rows, d), dtype=np.float32)
generator = np.random.default_rng(5)
kept = []
scorer = None if keep else saegeo.Scorer(sae, toxic, device="cpu", null_sets=8, memory_budget=budget)
batches = fed // buffer.nbytes
after_first = None
for batch in range(batches):
    generator.standard_normal(out=buffer, dtype=np.float32)
    if keep:
        kept.append(buffer.copy())
    else:
        scorer.add(buffer, offsets)
    if batch == 0:
        after_first = peak()
samples = 0 if keep else len(scorer.finish().scores)
print(json.dumps({"growth": peak() - before, "later_growth": peak() - after_first, "batch": buffer.nbytes, "batches": batches, "samples": samples,
                  "expected_samples": batches * (rows // tokens)}))
"""


def _streamed_peak_growth(job, keep=False):
    arguments = json.dumps([str(job.sae_path), job.toxic, FED, BATCH, BUDGET, 16, keep])
    done = subprocess.run([sys.executable, "-c", _CHILD, arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_streaming_256_mib_in_16_mib_batches_stays_within_batch_plus_budget(job):
    report = _streamed_peak_growth(job)
    assert report["batches"] == FED // report["batch"] >= 16
    assert report["samples"] == report["expected_samples"]    # every batch was scored
    bound = report["batch"] + BUDGET + SLACK
    assert report["growth"] <= bound, (f"peak RSS grew {report['growth'] / MIB:.0f} MiB streaming {FED // MIB} MiB; "
                                       f"batch + budget + slack is {bound / MIB:.0f} MiB")
    assert report["later_growth"] <= LATER_SLACK, f"batches 2-16 raised the peak {report['later_growth'] / MIB:.1f} MiB"


def test_the_measurement_sees_kept_batches(job):
    """The same child keeping a copy of every batch instead of scoring it breaks the bound."""
    report = _streamed_peak_growth(job, keep=True)
    assert report["growth"] >= FED - BATCH > report["batch"] + BUDGET + SLACK
    assert report["later_growth"] >= FED - 2 * BATCH > LATER_SLACK
