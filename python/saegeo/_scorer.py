"""The streaming scorer: activations in batches of whole samples, scores as the CLI's."""
import ctypes
import json
import threading

import numpy as np

from . import _arrays, _options
from ._call import check, run_cancellable
from ._errors import UsageError
from ._handle import OwnedHandle
from ._lib import lib, int64_pointer, take_string
from ._progress import Progress


class ScoreResult:
    """What a scorer found: .scores float64 [samples], .active int64 [samples] (distinct active features per
    sample), .explain (per sample, its explain features as dicts, when explain > 0, else None) and
    .summary (the CLI's --summary JSON as a dict)."""

    def __init__(self, handle, with_explain):
        try:
            samples = lib.saegeo_result_samples(handle)
            self.scores = np.empty(samples, dtype=np.float64)
            self.active = np.empty(samples, dtype=np.int64)
            lib.saegeo_result_copy(handle, self.scores.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                                   int64_pointer(self.active))
            self.summary = _json_of(lib.saegeo_result_summary_json, handle)
            self.explain = _json_of(lib.saegeo_result_explain_json, handle) if with_explain else None
        finally:
            lib.saegeo_result_free(handle)

    def __len__(self):
        return len(self.scores)

    def __repr__(self):
        return f"<saegeo.ScoreResult: {len(self.scores)} samples>"


def _json_of(function, handle):
    text = ctypes.c_void_p()
    check(function(handle, ctypes.byref(text)))
    value = take_string(text)
    return json.loads(value) if value else None


class Scorer(OwnedHandle):
    """Scores samples streamed in batches, e.g. from a forward hook, with nothing written to disk.

    >>> scorer = saegeo.Scorer(sae, toxic=[3, 17, 42])
    >>> for batch, offsets in batches:            # [tokens, d_model] rows, sample boundaries
    ...     scorer.add(batch, offsets)             # numpy float32/float16, torch float32/bfloat16
    >>> result = scorer.finish()
    >>> result.scores, result.active, result.summary["..."]

    score = sum a p / sum a over a sample's tokens and active features (docs/definitions.md),
    the same as `saegeo score` on the same activations however they are split into add calls.
    toxic: feature ids. device: 'auto', 'cpu', 'opencl:0', ... explain: features per sample in
    result.explain (0: none). skip_nonfinite: leave out rows holding NaN/inf instead of refusing
    them. null_sets, seed: the dataset summary's draws (--null-sets, --seed). memory_budget:
    bytes or '4GiB'. progress: a tqdm bar (or log lines) per add. precision: 'auto', 'float32' or
    'bfloat16', as --precision (float32's results either way, scores within 1e-6).
    """

    def __init__(self, sae, toxic, device="auto", explain=0, skip_nonfinite=False, *, null_sets=1000,
                 seed=0, memory_budget=None, progress=False, precision="auto"):
        toxic_ids = _arrays.ids(toxic, "toxic")
        self._sae = sae
        self._d_model = sae.d_model
        self._null_sets = int(null_sets)
        self._seed = int(seed)
        self._progress = progress
        self._explain = int(explain)
        handle = ctypes.c_void_p()
        check(lib.saegeo_scorer_new(sae.handle, int64_pointer(toxic_ids), len(toxic_ids),
                                    _options.device(device), _options.precision(precision), self._explain, int(bool(skip_nonfinite)),
                                    _options.memory_budget(memory_budget), ctypes.byref(handle)))
        self._handle = handle
        self._busy = threading.Lock()   # saegeo.h: one call at a time per scorer

    def _live_handle(self):
        if not self._handle:
            raise UsageError("the scorer is finished or closed")
        return self._handle

    def add(self, activations, offsets=None):
        """Scores one batch: activations [tokens, d_model]; offsets: len samples + 1 boundaries of
        the batch's samples (rising from 0 to tokens), None = one sample per row. A sample never
        spans two calls. The array is read in place (a C-contiguous one is not copied)."""
        array, code = _arrays.activations(activations, self._d_model)
        sample_offsets = _arrays.offsets(offsets, array.shape[0])
        reporter = Progress(self._progress)
        with self._busy:
            handle = self._live_handle()
            self._add_pieces(handle, array, code, sample_offsets, reporter)
        return self

    def _add_pieces(self, handle, array, code, sample_offsets, reporter):
        try:
            for rows, piece_offsets in _arrays.batches(array, sample_offsets):
                run_cancellable(
                    lib.saegeo_scorer_add, handle, rows.ctypes.data, code, rows.shape[0], rows.shape[1],
                    int64_pointer(piece_offsets), 0 if piece_offsets is None else len(piece_offsets),
                    after_token=(reporter.callback, None))
        finally:
            reporter.close()

    def finish(self):
        """The result of every batch added; the scorer is closed afterwards."""
        with self._busy:
            handle = self._live_handle()
            result = ctypes.c_void_p()
            run_cancellable(lib.saegeo_scorer_finish, handle, self._null_sets, self._seed,
                            after_token=(ctypes.byref(result),))
            self._free()
        return ScoreResult(result, self._explain > 0)

    def close(self):
        """Frees the scorer (finish does it too)."""
        with self._busy:
            self._free()

    def _release(self, handle):
        lib.saegeo_scorer_free(handle)


def score(sae, toxic, activations, offsets=None, **options):
    """One call: Scorer(sae, toxic, **options), add(activations, offsets), finish().

    >>> result = saegeo.score(sae, [3, 17], acts, offsets)
    """
    scorer = Scorer(sae, toxic, **options)
    try:
        scorer.add(activations, offsets)
        return scorer.finish()
    finally:
        scorer.close()
