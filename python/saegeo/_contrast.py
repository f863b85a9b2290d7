"""Contrast of two activation sets through the encoder, streamed, as `saegeo contrast`."""
import ctypes
import json
import threading

import numpy as np

from . import _arrays, _options
from ._call import check, run_cancellable
from ._errors import UsageError
from ._handle import OwnedHandle
from ._lib import PROGRESS_FN, lib, int64_pointer, take_string


class Table(dict):
    """The ranked table: a dict of numpy columns under the CLI's column names (rank, feature, t,
    log_odds, rate_a, rate_b, mean_a, mean_b, fires_a, fires_b, tokens_a, tokens_b, dead, ...), one
    row per feature; .toxic is the paper's measurement (a dict) when toxic ids were given, else
    None; .rows the rows as the CLI's .jsonl lines (dicts)."""

    def __init__(self, rows, toxic):
        super().__init__(_columns(rows))
        self.rows = rows
        self.toxic = toxic

    def __len__(self):
        return len(self.rows)

    def to_pandas(self):
        """A pandas DataFrame of the columns (pandas must be installed)."""
        import pandas
        return pandas.DataFrame({name: column for name, column in self.items()})


def _columns(rows):
    names = []
    for row in rows:
        names.extend(name for name in row if name not in names)
    return {name: _column([row.get(name) for row in rows]) for name in names}


def _column(values):
    present = [value for value in values if value is not None]
    if present and all(isinstance(value, bool) for value in present) and len(present) == len(values):
        return np.array(values, dtype=bool)
    if present and all(isinstance(value, int) and not isinstance(value, bool) for value in present):
        if len(present) == len(values):
            return np.array(values, dtype=np.int64)
        return np.array([-1 if value is None else value for value in values], dtype=np.int64)
    if present and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in present):
        return np.array([np.nan if value is None else value for value in values], dtype=np.float64)
    return np.array(values, dtype=object)


class Contrast(OwnedHandle):
    """Ranks the SAE's features by how much more they fire on set A than on set B.

    >>> c = saegeo.Contrast(sae)
    >>> c.add_a(toxic_acts, toxic_offsets); c.add_b(ordinary_acts, ordinary_offsets)
    >>> table = c.finish(toxic=[3, 17], top=20, null_sets=200, seed=0)
    >>> table["feature"][:10], table["t"][:10], table.toxic
    >>> table.to_pandas()

    Batches of whole samples, any number of add_a / add_b calls (paired: the same samples in the
    same order in both sets). The statistics are `saegeo contrast`'s on the same activations.
    precision: 'auto', 'float32' or 'bfloat16', as --precision (float32's results either way).
    """

    def __init__(self, sae, device="auto", paired=False, *, memory_budget=None, precision="auto"):
        self._d_model = sae.d_model
        handle = ctypes.c_void_p()
        check(lib.saegeo_contrast_new(sae.handle, _options.device(device), _options.precision(precision),
                                      int(bool(paired)),
                                      _options.memory_budget(memory_budget), ctypes.byref(handle)))
        self._handle = handle
        self._busy = threading.Lock()   # saegeo.h: one call at a time per contrast

    def _live_handle(self):
        if not self._handle:
            raise UsageError("the contrast is finished or closed")
        return self._handle

    def _add(self, which, activations, offsets):
        array, code = _arrays.activations(activations, self._d_model)
        sample_offsets = _arrays.offsets(offsets, array.shape[0])
        with self._busy:
            handle = self._live_handle()
            for rows, piece_offsets in _arrays.batches(array, sample_offsets):
                run_cancellable(
                    lib.saegeo_contrast_add, handle, which, rows.ctypes.data, code, rows.shape[0], rows.shape[1],
                    int64_pointer(piece_offsets), 0 if piece_offsets is None else len(piece_offsets),
                    after_token=(PROGRESS_FN(), None))
        return self

    def add_a(self, activations, offsets=None):
        """Adds a batch to set A: activations [tokens, d_model], offsets as Scorer.add takes."""
        return self._add(0, activations, offsets)

    def add_b(self, activations, offsets=None):
        """Adds a batch to set B (the baseline)."""
        return self._add(1, activations, offsets)

    def finish(self, toxic=None, top=None, null_sets=200, seed=0):
        """The ranked Table; with toxic ids, also the paper's measurement over the top `top`
        features (table.toxic). The contrast is closed afterwards."""
        toxic_ids = _arrays.ids(toxic, "toxic")
        text = ctypes.c_void_p()
        with self._busy:
            handle = self._live_handle()
            run_cancellable(lib.saegeo_contrast_finish, handle, int64_pointer(toxic_ids),
                            0 if toxic_ids is None else len(toxic_ids), -1 if top is None else int(top),
                            int(null_sets), int(seed), after_token=(ctypes.byref(text),))
            self._free()
        document = json.loads(take_string(text))
        return Table(document["rows"], document.get("toxic"))

    def close(self):
        """Frees the contrast (finish does it too)."""
        with self._busy:
            self._free()

    def _release(self, handle):
        lib.saegeo_contrast_free(handle)
