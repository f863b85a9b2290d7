"""Activations and id lists as the library reads them, checked before any work.

Activations: a 2-D [tokens, d_model] numpy array (float32, float16) or a CPU torch tensor (float32,
float16, bfloat16; torch is imported only when such a tensor is given). A C-contiguous array is
passed in place; another layout is copied in bounded chunks of whole samples (Batches). bfloat16
travels as its raw 16-bit words with dtype code 2."""
import sys

import numpy as np

from ._errors import BadInput

FLOAT32, FLOAT16, BFLOAT16 = 0, 1, 2
_NUMPY_CODES = {np.dtype(np.float32): FLOAT32, np.dtype(np.float16): FLOAT16}
CHUNK_BYTES = 64 << 20   # the most one converted chunk of a non-contiguous input holds


def _from_torch(tensor):
    """(numpy view, dtype code) of a CPU torch tensor, sharing its memory where contiguous."""
    import torch  # only reached with a torch tensor in hand
    if tensor.device.type != "cpu":
        raise BadInput(f"activations are on {tensor.device}; move them to the CPU (tensor.cpu()) first")
    tensor = tensor.detach()
    codes = {torch.float32: FLOAT32, torch.float16: FLOAT16, torch.bfloat16: BFLOAT16}
    if tensor.dtype not in codes:
        raise BadInput(f"activations must be float32, float16 or bfloat16, not {tensor.dtype}")
    code = codes[tensor.dtype]
    if code == BFLOAT16:
        return tensor.view(torch.int16).numpy().view(np.uint16), code
    return tensor.numpy(), code


def _is_torch_tensor(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def activations(value, d_model):
    """(numpy array [tokens, d_model], dtype code) for the library, or BadInput."""
    if _is_torch_tensor(value):
        array, code = _from_torch(value)
    elif isinstance(value, np.ndarray):
        if value.dtype not in _NUMPY_CODES:
            raise BadInput(f"activations must be float32 or float16 (or a bfloat16 torch tensor), not {value.dtype}")
        array, code = value, _NUMPY_CODES[value.dtype]
    else:
        raise BadInput(f"activations must be a numpy array or a CPU torch tensor, not {type(value).__name__}")
    if array.ndim != 2 or array.shape[1] != d_model:
        raise BadInput(f"activations must be [tokens, d_model = {d_model}], not {list(array.shape)}")
    return array, code


def offsets(value, rows):
    """int64 C-contiguous sample boundaries (len samples + 1, 0 to rows), or None for one sample per
    row. The library checks the values, with the CLI's messages."""
    if value is None:
        return None
    if _is_torch_tensor(value):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.ndim != 1 or array.size < 1 or array.dtype.kind not in "iu":
        raise BadInput(f"offsets must be a 1-D integer array of samples + 1 boundaries, not {array.dtype} {list(array.shape)}")
    return np.ascontiguousarray(array, dtype=np.int64)


def batches(array, sample_offsets):
    """(rows, offsets) pieces to hand to the library: the array itself when C-contiguous, else
    copies of at most CHUNK_BYTES of whole samples each (a sample never splits)."""
    if array.flags.c_contiguous:
        yield array, sample_offsets
        return
    rows = array.shape[0]
    if sample_offsets is not None and (sample_offsets[0] != 0 or sample_offsets[-1] != rows
                                       or np.any(np.diff(sample_offsets) < 0)):
        raise BadInput(f"offsets must rise from 0 to the batch's {rows} rows")
    bounds = sample_offsets if sample_offsets is not None else np.arange(rows + 1, dtype=np.int64)
    row_bytes = max(1, array.shape[1] * array.itemsize)
    first = 0
    while first < len(bounds) - 1:
        last = first + 1
        while last < len(bounds) - 1 and (bounds[last + 1] - bounds[first]) * row_bytes <= CHUNK_BYTES:
            last += 1
        start, stop = int(bounds[first]), int(bounds[last])
        piece = np.ascontiguousarray(array[start:stop])
        piece_offsets = None if sample_offsets is None else bounds[first:last + 1] - start
        yield piece, piece_offsets
        first = last


def ids(value, what):
    """int64 C-contiguous feature ids, or None for None (all)."""
    if value is None:
        return None
    if _is_torch_tensor(value):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value if isinstance(value, np.ndarray) else list(value))
    except TypeError:
        raise BadInput(f"{what} must be a sequence of integer feature ids, not {value!r}") from None
    if array.size == 0:
        array = array.astype(np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise BadInput(f"{what} must be a sequence of integer feature ids")
    return np.ascontiguousarray(array, dtype=np.int64)
