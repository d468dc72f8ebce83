"""Searches and cross-validation spread over a real Dask cluster (worker processes)."""

import os
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from _helpers import SMALL
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sk_mtl import FusionNetClassifier, MultiTaskNet
from sk_mtl.datasets import load_wine_quality
from sk_mtl.metrics import task_scorers

distributed = pytest.importorskip("distributed")
# A two-worker cluster and fits on real data: 15 s.
pytestmark = pytest.mark.slow

FAST = {**SMALL, "hidden_dims": (32,), "max_epochs": 5}


class RecordWhere(Callback):
    """Notes the process and torch's thread count that a fit trained in."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.pid_ = os.getpid()
        self.threads_ = torch.get_num_threads()


def _importable_here(folder: str) -> None:
    """Run on each worker: this test module (RecordWhere) becomes importable there."""
    if folder not in sys.path:
        sys.path.insert(0, folder)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as c:
        c.run(_importable_here, str(Path(__file__).parent))
        yield c


def _wine(n=600):
    X, y = load_wine_quality(return_X_y=True)
    rows = np.random.RandomState(0).choice(len(X), n, replace=False)
    return X.iloc[rows], y.iloc[rows]


def test_grid_search_on_the_cluster_equals_the_local_one(client):
    X, y = _wine()
    pipe = make_pipeline(StandardScaler(), MultiTaskNet(
        tasks={"quality": "regression", "color": "binary"}, **FAST))
    grid = {"multitasknet__task_weights__quality": [0.5, 2.0]}
    scoring = task_scorers({"quality": "neg_mean_absolute_error", "color": "accuracy"})
    kwargs = dict(scoring=scoring, refit="quality_neg_mean_absolute_error", cv=2)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = GridSearchCV(pipe, grid, n_jobs=-1, **kwargs).fit(X, y)
    assert len(stream.data) >= 4  # the 2 candidates x 2 folds ran on the cluster
    local = GridSearchCV(pipe, grid, **kwargs).fit(X, y)
    for key in ("mean_test_quality_neg_mean_absolute_error", "mean_test_color_accuracy"):
        # One torch thread per fit on both sides, the same seeds: the same numbers.
        np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key],
                                   rtol=1e-6)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.predict(X)[:, 0].astype(float),
                               local.predict(X)[:, 0].astype(float), rtol=1e-5)


def test_cross_validate_runs_fusion_nets_in_worker_processes_one_thread_each(client, clothing):
    reviews, targets = clothing  # skipped without the reviews in the data folder
    keep = reviews["Review Text"].notna().to_numpy().nonzero()[0][:400]
    X = reviews[["Review Text", "Age", "Positive Feedback Count"]].iloc[keep]
    y = targets.iloc[keep]
    net = FusionNetClassifier(callbacks=[("where", RecordWhere())], max_epochs=3,
                              random_state=0)
    with joblib.parallel_backend("dask"):
        cv = cross_validate(net, X, y, cv=2, n_jobs=-1, return_estimator=True)
    assert np.all(np.isfinite(cv["test_score"]))
    where = [dict(e.net_.callbacks_)["where"] for e in cv["estimator"]]
    workers = set(client.run(os.getpid).values())
    assert os.getpid() not in workers
    assert {w.pid_ for w in where} <= workers
    # The nanny starts workers with OMP_NUM_THREADS=1: FusionNet's n_threads=None (torch's
    # own count) is then one thread per worker, as MultiTaskNet's n_threads=1 is anywhere.
    assert [w.threads_ for w in where] == [1, 1]
