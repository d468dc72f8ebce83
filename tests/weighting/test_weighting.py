"""Each weighting strategy against a small hand-computed case."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from sk_mtl.modules import MLPTrunk, MultiTaskModule
from sk_mtl.weighting import (
    WEIGHTINGS,
    DWAWeighting,
    GradNormWeighting,
    MGDAWeighting,
    PCGradWeighting,
    StaticWeighting,
    UncertaintyWeighting,
    make_weighting,
    min_norm_weights,
)


def _bound(weighting, weights=None):
    weights = weights or {"a": 1.0, "b": 1.0}
    weighting.bind(list(weights), weights)
    weighting.make_module()
    return weighting


def test_registry_names_and_errors():
    assert set(WEIGHTINGS) == {"static", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda",
                              "conditioned", "upgrad"}
    with pytest.raises(ValueError, match="weighting='nope' is not known"):
        make_weighting("nope")
    with pytest.raises(TypeError, match="Weighting object"):
        make_weighting(3)
    original = DWAWeighting(temperature=5.0)
    copy = make_weighting(original)
    assert copy is not original and copy.temperature == 5.0


def test_static_weighted_sum_and_backward():
    w = _bound(StaticWeighting(), {"a": 2.0, "b": 0.5})
    p = torch.tensor(3.0, requires_grad=True)
    losses = {"a": p * 1.0, "b": p * p}
    module = nn.Module()
    out = w.backward(losses, module)
    assert out.item() == pytest.approx(2 * 3 + 0.5 * 9)
    assert p.grad.item() == pytest.approx(2 + 0.5 * 2 * 3)


def test_uncertainty_objective_gradient_and_weights():
    w = _bound(UncertaintyWeighting(init_log_var=math.log(2.0)))
    losses = {"a": torch.tensor(4.0), "b": torch.tensor(1.0)}
    # sum_t L_t / (2 exp(s)) + s / 2 with exp(s) = 2
    expected = 4 / 4 + 1 / 4 + math.log(2.0)
    objective = w.combine(losses)
    assert objective.item() == pytest.approx(expected)
    objective.backward()
    # d/ds = -L / (2 exp(s)) + 1/2
    assert w.module_.log_var.grad.tolist() == pytest.approx([-4 / 4 + 0.5, -1 / 4 + 0.5])
    assert w.current_weights() == pytest.approx({"a": 0.25, "b": 0.25})


def test_dwa_weights_follow_loss_ratios():
    w = _bound(DWAWeighting(temperature=2.0))
    assert w.current_weights() == {"a": 1.0, "b": 1.0}
    w.epoch_end({"a": 1.0, "b": 2.0})
    assert w.current_weights() == {"a": 1.0, "b": 1.0}  # needs two epochs
    w.epoch_end({"a": 0.5, "b": 2.0})
    ra, rb = 0.5 / 1.0, 2.0 / 2.0
    ea, eb = math.exp(ra / 2), math.exp(rb / 2)
    expected = {"a": 2 * ea / (ea + eb), "b": 2 * eb / (ea + eb)}
    assert w.current_weights() == pytest.approx(expected)
    combined = w.combine({"a": torch.tensor(1.0), "b": torch.tensor(1.0)})
    assert combined.item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="temperature"):
        _bound(DWAWeighting(temperature=0))


def test_gradnorm_one_step_by_hand():
    torch.manual_seed(0)
    trunk = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        trunk.weight.copy_(torch.tensor([[1.0, 1.0]]))
    module = nn.Module()
    module.trunk = trunk
    w = _bound(GradNormWeighting(alpha=1.0, lr=0.1))
    x = torch.tensor([[1.0, 2.0]])
    h = trunk(x)  # 3
    losses = {"a": (h**2).sum(), "b": (2 * h).sum()}  # 9 and 6
    # grad_W L_a = 2h x = [6, 12] (norm 6 sqrt5); grad_W L_b = 2x = [2, 4] (norm 2 sqrt5)
    na, nb = 6 * math.sqrt(5), 2 * math.sqrt(5)
    w.backward(losses, module)
    # First batch: ratios are 1, target = mean(G) for both; G = [na, nb] with w = [1, 1].
    G = np.array([na, nb])
    target = G.mean()
    new = np.array([1.0, 1.0]) - 0.1 * np.sign(G - target) * np.array([na, nb])
    new = np.clip(new, 1e-4, None)
    new = new * 2 / new.sum()
    assert list(w.current_weights().values()) == pytest.approx(new.tolist())
    # The network got the gradient of the weighted sum with this step's weights (1, 1), not
    # the updated ones.
    assert trunk.weight.grad[0].tolist() == pytest.approx([8.0, 16.0])


def test_pcgrad_projects_conflicting_gradients():
    pc = _bound(PCGradWeighting())
    conflict = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
    # g1 - (g1.g2)/|g2|^2 g2 = [0.5, 0.5]; g2 - (g2.g1)/|g1|^2 g1 = [0, 1]
    assert pc.aggregate(conflict).tolist() == pytest.approx([0.5, 1.5])
    agree = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert pc.aggregate(agree).tolist() == pytest.approx([2.0, 1.0])


def test_min_norm_two_tasks_closed_form_and_frank_wolfe():
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    a = min_norm_weights(g @ g.T)
    assert a.tolist() == pytest.approx([0.8, 0.2])
    # Three tasks: compare with a brute-force search over the simplex.
    rng = np.random.RandomState(0)
    G = rng.normal(size=(3, 4))
    a3 = min_norm_weights(torch.tensor(G @ G.T)).numpy()
    grid = [
        np.array([i, j, 100 - i - j]) / 100 for i in range(101) for j in range(101 - i)
    ]
    best = min(np.linalg.norm(x @ G) for x in grid)
    assert np.linalg.norm(a3 @ G) <= best + 1e-3
    assert a3.sum() == pytest.approx(1.0) and (a3 >= -1e-12).all()


def test_mgda_aggregate_and_logged_weights():
    m = _bound(MGDAWeighting())
    out = m.aggregate(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    assert out.tolist() == pytest.approx([1.6, 0.8])
    assert m.current_weights() == pytest.approx({"a": 1.6, "b": 0.4})
    m.epoch_end({"a": 1.0, "b": 1.0})
    assert m.current_weights() == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError, match="normalize"):
        _bound(MGDAWeighting(normalize="max"))


def test_gradient_weighting_writes_trunk_and_head_grads():
    torch.manual_seed(0)
    module = MultiTaskModule(MLPTrunk(3, (4,)), 4, {"a": 1, "b": 1})
    x = torch.randn(8, 3)
    out = module(x)
    losses = {"a": out["a"].pow(2).mean(), "b": (out["b"] - 1).pow(2).mean()}
    # Reference: per-task gradients by hand.
    shared = list(module.trunk.parameters())
    ref = [torch.autograd.grad(losses[t], shared, retain_graph=True) for t in "ab"]
    head_ref = torch.autograd.grad(losses["a"] + losses["b"], list(module.head.parameters()),
                                   retain_graph=True)
    pc = _bound(PCGradWeighting())
    G = torch.stack([torch.cat([g.reshape(-1) for g in r]) for r in ref])
    expected = PCGradWeighting().__class__(random_state=0)
    expected.bind(["a", "b"], {"a": 1.0, "b": 1.0})
    direction = expected.aggregate(G)
    pc.backward(losses, module)
    got = torch.cat([p.grad.reshape(-1) for p in shared])
    assert torch.allclose(got, direction, atol=1e-6)
    for p, g in zip(module.head.parameters(), head_ref):
        assert torch.allclose(p.grad, g, atol=1e-6)


# ======================================================================== torchjd
def test_upgrad_direction_conflicts_with_no_task_and_scales_like_the_sum():
    pytest.importorskip("torchjd")
    from sk_mtl.weighting import JacobianWeighting

    rng = np.random.RandomState(0)
    grads = torch.tensor(rng.normal(size=(3, 20)), dtype=torch.float32)
    grads[1] = -0.5 * grads[0] + 0.1 * grads[1]  # tasks 0 and 1 in conflict
    up = _bound(JacobianWeighting(), {"a": 1.0, "b": 1.0, "c": 1.0})
    d = up.aggregate(grads)
    assert (grads @ d >= -1e-4).all()  # no task's loss goes up to first order
    mean = _bound(JacobianWeighting(scale="mean"), {"a": 1.0, "b": 1.0, "c": 1.0})
    assert torch.allclose(d, 3 * mean.aggregate(grads), atol=1e-5)
    same = torch.ones(3, 4)  # no conflict: the sum of the gradients, as the static sum
    assert up.aggregate(same).tolist() == pytest.approx([3.0] * 4, abs=1e-4)


def test_torchjd_pcgrad_and_mgda_match_ours_on_two_tasks():
    pytest.importorskip("torchjd")
    from sk_mtl.weighting import JacobianWeighting

    g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])
    ours = _bound(PCGradWeighting()).aggregate(g)
    assert _bound(JacobianWeighting("pcgrad", scale="mean")).aggregate(g).tolist() == \
        pytest.approx(ours.tolist())
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert _bound(JacobianWeighting("mgda")).aggregate(g).tolist() == pytest.approx(
        _bound(MGDAWeighting()).aggregate(g).tolist(), abs=1e-5)


def test_jacobian_weighting_names_objects_and_errors():
    torchjd = pytest.importorskip("torchjd")
    from sk_mtl.weighting import AGGREGATORS, JacobianWeighting

    for name in AGGREGATORS:
        w = _bound(JacobianWeighting(name))
        assert isinstance(w.aggregator_, torchjd.aggregation.Aggregator)
        assert w.aggregate(torch.randn(2, 5)).shape == (5,)
    given = torchjd.aggregation.UPGrad()
    w = make_weighting(JacobianWeighting(given))
    assert isinstance(w.aggregator, torchjd.aggregation.UPGrad)
    assert make_weighting("upgrad").get_params() == {"aggregator": "upgrad", "scale": "sum"}
    with pytest.raises(ValueError, match="aggregator='upgrade' is not known"):
        _bound(JacobianWeighting("upgrade"))
    with pytest.raises(TypeError, match=r"torchjd\.aggregation\.Aggregator"):
        _bound(JacobianWeighting(3))
    with pytest.raises(ValueError, match="scale must be"):
        _bound(JacobianWeighting(scale="max"))


def test_upgrad_trains_a_network_through_the_weighting_seam():
    pytest.importorskip("torchjd")
    from _helpers import BALANCING, noisy_tasks

    from sk_mtl import MultiTaskNet

    X, y = noisy_tasks(tasks=3)
    net = MultiTaskNet(weighting="upgrad", **{**BALANCING, "max_epochs": 15}).fit(X, y)
    scores = net.task_scores(X, y)
    assert scores["a"] > 0.5 and scores["b"] > 0.8 and scores["c"] > 0.5, scores
    with_ple = MultiTaskNet(weighting="upgrad", trunk="ple", **BALANCING).fit(X, y)
    assert set(with_ple.task_scores(X, y)) == {"a", "b", "c"}


@pytest.mark.slow  # 14 fits on the real wine and clothing data
@pytest.mark.parametrize("data", ["wine", "clothing"])
def test_every_torchjd_aggregator_offered_trains_on_real_data(data, request):
    pytest.importorskip("torchjd")
    from sk_mtl import FusionNetClassifier, MultiTaskNet
    from sk_mtl.weighting import AGGREGATORS, JacobianWeighting

    X, y = request.getfixturevalue(data)
    X, y = X.iloc[::16], y.iloc[::16]  # ~400 rows of every kind (wine: both colours)
    for name in AGGREGATORS:
        if data == "wine":
            net = MultiTaskNet(tasks={"quality": "regression", "color": "binary"},
                               weighting=JacobianWeighting(name), ensemble_size=1,
                               max_epochs=3, random_state=0)
        else:
            net = FusionNetClassifier(weighting=JacobianWeighting(name), max_epochs=2,
                                      random_state=0)
        net.fit(X, y)
        scores = net.task_scores(X, y)
        assert all(np.isfinite(v) for v in scores.values()), (name, scores)
        assert net.history_[-1, "train_loss"] < net.history_[0, "train_loss"], name
