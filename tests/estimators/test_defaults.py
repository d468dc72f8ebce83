"""The default training recipe: thread policy, LR schedule, automatic batch size and early
stopping, retrieval features, the legacy defaults, and the wine result they were chosen on."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _helpers import SMALL, regression_and_binary
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from torch import nn

import sk_mtl
from sk_mtl import (
    LEGACY_DEFAULTS,
    FusionNet,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sk_mtl.data import NeighbourTargets
from sk_mtl.trunks import MMoE

# The defaults under test, in a small network for a few epochs.
FAST = {**SMALL, "max_epochs": 4}


class ThreadProbe(Callback):
    def initialize(self):
        self.seen = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


def _callbacks(est, kind):
    return [cb for _, cb in est.net_.callbacks_ if isinstance(cb, kind)]


# ============================================================================ threads
@pytest.mark.parametrize("n_threads", [1, 2])
def test_n_threads_applies_during_fit_and_is_restored(n_threads):
    X, y = regression_and_binary()
    before = torch.get_num_threads()
    probe = ThreadProbe()
    net = MultiTaskNet(n_threads=n_threads, callbacks=[("probe", probe)], **FAST).fit(X, y)
    seen = dict(net.net_.callbacks_)["probe"].seen
    assert seen and set(seen) == {n_threads}
    assert torch.get_num_threads() == before
    net.predict(X)
    assert torch.get_num_threads() == before


def test_n_threads_none_keeps_torch_setting():
    X, y = regression_and_binary()
    before = torch.get_num_threads()
    probe = ThreadProbe()
    net = MultiTaskNet(n_threads=None, callbacks=[("probe", probe)], **FAST).fit(X, y)
    assert set(dict(net.net_.callbacks_)["probe"].seen) == {before}


# ============================================================================ schedule
def test_cosine_schedule_decays_lr_to_zero_over_max_epochs():
    X, y = regression_and_binary()
    net = MultiTaskNet(lr=0.01, early_stopping=False, **FAST).fit(X, y)
    assert len(_callbacks(net, LRScheduler)) == 1
    assert net.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    constant = MultiTaskNet(lr=0.01, lr_schedule="constant", early_stopping=False, **FAST)
    constant.fit(X, y)
    assert not _callbacks(constant, LRScheduler)
    assert constant.net_.optimizer_.param_groups[0]["lr"] == 0.01


# ============================================================================ batch size
@pytest.mark.parametrize(("n", "expected"), [(60, 32), (2000, 128), (9000, 512)])
def test_auto_batch_size_follows_training_rows(n, expected):
    X, y = regression_and_binary(n)
    net = MultiTaskNet(**{**FAST, "max_epochs": 1}).fit(X, y)
    assert net.batch_size_ == expected
    fixed = MultiTaskNet(batch_size=50, **{**FAST, "max_epochs": 1}).fit(X, y)
    assert fixed.batch_size_ == 50


# ============================================================================ early stopping
def test_auto_early_stopping_needs_enough_validation_rows():
    X, y = regression_and_binary(300)  # 30 validation rows: early stopping on
    net = MultiTaskNet(**FAST).fit(X, y)
    assert len(_callbacks(net, EarlyStopping)) == 1
    X, y = regression_and_binary(100)  # 10 validation rows: too few to pick an epoch by
    net = MultiTaskNet(**FAST).fit(X, y)
    assert not _callbacks(net, EarlyStopping)
    assert len(net.history_) == FAST["max_epochs"]
    net = MultiTaskNet(early_stopping=False, **FAST).fit(*regression_and_binary(300))
    assert not _callbacks(net, EarlyStopping)


# ============================================================================ legacy
def test_legacy_defaults_train_one_plain_adam_mlp():
    X, y = regression_and_binary(300)
    net = MultiTaskNet(**{**LEGACY_DEFAULTS, "max_epochs": 3, "random_state": 0}).fit(X, y)
    assert net.hidden_dims == (100,)
    assert isinstance(net.net_.optimizer_, torch.optim.Adam)
    assert not isinstance(net.net_.optimizer_, torch.optim.AdamW)
    assert net.batch_size_ == 128
    assert net.retrieval_ is None
    assert not _callbacks(net, EarlyStopping) and not _callbacks(net, LRScheduler)
    assert len(net.history_) == 3
    assert net.module_.trunk.layers[0].in_features == X.shape[1]


# ============================================================================ bad parameters
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"lr_schedule": "step"}, "lr_schedule='step'"),
        ({"lr_schedule": ["cosine"]}, "lr_schedule"),
        ({"early_stopping": "sometimes"}, "early_stopping"),
        ({"n_threads": 0}, "n_threads"),
        ({"batch_size": "big"}, "batch_size"),
        ({"retrieval": 0}, "retrieval"),
        ({"retrieval": "yes"}, "retrieval"),
        ({"retrieval": True}, "retrieval"),
    ],
)
def test_bad_recipe_parameters_are_named(params, match):
    X, y = regression_and_binary(50)
    with pytest.raises(ValueError, match=match):
        MultiTaskNet(**params, **FAST).fit(X, y)


# ============================================================================ retrieval unit
def test_neighbour_targets_leave_one_out_even_with_exact_duplicates():
    # Rows 0 and 1 are the same point with different labels: each must get the other's.
    X = np.array([[0.0, 0.0], [0.0, 0.0], [9.0, 9.0], [9.1, 9.0]], dtype=np.float32)
    y = np.array([1.0, -1.0, 5.0, 7.0], dtype=np.float32)
    r = NeighbourTargets(n_neighbors=1).fit(X, {"y": (y, None)})
    train = r.transform(X, exclude_self=True)
    np.testing.assert_array_equal(train[:, 1], [-1.0, 1.0, 7.0, 5.0])  # nearest label
    test = r.transform(np.array([[9.0, 9.0]], dtype=np.float32), exclude_self=False)
    assert test[0, 1] == 5.0  # a new row may match a training row exactly
    assert test[0, 2] == 0.0  # log1p of distance 0


def test_neighbour_targets_weights_missing_labels_and_classes():
    X = np.array([[0.0], [1.0], [2.0], [10.0]], dtype=np.float32)
    classes = np.array([0, 2, 1, 1])  # multiclass indices -> one-hot columns
    reg = np.array([0.0, 3.0, 6.0, 0.0], dtype=np.float32)
    mask = np.array([True, False, True, True])  # row 1 has no regression label
    r = NeighbourTargets(n_neighbors=2).fit(
        X, {"k": (classes, None), "v": (reg, mask)}, n_outputs={"k": 3}
    )
    assert r.n_features_out_ == 2 * 3 + 2 * 1 + 2
    out = r.transform(np.array([[0.9]], dtype=np.float32), exclude_self=False)
    # Neighbours of 0.9: rows 1 and 0, at 0.1 and 0.9 in raw units, divided by the column's
    # std in standardized space; weights 1 / (d + 0.1).
    w1, w0 = 1 / (0.1 / X.std() + 0.1), 1 / (0.9 / X.std() + 0.1)
    np.testing.assert_allclose(out[0, :3], [w0 / (w0 + w1), 0.0, w1 / (w0 + w1)], rtol=1e-5)
    np.testing.assert_array_equal(out[0, 3:6], [0.0, 0.0, 1.0])  # nearest: class 2
    # Task "v": row 1 is unlabelled, so only row 0 counts; nearest labelled is row 0 too.
    np.testing.assert_allclose(out[0, 6:8], [0.0, 0.0])
    # No labelled neighbour at all: the task's training mean.
    far = NeighbourTargets(n_neighbors=1).fit(X, {"v": (reg, mask)})
    probe = far.transform(np.array([[1.0]], dtype=np.float32), exclude_self=False)
    np.testing.assert_allclose(probe[0, :2], [reg[mask].mean()] * 2)


def test_neighbour_targets_on_sparse_rows_match_dense():
    rng = np.random.RandomState(0)
    # Continuous non-zeros: no ties in distances, whose order the tree (dense) and brute
    # force (sparse) searches could break differently.
    X = (rng.normal(size=(40, 6)) * (rng.rand(40, 6) > 0.5)).astype(np.float32)
    X[0] = X[1]
    y = rng.normal(size=40).astype(np.float32)
    dense = NeighbourTargets(4).fit(X, {"y": (y, None)})
    sparse = NeighbourTargets(4).fit(sp.csr_matrix(X), {"y": (y, None)})
    # Both scale columns by their std; the dense one also centres, which leaves distances
    # unchanged.
    np.testing.assert_allclose(
        dense.transform(X, exclude_self=True),
        sparse.transform(sp.csr_matrix(X), exclude_self=True),
        rtol=1e-4,
        atol=1e-5,
    )


# ============================================================================ retrieval in fit
def test_retrieval_auto_is_on_for_dense_tables_up_to_its_width_only():
    X, y = regression_and_binary(120)
    net = MultiTaskNet(**FAST).fit(X, y)
    assert isinstance(net.retrieval_, NeighbourTargets)
    width = 2 * X.shape[1] + net.retrieval_.n_features_out_  # two views of each column
    front, mlp = net.module_.trunk  # the front scale reads them all
    assert front.out_features == mlp.layers[0].in_features == width
    assert net.n_features_in_ == X.shape[1]
    assert MultiTaskNet(**FAST).fit(sp.csr_matrix(X), y).retrieval_ is None
    # A table up to 1,024 columns wide gets neighbours, a wider one none.
    from sk_mtl.data._retrieval import AUTO_TABLE_RETRIEVAL_MAX_FEATURES as most
    assert most == 1024
    wide = np.hstack([X] * (most // X.shape[1]))
    assert wide.shape[1] == most
    assert isinstance(MultiTaskNet(**FAST).fit(wide, y).retrieval_, NeighbourTargets)
    wider = np.hstack([wide, X[:, :1]])
    assert MultiTaskNet(**FAST).fit(wider, y).retrieval_ is None
    assert MultiTaskNet(retrieval=None, **FAST).fit(X, y).retrieval_ is None
    assert MultiTaskNet(retrieval=3, **FAST).fit(sp.csr_matrix(X), y).retrieval_.k_ == 3
    custom = MultiTaskNet(trunk=nn.Sequential(nn.Linear(4, 8), nn.ReLU()), **FAST)
    assert custom.fit(X, y).retrieval_ is None
    # Trunk specifications build for the widened input.
    mmoe = MultiTaskNet(trunk=MMoE(n_experts=2, expert_dims=(8,)), **FAST).fit(X, y)
    assert mmoe.retrieval_ is not None
    assert mmoe.predict(X).shape == (120, 2)


def test_retrieval_recalls_labels_of_duplicated_rows():
    """Labels that no smooth function of X gives (a random label per point), each point
    present twice in training: retrieval recalls the label; the plain network cannot."""
    rng = np.random.RandomState(0)
    points = rng.normal(size=(150, 3)).astype(np.float32)
    labels = rng.randint(0, 2, size=150)
    X = np.vstack([points, points])
    y = np.concatenate([labels, labels])
    params = dict(hidden_dims=(32,), max_epochs=60, random_state=0, validation_fraction=None)
    with_retrieval = MultiTaskNetClassifier(**params).fit(X, y)
    without = MultiTaskNetClassifier(retrieval=None, **params).fit(X, y)
    # Predict the points again: each has an exact training duplicate.
    assert with_retrieval.score(points, labels) > 0.95
    assert without.score(points, labels) < 0.9


def test_retrieval_is_deterministic_and_subset_invariant():
    X, y = regression_and_binary(150)
    a = MultiTaskNetRegressor(**FAST).fit(X, y["r"])
    b = MultiTaskNetRegressor(**FAST).fit(X, y["r"])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_allclose(a.predict(X[:7]), a.predict(X)[:7], rtol=1e-6)


# ============================================================================ real data
def _wine_split(wine):
    from sklearn.model_selection import train_test_split

    X, y = wine
    return train_test_split(X, y, test_size=0.25, random_state=0)


def _hgb_quality(X_tr, X_te, y_tr, y_te):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score

    pred = HistGradientBoostingRegressor(random_state=0).fit(X_tr, y_tr["quality"]).predict(X_te)
    return mean_absolute_error(y_te["quality"], pred), r2_score(y_te["quality"], pred)


@pytest.mark.slow
def test_default_pipeline_beats_the_trees_on_wine_with_or_without_a_scaler(wine):
    """The wine holdout of docs/defaults.md, seed 0: the defaults beat gradient boosting and
    the random forest's figures (MAE 0.444, R² 0.507 over seeds 0-2), with a StandardScaler
    in front or on the raw columns (the network scales its own input)."""
    from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_tr, X_te, y_tr, y_te = _wine_split(wine)
    hgb_mae, hgb_r2 = _hgb_quality(X_tr, X_te, y_tr, y_te)
    figures = []
    for scaler in (True, False):
        net = MultiTaskNet(tasks={"quality": "regression", "color": "binary"}, random_state=0)
        if scaler:
            net = make_pipeline(StandardScaler(), net)
        pred = net.fit(X_tr, y_tr).predict(X_te)
        quality = pred[:, 0].astype(float)
        mae = mean_absolute_error(y_te["quality"], quality)
        r2 = r2_score(y_te["quality"], quality)
        assert mae <= 0.444 and mae < hgb_mae
        assert r2 >= 0.507 and r2 > hgb_r2
        assert accuracy_score(y_te["color"], pred[:, 1]) >= 0.994
        figures.append((mae, r2))
    (mae_a, r2_a), (mae_b, r2_b) = figures
    assert abs(mae_a - mae_b) < 0.01 and abs(r2_a - r2_b) < 0.01


@pytest.mark.slow
def test_default_fusion_net_on_the_wine_table_beats_gradient_boosting(wine):
    """FusionNet's tabular path (its own defaults, retrieval as a modality), seed 0."""
    from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score

    X_tr, X_te, y_tr, y_te = _wine_split(wine)
    net = FusionNet(tasks={"quality": "regression", "color": "binary"}, random_state=0)
    pred = net.fit(X_tr, y_tr).predict_tasks(X_te)
    hgb_mae, hgb_r2 = _hgb_quality(X_tr, X_te, y_tr, y_te)
    assert net.retrieval_ is not None
    assert mean_absolute_error(y_te["quality"], pred["quality"]) < hgb_mae
    assert r2_score(y_te["quality"], pred["quality"]) > hgb_r2
    assert accuracy_score(y_te["color"], pred["color"]) >= 0.99


# ============================================================================ input scaling
def test_quantile_input_scaling_makes_a_scaler_in_front_change_nothing():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = regression_and_binary(200)
    X = X * np.array([1e3, 1.0, 1e-3, 50.0], dtype=np.float32) + 7.0  # raw, unscaled units
    raw = MultiTaskNet(input_scaling="quantile", **FAST).fit(X, y)
    scaled = make_pipeline(StandardScaler(), MultiTaskNet(input_scaling="quantile", **FAST))
    scaled.fit(X, y)
    # A monotone per-column map leaves every quantile, so every network input, in place.
    np.testing.assert_allclose(raw.predict_proba(X)[1], scaled.predict_proba(X)[1],
                               atol=1e-4)
    inputs = raw._input_data(X, reset=False).numpy()
    assert np.abs(np.median(inputs, axis=0)).max() < 0.1  # roughly standard normal
    assert 0.8 < inputs.std(axis=0).min() and inputs.std(axis=0).max() < 1.3
    # The default: the quantile view and the robust view, side by side; a scaler in front
    # moves the robust view by an affine map only (the network's first layer absorbs it).
    both = MultiTaskNet(**FAST).fit(X, y)
    inputs = both._input_data(X, reset=False).numpy()
    assert inputs.shape == (200, 8)
    np.testing.assert_allclose(inputs[:, :4], raw._input_data(X, reset=False).numpy(),
                               atol=1e-5)
    assert np.abs(inputs[:, 4:]).max() < 3.0  # robust, smoothly clipped


def test_auto_input_scaling_one_hot_encodes_the_few_valued_columns(tmp_path):
    import pandas as pd

    from sk_mtl.data import QuantileRobust

    rng = np.random.RandomState(0)
    n = 240
    level = rng.randint(0, 5, size=n).astype(np.float32)  # five design values
    X = np.column_stack([rng.normal(size=n), level, rng.randint(0, 2, size=n),
                         rng.normal(size=n)]).astype(np.float32)
    # Not monotone in the level: a tree splits on each value, the numeric views bend.
    y = pd.DataFrame({"r": np.array([0.0, 3.0, -2.0, 4.0, 1.0])[level.astype(int)] + X[:, 0],
                      "c": np.where(X[:, 3] > 0, "a", "b")})
    net = MultiTaskNet(**FAST).fit(X, y)
    scaler = net.input_scaler_
    assert isinstance(scaler, QuantileRobust) and scaler.robust_ is not None
    # The five-valued column only (a 0/1 column is its own one-hot already).
    assert [j for j, _ in scaler.levels_] == [1]
    np.testing.assert_array_equal(scaler.levels_[0][1], np.arange(5.0))
    inputs = net._input_data(X, reset=False).numpy()
    assert scaler.n_features_out_ == inputs.shape[1] == 2 * (4 + 5)
    # The one-hot columns, through the views: equal rows for equal levels, and a value
    # not seen in fit reads as none of them.
    onehot = scaler._with_levels(np.array([[0, 3, 0, 0], [0, 2.5, 0, 0]], dtype=np.float64))
    np.testing.assert_array_equal(onehot[:, 4:], [[0, 0, 0, 1, 0], [0, 0, 0, 0, 0]])
    # A model file keeps the levels: the same network, the same predictions.
    sk_mtl.save(net, tmp_path / "levels.safetensors")
    again = sk_mtl.load(tmp_path / "levels.safetensors")
    assert [j for j, _ in again.input_scaler_.levels_] == [1]
    np.testing.assert_array_equal(again.predict_tasks(X)["r"], net.predict_tasks(X)["r"])
    # Wider than 64 columns: the quantile view alone, still with the levels.
    wide = np.hstack([X, rng.normal(size=(n, 62)).astype(np.float32)])
    scaler = MultiTaskNet(**FAST).fit(wide, y).input_scaler_
    assert scaler.robust_ is None and [j for j, _ in scaler.levels_] == [1]
    assert scaler.n_features_out_ == 66 + 5
    # Values counted over all rows, not only the first ones.
    late = np.concatenate([np.arange(2500) % 3, np.arange(30.0)])[:, None]
    assert QuantileRobust(max_levels=16).fit(late).levels_ == []
    assert len(QuantileRobust(max_levels=16).fit(late[:2500]).levels_) == 1
    # Too many one-hot columns in all (here 300 > 256): none; and the named scalings.
    many = np.repeat(level[:, None], 60, axis=1)
    assert QuantileRobust(max_levels=16).fit(many).levels_ == []
    assert QuantileRobust(max_levels=16).fit(many[:, :40]).n_features_out_ == 2 * 240
    assert MultiTaskNet(input_scaling="quantile+robust", **FAST).fit(
        X, y).input_scaler_.levels_ == []
    assert MultiTaskNet(input_scaling="quantile+levels", **FAST).fit(
        X, y).input_scaler_.n_features_out_ == 9


def test_input_scaling_choices_and_sparse_input():
    X, y = regression_and_binary(200)
    net = MultiTaskNet(input_scaling="standard", **FAST).fit(X * 100, y)
    inputs = net._input_data(X * 100, reset=False).numpy()
    np.testing.assert_allclose(inputs.mean(axis=0), 0.0, atol=1e-4)
    assert MultiTaskNet(input_scaling=None, **FAST).fit(X, y).input_scaler_ is None
    # Sparse input stays sparse and unscaled.
    assert MultiTaskNet(**FAST).fit(sp.csr_matrix(X), y).input_scaler_ is None
    robust = MultiTaskNet(input_scaling="robust", **FAST).fit(X * 100, y)
    inputs = robust._input_data(X * 100, reset=False).numpy()
    assert np.abs(inputs).max() < 3.0  # smoothly clipped
    for bad in ("minmax", ["quantile"]):
        with pytest.raises(ValueError, match=r"input_scaling=.* is not known"):
            MultiTaskNet(input_scaling=bad, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="numeric_embedding='fourier' is not known"):
        MultiTaskNet(numeric_embedding="fourier", **FAST).fit(X, y)


# ============================================================================ ensembles
def test_ensemble_trains_each_member_and_predicts_their_mean():
    from sk_mtl.modules import EnsembleMLPTrunk

    X, y = regression_and_binary(200)
    net = MultiTaskNet(ensemble_size=4, hidden_dims=(16, 16), max_epochs=4, front_scale=None,
                       random_state=0).fit(X, y)
    assert isinstance(net.module_.trunk, EnsembleMLPTrunk) and net.module_.trunk.k == 4
    module = net.module_
    Xt = net._network_input(net._input_data(X[:9], reset=False))
    module.train(False)
    with torch.no_grad():
        module.train(True)
        for m in module.modules():  # dropout off, members on
            if isinstance(m, nn.Dropout):
                m.eval()
        members = module(Xt)
        module.eval()
    classes = torch.sigmoid(members["c"]).mean(dim=1).squeeze(-1).numpy()
    np.testing.assert_allclose(net.predict_proba(X[:9])[1][:, 1], classes, rtol=1e-5)
    regression = members["r"].mean(dim=1).squeeze(-1).numpy()
    scaler = net.tasks_["r"]
    np.testing.assert_allclose(net.predict_tasks(X[:9])["r"],
                               scaler.decode(regression[:, None]), rtol=1e-5)
    # Two fits with one seed give the same predictions.
    again = MultiTaskNet(ensemble_size=4, hidden_dims=(16, 16), max_epochs=4, front_scale=None,
                         random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X)[1], net.predict_proba(X)[1])


def test_ensemble_size_one_or_a_custom_trunk_is_one_network():
    X, y = regression_and_binary(120)
    assert not hasattr(MultiTaskNet(ensemble_size=1, **FAST).fit(X, y).module_.trunk, "k")
    mmoe = MultiTaskNet(ensemble_size=4, trunk=MMoE(n_experts=2, expert_dims=(8,)), **FAST)
    assert mmoe.fit(X, y).predict(X).shape == (120, 2)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='ensemble_size must be a positive integer or "auto"'):
            MultiTaskNet(ensemble_size=bad, **FAST).fit(X, y)


def test_auto_ensemble_size_follows_the_training_rows_then_one_network(monkeypatch):
    from sk_mtl.estimators import _inputs
    X, y = regression_and_binary(120)
    # The first row limit the 120 rows given to fit are within counts.
    for sizes, members in ((((120, 32), (200, 8)), 32), (((119, 32), (120, 8)), 8),
                           (((50, 32), (119, 8)), 1)):
        monkeypatch.setattr(_inputs, "AUTO_ENSEMBLE_SIZES", sizes)
        net = MultiTaskNet(**FAST).fit(X, y)
        assert net.ensemble_size_ == members
        assert getattr(net.module_.trunk, "k", 1) == members
    # Cross-fitting asks for members: "auto" gives them whatever the rows.
    assert MultiTaskNet(cross_fit=True, **FAST).fit(X, y).ensemble_size_ == 8
    # A number is taken as given.
    assert MultiTaskNet(ensemble_size=3, **FAST).fit(X, y).ensemble_size_ == 3


def _linear_widths(net):
    return [m.weight.shape[0] for m in net.module_.trunk.modules() if isinstance(m, nn.Linear)]


def test_auto_hidden_dims_follow_the_training_rows(monkeypatch, tmp_path):
    from sk_mtl.estimators import _inputs
    X, y = regression_and_binary(120)
    fast = {"max_epochs": 2, "random_state": 0, "ensemble_size": 1, "dropout": 0.1}
    default_rule = _inputs.AUTO_HIDDEN_DIMS
    # Up to 300 rows given to fit: two layers of 64.
    net = MultiTaskNet(**fast).fit(X, y)
    assert net.hidden_dims_ == (64, 64) and _linear_widths(net) == [64, 64]
    # The 120 rows given to fit count: beyond the first limit, two layers of 128 ...
    monkeypatch.setattr(_inputs, "AUTO_HIDDEN_DIMS", ((119, (64, 64)), (10_000, (128, 128))))
    net = MultiTaskNet(**fast).fit(X, y)
    assert net.hidden_dims_ == (128, 128) and _linear_widths(net) == [128, 128]
    # ... and beyond the last, two layers of 256.
    small_rule = ((60, (64, 64)), (119, (128, 128)))
    monkeypatch.setattr(_inputs, "AUTO_HIDDEN_DIMS", small_rule)
    net = MultiTaskNet(**fast).fit(X, y)
    assert net.hidden_dims_ == (256, 256) and _linear_widths(net) == [256, 256]
    # A model file rebuilds the widths the fit resolved, whatever the rule says when loaded.
    monkeypatch.setattr(_inputs, "AUTO_HIDDEN_DIMS", default_rule)
    sk_mtl.save(net, tmp_path / "deep.safetensors")
    loaded = sk_mtl.load(tmp_path / "deep.safetensors")
    assert loaded.hidden_dims_ == (256, 256)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    monkeypatch.setattr(_inputs, "AUTO_HIDDEN_DIMS", small_rule)
    members = MultiTaskNet(**{**fast, "ensemble_size": 4}).fit(X, y)
    assert members.hidden_dims_ == (256, 256)
    assert [m.weight.shape[-1] for m in members.module_.trunk.modules()
            if hasattr(m, "weight") and m.weight.ndim == 2][-1] == 256
    # A tuple is taken as given, and a refit resolves "auto" again.
    net.set_params(hidden_dims=(8, 4)).fit(X, y)
    assert net.hidden_dims_ == (8, 4) and _linear_widths(net) == [8, 4]
    # The old defaults spell out their widths.
    pre = MultiTaskNet(**{**sk_mtl.PRE_SUITE_DEFAULTS, "max_epochs": 2}).fit(X, y)
    assert pre.hidden_dims_ == (128, 128)


def test_hidden_dims_auto_is_the_table_estimators_and_a_bad_string_says_so():
    X, y = regression_and_binary(60)
    with pytest.raises(ValueError, match='hidden_dims must be a tuple of positive ints or "auto", '
                                         "got 'big'"):
        MultiTaskNet(hidden_dims="big", **{"max_epochs": 1}).fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_dims must be a tuple of positive ints, "
                                         r"got 'auto'\."):
        FusionNet(hidden_dims="auto", max_epochs=1).fit(X, y)


def _dropout_layers(net):
    return [m.p for m in net.module_.modules() if isinstance(m, nn.Dropout)]


def test_auto_dropout_keeps_the_rate_with_the_lower_validation_loss(capsys, monkeypatch):
    from sk_mtl.estimators import _base
    X, y = regression_and_binary(300)  # 30 validation rows: early stopping judges
    built = []
    real = _base.build_network
    monkeypatch.setattr(_base, "build_network", lambda *a, **k: built.append(1) or real(*a, **k))
    net = MultiTaskNet(**FAST, verbose=1).fit(X, y)
    assert len(built) == 2  # one network per candidate rate
    printed = capsys.readouterr().out
    assert "dropout=0.1: best valid_loss" in printed and "dropout=0: best valid_loss" in printed
    # Each candidate trained from the same seed, on the same split, as a fixed rate does.
    fixed = {rate: MultiTaskNet(**FAST, dropout=rate).fit(X, y) for rate in (0.1, 0.0)}
    losses = {rate: min(h["valid_loss"] for h in est.history_) for rate, est in fixed.items()}
    chosen = min(losses, key=losses.get)
    assert net.dropout_ == chosen
    assert f"dropout='auto' chose {chosen:g}" in printed
    assert all(p == chosen for p in _dropout_layers(net))
    np.testing.assert_array_equal(net.predict(X), fixed[chosen].predict(X))
    # The kept network is the chosen one, history and all.
    assert [h["valid_loss"] for h in net.history_] == [
        h["valid_loss"] for h in fixed[chosen].history_]


def test_auto_dropout_trains_once_without_a_validation_loss_to_judge_by(monkeypatch):
    from sk_mtl.estimators import _base
    X, y = regression_and_binary(100)  # 10 validation rows: no early stopping
    built = []
    real = _base.build_network
    monkeypatch.setattr(_base, "build_network", lambda *a, **k: built.append(1) or real(*a, **k))
    for params in ({}, {"validation_fraction": None}, {"early_stopping": False}):
        built.clear()
        net = MultiTaskNet(**FAST, **params).fit(X, y)
        assert (len(built), net.dropout_) == (1, 0.1)
    # A number is used as given, once.
    built.clear()
    assert MultiTaskNet(**FAST, dropout=0.3).fit(*regression_and_binary(300)).dropout_ == 0.3
    assert len(built) == 1
    # FusionNet keeps its own default and takes no "auto".
    for params in ({}, {"trunk": nn.Linear(16, 8)}):
        with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 'auto'"):
            FusionNet(dropout="auto", **params).fit({"t": X}, y)
    with pytest.raises(ValueError, match=r'must be in \[0, 1\) or "auto", got \'often\''):
        MultiTaskNet(dropout="often", **FAST).fit(X, y)


def test_refit_full_trains_again_on_all_rows_for_the_early_stopped_epochs(tmp_path):
    X, y = regression_and_binary(300)  # 30 validation rows: early stopping judges
    # A patience that stops well before max_epochs, so that the epoch count is chosen.
    recipe = {**FAST, "max_epochs": 40, "n_iter_no_change": 2, "dropout": 0.1, "lr": 0.05}
    first = MultiTaskNet(**recipe).fit(X, y)
    best = _callbacks(first, EarlyStopping)[0].best_epoch_
    assert 1 <= best < len(first.history_) < 40
    assert (first.refit_epochs_, first.validation_history_) == (None, None)
    net = MultiTaskNet(**recipe, refit_full=True).fit(X, y)
    # The first training is the same one, kept as validation_history_...
    assert [h["valid_loss"] for h in net.validation_history_] == [
        h["valid_loss"] for h in first.history_]
    # ...and the network kept trained `best` epochs on all rows, without a validation split.
    assert net.refit_epochs_ == best == len(net.history_)
    assert not any("valid_loss" in h for h in net.history_)
    assert _callbacks(net, EarlyStopping) == []
    # It is the network trained on every row from the start for that many epochs, with the
    # same seed (the same initial weights) and the schedule's horizon still max_epochs.
    plain = MultiTaskNet(**{**recipe, "max_epochs": best}, validation_fraction=None,
                         lr_schedule=None).fit(X, y)
    same = MultiTaskNet(**recipe, refit_full=True, lr_schedule=None).fit(X, y)
    np.testing.assert_array_equal(same.predict(X), plain.predict(X))
    assert not np.array_equal(net.predict(X), first.predict(X))
    # The retrieval index holds every row, as in a fit without a split.
    assert len(net.retrieval_.X_) == len(plain.retrieval_.X_) == 300
    # Saved and loaded with the rest.
    sk_mtl.save(net, tmp_path / "net.safetensors")
    back = sk_mtl.load(tmp_path / "net.safetensors")
    assert back.refit_epochs_ == best and back.validation_history_ == net.validation_history_
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_refit_full_does_nothing_where_early_stopping_did_not_choose_the_epochs():
    big, small = regression_and_binary(300), regression_and_binary(100)
    for params, data in (({"early_stopping": False}, big),  # no early stopping
                         ({}, small),  # 10 validation rows: "auto" does not stop early
                         ({"ensemble_size": 4, "cross_fit": True}, big)):  # every row trains
        net = MultiTaskNet(**FAST, **params, refit_full=True).fit(*data)
        assert (net.refit_epochs_, net.validation_history_) == (None, None)
        assert len(net.history_) == FAST["max_epochs"]  # the one training, as before
    # partial_fit trains one epoch on its rows, as before.
    net = MultiTaskNet(**FAST, refit_full=True).partial_fit(*big)
    assert len(net.history_) == 1 and net.refit_epochs_ is None
    with pytest.raises(ValueError, match="refit_full must be True or False"):
        MultiTaskNet(refit_full="yes").fit(*big)


def test_fusion_net_refits_on_all_rows_by_default_and_the_table_net_does_not():
    assert FusionNet().refit_full is True and MultiTaskNet().refit_full is False
    X, y = regression_and_binary(300)
    net = FusionNet(**SMALL, max_epochs=30).fit({"t": X}, y)
    assert net.refit_epochs_ == len(net.history_) <= len(net.validation_history_)
    assert not any("valid_loss" in h for h in net.history_)
    assert all("valid_loss" in h for h in net.validation_history_)


def test_cross_fit_members_see_all_but_their_fold_and_stop_on_the_out_of_fold_loss():
    from sk_mtl.estimators._inputs import TableInput
    from sk_mtl.modules import EnsembleMLPTrunk

    X, y = regression_and_binary(160)
    net = MultiTaskNet(ensemble_size=4, cross_fit=True, hidden_dims=(16,), max_epochs=6,
                       random_state=0)
    data, valid = None, None
    captured = {}
    original = TableInput.split

    def spy(self, est, data, codes):
        out = original(self, est, data, codes)
        captured["parts"] = out
        return out

    TableInput.split = spy
    try:
        net.fit(X, y)
    finally:
        TableInput.split = original
    data, valid = captured["parts"]
    # Every row trains and validates; each row is held out by exactly one member.
    assert len(data) == len(valid) == 160
    np.testing.assert_array_equal(valid.members.sum(1).numpy(), 1.0)
    np.testing.assert_array_equal((data.members + valid.members).numpy(), 1.0)
    assert np.bincount(valid.members.argmax(1).numpy()).tolist() == [40, 40, 40, 40]
    # Independent members (no shared weight matrix), early stopping on the 160 rows.
    trunk = net.module_.trunk[-1]  # after the front scale
    assert isinstance(trunk, EnsembleMLPTrunk) and trunk.layers[0].weight.ndim == 3
    assert "valid_loss" in net.history_[-1]
    assert net.predict(X).shape == (160, 2)
    with pytest.raises(ValueError, match=r"cross_fit=True .* ensemble_size >= 2"):
        MultiTaskNet(cross_fit=True, ensemble_size=1, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="cross_fit must be True or False"):
        MultiTaskNet(cross_fit="yes", **FAST).fit(X, y)


def test_cross_fit_validation_rows_leave_themselves_out_of_retrieval(monkeypatch):
    # The validation rows are the training rows: their retrieval columns must be the same
    # leave-one-out ones (a row that found itself would read its own label).
    X, y = regression_and_binary(120)
    captured = {}
    original = MultiTaskNet._add_retrieval

    def spy(self, data, valid, tasks, refit=True):
        out = original(self, data, valid, tasks, refit)
        captured["parts"] = out
        return out

    monkeypatch.setattr(MultiTaskNet, "_add_retrieval", spy)
    net = MultiTaskNet(ensemble_size=2, cross_fit=True, **FAST).fit(X, y)
    assert net.retrieval_ is not None
    data, valid = captured["parts"]
    torch.testing.assert_close(valid.X, data.X)


@pytest.mark.parametrize("params", [
    {"cross_fit": True, "ensemble_size": 3},
    {"batch_norm": True},
    {"input_scaling": "robust", "numeric_embedding": "periodic"},
    {"numeric_embedding": "piecewise"},
])
def test_ensembles_and_scalings_survive_save_and_load(tmp_path, params):
    from sk_mtl import load, save

    X, y = regression_and_binary(150)
    net = MultiTaskNet(**{**FAST, **params}).fit(X * 10 + 3, y)
    save(net, tmp_path / "net.safetensors")
    again = load(tmp_path / "net.safetensors")
    np.testing.assert_array_equal(again.predict_proba(X * 10 + 3)[1],
                                  net.predict_proba(X * 10 + 3)[1])
    np.testing.assert_array_equal(again.predict_tasks(X)["r"], net.predict_tasks(X)["r"])


def test_piecewise_embedding_bins_each_scaled_column_and_passes_the_rest_on():
    from sk_mtl.modules import PiecewiseLinearInput

    X, y = regression_and_binary(150)
    X[:, 3] = 2.0  # a constant column gets one bin
    net = MultiTaskNet(numeric_embedding="piecewise", ensemble_size=1, **FAST).fit(X, y)
    front = net.module_.trunk[0]
    assert isinstance(front, PiecewiseLinearInput)
    # Two scaled views of 4 columns are embedded; the retrieval columns pass on.
    assert len(net.numeric_bins_) == 8 == front.n_embedded
    assert front.out_features == 8 * 16 + net.retrieval_.n_features_out_
    assert len(net.numeric_bins_[3]) == 2 and len(net.numeric_bins_[0]) > 10
    with pytest.raises(ValueError, match='"piecewise" embeds each column of a dense input'):
        MultiTaskNet(numeric_embedding="piecewise", **FAST).fit(sp.csr_matrix(X), y)


# ============================================================================ weight average
class WeightRecorder(Callback):
    """The trainable weights at the start and after every training step (the trained
    weights: the average follows them) and the module's weights at every epoch's end."""

    def initialize(self):
        self.start, self.steps, self.epoch_ends = None, [], []
        return self

    @staticmethod
    def _weights(net):
        return [p.detach().clone() for p in net.module_.parameters() if p.requires_grad]

    def on_train_begin(self, net, **kwargs):
        self.start = self._weights(net)

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.steps.append(self._weights(net))

    def on_epoch_end(self, net, **kwargs):
        self.epoch_ends.append(self._weights(net))


def _moving_average(start, steps, decay):
    average = [w.clone() for w in start]
    for n, weights in enumerate(steps):
        d = min(decay, (1 + n) / (10 + n))
        average = [d * a + (1 - d) * w for a, w in zip(average, weights)]
    return average


def _recorder(net):
    return dict(net.net_.callbacks_)["weights"]


def _assert_weights_close(module, expected):
    _assert_weights_close_list([p.detach() for p in module.parameters() if p.requires_grad],
                               expected)


def _assert_weights_close_list(found, expected):
    for f, e in zip(found, expected, strict=True):
        torch.testing.assert_close(f, e, rtol=1e-5, atol=1e-6)


def test_ema_decay_predicts_with_the_moving_average_of_the_trained_weights():
    X, y = regression_and_binary()
    recipe = {**FAST, "early_stopping": False, "callbacks": [("weights", WeightRecorder())]}
    assert MultiTaskNet().ema_decay == 0.995 and FusionNet().ema_decay is None
    net = MultiTaskNet(**recipe, ema_decay=0.9).fit(X, y)
    rec = _recorder(net)
    assert len(rec.steps) == sum(h["train_batch_count"] for h in net.history_) > 4
    # The fitted module holds the average of every step's weights, warm-up included...
    _assert_weights_close(net.module_, _moving_average(rec.start, rec.steps, 0.9))
    # ...while the trained weights wait beside it: the network ema_decay=None keeps, from
    # the same training.
    trained = net.net_.average_.live
    _assert_weights_close_list(trained, rec.steps[-1])
    plain = MultiTaskNet(**recipe, ema_decay=None).fit(X, y)
    assert plain.net_.average_ is None
    _assert_weights_close(plain.module_, trained)
    assert not np.allclose(net.predict(X)[:, 0].astype(float),
                           plain.predict(X)[:, 0].astype(float))


def test_ema_decay_validates_and_early_stops_on_the_average():
    X, y = regression_and_binary(300)
    recipe = {**FAST, "max_epochs": 40, "n_iter_no_change": 2, "lr": 0.05,
              "callbacks": [("weights", WeightRecorder())]}
    net = MultiTaskNet(**recipe, ema_decay=0.9).fit(X, y)
    rec = _recorder(net)
    best = _callbacks(net, EarlyStopping)[0].best_epoch_
    assert best < len(net.history_) < 40
    # Every epoch ends with the average in the module (what validation scored), and
    # early stopping restored the best epoch's average.
    steps_per_epoch = len(rec.steps) // len(net.history_)
    for epoch in (1, len(net.history_)):
        _assert_weights_close_list(rec.epoch_ends[epoch - 1], _moving_average(
            rec.start, rec.steps[:epoch * steps_per_epoch], 0.9))
    _assert_weights_close(net.module_, rec.epoch_ends[best - 1])


def test_ema_decay_goes_on_from_the_trained_weights_after_warm_start_and_a_model_file(
        tmp_path):
    X, y = regression_and_binary()
    recipe = {**FAST, "early_stopping": False, "ema_decay": 0.9, "lr_schedule": None}
    whole = MultiTaskNet(**{**recipe, "max_epochs": 6}).fit(X, y)
    # Four epochs, then two more: the same network as six at once.
    part = MultiTaskNet(**recipe, warm_start=True).fit(X, y)
    sk_mtl.save(part, tmp_path / "part.safetensors")
    part.set_params(max_epochs=6).fit(X, y)
    np.testing.assert_array_equal(part.predict(X), whole.predict(X))
    # A model file keeps the average and the trained weights it follows.
    back = sk_mtl.load(tmp_path / "part.safetensors")
    back.set_params(max_epochs=6, warm_start=True).fit(X, y)
    np.testing.assert_array_equal(back.predict(X), whole.predict(X))


@pytest.mark.parametrize("bad", [1.0, -0.1, True, "0.9", float("nan")])
def test_a_bad_ema_decay_is_refused_before_training(bad):
    X, y = regression_and_binary()
    with pytest.raises(ValueError, match=r"ema_decay must be None or a number in \[0, 1\)"):
        MultiTaskNet(**FAST, ema_decay=bad).fit(X, y)


def test_fusion_net_takes_ema_decay():
    X, y = regression_and_binary()
    net = FusionNet(**FAST, ema_decay=0.99).fit({"t": X}, y)
    assert net.net_.average_ is not None and net.net_.average_.steps > 0
    assert np.isfinite(net.predict({"t": X})[:, 0].astype(float)).all()


# ============================================================================ front scale
def test_front_scale_learns_each_columns_scale_at_its_multiple_of_the_learning_rate():
    from sk_mtl.modules import FrontScale

    X, y = regression_and_binary(64)
    assert MultiTaskNet().front_scale == 6.0 and "front_scale" not in FusionNet().get_params()
    # One Adam step (no weight decay, no schedule, one batch): each parameter moves by lr
    # in the direction of its gradient, so each column's scale moves by 6 * lr from 1.
    recipe = {**FAST, "max_epochs": 1, "optimizer": "adam", "lr": 1e-3, "lr_schedule": None,
              "batch_size": -1, "validation_fraction": None, "dropout": 0.0, "ema_decay": None}
    net = MultiTaskNet(**recipe).fit(X, y)
    front = net.module_.trunk[0]
    assert isinstance(front, FrontScale) and front.lr_factor == 6.0
    scales = (front.weight * front.lr_factor).detach().numpy()
    assert front.out_features == scales.size == 2 * X.shape[1] + net.retrieval_.n_features_out_
    np.testing.assert_allclose(np.abs(scales - 1.0), 6e-3, rtol=1e-3)
    twice = MultiTaskNet(**recipe, front_scale=12.0).fit(X, y).module_.trunk[0]
    np.testing.assert_allclose(np.abs((twice.weight * 12.0).detach().numpy() - 1.0), 1.2e-2,
                               rtol=1e-3)
    # None: the trunk reads the columns as they are; a custom trunk has none either.
    plain = MultiTaskNet(**recipe, front_scale=None, ensemble_size=1).fit(X, y)
    assert not any(isinstance(m, FrontScale) for m in plain.module_.modules())
    custom = MultiTaskNet(**recipe, trunk="mmoe").fit(X, y)
    assert not any(isinstance(m, FrontScale) for m in custom.module_.modules())


@pytest.mark.parametrize("bad", [0, -1.0, True, "6", float("inf")])
def test_a_bad_front_scale_is_refused_before_training(bad):
    X, y = regression_and_binary()
    with pytest.raises(ValueError, match=r"front_scale must be None or a number > 0"):
        MultiTaskNet(**FAST, front_scale=bad).fit(X, y)


# ======================================================================= optimizer betas
def _betas(net):
    return tuple(net.net_.optimizer_.param_groups[0]["betas"])


def test_auto_optimizer_params_give_adam_realmlps_second_moment_decay():
    X, y = regression_and_binary(48)
    quick = {**FAST, "max_epochs": 1}
    assert MultiTaskNet().optimizer_params == "auto" and FusionNet().optimizer_params is None
    assert _betas(MultiTaskNet(**quick).fit(X, y)) == (0.9, 0.95)
    assert _betas(MultiTaskNet(**quick, optimizer="adam").fit(X, y)) == (0.9, 0.95)
    # None: torch's own defaults, as before (and the earlier defaults' dicts keep them).
    assert _betas(MultiTaskNet(**quick, optimizer_params=None).fit(X, y)) == (0.9, 0.999)
    assert sk_mtl.LEGACY_DEFAULTS["optimizer_params"] is None
    assert sk_mtl.PRE_SUITE_DEFAULTS["optimizer_params"] is None
    assert _betas(FusionNet(**quick).fit({"t": X}, y)) == (0.9, 0.999)
    assert _betas(FusionNet(**quick, optimizer_params="auto").fit({"t": X}, y)) == (0.9, 0.95)
    # Other optimizers get nothing from "auto"; a dict is used as given.
    sgd = MultiTaskNet(**quick, optimizer="sgd").fit(X, y).net_.optimizer_
    assert isinstance(sgd, torch.optim.SGD) and "betas" not in sgd.defaults
    given = MultiTaskNet(**quick, optimizer_params={"weight_decay": 0.0}).fit(X, y)
    assert _betas(given) == (0.9, 0.999)
    assert given.net_.optimizer_.param_groups[0]["weight_decay"] == 0.0


def test_setting_one_optimizer_argument_keeps_what_auto_stands_for():
    net = MultiTaskNet().set_params(optimizer_params__weight_decay=0.0)
    assert net.optimizer_params == {"betas": (0.9, 0.95), "weight_decay": 0.0}
    net = MultiTaskNet().set_params(optimizer="sgd", optimizer_params__momentum=0.9)
    assert net.optimizer_params == {"momentum": 0.9}
    assert MultiTaskNet().optimizer_params == "auto"  # the class default is untouched


@pytest.mark.parametrize("bad", ["fast", [0.9, 0.95], {1: 0.9}])
def test_bad_optimizer_params_are_refused_before_training(bad):
    X, y = regression_and_binary()
    with pytest.raises(ValueError, match=r"optimizer_params must be None, 'auto' or a dict"):
        MultiTaskNet(**FAST, optimizer_params=bad).fit(X, y)
