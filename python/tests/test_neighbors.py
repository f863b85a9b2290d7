"""neighbors: bit-identical to `saegeo neighbors` and to a float64 numpy reference."""
import numpy as np
import pytest

import saegeo
from conftest import error_line, read_safetensors, run_cli


def _cli_neighbors(cli, tmp_path, sae_path, k, *args):
    out = tmp_path / "n.safetensors"
    run_cli(cli, "neighbors", "--sae", sae_path, "-k", k, "-o", out, "--device", "cpu", *args)
    tensors = read_safetensors(out)
    return tensors["indices"], tensors["scores"]


def _ids_file(tmp_path, name, ids):
    path = tmp_path / name
    path.write_text("".join(f"{i}\n" for i in ids))
    return path


def _reference(queries_dec, keys_dec, query_ids, key_ids, k, exclude_self):
    """Cosines in float64, ranked by cosine descending then lower id, rounded to float32."""
    unit_q = queries_dec / np.linalg.norm(queries_dec, axis=1, keepdims=True)
    unit_k = keys_dec / np.linalg.norm(keys_dec, axis=1, keepdims=True)
    cos = unit_q @ unit_k.T
    idx = np.full((len(query_ids), k), -1, dtype=np.int64)
    val = np.full((len(query_ids), k), -np.inf, dtype=np.float32)
    for row, query in enumerate(query_ids):
        candidates = [(-cos[row, col], key) for col, key in enumerate(key_ids) if not (exclude_self and key == query)]
        for rank, (negative, key) in enumerate(sorted(candidates)[:k]):
            idx[row, rank], val[row, rank] = key, np.float32(-negative)
    return idx, val


def test_all_pairs_bit_identical_to_the_cli(cli, job, tmp_path):
    idx, cos = saegeo.neighbors(job.open(), k=16, device="cpu")
    cli_idx, cli_cos = _cli_neighbors(cli, tmp_path, job.sae_path, 16)
    assert idx.dtype == np.int64 and cos.dtype == np.float32 and idx.shape == (512, 16)
    assert np.array_equal(idx, cli_idx)
    assert cos.tobytes() == cli_cos.tobytes()


def test_auto_device_gives_the_same_bytes(job):
    sae = job.open()
    auto_idx, auto_cos = saegeo.neighbors(sae, k=8)
    cpu_idx, cpu_cos = saegeo.neighbors(sae, k=8, device="cpu")
    assert np.array_equal(auto_idx, cpu_idx) and auto_cos.tobytes() == cpu_cos.tobytes()


def test_precisions_give_the_same_bytes_and_a_bad_one_is_refused(job):
    """bfloat16 is a certified first pass (portable where the CPU lacks the instructions)."""
    sae = job.open()
    f32_idx, f32_cos = saegeo.neighbors(sae, k=8, device="cpu", precision="float32")
    for precision in ("bfloat16", "auto"):
        idx, cos = saegeo.neighbors(sae, k=8, device="cpu", precision=precision)
        assert np.array_equal(idx, f32_idx) and cos.tobytes() == f32_cos.tobytes(), precision
    with pytest.raises(saegeo.BadInput, match="precision must be 'auto', 'float32' or 'bfloat16', not 'float16'"):
        saegeo.neighbors(sae, k=8, precision="float16")


def test_query_and_key_subsets_match_the_cli_and_float64(cli, job, tmp_path):
    queries, keys = [5, 0, 77, 300], list(range(0, 512, 3))
    idx, cos = saegeo.neighbors(job.open(), k=6, queries=queries, keys=np.array(keys), device="cpu")
    cli_idx, cli_cos = _cli_neighbors(cli, tmp_path, job.sae_path, 6, "--queries", _ids_file(tmp_path, "q", queries),
                                      "--keys", _ids_file(tmp_path, "k", keys))
    assert np.array_equal(idx, cli_idx) and cos.tobytes() == cli_cos.tobytes()
    w_dec = job.weights["W_dec"].astype(np.float64)
    ref_idx, ref_cos = _reference(w_dec[queries], w_dec[keys], queries, keys, 6, exclude_self=True)
    assert np.array_equal(idx, ref_idx)
    np.testing.assert_allclose(cos, ref_cos, rtol=0, atol=2e-7)


def test_fewer_keys_than_k_pads_with_minus_one(job):
    idx, cos = saegeo.neighbors(job.open(), k=4, queries=[1], keys=[1, 2, 3], device="cpu")
    assert list(idx[0, 2:]) == [-1, -1] and np.all(np.isneginf(cos[0, 2:]))
    assert sorted(idx[0, :2]) == [2, 3]


def test_keys_from_another_dictionary(cli, job, other_job, tmp_path):
    idx, cos = saegeo.neighbors(job.open(), k=3, keys_sae=other_job.open(), device="cpu")
    cli_idx, cli_cos = _cli_neighbors(cli, tmp_path, job.sae_path, 3, "--keys-sae", other_job.sae_path)
    assert np.array_equal(idx, cli_idx) and cos.tobytes() == cli_cos.tobytes()
    a, b = job.weights["W_dec"].astype(np.float64), other_job.weights["W_dec"].astype(np.float64)
    ref_idx, _ = _reference(a, b, range(len(a)), range(len(b)), 3, exclude_self=False)
    assert np.array_equal(idx, ref_idx)


def test_out_of_range_query_raises_the_cli_message(cli, job, tmp_path):
    _, _, err = run_cli(cli, "neighbors", "--sae", job.sae_path, "-k", 3, "-o", tmp_path / "x.safetensors",
                        "--queries", _ids_file(tmp_path, "bad", [9999]), check=False)
    with pytest.raises(saegeo.BadInput) as raised:
        saegeo.neighbors(job.open(), k=3, queries=[9999])
    # The CLI names the file and line; the id and the range are the same words.
    assert "feature id 9999 is out of range" in str(raised.value)
    assert error_line(err).endswith(str(raised.value).split("feature id 9999 is out of range", 1)[1])


def test_non_positive_k_is_refused(job):
    with pytest.raises(saegeo.SaegeoError):
        saegeo.neighbors(job.open(), k=0)
    with pytest.raises(saegeo.BadInput):
        saegeo.neighbors(job.open(), k="3")


def test_progress_and_budget_do_not_change_the_result(job, capfd):
    sae = job.open()
    plain = saegeo.neighbors(sae, k=5, device="cpu")
    capfd.readouterr()
    reported = saegeo.neighbors(sae, k=5, device="cpu", progress=True)
    assert np.array_equal(plain[0], reported[0]) and plain[1].tobytes() == reported[1].tobytes()
    try:
        import tqdm  # noqa: F401
    except ImportError:
        lines = capfd.readouterr().err.splitlines()
        assert any(line.startswith("saegeo: ") and "/" in line for line in lines), lines
    budgeted = saegeo.neighbors(sae, k=5, device="cpu", memory_budget="64MiB")
    assert np.array_equal(plain[0], budgeted[0]) and plain[1].tobytes() == budgeted[1].tobytes()
    with pytest.raises(saegeo.BadInput):
        saegeo.neighbors(sae, k=5, memory_budget="lots")
