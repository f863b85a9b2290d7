"""saegeo in Python: SaegeoCore in this process, on numpy arrays and CPU torch tensors.

    import saegeo
    sae = saegeo.open_sae("job/sae")                            # any family the CLI reads
    idx, cos = saegeo.neighbors(sae, k=32)                      # as `saegeo neighbors`
    scorer = saegeo.Scorer(sae, toxic=[3, 17])                  # as `saegeo score`, streamed
    scorer.add(activations, offsets)                            # per batch, e.g. from a hook
    result = scorer.finish()                                    # .scores .active .summary
    c = saegeo.Contrast(sae); c.add_a(a); c.add_b(b)            # as `saegeo contrast`
    table = c.finish(toxic=[3, 17], top=20)                     # dict of numpy columns

Every failure raises SaegeoError (BadInput, BadFile, IOError, DeviceError, UsageError) with the
CLI's message; Ctrl-C stops a computation within a tile and raises KeyboardInterrupt. The GIL is
released while SaegeoCore computes. docs/python.md is the reference.
"""
from ._contrast import Contrast, Table
from ._devices import Device, devices
from ._errors import BadFile, BadInput, DeviceError, IOError, SaegeoError, UsageError  # noqa: A004
from ._lib import lib as _lib
from ._neighbors import neighbors
from ._sae import Sae, open_sae
from ._scorer import Scorer, ScoreResult, score

__version__ = _lib.saegeo_version().decode()

__all__ = ["BadFile", "BadInput", "Contrast", "Device", "DeviceError", "IOError", "Sae", "SaegeoError",
           "ScoreResult", "Scorer", "Table", "UsageError", "__version__", "devices", "neighbors",
           "open_sae", "score"]
