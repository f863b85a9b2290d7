"""Writes the PyTorch checkpoint fixtures of TorchPickleTests (run from anywhere):

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python Tests/Fixtures/torch/make_fixtures.py

Good checkpoints are written by torch.save itself, in both container formats (the default zip
and `_use_new_zipfile_serialization=False` legacy). For each, the expected values come from
numpy, not from saegeo's reader: `<name>.expected.npz` holds a float64 copy of every tensor (in
logical, row-major order) and `<name>.expected.json` the non-tensor values, each tensor's dtype,
shape and layout, and the torch version that wrote them.

Hostile files (hostile_*) are written by hand with pickle opcodes, or by torch.save /
pickle.dump of an object whose __reduce__ names a dangerous callable. Nothing here is ever
loaded with torch.load or pickle.load.
"""
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20240611)


def out(name):
    return os.path.join(HERE, name)


# ---------------------------------------------------------------------------------------------
# Good checkpoints


def sae_state():
    """An SAE state dict as OpenAI's sparse_autoencoder saves it: F32 weights, nested config."""
    d_model, d_sae = 6, 10
    enc = torch.nn.Linear(d_model, d_sae)
    state = collections.OrderedDict()
    state["pre_bias"] = torch.randn(d_model)
    state["latent_bias"] = torch.randn(d_sae)
    state["encoder.weight"] = enc.weight.detach().clone()          # [d_sae, d_model]
    state["decoder.weight"] = torch.randn(d_model, d_sae)          # [d_model, d_sae]
    state["stats_last_nonzero"] = torch.tensor([7], dtype=torch.int64)   # 1-element int64 buffer
    state["activation"] = "TopK"
    state["activation_state_dict"] = {"k": 32, "postact_fn": "ReLU"}
    state["config"] = {"lr": 1.5e-4, "normalize": True, "note": None, "layers": [3, -70000, 2**40]}
    return state


def mixed_state():
    """Half and bfloat16 weights, nn.Parameter values, nested dicts and lists of tensors."""
    tagged = torch.nn.Parameter(torch.randn(3))
    tagged.tag = "kept in the parameter's state"       # written with _rebuild_parameter_with_state
    return {
        "tagged": tagged,
        "w_f16": torch.randn(4, 3).half(),
        "w_bf16": torch.randn(3, 5).bfloat16(),
        "param": torch.nn.Parameter(torch.randn(2, 4)),
        "frozen": torch.nn.Parameter(torch.randn(3), requires_grad=False),
        "blocks": [{"scale": torch.tensor(0.125)}, {"scale": torch.tensor(-2.0, dtype=torch.float64)}],
        "threshold": torch.tensor([0.5, 1.25], dtype=torch.float16),
        "ints": {"i32": torch.tensor([-3, 9], dtype=torch.int32), "i16": torch.tensor([300], dtype=torch.int16),
                 "i8": torch.tensor([-7], dtype=torch.int8), "u8": torch.tensor([200], dtype=torch.uint8),
                 "flags": torch.tensor([True, False, True])},
        "step": 12345,
        "beta": 0.9,
        "name": "mixed \u00e9t\u00e9",
    }


def views_state():
    """Views: a transposed matrix, an offset slice, two tensors on one storage, a strided one."""
    big = torch.arange(24, dtype=torch.float32) * 0.5 - 3
    base = torch.randn(5, 3)
    return collections.OrderedDict([
        ("transposed", base.t()),                 # [3, 5], stride (1, 3): column-major
        ("offset", big[3:10]),                    # storage offset 3
        ("shared_a", big[10:16].view(2, 3)),      # these two share big's storage
        ("shared_b", big[16:24]),
        ("base", base),                           # and this one shares base's with "transposed"
        ("strided", big[::2]),                    # stride 2: copied on first use
    ])


def layout(t):
    if t.is_contiguous():
        return "contiguous"
    if t.dim() == 2 and t.stride() == (1, t.shape[0]):
        return "columnMajor"
    return "strided"


DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def flatten(value, name, tensors, values):
    if isinstance(value, torch.Tensor):
        tensors[name] = value
    elif isinstance(value, dict):
        for k, v in value.items():
            flatten(v, f"{name}.{k}" if name else str(k), tensors, values)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            flatten(v, f"{name}.{i}" if name else str(i), tensors, values)
    elif value is None:
        values[name] = ["none", None]
    elif isinstance(value, bool):
        values[name] = ["bool", value]
    elif isinstance(value, int):
        values[name] = ["int", value]
    elif isinstance(value, float):
        values[name] = ["double", value]
    elif isinstance(value, str):
        values[name] = ["string", value]


def write_good(stem, state):
    tensors, values = {}, {}
    flatten(state, "", tensors, values)
    expected = {name: t.detach().to(torch.float64).contiguous().numpy() for name, t in tensors.items()}
    np.savez(out(f"{stem}.expected.npz"), **expected)
    meta = {
        "torch": torch.__version__,
        "values": values,
        "tensors": {name: {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "layout": layout(t)}
                    for name, t in tensors.items()},
    }
    with open(out(f"{stem}.expected.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    torch.save(state, out(f"{stem}_zip.pt"))
    torch.save(state, out(f"{stem}_legacy.pt"), _use_new_zipfile_serialization=False)


# ---------------------------------------------------------------------------------------------
# Hostile files

P2 = b"\x80\x02"


def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def torch_zip(path, data_pkl, records=()):
    """A zip laid out like torch.save's: <top>/data.pkl, <top>/data/<key>, byteorder, version."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("hostile/data.pkl", data_pkl)
        z.writestr("hostile/byteorder", "little")
        for key, data in records:
            z.writestr(f"hostile/data/{key}", data)
        z.writestr("hostile/version", "3\n")


class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def tensor_pickle(numel, offset, size, stride):
    """A state dict {'w': tensor} on FloatStorage key '0', with the view given."""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    return (P2 + b"ccollections\nOrderedDict\n)R(" + unicode("w")
            + b"ctorch._utils\n_rebuild_tensor_v2\n(("
            + unicode("storage") + b"ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu")
            + b"J" + struct.pack("<i", numel) + b"tQ"
            + b"J" + struct.pack("<i", offset) + tup(size) + tup(stride)
            + b"\x89ccollections\nOrderedDict\n)RtRu.")


def write_hostile():
    # What real attacks look like: a raw pickle named .pt whose first global is os.system, ...
    with open(out("hostile_os_system.pt"), "wb") as f:
        f.write(P2 + b"cos\nsystem\n" + unicode("echo pwned") + b"\x85R.")
    # ... torch.save of an object whose __reduce__ is builtins.eval (zip) or subprocess.Popen
    # (legacy), and pickle.dump of posix.system under protocol 4 (STACK_GLOBAL, FRAME, MEMOIZE).
    torch.save({"w": torch.ones(2), "x": Reduce(eval, ("1+1",))}, out("hostile_eval_zip.pt"))
    torch.save({"x": Reduce(subprocess.Popen, (["true"],))}, out("hostile_popen_legacy.pt"),
               _use_new_zipfile_serialization=False)
    with open(out("hostile_posix_system_p4.pt"), "wb") as f:
        pickle.dump(Reduce(os.system, ("true",)), f, protocol=4)
    # A global outside the list that real checkpoints do contain: a numpy array.
    torch.save({"w": torch.ones(2), "arr": np.arange(3)}, out("hostile_numpy_global_zip.pt"))
    # An allowed global called in a way torch.save never does.
    torch_zip(out("hostile_call_storage_zip.pt"), P2 + b"ctorch\nFloatStorage\n)R.")
    # Deep nesting: 20000 nested lists (the tests build deeper ones in memory); 20000 nested MARKs.
    n = 20_000
    torch_zip(out("hostile_deep_list_zip.pt"), P2 + b"]" * n + b"a" * (n - 1) + b".")
    torch_zip(out("hostile_deep_marks_zip.pt"), P2 + b"(" * 20_000 + b"N.")
    # A list appended into itself, and a dict that is its own value.
    torch_zip(out("hostile_self_list_zip.pt"), P2 + b"]q\x00h\x00a.")
    torch_zip(out("hostile_self_dict_zip.pt"), P2 + b"}q\x00" + unicode("me") + b"h\x00s.")
    # "Billion laughs": each list holds the previous one twice, 64 levels.
    body = P2 + b"]q\x00"
    for i in range(1, 65):
        body += b"h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"\x86" + b"q" + bytes([i])
    torch_zip(out("hostile_laughs_zip.pt"), body + b".")
    # A BINUNICODE8 length far past the end, and a pickle without STOP.
    torch_zip(out("hostile_huge_string_zip.pt"), P2 + b"\x8d" + struct.pack("<Q", 2**62) + b"abc")
    torch_zip(out("hostile_no_stop_zip.pt"), P2 + b"}(" + unicode("a") + b"K\x01u")
    # A storage whose declared size runs past its record, and a view past its storage.
    floats = struct.pack("<4f", 1, 2, 3, 4)
    torch_zip(out("hostile_storage_past_record_zip.pt"), tensor_pickle(1000, 0, [4], [1]), [("0", floats)])
    torch_zip(out("hostile_view_past_storage_zip.pt"), tensor_pickle(4, 2, [3], [1]), [("0", floats)])
    torch_zip(out("hostile_missing_storage_zip.pt"), tensor_pickle(4, 0, [4], [1]))
    # Legacy: the last storage's element count made huge, and the file cut short.
    buffer = io.BytesIO()
    torch.save({"a": torch.ones(3), "b": torch.zeros(2)}, buffer, _use_new_zipfile_serialization=False)
    legacy = bytearray(buffer.getvalue())
    # The keys are sorted memory addresses, so either storage may come last.
    last = next(len(legacy) - n * 4 - 8 for n in (2, 3)
                if struct.unpack("<q", legacy[len(legacy) - n * 4 - 8:len(legacy) - n * 4])[0] == n)
    legacy[last:last + 8] = struct.pack("<q", 2**40)
    with open(out("hostile_storage_past_end_legacy.pt"), "wb") as f:
        f.write(legacy)
    with open(out("hostile_truncated_legacy.pt"), "wb") as f:
        f.write(buffer.getvalue()[:-5])
    # Zip: cut in the middle (no central directory).
    with open(out("sae_zip.pt"), "rb") as f:
        whole = f.read()
    with open(out("hostile_truncated_zip.pt"), "wb") as f:
        f.write(whole[: len(whole) // 2])


if __name__ == "__main__":
    write_good("sae", sae_state())
    write_good("mixed", mixed_state())
    write_good("views", views_state())
    write_hostile()
    print("torch", torch.__version__, "numpy", np.__version__)
