"""Contrast against `saegeo contrast -o x.jsonl` (and its --summary's toxic measurement), streamed."""
import json

import numpy as np
import pytest

import saegeo
from conftest import run_cli
from scoring import assert_same_numbers


def _cli_contrast(cli, tmp_path, job, *extra):
    out, summary = tmp_path / "c.jsonl", tmp_path / "c.json"
    run_cli(cli, "contrast", "--sae", job.sae_path, "--activations", job.folder / "labelled-toxic.safetensors",
            "--offsets", "offsets", "--baseline", job.folder / "labelled-ordinary.safetensors",
            "--baseline-offsets", "offsets", "--device", "cpu", "-o", out, "--summary", summary, *extra)
    return [json.loads(line) for line in out.read_text().splitlines()], json.loads(summary.read_text())


def _add_in_batches(contrast, add, tensors, cuts):
    offsets = tensors["offsets"]
    samples = len(offsets) - 1
    for first, last in zip([0, *cuts], [*cuts, samples]):
        add(tensors["activations"][offsets[first]:offsets[last]], offsets[first:last + 1] - offsets[first])


def _assert_table_is_the_cli(table, rows):
    assert len(table) == len(rows) == 512
    assert list(table["feature"]) == [row["feature"] for row in rows]
    for name in rows[0]:
        mine, theirs = table[name], [row[name] for row in rows]
        if mine.dtype.kind == "f":
            np.testing.assert_allclose(mine, np.array(theirs, dtype=np.float64), rtol=1e-6, atol=1e-12, err_msg=name)
        else:
            assert list(mine) == theirs, name


@pytest.mark.parametrize("cuts", [[], [1, 50, 51, 199]], ids=["one-shot", "uneven"])
def test_ranked_table_equals_the_cli(cli, job, tmp_path, cuts):
    contrast = saegeo.Contrast(job.open(), device="cpu")
    _add_in_batches(contrast, contrast.add_a, job.labelled_toxic, cuts)
    _add_in_batches(contrast, contrast.add_b, job.labelled_ordinary, cuts[::-1][:1])
    table = contrast.finish()
    rows, _ = _cli_contrast(cli, tmp_path, job)
    _assert_table_is_the_cli(table, rows)
    assert table.toxic is None
    assert table["t"][0] > 0 > table["t"][-1]
    assert table["fires_a"].dtype == np.int64 and table["t"].dtype == np.float64


def test_toxic_measurement_equals_the_cli_summary(cli, job, tmp_path):
    contrast = saegeo.Contrast(job.open(), device="cpu")
    contrast.add_a(job.labelled_toxic["activations"], job.labelled_toxic["offsets"])
    contrast.add_b(job.labelled_ordinary["activations"], job.labelled_ordinary["offsets"])
    toxic_file = job.folder / "toxic.txt"
    table = contrast.finish(toxic=job.toxic, top=5, null_sets=50, seed=3)
    rows, summary = _cli_contrast(cli, tmp_path, job, "--toxic", toxic_file, "--top", 5, "--null-sets", 50,
                                  "--seed", 3)
    _assert_table_is_the_cli(table, rows)
    assert_same_numbers(table.toxic, summary["toxic"], path="toxic")


def test_paired_equals_the_cli(cli, job, tmp_path):
    a, b = job.labelled_toxic, job.labelled_ordinary
    contrast = saegeo.Contrast(job.open(), device="cpu", paired=True)
    contrast.add_a(a["activations"], a["offsets"]).add_b(b["activations"], b["offsets"])
    table = contrast.finish()
    rows, _ = _cli_contrast(cli, tmp_path, job, "--paired")
    _assert_table_is_the_cli(table, rows)


def test_to_pandas(job):
    pandas = pytest.importorskip("pandas")
    contrast = saegeo.Contrast(job.open(), device="cpu")
    contrast.add_a(job.labelled_toxic["activations"], job.labelled_toxic["offsets"])
    contrast.add_b(job.labelled_ordinary["activations"], job.labelled_ordinary["offsets"])
    frame = contrast.finish().to_pandas()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 512


def test_wrong_width_refused(job):
    contrast = saegeo.Contrast(job.open(), device="cpu")
    with pytest.raises(saegeo.BadInput):
        contrast.add_b(np.zeros((3, 65), dtype=np.float32))
