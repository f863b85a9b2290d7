"""Ctrl-C stops a long neighbors with KeyboardInterrupt; the GIL is released while it computes."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import saegeo


@pytest.fixture(scope="module")
def big_sae(tmp_path_factory):
    """A bare decoder matrix whose all-pairs neighbours take seconds on two cores."""
    path = tmp_path_factory.mktemp("big") / "decoder.npy"
    np.save(path, np.random.default_rng(0).standard_normal((32768, 384)).astype(np.float32))
    return saegeo.open_sae(path)


def _timed_neighbors(sae, **options):
    started = time.monotonic()
    result = saegeo.neighbors(sae, k=8, device="cpu", **options)
    return result, time.monotonic() - started


@pytest.fixture
def python_ctrl_c():
    """Ctrl-C as Python sets it up, whatever this process inherited: a shell starts background
    jobs (`cmd &`, nohup) with SIGINT ignored, and Python then leaves it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_raises_keyboard_interrupt_within_a_tile(big_sae, python_ctrl_c):
    _, full = _timed_neighbors(big_sae)
    assert full > 1.0, f"neighbors took {full:.2f} s: too short to interrupt"
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        saegeo.neighbors(big_sae, k=8, device="cpu")
    stopped = time.monotonic() - started
    timer.join()
    assert stopped < 0.3 + max(0.5, full / 2), f"stopped after {stopped:.2f} s of a {full:.2f} s run"
    # The SAE is still usable and Python's own Ctrl-C handling is back.
    idx, _ = saegeo.neighbors(big_sae, k=2, queries=[0, 1], device="cpu")
    assert idx.shape == (2, 2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_another_thread_runs_during_neighbors(big_sae):
    counts = {"ticks": 0}
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counts["ticks"] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = counts["ticks"]
        _, seconds = _timed_neighbors(big_sae)
        during = counts["ticks"] - before
    finally:
        stop.set()
        counter.join()
    # A pure-Python loop ticks millions of times a second; a held GIL would leave it near 0.
    assert seconds > 0.5 and during > 100_000 * seconds, (during, seconds)


def test_neighbors_from_a_worker_thread(big_sae):
    found = {}
    worker = threading.Thread(target=lambda: found.update(result=saegeo.neighbors(big_sae, k=3, queries=[5])))
    worker.start()
    worker.join()
    assert found["result"][0].shape == (1, 3) and found["result"][0][0, 0] != 5
