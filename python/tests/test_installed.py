"""The wheel as installed (scripts/python-test.sh sets SAEGEO_INSTALLED_TEST=1): imported from the
venv's site-packages, working with no Swift toolchain on PATH and a bare environment, and its
`saegeo` console command running the bundled CLI."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import saegeo

pytestmark = pytest.mark.skipif(os.environ.get("SAEGEO_INSTALLED_TEST") != "1",
                                reason="only in scripts/python-test.sh's venv with the wheel")


def test_imported_from_the_venv_not_the_source_tree():
    assert Path(saegeo.__file__).resolve().is_relative_to(Path(sys.prefix).resolve())
    assert "site-packages" in saegeo.__file__


def test_no_swift_on_path():
    assert shutil.which("swift") is None and shutil.which("swiftc") is None


def test_bare_environment_import_and_score(job):
    code = ("import saegeo, numpy as np; sae = saegeo.open_sae(__import__('sys').argv[1]); "
            "idx, cos = saegeo.neighbors(sae, k=2, queries=[0]); "
            "r = saegeo.score(sae, [1, 2], np.ones((3, sae.d_model), np.float32), null_sets=0); "
            "print(saegeo.__version__, idx.shape, len(r.scores), [d.name for d in saegeo.devices()][-1])")
    done = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", sys.executable, "-c", code, str(job.sae_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [saegeo.__version__, "(1,", "2)", "3", "cpu"]


def test_console_command_runs_the_bundled_cli():
    command = Path(sys.executable).parent / "saegeo"
    done = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", str(command), "devices"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "cpu" in done.stdout
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == saegeo.__version__
    missing = subprocess.run([str(command), "inspect", "/nonexistent/sae"], capture_output=True, text=True)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_bundled_library_and_command_need_no_swift_runtime():
    package = Path(saegeo.__file__).parent
    for built in (package / "_lib" / "libsaegeo.so", package / "bin" / "saegeo"):
        linked = subprocess.run(["ldd", str(built)], capture_output=True, text=True).stdout
        assert "not found" not in linked, linked
        assert not any(name in linked for name in ("libswift", "libFoundation", "libdispatch", "/opt/swift")), linked
