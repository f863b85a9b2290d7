"""version, devices() and open_sae against the CLI (`--version`, `devices --json`, `inspect --json`)."""
import json

import pytest

import saegeo
from conftest import FIXTURES, error_line, run_cli

FIXTURE_CHECKPOINTS = [
    FIXTURES / "families" / "goodfire" / "Test-SAE-l3-f32.pth",
    FIXTURES / "families" / "goodfire" / "Test-SAE-l3-bf16.pth",
    FIXTURES / "families" / "dictionary-learning" / "resid_post_layer_3" / "trainer_0" / "ae.pt",
    FIXTURES / "families" / "qwen-scope" / "SAE-Res-Test-W1K-L0_5" / "layer3.sae.pt",
    FIXTURES / "torch" / "sae_zip.pt",
    FIXTURES / "torch" / "sae_legacy.pt",
]


def test_version_is_the_cli_version(cli):
    _, out, _ = run_cli(cli, "--version")
    assert saegeo.__version__ == out.strip()


def test_devices_as_the_cli_lists_them(cli):
    _, out, _ = run_cli(cli, "devices", "--json")
    listed = json.loads(out)
    found = saegeo.devices()
    assert [device.name for device in found] == [entry["id"] for entry in listed]
    assert found[-1].name == "cpu" and found[-1].memory > 0
    assert all(device.kind == entry["type"] for device, entry in zip(found, listed))


def _inspected(cli, path, *args):
    _, out, _ = run_cli(cli, "inspect", path, "--json", *args)
    return json.loads(out)


def test_open_generated_sae(cli, job):
    sae = job.open()
    expected = _inspected(cli, job.sae_path)
    assert (sae.d_sae, sae.d_model) == (512, 64) == (expected["d_sae"], expected["d_model"])
    assert (sae.family, sae.architecture, sae.dtype) == (expected["format"], expected["architecture"], expected["dtype"])
    assert sae.family == "saelens" and sae.architecture == "jumprelu"


@pytest.mark.parametrize("path", FIXTURE_CHECKPOINTS, ids=lambda path: path.name)
def test_open_fixture_checkpoints(cli, path):
    expected = _inspected(cli, path)
    sae = saegeo.open_sae(path)
    assert (sae.d_sae, sae.d_model, sae.family, sae.architecture, sae.dtype) == (
        expected["d_sae"], expected["d_model"], expected["format"], expected["architecture"], expected["dtype"])


def test_forced_format(cli):
    path = FIXTURES / "families" / "dictionary-learning" / "resid_post_layer_3" / "trainer_1" / "ae.pt"
    sae = saegeo.open_sae(path, format="dictionary-learning")
    assert sae.family == "dictionary-learning" == _inspected(cli, path, "--format", "dictionary-learning")["format"]


def test_missing_file_raises_the_cli_message(cli, tmp_path):
    missing = tmp_path / "absent"
    code, _, err = run_cli(cli, "inspect", missing, check=False)
    assert code != 0
    with pytest.raises(saegeo.SaegeoError) as raised:
        saegeo.open_sae(missing)
    assert str(raised.value) == error_line(err)


def test_hostile_pickle_is_a_bad_file_with_the_cli_message(cli):
    hostile = FIXTURES / "torch" / "hostile_eval_zip.pt"
    _, _, err = run_cli(cli, "inspect", hostile, check=False)
    with pytest.raises(saegeo.BadFile) as raised:
        saegeo.open_sae(hostile)
    assert str(raised.value) == error_line(err)
    assert "builtins.eval" in str(raised.value)


def test_closed_sae_is_a_usage_error(job):
    sae = job.open()
    sae.close()
    with pytest.raises(saegeo.UsageError):
        saegeo.neighbors(sae, k=2)


def test_error_kinds_are_saegeo_errors():
    for kind in (saegeo.BadInput, saegeo.BadFile, saegeo.IOError, saegeo.DeviceError, saegeo.UsageError):
        assert issubclass(kind, saegeo.SaegeoError)
    assert issubclass(saegeo.IOError, OSError)
