"""Shared helpers for the sk_mtl test suite: small seeded data and fast estimator settings."""

import numpy as np
import pandas as pd
import pytest
import torch

# The tests fit tiny networks (a few hundred rows, batches of 64). With several intra-op
# threads, each small torch op pays a thread hand-off that costs milliseconds as soon as the
# (2-core) machine is busy: measured 16 us per op with one thread against 8 ms with two
# under load. One thread keeps every fit well under a second. Worker processes of
# GridSearchCV(n_jobs=2) get one thread each from joblib anyway.
torch.set_num_threads(1)

#: Small, fast, well-conditioned estimator settings for tests.
FAST = dict(hidden_dims=(16,), lr=0.02, max_epochs=20, batch_size=64, random_state=0)


def make_X(n_samples=200, n_features=5, seed=0):
    """Standard normal float32 features."""
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n_samples, n_features)).astype(np.float32)


def make_mixed(n_samples=200, seed=0):
    """``X`` and a DataFrame ``y`` with a binary string task ``"c"`` and a regression ``"r"``.

    Both tasks are learnable from ``X``: ``c`` is the sign of feature 0, ``r`` is a linear
    function of feature 1 plus a little noise.
    """
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 5)).astype(np.float32)
    y = pd.DataFrame(
        {
            "c": np.where(X[:, 0] > 0, "pos", "neg"),
            "r": 3.0 * X[:, 1] + 1.0 + 0.1 * rng.normal(size=n_samples),
        }
    )
    return X, y


@pytest.fixture(name="make_X")
def make_X_fixture():
    """The function :func:`make_X`."""
    return make_X


@pytest.fixture
def mixed_data():
    """``(X, y)`` from :func:`make_mixed`."""
    return make_mixed()


@pytest.fixture
def fast():
    """A fresh copy of :data:`FAST`."""
    return dict(FAST)
