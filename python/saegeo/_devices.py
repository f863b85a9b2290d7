"""The compute devices SaegeoCore sees, as `saegeo devices --json` lists them."""
import ctypes
import json

from ._call import check
from ._lib import lib, take_string


class Device:
    """One device: .name is what device= takes ('opencl:0', 'cpu'), .kind 'gpu', 'cpu', ...,
    .memory its memory in bytes, .description the driver's name; .info the whole JSON object."""

    def __init__(self, info):
        self.info = info
        self.name = info["id"]
        self.kind = info.get("type")
        self.memory = int(info.get("memory", info.get("global_memory_bytes", 0)))
        self.description = info.get("name")

    def __repr__(self):
        return f"<saegeo.Device {self.name}: {self.kind}, {self.memory} bytes, {self.description}>"


def devices():
    """The devices, OpenCL first, then the CPU:

    >>> [(d.name, d.kind) for d in saegeo.devices()]
    [('opencl:0', 'gpu'), ('cpu', 'cpu')]
    """
    text = ctypes.c_void_p()
    check(lib.saegeo_devices_json(ctypes.byref(text)))
    return [Device(info) for info in json.loads(take_string(text))]
