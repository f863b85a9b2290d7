"""The SaegeoCore shared library, loaded once through ctypes, with every C function of saegeo.h
declared (argument and result types), so that a wrong call fails in Python, not in the library.

ctypes.CDLL releases the GIL around every call: other Python threads run while SaegeoCore
computes. The library is the package's own (saegeo/_lib/libsaegeo.so), or SAEGEO_LIBRARY when set
(a build tree's library, for development)."""
import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_float, c_int32, c_int64, c_uint64, c_void_p

PROGRESS_FN = ctypes.CFUNCTYPE(None, c_char_p, c_int64, c_int64, c_void_p)

_I64P = POINTER(c_int64)
_SIGNATURES = {
    "saegeo_version": (c_char_p, []),
    "saegeo_last_error": (c_char_p, []),
    "saegeo_free_string": (None, [c_void_p]),
    "saegeo_devices_json": (c_int32, [POINTER(c_void_p)]),
    "saegeo_cancel_new": (c_void_p, []),
    "saegeo_cancel": (None, [c_void_p]),
    "saegeo_cancel_free": (None, [c_void_p]),
    "saegeo_sae_open": (c_int32, [c_char_p, c_char_p, POINTER(c_void_p)]),
    "saegeo_sae_info_json": (c_int32, [c_void_p, POINTER(c_void_p)]),
    "saegeo_sae_free": (None, [c_void_p]),
    "saegeo_neighbors": (c_int32, [c_void_p, c_int64, _I64P, c_int64, _I64P, c_int64, c_void_p,
                                   c_char_p, c_char_p, c_int64, c_void_p, PROGRESS_FN, c_void_p,
                                   _I64P, POINTER(c_float)]),
    "saegeo_scorer_new": (c_int32, [c_void_p, _I64P, c_int64, c_char_p, c_char_p, c_int64, c_int32, c_int64,
                                    POINTER(c_void_p)]),
    "saegeo_scorer_add": (c_int32, [c_void_p, c_void_p, c_int32, c_int64, c_int64, _I64P, c_int64,
                                    c_void_p, PROGRESS_FN, c_void_p]),
    "saegeo_scorer_finish": (c_int32, [c_void_p, c_int64, c_uint64, c_void_p, POINTER(c_void_p)]),
    "saegeo_scorer_free": (None, [c_void_p]),
    "saegeo_result_samples": (c_int64, [c_void_p]),
    "saegeo_result_copy": (None, [c_void_p, POINTER(c_double), _I64P]),
    "saegeo_result_explain_json": (c_int32, [c_void_p, POINTER(c_void_p)]),
    "saegeo_result_summary_json": (c_int32, [c_void_p, POINTER(c_void_p)]),
    "saegeo_result_free": (None, [c_void_p]),
    "saegeo_contrast_new": (c_int32, [c_void_p, c_char_p, c_char_p, c_int32, c_int64, POINTER(c_void_p)]),
    "saegeo_contrast_add": (c_int32, [c_void_p, c_int32, c_void_p, c_int32, c_int64, c_int64, _I64P,
                                      c_int64, c_void_p, PROGRESS_FN, c_void_p]),
    "saegeo_contrast_finish": (c_int32, [c_void_p, _I64P, c_int64, c_int64, c_int64, c_uint64,
                                         c_void_p, POINTER(c_void_p)]),
    "saegeo_contrast_free": (None, [c_void_p]),
}


def library_path():
    """Where the library is: $SAEGEO_LIBRARY, else the one shipped inside the package."""
    return os.environ.get("SAEGEO_LIBRARY") or os.path.join(os.path.dirname(__file__), "_lib", "libsaegeo.so")


def _load():
    lib = ctypes.CDLL(library_path())
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


lib = _load()


def take_string(pointer):
    """A char * the library malloc'd: decoded, then freed with saegeo_free_string."""
    if not pointer:
        return ""
    try:
        return ctypes.string_at(pointer).decode("utf-8")
    finally:
        lib.saegeo_free_string(pointer)


def int64_pointer(array):
    """A pointer to an int64 C-contiguous numpy array, or NULL for None."""
    return None if array is None else array.ctypes.data_as(_I64P)
