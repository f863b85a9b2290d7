"""Options shared by the calls, in the forms the library takes."""
import re

from ._errors import BadInput

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


def memory_budget(value):
    """Bytes (int) or a size like '512MiB' / '4GiB' as --memory-budget takes; None -> -1 (none)."""
    if value is None:
        return -1
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise BadInput(f"memory_budget must be positive, not {value}")
        return value
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise BadInput(f"memory_budget must be bytes or a size such as 512MiB or 4GiB, not {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def device(value):
    """'auto', 'cpu', 'opencl:0', 'cpu,opencl:0', ... as bytes (a Device's name works too)."""
    name = getattr(value, "name", value)
    if not isinstance(name, str):
        raise BadInput(f"device must be a string such as 'auto', 'cpu' or 'opencl:0', not {value!r}")
    return name.encode()


_PRECISIONS = ("auto", "float32", "bfloat16")


def precision(value):
    """'auto', 'float32' or 'bfloat16' (as --precision takes) as bytes."""
    if value not in _PRECISIONS:
        raise BadInput(f"precision must be 'auto', 'float32' or 'bfloat16', not {value!r}")
    return value.encode()
