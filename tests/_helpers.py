"""Estimator settings and tiny synthetic data sets shared by the test files.

Test files import from here (``from _helpers import SMALL, binary_and_regression``):
``tests/`` is on the import path through ``pythonpath`` in pyproject.toml's pytest section.
Fixtures that need pytest (a skip, a monkeypatch) live in ``tests/conftest.py``.

Settings are plain dicts that a test file combines and overrides, ``{**SMALL, **PLAIN,
"max_epochs": 20}``, so each file's effective parameters can be read in one place. The data
makers draw from their own ``numpy.random.RandomState(seed)``: the same call gives the same
data, and the tests' thresholds were set on exactly these draws, so a maker is never changed
in place; a test that needs other data gets a new maker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# ================================================================================ settings
#: Small and seeded: the base of the test files' estimator settings.
SMALL = {"hidden_dims": (16,), "random_state": 0}

#: One plain network on the input as given (one ensemble member, no input scaling): for
#: tests that check one thing each on an MLP's own layers, heads and gradients. The ensemble
#: and the input scaling have their own tests in ``estimators/test_defaults.py``.
PLAIN = {"ensemble_size": 1, "input_scaling": None}

#: Every epoch at one learning rate, without dropout or retrieval features: tests of the
#: mechanics (missing labels, weights, optimizers, the trunk's input) then compare like with
#: like. The defaults have their own tests (``estimators/test_defaults.py``).
STEADY = {"dropout": 0.0, "lr_schedule": None, "early_stopping": False, "retrieval": None}

#: One full batch, no dropout, no validation split, no retrieval: the training objective is a
#: deterministic function of the weighted rows, so a sample or class weight can be compared
#: with the duplicated rows it stands for.
EXACT = {
    **SMALL, "dropout": 0.0, "max_epochs": 30, "lr": 0.01, "batch_size": 1000,
    "validation_fraction": 0.0, "early_stopping": False, "retrieval": None,
}

#: The task-balancing tests (weightings, auxiliary tasks, the MMoE trunk): a plain network,
#: six epochs in batches of 32, no dropout, one learning rate.
BALANCING = {
    **SMALL, **PLAIN, "lr": 0.01, "max_epochs": 6, "batch_size": 32, "dropout": 0.0,
    "lr_schedule": None,
}

#: FusionNet tests: narrow encoders and fusion, no dropout, every epoch, no retrieval
#: modality (the retrieval tests turn it on).
FUSION = {
    **SMALL, "encoder_dim": 16, "fusion_dim": 16, "lr": 0.01, "max_epochs": 8, "dropout": 0.0,
    "early_stopping": False, "retrieval": None, "batch_size": 32,
}


# ==================================================================================== data
def binary_and_regression(n=200, seed=0):
    """``X`` (n, 5) float32 and a DataFrame ``y``: binary strings ``c`` (``"pos"`` where
    x0 > 0, else ``"neg"``) and regression ``r`` = 3 x1 + 1 + noise (sd 0.1)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = pd.DataFrame(
        {
            "c": np.where(X[:, 0] > 0, "pos", "neg"),
            "r": 3.0 * X[:, 1] + 1.0 + 0.1 * rng.normal(size=n),
        }
    )
    return X, y


def regression_and_binary(n=200, d=4, seed=0):
    """``X`` (n, d) float32 and a DataFrame ``y`` without noise: regression ``r`` = x0 - x1
    and binary strings ``c`` (``"a"`` where x2 > 0, else ``"b"``)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = pd.DataFrame({"r": X[:, 0] - X[:, 1], "c": np.where(X[:, 2] > 0, "a", "b")})
    return X, y


def with_auxiliary(n=160, seed=0):
    """``X`` (n, 4) and a DataFrame ``y``: regression ``r`` = 2 x0 + x1 + noise, binary
    ``c`` (``"yes"`` where x2 + x0 > 0) and ``aux`` = 3 x1, a helper task for ``r``."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = pd.DataFrame({
        "r": 2 * X[:, 0] + X[:, 1] + 0.1 * rng.normal(size=n),
        "c": np.where(X[:, 2] + X[:, 0] > 0, "yes", "no"),
        "aux": X[:, 1] * 3,
    })
    return X, y


def noisy_tasks(n=240, seed=0, tasks=2):
    """``X`` (n, 4) and the first ``tasks`` columns of a DataFrame ``y``: regression ``a`` =
    x0 + noise (sd 0.3), binary ``b`` (``"yes"`` where x1 + x0 / 2 > 0), regression ``c`` =
    x2 - x3."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = pd.DataFrame({
        "a": X[:, 0] + 0.3 * rng.normal(size=n),
        "b": np.where(X[:, 1] + 0.5 * X[:, 0] > 0, "yes", "no"),
        "c": X[:, 2] - X[:, 3],
    })
    return X, y.iloc[:, :tasks]


def two_binaries(n=120, seed=0):
    """``X`` (n, 4) and a DataFrame ``y`` of two binary tasks: ``a``, a rare ``"yes"`` (a
    noisy x0 above 0.8), and ``b`` (``"up"`` where x1 > 0, else ``"down"``)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = pd.DataFrame({
        "a": np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0.8, "yes", "no"),
        "b": np.where(X[:, 1] > 0, "up", "down"),
    })
    return X, y


def two_regressions_with_gaps(n=120, seed=0):
    """``X`` (n, 4) and an array ``y`` (n, 2): x0 + noise (sd 0.3), and x1 x2 with about a
    fifth of its labels missing (NaN)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = np.c_[X[:, 0] + 0.3 * rng.normal(size=n), X[:, 1] * X[:, 2]]
    y[rng.rand(n) < 0.2, 1] = np.nan
    return X, y


def colour_and_price(n=80):
    """``X`` (n, 3) float32 and a DataFrame ``y``: binary ``color`` (``"red"`` where x0 > 0,
    else ``"white"``) and regression ``price`` = 2 x1 + noise (sd 0.1)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = pd.DataFrame({"color": np.where(X[:, 0] > 0, "red", "white"),
                      "price": 2.0 * X[:, 1] + 0.1 * rng.normal(size=n)})
    return X, y


def three_kinds(n=120, seed=0):
    """``X`` (n, 5) float32 and a DataFrame ``y`` of one task of each kind: binary ``a``
    (``"pos"`` where x0 > 0), regression ``b`` = 3 x1 + x0 + noise, 3-class ``c`` (x2 cut at
    -0.5 and 0.5)."""
    X = np.random.RandomState(seed).normal(size=(n, 5)).astype(np.float32)
    rng = np.random.RandomState(seed + 1)
    y = pd.DataFrame(
        {
            "a": np.where(X[:, 0] > 0, "pos", "neg"),
            "b": 3.0 * X[:, 1] + X[:, 0] + 0.1 * rng.normal(size=n),
            "c": np.digitize(X[:, 2], [-0.5, 0.5]),
        }
    )
    return X, y


def line_and_sign(n=120, seed=0):
    """``X`` (n, 3) and a DataFrame ``y`` without noise: regression ``r`` = 3 x0 and binary
    integers ``b`` (1 where x1 > 0)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    y = pd.DataFrame({"r": 3 * X[:, 0], "b": (X[:, 1] > 0).astype(int)})
    return X, y


#: The words of :func:`multimodal`'s reviews: a positive label draws from ``GOOD``.
GOOD, BAD = ["good", "great", "lovely", "nice"], ["bad", "awful", "poor", "ugly"]


def multimodal(n=160, seed=0):
    """A dict ``X`` of three modalities and a DataFrame ``y``: the text decides the label,
    the table decides a regression target.

    ``X["text"]``: four words from :data:`GOOD` (label 1) or :data:`BAD` (label 0) and
    ``"item"``; ``X["tab"]`` (n, 3) numbers; ``X["cat"]`` (n, 1) one of ``"a"``, ``"b"``,
    ``"c"``. ``y``: ``label`` (``"pos"``/``"neg"``) and ``amount`` = 2 tab[:, 0].
    """
    rng = np.random.RandomState(seed)
    label = rng.randint(0, 2, size=n)
    text = np.array(
        [" ".join(rng.choice(GOOD if y else BAD, 4)) + " item" for y in label], dtype=object
    )
    tab = rng.normal(size=(n, 3))
    cat = rng.choice(["a", "b", "c"], size=(n, 1)).astype(object)
    X = {"text": text, "tab": tab, "cat": cat}
    y = pd.DataFrame({"label": np.where(label == 1, "pos", "neg"), "amount": 2 * tab[:, 0]})
    return X, y
