"""The developer page's "to add X" recipes (docs/developer.md), each followed once.

Each test adds the part the way the page says (a class and one row in its table, here with
``monkeypatch`` so the table is restored), then uses it from an estimator by its name, as a
user would: fit, predict, and search its parameters.
"""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from torch import nn

import sk_mtl
from sk_mtl import FusionNetRegressor, MultiTaskNet, MultiTaskNetRegressor
from sk_mtl.encoders import ENCODERS, Encoder
from sk_mtl.estimators import _docs, _params
from sk_mtl.fusion import FUSIONS, Fusion
from sk_mtl.tasks import TASK_KINDS, RegressionTask
from sk_mtl.trunks import TRUNKS, TrunkSpec
from sk_mtl.weighting import WEIGHTINGS, LossWeighting

FAST = dict(max_epochs=3, random_state=0, retrieval=None)


def _table(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = pd.DataFrame({"a": X[:, 0] + 0.1 * rng.normal(size=n), "b": X[:, 1] ** 2})
    return X, y


# --------------------------------------------------------------------------- an encoder
class SquaredFeatures(Encoder):
    """A test encoder: a linear layer over the columns and their squares."""

    kinds = ("tabular",)

    def __init__(self, scale=1.0):
        self.scale = scale

    def build(self, modality, width, dropout=0.0, linear=False):
        n = modality.n_features_
        scale = self.scale

        class Module(nn.Module):
            def __init__(self):
                super().__init__()
                self.linear = nn.Linear(2 * n, width)
                self.out_features = width

            def forward(self, x):
                return self.linear(torch.cat([x, scale * x * x], dim=1))

        return Module()


def test_recipe_an_encoder(monkeypatch):
    monkeypatch.setitem(ENCODERS, "squared", SquaredFeatures)
    X, y = _table()
    net = FusionNetRegressor(encoders={"tab": "squared"}, **FAST)
    net.set_params(encoders__tab__scale=0.5)  # its parameters are searchable
    net.fit({"tab": X}, y)
    assert isinstance(net.encoders_["tab"], SquaredFeatures) and net.encoders_["tab"].scale == 0.5
    assert net.predict({"tab": X}).shape == (80, 2)


# --------------------------------------------------------------------------- a fusion
class _MaxFusionLayer(nn.Module):
    def __init__(self, in_dims, dim):
        super().__init__()
        self.names = list(in_dims)
        self.proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in in_dims.items()})
        self.out_features = dim

    def forward(self, hs):
        return torch.stack([self.proj[m](hs[m]) for m in self.names]).amax(0)


class MaxFusion(Fusion):
    """A test fusion: the elementwise maximum of projected embeddings."""

    reads_weights = False

    def __init__(self, dim=None):
        self.dim = dim

    def layer(self, in_dims, dim, weights, learn_weights):
        return _MaxFusionLayer(in_dims, dim)


def test_recipe_a_fusion(monkeypatch):
    monkeypatch.setitem(FUSIONS, "max", MaxFusion)
    X, y = _table()
    net = FusionNetRegressor(fusion="max", **FAST).set_params(fusion__dim=8)
    net.fit({"left": X[:, :2], "right": X[:, 2:]}, y)
    assert isinstance(net.module_.trunk.fusion, _MaxFusionLayer)
    assert net.module_.trunk.fusion.out_features == 8
    assert np.isfinite(net.predict({"left": X[:, :2], "right": X[:, 2:]})).all()
    # Registered after sk_mtl.persistence was imported, and given by name: the model file
    # names it (the object of a user's own module is not in the file's allow-list).
    X2 = {"left": X[:, :2], "right": X[:, 2:]}
    named = FusionNetRegressor(fusion="max", **FAST).fit(X2, y)
    buffer = io.BytesIO()
    sk_mtl.save(named, buffer)
    again = sk_mtl.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(again.predict(X2), named.predict(X2))


# --------------------------------------------------------------------------- a weighting
class LargestLossFirst(LossWeighting):
    """A test weighting: the tasks' losses weighted by their share of the total."""

    def __init__(self, power=1.0):
        self.power = power

    def combine(self, losses):
        values = torch.stack([losses[n] for n in self.task_names_])
        shares = (values.detach() ** self.power) / (values.detach() ** self.power).sum()
        return (shares * values).sum() * len(values)


def test_recipe_a_weighting(monkeypatch):
    monkeypatch.setitem(WEIGHTINGS, "largest", LargestLossFirst)
    X, y = _table()
    net = MultiTaskNetRegressor(weighting="largest", **FAST).set_params(weighting__power=2.0)
    net.fit(X, y)
    assert isinstance(net.net_.weighting, LargestLossFirst)
    assert net.net_.weighting.power == 2.0
    assert np.isfinite(net.history_[-1, "train_objective"])


# --------------------------------------------------------------------------- a task kind
class LogRegressionTask(RegressionTask):
    """A test task kind: a positive target trained on its logarithm."""

    kind = "log_regression"

    def fit(self, values, name, sample_weight=None):
        return super().fit(np.log(values.astype(np.float64)), name, sample_weight)

    def encode(self, values, labelled):
        logged = np.where(labelled, np.log(np.where(labelled, values, 1.0).astype(float)), 0.0)
        return super().encode(logged, labelled)

    def decode(self, raw):
        return np.exp(super().decode(raw))

    def score(self, y_true, y_pred, sample_weight=None):
        return super().score(np.log(y_true), np.log(y_pred), sample_weight)


def test_recipe_a_task_kind(monkeypatch):
    monkeypatch.setitem(TASK_KINDS, "log_regression", LogRegressionTask)
    X, y = _table()
    y = y.assign(b=np.exp(y["b"]))
    net = MultiTaskNet(tasks={"b": "log_regression"}, **FAST).fit(X, y)
    assert net.tasks_["b"].kind == "log_regression"
    assert (net.predict_tasks(X)["b"] > 0).all()
    assert set(net.task_scores(X, y)) == {"a", "b"}


# --------------------------------------------------------------------------- a trunk
class Residual(TrunkSpec):
    """A test trunk: one residual block of ``width`` units."""

    def __init__(self, width=16):
        self.width = width

    def build(self, n_features, task_names):
        width = self.width

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.inp = nn.Linear(n_features, width)
                self.hidden = nn.Linear(width, width)
                self.out_features = width

            def forward(self, x):
                h = torch.relu(self.inp(x))
                return h + torch.relu(self.hidden(h))

        return Block()


def test_recipe_a_trunk(monkeypatch):
    monkeypatch.setitem(TRUNKS, "residual", Residual)
    X, y = _table()
    net = MultiTaskNetRegressor(trunk="residual", **FAST).set_params(trunk__width=12)
    net.fit(X, y)
    assert net.module_.trunk.out_features == 12
    assert net.predict(X).shape == (80, 2)


# --------------------------------------------------------------------------- a parameter
def test_recipe_an_estimator_parameter(monkeypatch):
    """A shared parameter: one row in the declaration table, one constraint, one entry in
    the docstrings' table; the signature, get_params, clone, the check before training and
    the docstring follow from them."""
    table = {**_params.TABLE, "clip_value": 10.0}
    monkeypatch.setitem(_params.CONSTRAINTS, "clip_value", _params.positive_real)
    monkeypatch.setitem(_docs.PARAMETERS, "clip_value",
                        ("float", "\n        Largest absolute value of a gradient."))

    class ClippedNet(MultiTaskNetRegressor):
        __init__ = _params.declare_init(table)
        __doc__ = _docs.parameters_doc(table, _docs.PARAMETERS, infer="",
                                       **_docs.TABLE_TEXT)

    net = ClippedNet(clip_value=3.0, **FAST)
    assert net.get_params()["clip_value"] == 3.0 and clone(net).clip_value == 3.0
    assert "clip_value : float, default=10.0" in ClippedNet.__doc__
    X, y = _table()
    with pytest.raises(ValueError, match="clip_value must be a finite number > 0"):
        ClippedNet(clip_value=-1.0, **FAST).fit(X, y)
    assert ClippedNet(**FAST).fit(X, y).predict(X).shape == (80, 2)


def test_the_tables_the_recipes_extend_are_the_ones_the_package_reads():
    # The recipes name these objects; the estimators' signatures are made from them.
    import inspect

    from sk_mtl import FusionNet, MultiTaskNetClassifier

    for cls, table in ((MultiTaskNetClassifier, _params.TABLE), (FusionNet, _params.FUSION)):
        signature = inspect.signature(cls.__init__).parameters
        assert {n: p.default for n, p in signature.items() if n != "self"} == table
    assert _params.FUSION.keys() >= _params.SHARED.keys()
    assert set(_params.TABLE) <= set(_docs.PARAMETERS)
    assert set(_params.FUSION) <= set(_docs.PARAMETERS) | set(_docs.FUSION_PARAMETERS)
