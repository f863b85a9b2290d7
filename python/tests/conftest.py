"""Shared fixtures: the CLI to compare with, generated jobs, a safetensors reader (numpy only).

The CLI is $SAEGEO_CLI, else the `saegeo` on PATH (the wheel's entry point in the test venv)."""
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import saegeo

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "Fixtures"
_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """{name: numpy array} from a .safetensors file: 8-byte header length, JSON header, raw bytes."""
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, stop = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[start:stop], dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors


def write_safetensors(path, tensors):
    names = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("SAEGEO_CLI") or shutil.which("saegeo")
    assert path, "no saegeo CLI: set SAEGEO_CLI or install the wheel"
    return path


def run_cli(cli, *args, check=True):
    """(returncode, stdout, stderr) of the CLI."""
    done = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"saegeo {' '.join(map(str, args))} failed: {done.stderr}")
    return done.returncode, done.stdout, done.stderr


class Job:
    """A `saegeo generate` folder, with its arrays read back."""

    def __init__(self, folder):
        self.folder = folder
        self.sae_path = folder / "sae"
        self.weights = read_safetensors(folder / "sae" / "sae_weights.safetensors")
        self.cfg = json.loads((folder / "sae" / "cfg.json").read_text())
        acts = read_safetensors(folder / "activations.safetensors")
        self.activations, self.offsets = np.array(acts["activations"]), np.array(acts["offsets"])
        self.toxic = [int(line) for line in (folder / "toxic.txt").read_text().split()]
        self.labelled_toxic = read_safetensors(folder / "labelled-toxic.safetensors")
        self.labelled_ordinary = read_safetensors(folder / "labelled-ordinary.safetensors")

    def open(self):
        return saegeo.open_sae(self.sae_path)


def make_job(cli, folder, **options):
    args = []
    for name, value in options.items():
        args += [f"--{name}", value]
    run_cli(cli, "generate", folder, *args)
    return Job(Path(folder))


@pytest.fixture(scope="session")
def job(cli, tmp_path_factory):
    return make_job(cli, tmp_path_factory.mktemp("job") / "job", features=512, dimension=64, samples=40, tokens=9, seed=1)


@pytest.fixture(scope="session")
def other_job(cli, tmp_path_factory):
    return make_job(cli, tmp_path_factory.mktemp("other") / "job", features=300, dimension=64, samples=5, seed=2)


def error_line(stderr):
    """The CLI's one-line message, without its 'saegeo: ' / 'Error: ' prefix."""
    line = [text for text in stderr.strip().splitlines() if text.strip()][-1]
    for prefix in ("saegeo: error: ", "saegeo: ", "Error: "):
        if line.startswith(prefix):
            return line[len(prefix):]
    return line
