"""Inputs: torch tensors (float32, bfloat16), wrong dtypes and shapes refused before any work, bad
ids, offsets and non-finite rows raising SaegeoError with the CLI's message."""
import numpy as np
import pytest

import saegeo
from conftest import error_line, run_cli, write_safetensors
from scoring import cli_score


def _scorer(job, **options):
    return saegeo.Scorer(job.open(), job.toxic, device="cpu", null_sets=0, **options)


@pytest.mark.parametrize("bad", [
    lambda x: x.astype(np.float64),
    lambda x: x.astype(np.int32),
    lambda x: x[:, :63],
    lambda x: x[0],
    lambda x: x[None],
    lambda x: x.tolist(),
], ids=["float64", "int32", "narrow", "1-D", "3-D", "list"])
def test_wrong_dtype_or_shape_is_refused_before_any_work(job, bad):
    scorer = _scorer(job)
    with pytest.raises(saegeo.BadInput):
        scorer.add(bad(job.activations[:18]), None)
    # Nothing was added: the scorer goes on as if the bad batch never came.
    scorer.add(job.activations[:18], job.offsets[:3])
    clean = _scorer(job).add(job.activations[:18], job.offsets[:3]).finish()
    result = scorer.finish()
    assert np.array_equal(result.scores, clean.scores) and len(result.scores) == 2


def test_offsets_not_reaching_the_rows_raise_the_library_message(job):
    scorer = _scorer(job)
    with pytest.raises(saegeo.BadInput) as raised:
        scorer.add(job.activations[:18], [0, 9, 17])
    assert str(raised.value)
    scorer.add(job.activations[:18], [0, 9, 18])
    assert len(scorer.finish().scores) == 2


def test_out_of_range_toxic_id_raises_the_cli_message(cli, job, tmp_path):
    toxic = tmp_path / "toxic.txt"
    toxic.write_text("7\n5000\n")
    write_safetensors(tmp_path / "a.safetensors", {"activations": job.activations[:4]})
    _, _, err = run_cli(cli, "score", "--sae", job.sae_path, "--toxic", toxic, "--activations",
                        tmp_path / "a.safetensors", "-o", tmp_path / "s.jsonl", check=False)
    with pytest.raises(saegeo.BadInput) as raised:
        saegeo.Scorer(job.open(), [7, 5000])
    assert "5000" in str(raised.value)
    tail = str(raised.value).split("5000", 1)[1]
    assert error_line(err).endswith(tail), (str(raised.value), error_line(err))


def test_non_finite_rows_refused_or_skipped_as_the_cli(cli, job, tmp_path):
    rows = job.activations[:18].copy()
    rows[4, 3] = np.nan
    offsets = job.offsets[:3]
    write_safetensors(tmp_path / "a.safetensors", {"activations": rows, "offsets": offsets})
    code, _, err = run_cli(cli, "score", "--sae", job.sae_path, "--toxic", job.folder / "toxic.txt",
                           "--activations", tmp_path / "a.safetensors", "--offsets", "offsets",
                           "-o", tmp_path / "s.jsonl", check=False)
    assert code != 0
    scorer = _scorer(job)
    with pytest.raises(saegeo.BadInput) as raised:
        scorer.add(rows, offsets)
    assert error_line(err).endswith(str(raised.value).split(":", 1)[-1].strip()) or \
        str(raised.value).endswith(error_line(err).split(":", 1)[-1].strip()), (str(raised.value), error_line(err))
    skipped = saegeo.score(job.open(), job.toxic, rows, offsets, device="cpu", null_sets=0, skip_nonfinite=True)
    scores, active, _, _ = cli_score(cli, tmp_path, job, rows, offsets, "--skip-nonfinite", "--null-sets", 8)
    np.testing.assert_allclose(skipped.scores, scores, rtol=1e-6)
    assert np.array_equal(skipped.active, active)


def test_torch_float32_and_bfloat16(job):
    torch = pytest.importorskip("torch")
    sae = job.open()
    tensor = torch.from_numpy(job.activations.copy())
    offsets = torch.from_numpy(job.offsets.copy())
    from_torch = saegeo.score(sae, job.toxic, tensor, offsets, device="cpu", null_sets=0)
    from_numpy = saegeo.score(sae, job.toxic, job.activations, job.offsets, device="cpu", null_sets=0)
    np.testing.assert_allclose(from_torch.scores, from_numpy.scores, rtol=1e-6)
    assert np.array_equal(from_torch.active, from_numpy.active)

    brain = tensor.to(torch.bfloat16)
    from_bf16 = saegeo.score(sae, job.toxic, brain, offsets, device="cpu", null_sets=0)
    widened = saegeo.score(sae, job.toxic, brain.float().numpy(), job.offsets, device="cpu", null_sets=0)
    np.testing.assert_allclose(from_bf16.scores, widened.scores, rtol=1e-6)
    assert np.array_equal(from_bf16.active, widened.active)
    assert not np.array_equal(from_bf16.scores, from_numpy.scores)  # bfloat16 really rounded the input

    grad = tensor.clone().requires_grad_(True)
    assert np.array_equal(saegeo.score(sae, job.toxic, grad, offsets, device="cpu", null_sets=0).active,
                          from_numpy.active)
    with pytest.raises(saegeo.BadInput):
        saegeo.score(sae, job.toxic, tensor.double(), offsets, device="cpu", null_sets=0)


def test_contiguous_float32_is_read_in_place(job, monkeypatch):
    """No copy: the pointer handed to the library is the array's own."""
    from saegeo import _scorer
    seen = []
    real = _scorer.lib.saegeo_scorer_add

    class Spy:
        def __getattr__(self, name):
            return getattr(real_lib, name)

        @staticmethod
        def saegeo_scorer_add(handle, rows, *rest):
            seen.append(rows)
            return real(handle, rows, *rest)

    real_lib = _scorer.lib
    monkeypatch.setattr(_scorer, "lib", Spy())
    scorer = _scorer.Scorer(job.open(), job.toxic, device="cpu", null_sets=0)
    scorer.add(job.activations, job.offsets)
    assert seen == [job.activations.ctypes.data]
    scorer.close()
