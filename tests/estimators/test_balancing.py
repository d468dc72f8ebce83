"""Task balancing through the estimators: weighting strategies, auxiliary tasks, MMoE."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sk_mtl import MultiTaskNet, MultiTaskNetRegressor
from sk_mtl.trunks import MMoE
from sk_mtl.weighting import WEIGHTINGS, GradNormWeighting, UncertaintyWeighting

# One plain network on the input as given (ensemble_size=1, input_scaling=None): these tests
# check one thing each on an MLP's own layers, heads and gradients; the ensemble and the
# input scaling have their tests in test_defaults.py.
FAST = dict(
    hidden_dims=(16,), lr=0.01, max_epochs=6, batch_size=32, dropout=0.0, lr_schedule=None,
    random_state=0, ensemble_size=1, input_scaling=None,
)


def _data(n=160, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = pd.DataFrame({
        "r": 2 * X[:, 0] + X[:, 1] + 0.1 * rng.normal(size=n),
        "c": np.where(X[:, 2] + X[:, 0] > 0, "yes", "no"),
        "aux": X[:, 1] * 3,
    })
    return X, y


def test_grid_search_over_every_weighting_logs_weights():
    X, y = _data()
    names = sorted(WEIGHTINGS)
    search = GridSearchCV(
        MultiTaskNet(tasks={"r": "regression"}, **FAST), {"weighting": names}, cv=2, n_jobs=2
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    for name in names:
        net = MultiTaskNet(tasks={"r": "regression"}, weighting=name, **FAST).fit(X, y)
        for task in ("r", "c", "aux"):
            weights = net.history_[:, f"weight_{task}"]
            assert len(weights) == FAST["max_epochs"]
            assert all(np.isfinite(weights)) and all(w >= 0 for w in weights)
        assert net.score(X, y) > 0.5, name


def test_adaptive_weights_move_during_training():
    X, y = _data()
    for name in ("uncertainty", "dwa", "gradnorm", "mgda"):
        net = MultiTaskNet(tasks={"r": "regression"}, weighting=name, **FAST).fit(X, y)
        first = [net.history_[0, f"weight_{t}"] for t in ("r", "c")]
        last = [net.history_[-1, f"weight_{t}"] for t in ("r", "c")]
        assert first != last, name


def test_uncertainty_log_variances_are_trained_and_pickled():
    X, y = _data()
    net = MultiTaskNet(tasks={"r": "regression"}, weighting="uncertainty", **FAST).fit(X, y)
    log_var = net.net_.criterion_.weighting_module.log_var.detach().clone()
    assert not np.allclose(log_var.numpy(), 0.0)
    restored = pickle.loads(pickle.dumps(net))
    assert np.allclose(restored.net_.criterion_.weighting_module.log_var.detach(), log_var)
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))


def test_weighting_params_are_searchable_and_shown_by_get_params():
    est = MultiTaskNet(weighting=GradNormWeighting())
    params = est.get_params()
    assert "weighting__alpha" in params and "weighting__lr" in params
    named = MultiTaskNet(weighting="uncertainty").set_params(weighting__init_log_var=0.5)
    assert isinstance(named.weighting, UncertaintyWeighting)
    assert named.weighting.init_log_var == 0.5
    X, y = _data()
    search = GridSearchCV(
        MultiTaskNet(tasks={"r": "regression"}, weighting="dwa", **FAST),
        {"weighting__temperature": [1.0, 4.0]}, cv=2,
    ).fit(X, y)
    assert search.best_estimator_.weighting.temperature in (1.0, 4.0)


def test_static_weights_still_apply_under_gradient_methods():
    X, y = _data()
    # Plain Adam: AdamW's decoupled weight decay would shrink even a head with no gradient.
    net = MultiTaskNet(
        tasks={"r": "regression"}, weighting="pcgrad", task_weights={"c": 0.0},
        optimizer="adam", **FAST,
    )
    net.fit(X, y)
    # A zero weight gives the head of "c" no gradient: its weights stay at their init, which
    # a fit with the same seed and a negligible learning rate shows.
    init = MultiTaskNet(tasks={"r": "regression"}, **{**FAST, "max_epochs": 1, "lr": 1e-12})
    init.fit(X, y)
    rows = net.module_.head_slices["c"]
    np.testing.assert_allclose(
        net.module_.head.weight[rows].detach().numpy(),
        init.module_.head.weight[rows].detach().numpy(),
        atol=1e-6,
    )


def test_auxiliary_tasks_are_trained_but_not_predicted():
    X, y = _data()
    net = MultiTaskNet(tasks={"r": "regression"}, auxiliary_tasks=["aux"], **FAST).fit(X, y)
    assert net.task_names_ == ["r", "c"]
    assert net.auxiliary_task_names_ == ["aux"]
    assert net.predict(X).shape == (len(X), 2)
    assert len(net.predict_proba(X)) == 2
    assert "train_loss_aux" in net.history_[-1]
    assert net.score(X, y) == pytest.approx(net.score(X, y[["r", "c"]]))
    single = MultiTaskNetRegressor(auxiliary_tasks=["aux"], **FAST).fit(X, y[["r", "aux"]])
    assert single.predict(X).shape == (len(X),)
    full, main = y[["r", "aux"]].to_numpy(), y["r"].to_numpy()
    assert single.score(X, full) == pytest.approx(single.score(X, main))


@pytest.mark.parametrize(
    ("aux", "error", "match"),
    [
        (["nope"], ValueError, r"auxiliary_tasks \['nope'\] are not targets"),
        (["r", "c", "aux"], ValueError, "at least one task must be predicted"),
        ("aux", TypeError, "list of task names"),
    ],
)
def test_bad_auxiliary_tasks(aux, error, match):
    X, y = _data(40)
    with pytest.raises(error, match=match):
        MultiTaskNet(tasks={"r": "regression"}, auxiliary_tasks=aux, **FAST).fit(X, y)


def test_mmoe_trunk_by_name_and_spec():
    X, y = _data()
    by_name = MultiTaskNet(tasks={"r": "regression"}, trunk="mmoe", **FAST).fit(X, y)
    assert len(by_name.module_.trunk.experts) == 4
    spec = MMoE(n_experts=3, expert_dims=(8,))
    net = MultiTaskNet(tasks={"r": "regression"}, trunk=spec, **FAST).fit(X, y)
    assert len(net.module_.trunk.experts) == 3
    assert net.module_.head.in_features == 8
    assert net.score(X, y) > 0.5
    assert spec.n_experts == 3  # the parameter object is not changed by fit
    est = clone(MultiTaskNet(trunk=spec)).set_params(trunk__n_experts=2)
    assert est.trunk.n_experts == 2 and spec.n_experts == 3
    with pytest.raises(ValueError, match="n_experts"):
        MultiTaskNet(tasks={"r": "regression"}, trunk=MMoE(n_experts=0), **FAST).fit(X, y)


def test_gradnorm_needs_a_weight_matrix_in_the_trunk():
    X, y = _data(40)
    with pytest.raises(ValueError, match="GradNormWeighting needs a trunk"):
        MultiTaskNet(
            tasks={"r": "regression"}, weighting="gradnorm", **{**FAST, "hidden_dims": ()}
        ).fit(X, y)


def test_set_params_with_a_weighting_name_and_its_parameter_together():
    est = MultiTaskNet().set_params(weighting="gradnorm", weighting__alpha=2.0)
    assert isinstance(est.weighting, GradNormWeighting) and est.weighting.alpha == 2.0
    X, y = _data(80)
    search = GridSearchCV(
        MultiTaskNet(tasks={"r": "regression"}, **FAST),
        [{"weighting": ["gradnorm"], "weighting__alpha": [0.5, 1.5]}], cv=2,
    ).fit(X, y)
    assert search.best_estimator_.weighting.alpha in (0.5, 1.5)


def test_gradnorm_with_mmoe_measures_the_shared_experts():
    X, y = _data()
    net = MultiTaskNet(tasks={"r": "regression"}, weighting="gradnorm", trunk="mmoe", **FAST)
    net.fit(X, y)
    weights = [net.history_[-1, f"weight_{t}"] for t in ("r", "c", "aux")]
    assert all(w > 0.05 for w in weights)  # no task starved by a zero gradient norm
    params = net.module_.trunk.shared_output_parameters()
    assert len(params) == 4 and all(p.ndim == 2 for p in params)
