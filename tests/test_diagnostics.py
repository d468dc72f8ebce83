"""GradientCosine, compare_single_task and plot_history."""

import copy
import math
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _helpers import PLAIN, SMALL, three_kinds
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sk_mtl import MultiTaskNet, MultiTaskNetRegressor
from sk_mtl.data import TensorData
from sk_mtl.diagnostics import GradientCosine, compare_single_task, plot_history
from sk_mtl.metrics import task_scorer

# One plain network on the input as given (_helpers.PLAIN), no retrieval features: these
# tests check one thing each on an MLP's own layers, heads and gradients.
FAST = {**SMALL, **PLAIN, "lr": 0.02, "max_epochs": 3, "batch_size": 64, "retrieval": None}


def _X(n=120, seed=0):
    return np.random.RandomState(seed).normal(size=(n, 5)).astype(np.float32)


def _callback(est):
    found = [cb for _, cb in est.net_.callbacks_ if isinstance(cb, GradientCosine)]
    assert len(found) == 1
    return found[0]


class TieHeads(Callback):
    """Make head 1 equal to ``sign`` times head 0 before training starts."""

    def __init__(self, sign=1.0):
        self.sign = sign

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        module = net.module_
        first, second = module.head_slices.values()  # two one-output tasks
        with torch.no_grad():
            module.head.weight[second] = self.sign * module.head.weight[first]
            module.head.bias[second] = self.sign * module.head.bias[first]


class Snapshot(Callback):
    """At each epoch end, hand ``sink`` a copy of every piece of state a diagnostic may touch."""

    def __init__(self, sink):
        self.sink = sink

    def on_epoch_end(self, net, **kwargs):
        module = net.module_
        self.sink(
            {
                "grads": [None if p.grad is None else p.grad.clone() for p in module.parameters()],
                "params": [p.detach().clone() for p in module.parameters()],
                "buffers": [b.clone() for b in module.buffers()],
                "modes": [m.training for m in module.modules()],
                "optimizer": copy.deepcopy(net.optimizer_.state_dict()),
                "rng": torch.random.get_rng_state(),
            }
        )


def _same_state(before, after):
    assert before["modes"] == after["modes"]
    assert torch.equal(before["rng"], after["rng"])
    for key in ("grads", "params", "buffers"):
        assert len(before[key]) == len(after[key])
        for x, z in zip(before[key], after[key]):
            assert (x is None) == (z is None)
            if x is not None:
                assert torch.equal(x, z)
    opt_before, opt_after = before["optimizer"], after["optimizer"]
    assert opt_before["param_groups"] == opt_after["param_groups"]
    assert opt_before["state"].keys() == opt_after["state"].keys()
    for k, state in opt_before["state"].items():
        for name, value in state.items():
            other = opt_after["state"][k][name]
            assert torch.equal(value, other) if torch.is_tensor(value) else value == other


# =========================================================================== GradientCosine
def test_gradient_cosine_records_every_pair_every_epoch():
    X, y = three_kinds()
    est = MultiTaskNet(callbacks=[GradientCosine(random_state=0)], **FAST).fit(X, y)
    history = est.history_
    pairs = ["grad_cos_a__b", "grad_cos_a__c", "grad_cos_b__c"]
    norms = ["grad_norm_a", "grad_norm_b", "grad_norm_c"]
    for key in pairs + norms:
        values = history[:, key]
        assert len(values) == FAST["max_epochs"]
        assert all(math.isfinite(v) for v in values)
    assert all(-1.0 <= v <= 1.0 for key in pairs for v in history[:, key])
    assert all(v > 0 for key in norms for v in history[:, key])
    assert not any(k.startswith("grad_cos_") and k not in pairs for k in history[-1])


def test_gradient_cosine_includes_auxiliary_tasks():
    X, y = three_kinds(60)
    est = MultiTaskNet(auxiliary_tasks=["b"], callbacks=[GradientCosine()], **FAST).fit(X, y)
    assert est.task_names_ == ["a", "c"]
    assert {"grad_cos_a__b", "grad_cos_a__c", "grad_cos_b__c", "grad_norm_b"} <= set(
        est.history_[-1]
    )


def test_gradient_cosine_samples_at_most_max_rows_once():
    X, y = three_kinds(200)
    est = MultiTaskNet(
        callbacks=[GradientCosine(max_rows=30, random_state=0)], validation_fraction=None, **FAST
    ).fit(X, y)
    cb = _callback(est)
    rows = cb.sample_indices_
    assert len(rows) == 30 and len(np.unique(rows)) == 30
    assert np.all(np.diff(rows) > 0) and rows.max() < 200
    # Same random_state, same rows; the sample is kept and reused at the next epoch.
    again = MultiTaskNet(
        callbacks=[GradientCosine(max_rows=30, random_state=0)], validation_fraction=None, **FAST
    ).fit(X, y)
    np.testing.assert_array_equal(_callback(again).sample_indices_, rows)
    recorded = est.history_[-1, "grad_cos_a__b"]
    data = _tensor_data(est, X, y)
    cb.on_epoch_end(est.net_, dataset_train=data)
    assert cb.sample_indices_ is rows
    assert est.history_[-1, "grad_cos_a__b"] == pytest.approx(recorded, abs=1e-12)


def test_gradient_cosine_keeps_all_rows_when_fewer_than_max_rows():
    X, y = three_kinds(80)
    est = MultiTaskNet(callbacks=[GradientCosine()], validation_fraction=0.25, **FAST).fit(X, y)
    np.testing.assert_array_equal(_callback(est).sample_indices_, np.arange(60))


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_gradient_cosine_is_one_for_identical_tasks_with_identical_heads(kind):
    # Two copies of one task with equal heads: the two task losses are the same function of
    # the trunk, so their gradients are equal (and stay so: training is symmetric).
    X, y = three_kinds()
    column = y["b"] if kind == "regression" else y["a"]
    y2 = pd.DataFrame({"t1": column, "t2": column})
    est = MultiTaskNet(
        callbacks=[TieHeads(1.0), GradientCosine(random_state=0)],
        **{**FAST, "dropout": 0.2},
    ).fit(X, y2)
    np.testing.assert_allclose(est.history_[:, "grad_cos_t1__t2"], 1.0, atol=1e-5)
    np.testing.assert_allclose(
        est.history_[:, "grad_norm_t1"], est.history_[:, "grad_norm_t2"], rtol=1e-5
    )


def test_gradient_cosine_opposite_targets_with_negated_heads_agree():
    # y and -y: standardizing -y gives minus the standardized y, and a head that is minus the
    # other head makes the second loss the same function of the trunk as the first, so the
    # cosine is exactly 1 -- a task's sign is absorbed by its head. (With *equal* heads it
    # is not -1 in general: measured about -0.86 after one epoch here, so not asserted.)
    X, y = three_kinds()
    y2 = pd.DataFrame({"up": y["b"], "down": -y["b"]})
    est = MultiTaskNetRegressor(
        callbacks=[TieHeads(-1.0), GradientCosine(random_state=0)], **FAST
    ).fit(X, y2)
    np.testing.assert_allclose(est.history_[:, "grad_cos_up__down"], 1.0, atol=1e-5)


def test_gradient_cosine_matches_a_hand_computation():
    X, y = three_kinds(150)
    est = MultiTaskNet(
        callbacks=[GradientCosine(max_rows=40, random_state=3)],
        validation_fraction=None,
        **{**FAST, "max_epochs": 2},
    ).fit(X, y)
    rows = _callback(est).sample_indices_
    module, criterion = est.module_, est.net_.criterion_
    targets = {}
    for name in est.task_names_:
        column = y[name].to_numpy()[rows]
        encoded = est.tasks_[name].encode(column, np.ones(len(rows), dtype=bool))
        targets[name] = (torch.from_numpy(encoded), None)
    module.eval()
    trunk = list(module.trunk.parameters())
    grads = {}
    for name in est.task_names_:
        module.zero_grad()
        losses = criterion(module(torch.from_numpy(X[rows])), targets)
        losses[name].backward()
        grads[name] = torch.cat([p.grad.reshape(-1) for p in trunk]).double()
    module.zero_grad()
    for a, b in [("a", "b"), ("a", "c"), ("b", "c")]:
        expected = torch.nn.functional.cosine_similarity(grads[a], grads[b], dim=0).item()
        assert est.history_[-1, f"grad_cos_{a}__{b}"] == pytest.approx(expected, abs=1e-6)
    for name in est.task_names_:
        expected = grads[name].norm().item()
        assert est.history_[-1, f"grad_norm_{name}"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("validation_fraction", [None, 0.2])
def test_gradient_cosine_leaves_grads_optimizer_modes_and_rng_alone(validation_fraction):
    X, y = three_kinds()
    seen = []
    est = MultiTaskNet(
        callbacks=[
            ("before", Snapshot(seen.append)),
            ("measure", GradientCosine()),
            ("after", Snapshot(seen.append)),
        ],
        validation_fraction=validation_fraction,
        **{
            **FAST,
            "dropout": 0.3,
            "batch_norm": True,
            "optimizer": "sgd",
            "optimizer_params": {"momentum": 0.9},
        },
    ).fit(X, y)
    assert len(seen) == 2 * FAST["max_epochs"]
    assert any(g is not None for g in seen[0]["grads"])  # there were gradients to keep
    for before, after in zip(seen[::2], seen[1::2]):
        _same_state(before, after)
    assert "grad_cos_a__b" in est.history_[-1]


@pytest.mark.parametrize("validation_fraction", [None, 0.2])
def test_gradient_cosine_does_not_change_training(validation_fraction):
    # Without a validation split the module is still in training mode at the end of the
    # epoch: a measurement in that mode would draw dropout masks and move batch-norm
    # statistics.
    X, y = three_kinds()
    params = {
        **FAST,
        "dropout": 0.3,
        "batch_norm": True,
        "validation_fraction": validation_fraction,
    }
    plain = MultiTaskNet(**params).fit(X, y)
    measured = MultiTaskNet(callbacks=[GradientCosine(max_rows=50)], **params).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X)[0], measured.predict_proba(X)[0])
    np.testing.assert_array_equal(plain.predict(X)[:, 1], measured.predict(X)[:, 1])


def test_gradient_cosine_sparse_X():
    X, y = three_kinds()
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    est = MultiTaskNet(callbacks=[GradientCosine(max_rows=50, random_state=0)], **FAST).fit(
        X_sparse, y
    )
    assert all(math.isfinite(v) for v in est.history_[:, "grad_cos_a__b"])


def _tensor_data(est, X, y, labelled=None):
    targets, masks = {}, {}
    for name in est.task_names_:
        column = y[name].to_numpy()
        mask = np.ones(len(y), dtype=bool) if labelled is None else labelled[name]
        targets[name] = torch.from_numpy(est.tasks_[name].encode(column, mask))
        masks[name] = None if mask.all() else torch.from_numpy(mask)
    return TensorData(torch.from_numpy(X), targets, masks)


def test_gradient_cosine_is_nan_for_a_task_without_labels_in_the_sample():
    X, y = three_kinds(60)
    est = MultiTaskNet(**FAST).fit(X, y)
    labelled = {name: np.ones(60, dtype=bool) for name in est.task_names_}
    labelled["b"][:] = False
    cb = GradientCosine().initialize()
    cb.on_epoch_end(est.net_, dataset_train=_tensor_data(est, X, y, labelled))
    last = est.history_[-1]
    assert last["grad_norm_b"] == 0.0
    assert math.isnan(last["grad_cos_a__b"]) and math.isnan(last["grad_cos_b__c"])
    assert -1.0 <= last["grad_cos_a__c"] <= 1.0


def test_gradient_cosine_single_task_and_no_shared_parameters():
    X, y = three_kinds(60)
    one = MultiTaskNet(callbacks=[GradientCosine()], **FAST).fit(X, y["b"])
    assert [k for k in one.history_[-1] if k.startswith("grad_")] == ["grad_norm_b"]
    linear = MultiTaskNet(callbacks=[GradientCosine()],  # no layer, no front scale: none shared
                          **{**FAST, "hidden_dims": (), "front_scale": None}).fit(X, y)
    assert linear.history_[-1, "grad_norm_a"] == 0.0
    assert math.isnan(linear.history_[-1, "grad_cos_a__b"])


@pytest.mark.parametrize("max_rows", [0, -3, 2.5, True])
def test_gradient_cosine_rejects_bad_max_rows(max_rows):
    X, y = three_kinds(40)
    with pytest.raises(ValueError, match="max_rows must be a positive integer"):
        MultiTaskNet(callbacks=[GradientCosine(max_rows=max_rows)], **FAST).fit(X, y)


def test_gradient_cosine_rejects_foreign_training_data():
    X, y = three_kinds(40)
    est = MultiTaskNet(**FAST).fit(X, y)
    with pytest.raises(TypeError, match="TensorData"):
        GradientCosine().initialize().on_epoch_end(est.net_, dataset_train=[1, 2, 3])


# ====================================================================== compare_single_task
COMPARE = {**SMALL, "hidden_dims": (8,), "lr": 0.02, "max_epochs": 5, "batch_size": 64}
COLUMNS = [
    "task",
    "multi_task_mean",
    "multi_task_std",
    "single_task_mean",
    "single_task_std",
    "relative_improvement_pct",
]


def test_compare_single_task_table_and_delta_m():
    X, y = three_kinds(90)
    table = compare_single_task(MultiTaskNet(**COMPARE), X, y, cv=2)
    assert table.columns.tolist() == COLUMNS
    assert table["task"].tolist() == ["a", "b", "c"]
    assert np.isfinite(table[COLUMNS[1:]].to_numpy()).all()
    expected = (
        100
        * (table["multi_task_mean"] - table["single_task_mean"])
        / np.abs(table["single_task_mean"])
    )
    np.testing.assert_allclose(table["relative_improvement_pct"], expected)
    assert table.attrs["delta_m"] == pytest.approx(expected.mean())


def test_compare_single_task_matches_a_hand_computation_with_missing_labels():
    # A 2-D array y (tasks y0, y1) with missing labels in y1.
    X = _X(80)
    y = np.column_stack([X[:, 0] * 2.0 + X[:, 1], X[:, 1] - X[:, 2]]).astype(np.float64)
    y[::4, 1] = np.nan
    est = MultiTaskNetRegressor(task_weights={"y0": 1.0, "y1": 2.0}, **COMPARE)
    table = compare_single_task(est, X, y, cv=2)

    frame = pd.DataFrame(y, columns=["y0", "y1"])
    multi = {"y0": [], "y1": []}
    single = {"y0": [], "y1": []}
    for train, test in KFold(2).split(X):
        fitted = clone(est).fit(X[train], y[train])
        for name in ("y0", "y1"):
            multi[name].append(task_scorer(name)(fitted, X[test], y[test]))
        for name in ("y0", "y1"):
            labelled = frame[name].notna().to_numpy()
            tr, te = train[labelled[train]], test[labelled[test]]
            alone = clone(est).set_params(task_weights={name: est.task_weights[name]})
            alone.fit(X[tr], frame[[name]].iloc[tr])
            single[name].append(alone.score(X[te], frame[[name]].iloc[te]))
    for row, name in zip(table.itertuples(), ("y0", "y1")):
        assert row.task == name
        assert row.multi_task_mean == pytest.approx(np.mean(multi[name]), rel=1e-9)
        assert row.multi_task_std == pytest.approx(np.std(multi[name]), rel=1e-6, abs=1e-12)
        assert row.single_task_mean == pytest.approx(np.mean(single[name]), rel=1e-9)
        assert row.single_task_std == pytest.approx(np.std(single[name]), rel=1e-6, abs=1e-12)


def test_compare_single_task_pipeline_keeps_only_each_tasks_entries():
    X, y = three_kinds(90)
    y = y[["a", "b"]]
    seen = []

    def recording_accuracy(view, X_task, y_task):
        net = view.estimator
        seen.append((tuple(net.task_names_), dict(net.task_weights or {}), net.stratify))
        return float(np.mean(view.predict(X_task) == y_task))

    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "mtl",
                MultiTaskNet(
                    tasks={"a": "binary"},
                    task_weights={"a": 2.0, "b": 0.5},
                    stratify="a",
                    **COMPARE,
                ),
            ),
        ]
    )
    table = compare_single_task(
        pipe, X, y, cv=2, scoring={"a": recording_accuracy, "b": "neg_mean_absolute_error"}
    )
    assert table["task"].tolist() == ["a", "b"]
    assert (table.loc[1, ["multi_task_mean", "single_task_mean"]] < 0).all()
    # Multi-task fits (2 folds), then the single-task fits of "a" (2 folds).
    assert seen[:2] == [(("a", "b"), {"a": 2.0, "b": 0.5}, "a")] * 2
    assert seen[2:] == [(("a",), {"a": 2.0}, "a")] * 2
    assert pipe.get_params()["mtl__task_weights"] == {"a": 2.0, "b": 0.5}  # not modified


def test_compare_single_task_accepts_a_split_list_and_nested_pipeline():
    X, y = three_kinds(60)
    y = y[["b", "c"]]
    inner = Pipeline([("mtl", MultiTaskNet(task_weights={"c": 0.5}, **COMPARE))])
    pipe = Pipeline([("scale", StandardScaler()), ("inner", inner)])
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    table = compare_single_task(pipe, X, y, cv=splits)
    assert table["task"].tolist() == ["b", "c"]


def test_compare_single_task_leaves_auxiliary_tasks_out_of_the_table():
    X, y = three_kinds(60)
    seen = []

    def recording_r2(view, X_task, y_task):
        net = view.estimator
        seen.append((tuple(net.task_names_), tuple(net.auxiliary_task_names_)))
        return r2_score(y_task, view.predict(X_task))

    est = MultiTaskNet(auxiliary_tasks=["c"], **COMPARE)
    table = compare_single_task(est, X, y, cv=2, scoring={"b": recording_r2})
    assert table["task"].tolist() == ["a", "b"]
    assert seen == [(("a", "b"), ("c",))] * 2 + [(("b",), ())] * 2
    with pytest.raises(ValueError, match=r"auxiliary tasks \['c'\] are trained, not scored"):
        compare_single_task(est, X, y, cv=2, scoring={"c": "r2"})


def test_compare_single_task_errors():
    X, y = three_kinds(40)
    est = MultiTaskNet(**COMPARE)
    with pytest.raises(ValueError, match="at least two target columns"):
        compare_single_task(est, X, y["b"])
    with pytest.raises(ValueError, match="at least two target columns"):
        compare_single_task(est, X, y[["b"]])
    with pytest.raises(ValueError, match=r"scoring has key\(s\) \['zz'\]"):
        compare_single_task(est, X, y, scoring={"zz": "r2"})
    with pytest.raises(TypeError, match="multi-task estimator"):
        compare_single_task(LogisticRegression(), X, y)
    with pytest.raises(TypeError, match="last step of the Pipeline"):
        compare_single_task(Pipeline([("lr", LogisticRegression())]), X, y)
    with pytest.raises(ValueError, match="40 rows but y has 39"):
        compare_single_task(est, X, y.iloc[:39])
    sparse_labels = y.astype({"b": float}).copy()
    sparse_labels.loc[:19, "b"] = np.nan
    with pytest.raises(ValueError, match="Task 'b' has no labelled row in the test part"):
        compare_single_task(est, X, sparse_labels, cv=2)
    with pytest.raises(ValueError, match=r"task_weights\['b'\] is 0"):
        compare_single_task(est.set_params(task_weights={"b": 0.0}), X, y, cv=2)


# ============================================================================= plot_history
@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def measured():
    X, y = three_kinds(80)
    return MultiTaskNet(callbacks=[GradientCosine(random_state=0)], **FAST).fit(X, y)


def _labels(ax):
    return ax.get_legend_handles_labels()[1]


def test_plot_history_three_panels(pyplot, measured):
    from matplotlib.figure import Figure

    fig = plot_history(measured)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    losses, weights, cosines = fig.axes
    assert _labels(losses) == [f"{t} ({s})" for t in ("a", "b", "c") for s in ("train", "valid")]
    assert _labels(weights) == ["a", "b", "c"]
    assert _labels(cosines) == ["a / b", "a / c", "b / c"]
    np.testing.assert_allclose(
        cosines.get_lines()[0].get_ydata(), measured.history_[:, "grad_cos_a__b"]
    )
    # The History itself and a Pipeline ending in the estimator give the same panels.
    fig2 = plot_history(measured.history_)
    assert [_labels(ax) for ax in fig2.axes] == [_labels(ax) for ax in fig.axes]


def test_plot_history_tasks_and_given_axes(pyplot, measured):
    fig, axes = pyplot.subplots(3, 1)
    returned = plot_history(measured, tasks=["a", "c"], ax=axes)
    assert returned is fig
    assert _labels(axes[1]) == ["a", "c"]
    assert _labels(axes[2]) == ["a / c"]


def test_plot_history_without_gradient_cosines(pyplot):
    X, y = three_kinds(60)
    est = MultiTaskNet(validation_fraction=None, **FAST).fit(X, y[["a", "b"]])
    fig = plot_history(Pipeline([("mtl", est)]))
    losses, _, cosines = fig.axes
    assert _labels(losses) == ["a (train)", "b (train)"]
    assert not cosines.get_lines()
    assert "GradientCosine" in cosines.texts[0].get_text()


def test_plot_history_shows_auxiliary_tasks(pyplot):
    X, y = three_kinds(60)
    est = MultiTaskNet(
        auxiliary_tasks=["b"], callbacks=[GradientCosine()], validation_fraction=None, **FAST
    ).fit(X, y)
    losses, _, cosines = plot_history(est).axes
    assert _labels(losses) == ["a (train)", "b (train)", "c (train)"]
    assert _labels(cosines) == ["a / b", "a / c", "b / c"]


def test_plot_history_errors(pyplot, measured):
    with pytest.raises(ValueError, match=r"tasks \['zz'\] are not in the history"):
        plot_history(measured, tasks=["zz"])
    _, axes = pyplot.subplots(1, 2)
    with pytest.raises(ValueError, match="3 matplotlib Axes"):
        plot_history(measured, ax=axes)
    with pytest.raises(NotFittedError):
        plot_history(MultiTaskNet())
    with pytest.raises(TypeError, match="history"):
        plot_history(42)


def test_plot_history_names_the_extra_without_matplotlib(monkeypatch, measured):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "sk_mtl\[plot\]"'):
        plot_history(measured)
