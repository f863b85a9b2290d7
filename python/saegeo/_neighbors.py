"""Exact top-k neighbours by decoder cosine, bit-identical to `saegeo neighbors`."""
import ctypes

import numpy as np

from . import _arrays, _options
from ._call import run_cancellable
from ._errors import BadInput
from ._lib import lib, int64_pointer
from ._progress import Progress


def neighbors(sae, k=32, queries=None, keys=None, keys_sae=None, device="auto", memory_budget=None,
              progress=False, precision="auto"):
    """The k nearest features of each query by decoder cosine (docs/definitions.md), exactly.

    >>> idx, cos = saegeo.neighbors(sae, k=8)                     # every feature among all
    >>> idx, cos = saegeo.neighbors(sae, k=8, queries=[3, 17])    # idx.shape == (2, 8)
    >>> idx, cos = saegeo.neighbors(sae_a, k=1, keys_sae=sae_b)   # A's features among B's

    Returns idx int64 [q, k] (-1 where fewer keys exist) and cos float32 [q, k] (-inf there), the
    same bytes as `saegeo neighbors` writes for the same arguments. queries / keys: None (all) or
    feature ids (keys are keys_sae's ids when given). device: 'auto', 'cpu', 'opencl:0', ...;
    memory_budget: bytes or '4GiB'. precision: 'auto', 'float32' or 'bfloat16', as --precision
    (the same bytes either way). Ctrl-C stops it within a tile (KeyboardInterrupt).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise BadInput(f"k must be an integer, not {k!r}")
    query_ids = _arrays.ids(queries, "queries")
    key_ids = _arrays.ids(keys, "keys")
    budget = _options.memory_budget(memory_budget)
    device_name = _options.device(device)
    arithmetic = _options.precision(precision)
    rows = sae.d_sae if query_ids is None else len(query_ids)
    width = max(int(k), 0)
    indices = np.empty((rows, width), dtype=np.int64)
    scores = np.empty((rows, width), dtype=np.float32)
    reporter = Progress(progress)
    try:
        run_cancellable(
            lib.saegeo_neighbors, sae.handle, int(k),
            int64_pointer(query_ids), 0 if query_ids is None else len(query_ids),
            int64_pointer(key_ids), 0 if key_ids is None else len(key_ids),
            None if keys_sae is None else keys_sae.handle, device_name, arithmetic, budget,
            after_token=(reporter.callback, None, int64_pointer(indices),
                         scores.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
    finally:
        reporter.close()
    return indices, scores

