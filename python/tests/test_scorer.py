"""Scorer and score(): streaming in uneven batches equals one shot, equals `saegeo score` and a
float64 numpy reference; float16 input; explain and summary as the CLI's."""
import numpy as np
import pytest

import saegeo
from scoring import assert_same_numbers, cli_score, reference_score

NULL_SETS = 64


def _streamed(job, cuts, **options):
    """Scores job's activations in batches cut at these sample indices."""
    scorer = saegeo.Scorer(job.open(), toxic=job.toxic, device="cpu", null_sets=NULL_SETS, **options)
    samples = len(job.offsets) - 1
    for first, last in zip([0, *cuts], [*cuts, samples]):
        rows = job.activations[job.offsets[first]:job.offsets[last]]
        scorer.add(rows, job.offsets[first:last + 1] - job.offsets[first])
    return scorer.finish()


def test_one_shot_equals_cli_and_reference(cli, job, tmp_path):
    result = saegeo.score(job.open(), job.toxic, job.activations, job.offsets, device="cpu", null_sets=NULL_SETS)
    assert result.scores.dtype == np.float64 and result.active.dtype == np.int64
    assert len(result.scores) == len(job.offsets) - 1 == 40
    scores, active, summary, _ = cli_score(cli, tmp_path, job, job.activations, job.offsets,
                                           "--null-sets", NULL_SETS)
    np.testing.assert_allclose(result.scores, scores, rtol=1e-6)
    assert np.array_equal(result.active, active)
    assert_same_numbers(result.summary, summary)
    ref_scores, ref_active, ambiguous = reference_score(job, job.activations, job.offsets)
    assert ambiguous.sum() <= 4
    np.testing.assert_allclose(result.scores[~ambiguous], ref_scores[~ambiguous], rtol=1e-5)
    assert np.array_equal(result.active[~ambiguous], ref_active[~ambiguous])
    assert result.scores.max() > result.scores.min() > 0


def test_bfloat16_scores_equal_float32s(job):
    f32 = saegeo.score(job.open(), job.toxic, job.activations, job.offsets, device="cpu", null_sets=0,
                       precision="float32")
    bf16 = saegeo.score(job.open(), job.toxic, job.activations, job.offsets, device="cpu", null_sets=0,
                        precision="bfloat16")
    np.testing.assert_allclose(bf16.scores, f32.scores, rtol=1e-6)
    assert np.array_equal(bf16.active, f32.active)
    with pytest.raises(saegeo.BadInput, match="precision must be"):
        saegeo.Scorer(job.open(), toxic=job.toxic, precision="fp32")


def test_gemma_scope_params_npz_scores_as_the_saelens_folder(job, tmp_path):
    """generate's SAE has Gemma Scope's tensor names and encoder (no b_dec on the input)."""
    npz = tmp_path / "layer_20" / "width_1k" / "average_l0_50" / "params.npz"
    npz.parent.mkdir(parents=True)
    np.savez(npz, **job.weights)
    gemma = saegeo.open_sae(npz)
    assert gemma.family == "gemma-scope" and (gemma.d_sae, gemma.d_model) == (512, 64)
    a = saegeo.score(gemma, job.toxic, job.activations, job.offsets, device="cpu", null_sets=0)
    b = saegeo.score(job.open(), job.toxic, job.activations, job.offsets, device="cpu", null_sets=0)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    assert np.array_equal(a.active, b.active)


def test_uneven_batches_equal_one_shot(job):
    whole = _streamed(job, [])
    for cuts in ([1], [3, 4, 17, 39], list(range(1, 40))):
        streamed = _streamed(job, cuts)
        np.testing.assert_allclose(streamed.scores, whole.scores, rtol=1e-6)
        assert np.array_equal(streamed.active, whole.active)
        assert_same_numbers(streamed.summary, whole.summary)


def test_one_sample_per_row_without_offsets(cli, job, tmp_path):
    rows = job.activations[:25]
    result = saegeo.score(job.open(), job.toxic, rows, device="cpu", null_sets=NULL_SETS)
    scores, active, _, _ = cli_score(cli, tmp_path, job, rows, None, "--null-sets", NULL_SETS)
    assert len(result.scores) == 25
    np.testing.assert_allclose(result.scores, scores, rtol=1e-6)
    assert np.array_equal(result.active, active)


def test_float16_input_scores_its_float32_values(job):
    half = job.activations.astype(np.float16)
    from_half = saegeo.score(job.open(), job.toxic, half, job.offsets, device="cpu", null_sets=0)
    widened = saegeo.score(job.open(), job.toxic, half.astype(np.float32), job.offsets, device="cpu", null_sets=0)
    np.testing.assert_allclose(from_half.scores, widened.scores, rtol=1e-6)
    assert np.array_equal(from_half.active, widened.active)


def test_non_contiguous_input_equals_contiguous(job):
    wide = np.zeros((job.activations.shape[0], 128), dtype=np.float32)
    wide[:, ::2] = job.activations
    strided = wide[:, ::2]
    assert not strided.flags.c_contiguous
    a = saegeo.score(job.open(), job.toxic, strided, job.offsets, device="cpu", null_sets=0)
    b = saegeo.score(job.open(), job.toxic, job.activations, job.offsets, device="cpu", null_sets=0)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    assert np.array_equal(a.active, b.active)


def test_explain_as_the_cli_jsonl(cli, job, tmp_path):
    result = saegeo.score(job.open(), job.toxic, job.activations, job.offsets, device="cpu", explain=3,
                          null_sets=NULL_SETS)
    _, _, _, lines = cli_score(cli, tmp_path, job, job.activations, job.offsets, "--null-sets", NULL_SETS,
                               explain=3)
    assert len(result.explain) == len(lines)
    for mine, theirs in zip(result.explain, lines):
        assert [entry["feature"] for entry in mine] == [entry["feature"] for entry in theirs["explain"]]
        assert_same_numbers(mine, theirs["explain"], rtol=1e-6, path="explain")
    assert saegeo.score(job.open(), job.toxic, job.activations, job.offsets, null_sets=0).explain is None


def test_finished_scorer_refuses_more(job):
    scorer = saegeo.Scorer(job.open(), job.toxic, device="cpu", null_sets=0)
    scorer.add(job.activations[:9], [0, 4, 9])
    assert len(scorer.finish().scores) == 2
    with pytest.raises(saegeo.UsageError):
        scorer.add(job.activations[:9])
    with pytest.raises(saegeo.UsageError):
        scorer.finish()
