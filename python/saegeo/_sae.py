"""An SAE opened by SaegeoCore: every family and file the CLI reads, headers parsed, nothing
executed (a .pt is read by a restricted unpickler, never by Python's)."""
import ctypes
import json
import os

from ._call import check
from ._errors import UsageError
from ._handle import OwnedHandle
from ._lib import lib, take_string


class Sae(OwnedHandle):
    """An open SAE checkpoint.

    >>> sae = saegeo.open_sae("gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71")
    >>> sae.d_sae, sae.d_model, sae.family, sae.architecture, sae.dtype
    (16384, 2304, 'gemma-scope', 'jumprelu', 'F32')

    The names are `saegeo inspect --json`'s (family is its "format"); sae.info holds all of it.
    """

    def __init__(self, path, format=None):  # noqa: A002 (the CLI's option name)
        handle = ctypes.c_void_p()
        check(lib.saegeo_sae_open(os.fsencode(path), None if format is None else format.encode(),
                                  ctypes.byref(handle)))
        self._handle = handle
        text = ctypes.c_void_p()
        try:
            check(lib.saegeo_sae_info_json(handle, ctypes.byref(text)))
        except BaseException:
            self.close()
            raise
        self.info = json.loads(take_string(text))
        self.path = os.fspath(path)

    @property
    def handle(self):
        if not self._handle:
            raise UsageError("the SAE is closed")
        return self._handle

    d_sae = property(lambda self: int(self.info["d_sae"]), doc="Features (dictionary rows).")
    d_model = property(lambda self: int(self.info["d_model"]), doc="Residual-stream width.")
    family = property(lambda self: self.info.get("family", self.info.get("format")),
                      doc="The checkpoint family, as --format names it (saelens, gemma-scope, ...).")
    architecture = property(lambda self: self.info.get("architecture"), doc="relu, jumprelu or topk.")
    dtype = property(lambda self: self.info.get("dtype"), doc="Stored dtype: F32, F16, BF16.")

    def close(self):
        """Frees the SAE; objects made from it must be finished or closed first."""
        self._free()

    def _release(self, handle):
        lib.saegeo_sae_free(handle)

    def __repr__(self):
        return (f"<saegeo.Sae {self.path!r}: {self.d_sae} x {self.d_model}, {self.family}, "
                f"{self.architecture}, {self.dtype}>")


def open_sae(path, format=None):  # noqa: A002
    """Opens an SAE checkpoint: a folder or file of any family the CLI reads.

    >>> sae = saegeo.open_sae("job/sae")                 # format detected
    >>> sae = saegeo.open_sae("ae.pt", format="dictionary-learning")

    format: None (detect) or a value of the CLI's --format. Raises BadFile for a malformed file.
    """
    return Sae(path, format)
