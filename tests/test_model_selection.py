"""Weight-conditioned networks, task-weight rules, TaskWeightSearchCV and its Pareto front;
networks conditioned on the fusion weights and FusionWeightSearchCV."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import FUSION, PLAIN, SMALL, multimodal, noisy_tasks
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.helper import SliceDict

from sk_mtl import FusionNet, MultiTaskNet
from sk_mtl.fusion import LogUniformWeights
from sk_mtl.metrics import task_scorers
from sk_mtl.model_selection import FusionWeightSearchCV, TaskWeightSearchCV, pareto_mask
from sk_mtl.modules import ConditionedTrunk
from sk_mtl.weighting import WeightConditioning

# One plain network on the input as given (_helpers.PLAIN), no retrieval features: these
# tests read the trunk's input width and compare fronts of small fits.
FAST = {**SMALL, **PLAIN, "max_epochs": 8, "lr": 0.01, "retrieval": None}


class CountingNet(MultiTaskNet):
    """MultiTaskNet that counts its fits (class-wide, so clones count too)."""

    fits = 0

    def fit(self, X, y):
        CountingNet.fits += 1
        return super().fit(X, y)


# ============================================================================ conditioning
def test_conditioned_net_predicts_for_new_weights_without_refitting():
    X, y = noisy_tasks()
    net = MultiTaskNet(weighting="conditioned", **FAST).fit(X, y)
    fitted, epochs = net.net_, len(net.history_)
    low = net.set_params(task_weights={"a": 0.01, "b": 1.0}).predict_proba(X)[1]
    high = net.set_params(task_weights={"a": 100.0, "b": 1.0}).predict_proba(X)[1]
    assert net.net_ is fitted and len(net.history_) == epochs
    assert np.abs(low - high).max() > 1e-4
    # Only ratios count: the same ratio, the same predictions.
    scaled = net.set_params(task_weights={"a": 1.0, "b": 100.0}).predict_proba(X)[1]
    np.testing.assert_allclose(scaled, low, rtol=1e-5)


def test_conditioned_fusion_net_and_input_conditioning():
    X, y = noisy_tasks()
    fusion = FusionNet(weighting="conditioned", max_epochs=3, random_state=0)
    fusion.fit({"t1": X[:, :2], "t2": X[:, 2:]}, y)
    assert fusion.set_params(task_weights__a=5.0).predict({"t1": X[:, :2], "t2": X[:, 2:]}).shape
    with pytest.raises(ValueError, match="conditioning='film'"):
        FusionNet(weighting=WeightConditioning(conditioning="input"), max_epochs=1).fit(
            {"t1": X[:, :2], "t2": X[:, 2:]}, y)
    net = MultiTaskNet(weighting=WeightConditioning(conditioning="input"), **FAST).fit(X, y)
    assert net.module_.trunk.trunk[-1].layers[0].in_features == X.shape[1] + 2


@pytest.mark.parametrize(
    "weighting, match",
    [(WeightConditioning(alpha=0), "alpha"), (WeightConditioning(conditioning="x"), "not known")],
)
def test_conditioning_parameters_are_checked(weighting, match):
    X, y = noisy_tasks()
    with pytest.raises(ValueError, match=match):
        MultiTaskNet(weighting=weighting, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="at least two tasks"):
        MultiTaskNet(weighting="conditioned", max_epochs=1).fit(X, y["a"])


@pytest.mark.parametrize(
    "params, match",
    [({"layers": "some"}, "layers"), ({"layers": "all", "conditioning": "input"}, "layers='all'"),
     ({"normalize": "max"}, "normalize"), ({"penalty": -1.0}, "penalty"),
     ({"draws": 0}, "draws"), ({"draws": 2.5}, "draws"), ({"penalty": 0.5}, "draws")],
)
def test_conditioning_options_are_checked_before_training(params, match):
    X, y = noisy_tasks()
    net = MultiTaskNet(weighting=WeightConditioning(**params), max_epochs=1)
    with pytest.raises(ValueError, match=match):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_film_at_every_layer_conditions_each_linear_layer():
    from sk_mtl.modules import FiLMLinear

    X, y = noisy_tasks()
    net = MultiTaskNet(weighting=WeightConditioning(layers="all"), **FAST).fit(X, y)
    films = [m for m in net.module_.trunk.modules() if isinstance(m, FiLMLinear)]
    assert len(films) == len(FAST["hidden_dims"])
    # Each trained FiLM layer reads the weights: none is left at its zero start.
    assert all(float(m.film.weight.detach().abs().sum()) > 0 for m in films)
    low = net.set_params(task_weights={"a": 0.05, "b": 1.0}).predict_proba(X)[1]
    high = net.set_params(task_weights={"a": 20.0, "b": 1.0}).predict_proba(X)[1]
    assert np.abs(low - high).max() > 1e-4


def test_members_conditioning_mixes_one_layer_per_task():
    import torch

    from sk_mtl.modules import ConditionedTrunk, MixedLinear, MLPTrunk

    torch.manual_seed(0)
    trunk = ConditionedTrunk(MLPTrunk(3, (5,)), width=5, n_conditions=2, mode="members")
    mixed = trunk.trunk.layers[0]
    assert isinstance(mixed, MixedLinear) and len(mixed.members) == 2
    first, second = mixed.members
    assert not torch.equal(first.weight, second.weight)  # re-initialised, not a copy
    x = torch.randn(4, 3)
    c = torch.tensor([0.25, 0.75])
    # Mixing the outputs is the layer with the mixed weights (c on the simplex).
    weight = c[0] * first.weight + c[1] * second.weight
    bias = c[0] * first.bias + c[1] * second.bias
    trunk.set_condition(c)
    expected = torch.relu(x @ weight.T + bias)
    torch.testing.assert_close(trunk(x), expected)
    # One condition per row: each row gets its own mix.
    rows = torch.tensor([[1.0, 0.0]] * 2 + [[0.0, 1.0]] * 2)
    trunk.set_condition(rows)
    out = trunk(x)
    torch.testing.assert_close(out[:2], torch.relu(first(x[:2])))
    torch.testing.assert_close(out[2:], torch.relu(second(x[2:])))
    # Rows alternating between two vectors: a block per row, each its own member.
    rows = torch.tensor([[1.0, 0.0], [0.0, 1.0]] * 2)
    trunk.set_condition(rows)
    out = trunk(x)
    torch.testing.assert_close(out[0::2], torch.relu(first(x[0::2])))
    torch.testing.assert_close(out[1::2], torch.relu(second(x[1::2])))
    # Many distinct rows: the outputs are mixed, row by row; the same for a linear layer.
    x = torch.randn(20, 3)
    rows = torch.distributions.Dirichlet(torch.ones(2)).sample((20,))
    trunk.set_condition(rows)
    expected = torch.stack([
        torch.relu(x[i] @ (r[0] * first.weight + r[1] * second.weight).T
                   + r[0] * first.bias + r[1] * second.bias)
        for i, r in enumerate(rows)
    ])
    torch.testing.assert_close(trunk(x), expected)

    X, y = noisy_tasks()
    net = MultiTaskNet(weighting=WeightConditioning(conditioning="members"), **FAST).fit(X, y)
    low = net.set_params(task_weights={"a": 0.05, "b": 1.0}).predict_proba(X)[1]
    high = net.set_params(task_weights={"a": 20.0, "b": 1.0}).predict_proba(X)[1]
    assert np.abs(low - high).max() > 1e-3


def test_grouped_draws_give_the_per_row_objective_and_the_cosmos_penalty():
    import torch

    from sk_mtl.estimators._net import MultiTaskCriterion
    from sk_mtl.modules._losses import RegressionLoss

    torch.manual_seed(0)
    names = ["a", "b"]
    criterion = MultiTaskCriterion({n: RegressionLoss() for n in names})
    preds = {n: torch.randn(12, 1, requires_grad=True) for n in names}
    mask_b = torch.tensor([True] * 9 + [False] * 3)
    targets = {"a": (torch.randn(12), None), "b": (torch.randn(12), mask_b)}
    grouped = WeightConditioning(draws=3, penalty=1e-12)  # the grouped losses' path
    grouped.bind(names, {"a": 1.0, "b": 1.0})
    drawn = grouped.draw(12)
    assert len(torch.unique(drawn, dim=0)) == 3  # three vectors, one per block of rows
    logged = grouped.training_losses(criterion, preds, targets, drawn)
    per_row = WeightConditioning()
    per_row.bind(names, {"a": 1.0, "b": 1.0})
    expected = criterion(preds, per_row.weight_rows(targets, drawn))
    for n in names:
        torch.testing.assert_close(logged[n], expected[n])
    objective = grouped.backward(logged, torch.nn.Module())
    torch.testing.assert_close(objective, per_row.combine(expected).detach(), atol=1e-9,
                               rtol=1e-6)
    # Without the penalty, draws only chooses the vectors: the rows' path, no groups.
    plain = WeightConditioning(draws=3)
    plain.bind(names, {"a": 1.0, "b": 1.0})
    assert len(torch.unique(plain.draw(12), dim=0)) == 3 and plain.groups_ is None
    # The COSMOS penalty subtracts lambda times the rows-weighted mean cosine.
    cosmos = WeightConditioning(draws=3, penalty=0.5)
    cosmos.bind(names, {"a": 1.0, "b": 1.0})
    drawn = cosmos.draw(12)
    logged = cosmos.training_losses(criterion, preds, targets, drawn)
    objective = per_row.combine(criterion(preds, per_row.weight_rows(targets, drawn))).detach()
    group_losses, counts, vectors = cosmos.group_losses_
    cosine = torch.nn.functional.cosine_similarity(vectors, group_losses, dim=1)
    rows = counts.max(1).values
    penalised = cosmos.backward(logged, torch.nn.Module())
    torch.testing.assert_close(
        penalised, objective - 0.5 * ((cosine * rows).sum() / rows.sum()).detach()
    )


@pytest.mark.parametrize("normalize", ["initial", "running"])
def test_loss_normalisation_divides_each_task_by_its_scale(normalize):
    X, y = noisy_tasks()
    y = y.assign(a=y["a"])
    net = MultiTaskNet(weighting=WeightConditioning(normalize=normalize), **FAST).fit(X, y)
    weighting = net.net_.weighting
    scale = weighting.scale_
    assert scale is not None and scale.shape == (2,) and bool((scale > 0).all())
    losses = {"a": scale[0] * 2, "b": scale[1] * 3}
    weighting.end_draws()
    # Validation objective: T * sum_t c_t L_t / s_t with the bound c (equal weights).
    assert float(weighting.combine(losses)) == pytest.approx(2 * (0.5 * 2 + 0.5 * 3))


def test_grouped_draws_and_penalty_train():
    X, y = noisy_tasks()
    net = MultiTaskNet(weighting=WeightConditioning(draws=4, penalty=0.1), **FAST).fit(X, y)
    assert np.isfinite(net.history_[:, "train_loss"]).all()
    assert net.predict(X).shape == (len(X), 2)


def test_inverse_count_rule_weighs_rarer_tasks_more():
    X, y = noisy_tasks(tasks=3)
    y = y.copy()
    y.loc[:159, "c"] = np.nan  # c: 80 labels, a and b: 240
    net = MultiTaskNet(task_weights="inverse_count", **FAST).fit(X, y)
    w = net.task_weights_
    assert w["c"] == pytest.approx(3 * w["a"]) and w["a"] == pytest.approx(w["b"])
    assert np.mean(list(w.values())) == pytest.approx(1.0)
    sqrt = MultiTaskNet(task_weights="inverse_sqrt_count", **FAST).fit(X, y).task_weights_
    assert sqrt["c"] == pytest.approx(np.sqrt(3) * sqrt["a"])
    with pytest.raises(ValueError, match="is not a rule"):
        MultiTaskNet(task_weights="inverse", max_epochs=1).fit(X, y)


# ============================================================================ search
def test_search_fits_once_per_fold_and_matches_grid_search_keys():
    X, y = noisy_tasks()
    scorers = task_scorers({"a": "r2", "b": "accuracy"})
    CountingNet.fits = 0
    net = CountingNet(weighting="conditioned", **FAST)
    search = TaskWeightSearchCV(net, {"a": [0.25, 1.0, 4.0], "b": [1.0, 2.0]}, cv=3,
                                scoring=scorers).fit(X, y)
    assert CountingNet.fits == 3 + 1  # a fit per fold, then the refit
    assert len(search.cv_results_["params"]) == 6 + 1  # the grid and inverse_count
    grid = GridSearchCV(MultiTaskNet(**FAST), {"task_weights": [{"a": 1.0, "b": 1.0}]}, cv=3,
                        scoring=scorers, refit=False).fit(X, y)
    assert set(grid.cv_results_) <= set(search.cv_results_)
    frame = pd.DataFrame(search.cv_results_)
    assert len(frame) == 7 and frame["rank_test_a_r2"].min() == 1
    best = search.cv_results_["params"][search.best_index_]
    assert search.best_params_ == best
    assert search.best_estimator_.task_weights == best["task_weights"]
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))
    assert search.score(X, y) == search.best_estimator_.score(X, y)


def test_pareto_front_is_the_non_dominated_set_with_its_hypervolume():
    X, y = noisy_tasks()
    scorers = task_scorers({"a": "r2", "b": "accuracy"})
    search = TaskWeightSearchCV(MultiTaskNet(weighting="conditioned", **FAST), 7, cv=2,
                                scoring=scorers, refit="b_accuracy").fit(X, y)
    scores = np.column_stack([search.cv_results_[f"mean_test_{s}"] for s in scorers])
    front = set(search.pareto_front_["index"].tolist())
    for i, point in enumerate(scores):
        dominated = np.any(np.all(scores >= point, axis=1) & np.any(scores > point, axis=1))
        assert (i in front) == (not dominated)
    assert search.best_index_ == int(np.argmax(scores[:, 1]))
    ref = scores.min(axis=0) - 0.1
    front_scores = scores[sorted(front)]
    # The front's dominated area by hand for two objectives (a staircase).
    stairs = front_scores[np.argsort(-front_scores[:, 0])]
    area, top = 0.0, ref[1]
    for x, z in stairs:
        if z > top:
            area += (x - ref[0]) * (z - top)
            top = z
    assert search.hypervolume(ref) == pytest.approx(area)
    assert pareto_mask(scores).sum() == len(front)


def test_spread_says_how_far_each_objective_moves_against_per_vector_fits():
    X, y = noisy_tasks()
    scorers = task_scorers({"a": "r2", "b": "accuracy"})
    vectors = [{"a": 0.1, "b": 1.0}, {"a": 1.0, "b": 1.0}, {"a": 10.0, "b": 1.0}]
    search = TaskWeightSearchCV(MultiTaskNet(weighting="conditioned", **FAST), vectors,
                                cv=2, scoring=scorers, refit=False, rules=()).fit(X, y)
    alone = search.spread()
    assert list(alone.index) == ["a_r2", "b_accuracy"] and list(alone) == ["conditioned"]
    means = search.cv_results_["mean_test_a_r2"]
    assert alone.loc["a_r2", "conditioned"] == pytest.approx(means.max() - means.min())
    grid = GridSearchCV(MultiTaskNet(**FAST), {"task_weights": vectors}, cv=2,
                        scoring=scorers, refit=False).fit(X, y)
    both = search.spread(grid)
    per_vector = grid.cv_results_["mean_test_a_r2"]
    assert both.loc["a_r2", "per-vector"] == pytest.approx(per_vector.max() - per_vector.min())
    assert both.loc["a_r2", "ratio"] == pytest.approx(
        both.loc["a_r2", "conditioned"] / both.loc["a_r2", "per-vector"])
    with pytest.raises(ValueError, match="no mean_test_ scores for"):
        search.spread({"mean_test_a_r2": per_vector})


def test_search_on_a_pipeline_with_parallel_folds_and_nested_params():
    X, y = noisy_tasks()
    pipe = make_pipeline(StandardScaler(), MultiTaskNet(weighting="conditioned", **FAST))
    cv = KFold(2, shuffle=True, random_state=0)
    one = TaskWeightSearchCV(pipe, {"a": [0.5, 2.0]}, cv=cv, refit=False).fit(X, y)
    two = TaskWeightSearchCV(pipe, {"a": [0.5, 2.0]}, cv=cv, refit=False, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(one.cv_results_["mean_test_a"], two.cv_results_["mean_test_a"])
    assert not hasattr(one, "best_estimator_")
    search = TaskWeightSearchCV(pipe, 3)
    assert search.get_params()["estimator__multitasknet__lr"] == 0.01
    copy = clone(search.set_params(estimator__multitasknet__lr=0.02))
    assert copy.get_params()["estimator__multitasknet__lr"] == 0.02


def test_search_over_three_tasks_and_plots():
    X, y = noisy_tasks(tasks=3)
    search = TaskWeightSearchCV(MultiTaskNet(weighting="conditioned", **FAST), 5, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 6 and search.scorer_names_ == ["a", "b", "c"]
    assert len(search.plot_pareto()) == 3  # one panel per pair of tasks
    two = TaskWeightSearchCV(MultiTaskNet(weighting="conditioned", **FAST), 3, cv=2)
    assert two.fit(X, y[["a", "b"]]).plot_pareto().get_xlabel() == "a"


def test_search_on_a_dict_of_modalities():
    X, y = noisy_tasks()
    modalities = {"t1": X[:, :2], "t2": X[:, 2:]}
    net = FusionNet(weighting="conditioned", max_epochs=2, random_state=0)
    search = TaskWeightSearchCV(net, {"a": [0.5, 2.0]}, cv=2, refit=False).fit(modalities, y)
    assert np.isfinite(search.cv_results_["mean_test_a"]).all()


@pytest.mark.parametrize(
    "estimator, grid, kwargs, error, match",
    [
        (MultiTaskNet(), {"a": [1.0]}, {}, ValueError, "weighting='conditioned'"),
        (None, {"z": [1.0]}, {}, ValueError, r"task\(s\) \['z'\]"),
        (None, {"a": [-1.0]}, {}, ValueError, "finite number"),
        (None, [{"a": 0.0, "b": 0.0}], {}, ValueError, "all zero"),
        (None, ["median"], {}, ValueError, "not a task-weight rule"),
        (None, "a", {}, TypeError, "weight_grid must be"),
        (None, {"a": [1.0]}, {"refit": "nope"}, ValueError, "not a scorer"),
    ],
)
def test_bad_search_input_is_named_before_fitting(estimator, grid, kwargs, error, match):
    X, y = noisy_tasks()
    CountingNet.fits = 0
    estimator = estimator or CountingNet(weighting="conditioned", **FAST)
    with pytest.raises(error, match=match):
        TaskWeightSearchCV(estimator, grid, cv=2, **kwargs).fit(X, y)
    assert CountingNet.fits == 0


def test_a_conditioned_net_round_trips_through_a_model_file(tmp_path):
    import sk_mtl

    X, y = noisy_tasks()
    net = MultiTaskNet(weighting="conditioned", task_weights="inverse_count", **FAST).fit(X, y)
    sk_mtl.save(net, tmp_path / "net.safetensors")
    loaded = sk_mtl.load(tmp_path / "net.safetensors")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    for est in (net, loaded):
        est.set_params(task_weights={"a": 5.0, "b": 1.0})
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_prediction_input_is_converted_once_per_content_and_never_stale():
    import pickle

    X, y = noisy_tasks()
    X = X.astype(object)  # strings or objects: worth keeping (numbers are not kept)
    net = MultiTaskNet(**FAST).fit(X, y)
    calls = []
    original = net._input_data

    def counting(X_, reset):
        calls.append(reset)
        return original(X_, reset)

    net._input_data = counting
    first = net.predict(X)
    np.testing.assert_array_equal(net.predict(X.copy()), first)  # same content: one conversion
    assert len(calls) == 1
    changed = X.copy()
    changed[0, 0] += 1.0
    net.predict(changed)
    assert len(calls) == 2
    del net._input_data
    assert "_input_memo" not in pickle.loads(pickle.dumps(net)).__dict__
    old_net = net.net_
    net.fit(X[::-1], y[::-1])  # a new network: the cached conversion is not reused
    assert net._input_memo[1] is old_net is not net.net_
    net.predict(X)
    assert net._input_memo[1] is net.net_


# ============================================================ fusion-weight conditioning
#: A FusionNet trained for every fusion-weight vector, on _helpers.multimodal (text decides
#: ``label``, the table ``amount``).
FUSED = {**FUSION, "fusion_conditioning": "log_uniform"}


class CountingFusionNet(FusionNet):
    """FusionNet that counts its fits (class-wide, so clones count too)."""

    fits = 0

    def fit(self, X, y):
        CountingFusionNet.fits += 1
        return super().fit(X, y)


def _other_text(X, seed=1):
    """``X`` with other texts (of the opposite words) in place of its own."""
    rng = np.random.RandomState(seed)
    return {**X, "text": np.array([" ".join(rng.choice(["zzz", "qqq", "awful"], 3))
                                   for _ in X["text"]], dtype=object)}


@pytest.mark.parametrize("fusion", ["concat", "early", "weighted_sum", "late"])
def test_fusion_conditioned_net_predicts_for_new_fusion_weights_without_refitting(fusion):
    X, y = multimodal()
    net = FusionNet(**FUSED, fusion=fusion).fit(X, y)
    fitted, epochs = net.net_, len(net.history_)
    even = net.predict_proba(X)[0]
    text_heavy = net.set_params(fusion_weights={"text": 4.0}).predict_proba(X)[0]
    assert net.net_ is fitted and len(net.history_) == epochs
    assert np.abs(even - text_heavy).max() > 1e-3
    assert net.fusion_weights_ == {"text": 1.0, "tab": 1.0, "cat": 1.0}  # those of the fit
    # Back to the weights of the fit: the same predictions, to the bit.
    np.testing.assert_array_equal(net.set_params(fusion_weights=None).predict_proba(X)[0], even)


@pytest.mark.parametrize("fusion", ["concat", "late"])
def test_a_modality_weighed_zero_is_not_read(fusion):
    X, y = multimodal()
    net = FusionNet(**FUSED, fusion=fusion, modality_dropout=0.1).fit(X, y)
    other = _other_text(X)
    other["text"][::5] = None  # rows without text: the "missing" embedding
    # At weight 1 the text decides the label (and its TF-IDF wide path reads it too)...
    assert np.abs(net.predict_proba(X)[0] - net.predict_proba(other)[0]).max() > 0.1
    # ...at weight 0 nothing of it reaches the output: deep path, wide path, FiLM.
    net.set_params(fusion_weights__text=0.0)
    np.testing.assert_array_equal(net.predict_proba(X)[0], net.predict_proba(other)[0])
    np.testing.assert_array_equal(net.predict(X), net.predict(other))


def test_training_draws_the_weights_and_validation_reads_those_of_the_fit():
    X, y = multimodal()
    settings = {**FUSED, "validation_fraction": 0.2}
    one = FusionNet(**settings).fit(X, y)
    two = FusionNet(**settings, fusion_weights={"text": 0.25, "cat": 0.0}).fit(X, y)
    # The same seed draws the same weights for the same training rows whatever
    # fusion_weights says: the same training, to the bit...
    np.testing.assert_array_equal(one.history_[:, "train_loss"], two.history_[:, "train_loss"])
    # ...and validation reads fusion_weights: another validation loss.
    assert one.history_[-1, "valid_loss"] != two.history_[-1, "valid_loss"]
    assert two.fusion_weights_ == {"text": 0.25, "tab": 1.0, "cat": 0.0}
    np.testing.assert_array_equal(one.set_params(fusion_weights=two.fusion_weights).predict(X),
                                  two.predict(X))


def test_each_training_row_draws_log_uniform_weights_with_modalities_off():
    spec = LogUniformWeights(low=0.25, high=4.0, p_off=0.3)
    spec.bind(["text", "tab", "_neighbours"], ["text", "tab"],
              {"text": 2.0, "tab": 1.0, "_neighbours": 1.0})
    torch.manual_seed(0)
    drawn = spec.draw(4000)
    assert drawn.shape == (4000, 3)
    assert torch.all(drawn[:, 2] == 1.0)  # the retrieval modality keeps its weight
    w = drawn[:, :2]
    on = w > 0
    assert torch.all(on.any(dim=1))  # never every modality off
    assert 0.2 < float((~on).float().mean()) < 0.3  # 0.3 each, less the rows kept whole
    assert float(w[on].min()) >= 0.25 and float(w[on].max()) <= 4.0
    # Log-uniform: log w uniform on [log 1/4, log 4], so half the drawn weights below 1.
    assert abs(float((w[on] < 1.0).float().mean()) - 0.5) < 0.03
    assert torch.equal(spec.target(), torch.tensor([2.0, 1.0, 1.0]))
    assert spec.outside({"text": 8.0, "tab": 0.0, "cat": 0.5}) == ["text"]


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"fusion": "attention"}, ValueError, r"fusion='attention' learns its own"),
        ({"learn_fusion_weights": True}, ValueError, "learn_fusion_weights=True"),
        ({"fusion_conditioning": "dirichlet"}, ValueError,
         r"fusion_conditioning='dirichlet' is not known"),
        ({"fusion_conditioning": 3}, TypeError, "fusion_conditioning must be"),
        ({"fusion_conditioning": LogUniformWeights(p_off=1.0)}, ValueError,
         r"fusion_conditioning__p_off must be in \[0, 1\)"),
        ({"fusion_conditioning": LogUniformWeights(low=2.0, high=1.0)}, ValueError,
         "fusion_conditioning__low=2.0 is above"),
        ({"fusion_conditioning": LogUniformWeights(layers="first")}, ValueError,
         "fusion_conditioning__layers='first'"),
        ({"weighting": WeightConditioning(layers="all")}, ValueError,
         "weighting__layers='last'"),
        ({"fusion_weights": {"txt": 2.0}}, ValueError, r"\['txt'\] that are not modalities"),
    ],
)
def test_fusion_conditioning_is_checked_before_training(params, error, match):
    X, y = multimodal()
    net = FusionNet(**{**FUSED, **params})
    with pytest.raises(error, match=match):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_fusion_weights_set_after_fit_are_checked_at_prediction():
    X, y = multimodal()
    net = FusionNet(**FUSED).fit(X, y)
    for weights, match in (({"txt": 1.0}, r"\['txt'\] that are not modalities"),
                           ({"text": -1.0}, r"fusion_weights\['text'\] must be"),
                           ({"text": 0, "tab": 0, "cat": 0}, "all zero")):
        with pytest.raises(ValueError, match=match):
            net.set_params(fusion_weights=weights).predict(X)


def test_fusion_and_task_conditioning_together():
    X, y = multimodal()
    net = FusionNet(**FUSED, weighting="conditioned").fit(X, y)
    # The regression task's outputs: the label's probabilities are near 0 and 1 here.
    base = net.predict_tasks(X)["amount"]
    tasks = net.set_params(task_weights={"label": 0.05, "amount": 1.0}).predict_tasks(X)["amount"]
    both = net.set_params(fusion_weights={"text": 0.25}).predict_tasks(X)["amount"]
    assert np.abs(base - tasks).max() > 1e-3 and np.abs(tasks - both).max() > 1e-3
    # The task FiLM wraps the fusion trunk; the fusion FiLM wraps its MLP, inside.
    trunk = net.module_.trunk
    assert isinstance(trunk, ConditionedTrunk) and isinstance(trunk.trunk.mlp, ConditionedTrunk)


def test_fusion_conditioning_clones_pickles_and_routes_its_parameters():
    import pickle

    X, y = multimodal()
    net = FusionNet(**FUSED)
    net.set_params(fusion_conditioning__p_off=0.2, fusion_conditioning__layers="all")
    assert isinstance(net.fusion_conditioning, LogUniformWeights)  # the name made an object
    assert net.fusion_conditioning.get_params() == LogUniformWeights(
        p_off=0.2, layers="all").get_params()
    assert net.get_params()["fusion_conditioning__p_off"] == 0.2
    assert clone(net).get_params()["fusion_conditioning__layers"] == "all"
    net.fit(X, y)
    film = net.module_.trunk.mlp
    assert isinstance(film, ConditionedTrunk) and film.layers == "all"
    copy = pickle.loads(pickle.dumps(net))
    for est in (net, copy):
        est.set_params(fusion_weights={"tab": 3.0, "cat": 0.0})
    np.testing.assert_array_equal(copy.predict_proba(X)[0], net.predict_proba(X)[0])


def test_a_fusion_conditioned_net_round_trips_through_a_model_file(tmp_path):
    import sk_mtl

    X, y = multimodal()
    # With retrieval features (a modality whose weight stays 1) and the text's wide path.
    net = FusionNet(**{**FUSED, "retrieval": 4, "fusion": "late",
                       "fusion_conditioning": LogUniformWeights(low=0.2, high=5.0)}).fit(X, y)
    assert net.net_.fusion_conditioning.names_ == ["text", "tab", "cat", "_neighbours"]
    sk_mtl.save(net, tmp_path / "net.safetensors")
    loaded = sk_mtl.load(tmp_path / "net.safetensors")
    assert loaded.fusion_conditioning.get_params() == net.fusion_conditioning.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], net.predict_proba(X)[0])
    for est in (net, loaded):
        est.set_params(fusion_weights={"text": 0.0, "tab": 5.0})
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], net.predict_proba(X)[0])


def test_fusion_search_fits_once_per_fold_and_matches_grid_search_keys():
    X, y = multimodal()
    X = SliceDict(**X)
    scorers = task_scorers({"label": "accuracy", "amount": "r2"})
    vectors = [{"text": 0.25}, {"text": 1.0}, {"text": 4.0}, {"text": 0.0}]
    CountingFusionNet.fits = 0
    search = FusionWeightSearchCV(CountingFusionNet(**FUSED), vectors, cv=3, scoring=scorers)
    search.fit(X, y)
    assert CountingFusionNet.fits == 3 + 1  # a fit per fold, then the refit
    full = [{"text": w, "tab": 1.0, "cat": 1.0} for w in (0.25, 1.0, 4.0, 0.0)]
    assert search.cv_results_["params"] == [{"fusion_weights": v} for v in full]
    grid = GridSearchCV(FusionNet(**FUSION), {"fusion_weights": full[:1]}, cv=3,
                        scoring=scorers, refit=False).fit(X, y)
    assert set(grid.cv_results_) <= set(search.cv_results_)
    assert list(search.cv_results_["param_fusion_weights"]) == full
    # The text decides the label: without it the label is a guess.
    label = search.cv_results_["mean_test_label_accuracy"]
    assert label[3] < 0.75 < label[1]
    best = search.cv_results_["params"][search.best_index_]
    assert search.best_estimator_.fusion_weights == best["fusion_weights"]
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))
    assert list(search.spread().index) == ["label_accuracy", "amount_r2"]


def test_fusion_search_over_a_pipeline_and_a_number_of_vectors():
    X, y = multimodal()
    frame = pd.DataFrame({"text": X["text"], "t0": X["tab"][:, 0], "t1": X["tab"][:, 1]})
    pipe = make_pipeline(FusionNet(**FUSED, modalities={"words": "text",
                                                         "numbers": ["t0", "t1"]}))
    search = FusionWeightSearchCV(pipe, 3, cv=2, refit=False).fit(frame, y)
    assert [p["fusion_weights"] for p in search.cv_results_["params"]] == [
        {"words": 0.125, "numbers": 1.0}, {"words": 1.0, "numbers": 1.0},
        {"words": 8.0, "numbers": 1.0}]
    with pytest.raises(ValueError, match=r"modality\(ies\) \['text'\] that are not"):
        FusionWeightSearchCV(pipe, {"text": [1.0]}, cv=2).fit(frame, y)


@pytest.mark.parametrize(
    "estimator, grid, error, match",
    [
        (FusionNet(**FUSION), {"text": [1.0]}, ValueError, "fusion_conditioning=None"),
        (MultiTaskNet(), {"text": [1.0]}, ValueError, "has none. For task weights"),
        (None, {"txt": [1.0]}, ValueError, r"modality\(ies\) \['txt'\] that are not"),
        (None, {"text": [-0.5]}, ValueError, r"modality 'text' must be a finite number"),
        (None, [{"text": 0.0, "tab": 0.0, "cat": 0.0}], ValueError, "all zero"),
        (None, ["inverse_count"], TypeError, "entries must be dicts modality -> weight, got"),
        (None, "text", TypeError, "weight_grid must be a dict modality"),
    ],
)
def test_bad_fusion_grids_are_named_before_fitting(estimator, grid, error, match):
    X, y = multimodal()
    CountingFusionNet.fits = 0
    estimator = estimator or CountingFusionNet(**FUSED)
    with pytest.raises(error, match=match):
        FusionWeightSearchCV(estimator, grid, cv=2).fit(SliceDict(**X), y)
    assert CountingFusionNet.fits == 0


def test_fusion_weights_never_drawn_in_training_are_searched_with_a_warning():
    X, y = multimodal(n=90)
    net = FusionNet(**{**FUSED, "max_epochs": 1})
    with pytest.warns(UserWarning, match=r"\['tab'\] weights that .* never draws"):
        FusionWeightSearchCV(net, {"tab": [1.0, 20.0]}, cv=2, refit=False).fit(
            SliceDict(**X), y)


@pytest.mark.parametrize("layers", ["last", "all"])
def test_gradnorm_measures_the_shared_mlp_of_a_fusion_conditioned_net(layers):
    X, y = multimodal()
    net = FusionNet(**{**FUSED, "fusion_conditioning": LogUniformWeights(layers=layers)},
                    weighting="gradnorm").fit(X, y)
    trunk = net.module_.trunk
    linear = trunk.mlp.trunk.layers[0]
    linear = linear.linear if layers == "all" else linear  # FiLMLinear around it
    # The MLP's last weight matrix, not a FiLM layer's.
    assert [p is linear.weight for p in trunk.shared_output_parameters()] == [True]
    assert np.isfinite(net.history_[-1, "train_loss"])
