"""Data-parallel training over torch.distributed: two CPU processes (gloo), launched by
torchrun as a user launches them, train the model one process trains with the same global
batch and seed.

Each launch runs a script of this folder (``ddp_fit.py``, ``ddp_cases.py``) under
``python -m torch.distributed.run --standalone --nproc-per-node 2`` (``torchrun``); the
processes write what they fitted to a temporary folder, compared here with a fit in this
process. About 15 s per launch on two cores.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch.distributed as dist

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="torch.distributed with gloo is not available",
)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """800 rows, a regression task with 40% of its labels missing and a binary task."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(800, 6)).astype("float32")
    size = X[:, 0] * 2 - X[:, 1] + 0.3 * rng.normal(size=800)
    size[np.random.RandomState(1).rand(800) < 0.4] = np.nan
    colour = np.where(X[:, 2] + 0.5 * X[:, 0] + 0.5 * rng.normal(size=800) > 0, "red", "blue")
    path = tmp_path_factory.mktemp("table") / "data.npz"
    np.savez(path, X=X, y_size=size, y_colour=colour)
    return path


@pytest.fixture(scope="module")
def parquet(table, tmp_path_factory) -> Path:
    """The table as Parquet: two files of four row groups of 100 rows."""
    pytest.importorskip("pyarrow")
    data = np.load(table)
    df = pd.DataFrame(data["X"], columns=[f"x{j}" for j in range(data["X"].shape[1])])
    df["size"], df["colour"] = data["y_size"], data["y_colour"]
    path = tmp_path_factory.mktemp("parquet")
    for i in range(2):
        df.iloc[i * 400:(i + 1) * 400].to_parquet(path / f"part-{i}.parquet",
                                                  row_group_size=100, index=False)
    return path


def _launch(script: str, *args) -> None:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", str(HERE / script), *map(str, args)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _local(table: Path, **extra):
    sys.path.insert(0, str(HERE))
    try:
        from ddp_fit import fit
    finally:
        sys.path.remove(str(HERE))
    data = np.load(table)
    y = pd.DataFrame({"size": data["y_size"], "colour": data["y_colour"]})
    return data["X"], fit(data["X"], y, **extra)


def test_two_processes_train_the_model_of_one(table, tmp_path):
    _launch("ddp_fit.py", table, tmp_path)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    info = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [i["data_parallel_"] for i in info] == [
        {"rank": r, "world_size": 2, "backend": "gloo"} for r in (0, 1)]
    # Early stopping read the same validation losses in both processes and stopped both
    # at the same epoch, before max_epochs.
    np.testing.assert_array_equal(ranks[0]["valid_loss"], ranks[1]["valid_loss"])
    assert info[0]["epochs"] == info[1]["epochs"] < 60
    for key in ("size", "proba"):
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key])
    # Only rank 0 wrote the model file.
    assert (tmp_path / "model-rank0.safetensors").exists()
    assert not (tmp_path / "model-rank1.safetensors").exists()

    X, local = _local(table)
    assert local.data_parallel_ is None
    history = local.net_.history
    assert len(history) == info[0]["epochs"]
    np.testing.assert_allclose(ranks[0]["valid_loss"], history[:, "valid_loss"], rtol=1e-5)
    np.testing.assert_allclose(ranks[0]["size"], local.predict_tasks(X)["size"],
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ranks[0]["proba"], local.predict_proba(X)[1], atol=1e-4)

    # The file rank 0 wrote predicts as the processes' model does.
    import sk_mtl

    loaded = sk_mtl.load(tmp_path / "model-rank0.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(X)[1], ranks[0]["proba"])


def test_refused_setups_and_other_fits(table, parquet, tmp_path):
    _launch("ddp_cases.py", table, tmp_path, parquet)
    cases = [json.loads((tmp_path / f"cases-rank{r}.json").read_text()) for r in (0, 1)]
    for case in cases:  # every process gets the error, before training
        assert case["world_size"] == 2
        assert "processes disagree on the data" in case["other_data"]
        assert "weighting='pcgrad' does not train data-parallel" in case["pcgrad"]
        assert "FusionNetClassifier does not train data-parallel" in case["fusion"]
        assert "needs at least 2 rows per batch" in case["batch_of_one"]
        assert "does not support BatchNorm layers" in case["batch_norm"]
        assert case["partial_fit_epochs"] == 2
    # partial_fit and the uncertainty weighting's learnt log-variances: one model in both.
    assert cases[0]["partial_fit_checksum"] == cases[1]["partial_fit_checksum"]
    assert cases[0]["uncertainty_checksum"] == cases[1]["uncertainty_checksum"]
    X, local = _local(table, weighting="uncertainty")
    fitted = np.load(tmp_path / "uncertainty-rank0.npz")
    np.testing.assert_allclose(fitted["valid_loss"], local.net_.history[:, "valid_loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(fitted["proba"], local.predict_proba(X)[1], atol=1e-4)

    # A streamed fit over two processes: one model; the pass split between them found
    # the sample one process finds (the same input encoding); each process read its own
    # row groups in the epochs (about half of the rows each) and took as many steps.
    assert cases[0]["stream_checksum"] == cases[1]["stream_checksum"]
    ranks = [np.load(tmp_path / f"stream-rank{r}.npz") for r in (0, 1)]
    np.testing.assert_array_equal(ranks[0]["valid_loss"], ranks[1]["valid_loss"])
    np.testing.assert_array_equal(ranks[0]["batches"], ranks[1]["batches"])
    sys.path.insert(0, str(HERE))
    try:
        from ddp_cases import STREAM, stream_fit
    finally:
        sys.path.remove(str(HERE))
    single, table_read = stream_fit(parquet)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    np.testing.assert_array_equal(ranks[0]["encoded"], single.stream_encoder_.transform(frame))
    epochs = STREAM["est"]["max_epochs"]
    # One process: 800 rows in the pass, 600 training + 200 validation rows an epoch.
    assert table_read.rows_read == 800 * (1 + epochs)
    for case in cases:
        assert 0.4 * 800 * (1 + epochs) <= case["stream_rows_read"] <= 0.6 * 800 * (1 + epochs)
    # 600 training rows in global batches of 64: 32 rows a process a step.
    assert list(ranks[0]["batches"]) == [600 // 2 // 32] * epochs


def test_a_launch_without_a_process_group_warns(monkeypatch):
    from sk_mtl import MultiTaskNet

    monkeypatch.setenv("WORLD_SIZE", "2")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3)).astype("float32")
    with pytest.warns(UserWarning, match="process group is not initialized"):
        est = MultiTaskNet(max_epochs=1, hidden_dims=(4,), random_state=0).fit(X, X[:, 0])
    assert est.data_parallel_ is None
