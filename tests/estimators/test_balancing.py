"""Task balancing through the estimators: weighting strategies, auxiliary tasks, MMoE
(the MMoE spec itself: test_trunks.py)."""

import pickle

import numpy as np
import pytest
from _helpers import BALANCING, with_auxiliary
from sklearn.model_selection import GridSearchCV

from sk_mtl import MultiTaskNet, MultiTaskNetRegressor
from sk_mtl.weighting import WEIGHTINGS, GradNormWeighting, UncertaintyWeighting


@pytest.mark.slow  # a search and a fit per weighting: 9 s
def test_grid_search_over_every_weighting_logs_weights():
    X, y = with_auxiliary()
    names = sorted(WEIGHTINGS)
    search = GridSearchCV(
        MultiTaskNet(tasks={"r": "regression"}, **BALANCING), {"weighting": names}, cv=2, n_jobs=2
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    for name in names:
        net = MultiTaskNet(tasks={"r": "regression"}, weighting=name, **BALANCING).fit(X, y)
        for task in ("r", "c", "aux"):
            weights = net.history_[:, f"weight_{task}"]
            assert len(weights) == BALANCING["max_epochs"]
            assert all(np.isfinite(weights)) and all(w >= 0 for w in weights)
        assert net.score(X, y) > 0.5, name


def test_adaptive_weights_move_during_training():
    X, y = with_auxiliary()
    for name in ("uncertainty", "dwa", "gradnorm", "mgda"):
        net = MultiTaskNet(tasks={"r": "regression"}, weighting=name, **BALANCING).fit(X, y)
        first = [net.history_[0, f"weight_{t}"] for t in ("r", "c")]
        last = [net.history_[-1, f"weight_{t}"] for t in ("r", "c")]
        assert first != last, name


def test_uncertainty_log_variances_are_trained_and_pickled():
    X, y = with_auxiliary()
    net = MultiTaskNet(tasks={"r": "regression"}, weighting="uncertainty", **BALANCING).fit(X, y)
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
    X, y = with_auxiliary()
    search = GridSearchCV(
        MultiTaskNet(tasks={"r": "regression"}, weighting="dwa", **BALANCING),
        {"weighting__temperature": [1.0, 4.0]}, cv=2,
    ).fit(X, y)
    assert search.best_estimator_.weighting.temperature in (1.0, 4.0)


def test_static_weights_still_apply_under_gradient_methods():
    X, y = with_auxiliary()
    # Plain Adam: AdamW's decoupled weight decay would shrink even a head with no gradient.
    net = MultiTaskNet(
        tasks={"r": "regression"}, weighting="pcgrad", task_weights={"c": 0.0},
        optimizer="adam", **BALANCING,
    )
    net.fit(X, y)
    # A zero weight gives the head of "c" no gradient: its weights stay at their init, which
    # a fit with the same seed and a negligible learning rate shows.
    init = MultiTaskNet(tasks={"r": "regression"}, **{**BALANCING, "max_epochs": 1, "lr": 1e-12})
    init.fit(X, y)
    rows = net.module_.head_slices["c"]
    np.testing.assert_allclose(
        net.module_.head.weight[rows].detach().numpy(),
        init.module_.head.weight[rows].detach().numpy(),
        atol=1e-6,
    )


def test_auxiliary_tasks_are_trained_but_not_predicted():
    X, y = with_auxiliary()
    net = MultiTaskNet(tasks={"r": "regression"}, auxiliary_tasks=["aux"], **BALANCING).fit(X, y)
    assert net.task_names_ == ["r", "c"]
    assert net.auxiliary_task_names_ == ["aux"]
    assert net.predict(X).shape == (len(X), 2)
    assert len(net.predict_proba(X)) == 2
    assert "train_loss_aux" in net.history_[-1]
    assert net.score(X, y) == pytest.approx(net.score(X, y[["r", "c"]]))
    single = MultiTaskNetRegressor(auxiliary_tasks=["aux"], **BALANCING).fit(X, y[["r", "aux"]])
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
    X, y = with_auxiliary(40)
    with pytest.raises(error, match=match):
        MultiTaskNet(tasks={"r": "regression"}, auxiliary_tasks=aux, **BALANCING).fit(X, y)


def test_gradnorm_needs_a_weight_matrix_in_the_trunk():
    X, y = with_auxiliary(40)
    with pytest.raises(ValueError, match="GradNormWeighting needs a trunk"):
        MultiTaskNet(
            tasks={"r": "regression"}, weighting="gradnorm", **{**BALANCING, "hidden_dims": ()}
        ).fit(X, y)


def test_set_params_with_a_weighting_name_and_its_parameter_together():
    est = MultiTaskNet().set_params(weighting="gradnorm", weighting__alpha=2.0)
    assert isinstance(est.weighting, GradNormWeighting) and est.weighting.alpha == 2.0
    X, y = with_auxiliary(80)
    search = GridSearchCV(
        MultiTaskNet(tasks={"r": "regression"}, **BALANCING),
        [{"weighting": ["gradnorm"], "weighting__alpha": [0.5, 1.5]}], cv=2,
    ).fit(X, y)
    assert search.best_estimator_.weighting.alpha in (0.5, 1.5)


def test_gradnorm_with_mmoe_measures_the_shared_experts():
    X, y = with_auxiliary()
    net = MultiTaskNet(tasks={"r": "regression"}, weighting="gradnorm", trunk="mmoe", **BALANCING)
    net.fit(X, y)
    weights = [net.history_[-1, f"weight_{t}"] for t in ("r", "c", "aux")]
    assert all(w > 0.05 for w in weights)  # no task starved by a zero gradient norm
    params = net.module_.trunk.shared_output_parameters()
    assert len(params) == 4 and all(p.ndim == 2 for p in params)
