"""sk_mtl.trunks: the trunk specifications of ``trunk=`` (the table, make_trunk, MMoE, PLE)."""

import pytest
import torch
from _helpers import BALANCING, noisy_tasks, with_auxiliary
from sklearn.base import BaseEstimator, clone
from torch import nn

from sk_mtl import MultiTaskNet
from sk_mtl.modules import PLETrunk
from sk_mtl.modules._trunks import RowwiseLinear
from sk_mtl.trunks import PLE, TRUNKS, MMoE, TrunkSpec, make_trunk
from sk_mtl.weighting._base import shared_parameters


def _weights(module):
    return [p.detach().clone() for p in module.parameters()]


# ======================================================================== the table, make_trunk
def test_every_name_builds_its_class_with_the_defaults():
    assert TRUNKS == {"mmoe": MMoE, "ple": PLE}
    for name, cls in TRUNKS.items():
        spec = make_trunk(name)
        assert type(spec) is cls
        assert spec.get_params() == cls().get_params()
        assert make_trunk(name) is not spec  # a fresh one each time


def test_a_spec_is_cloned_not_shared():
    spec = MMoE(n_experts=3, expert_dims=(8,))
    made = make_trunk(spec)
    assert made is not spec and type(made) is MMoE
    assert made.get_params() == spec.get_params()
    made.set_params(n_experts=5)
    assert spec.n_experts == 3


def test_unknown_names_and_other_objects_are_refused():
    with pytest.raises(ValueError, match=r"'moe' is not known; use one of \['mmoe', 'ple'\]"):
        make_trunk("moe")
    with pytest.raises(TypeError):
        make_trunk(4)


# ======================================================================== MMoE
def test_mmoe_is_a_scikit_learn_estimator_with_nested_params():
    spec = MMoE(n_experts=2, expert_dims=(16,), dropout=0.1)
    assert isinstance(spec, (BaseEstimator, TrunkSpec))
    assert spec.get_params() == {"n_experts": 2, "expert_dims": (16,), "activation": "relu",
                                 "dropout": 0.1}
    assert repr(clone(spec)) == repr(spec)
    net = MultiTaskNet(trunk=clone(spec)).set_params(trunk__expert_dims=(4, 4))
    assert net.get_params()["trunk__expert_dims"] == (4, 4) and spec.expert_dims == (16,)


@pytest.mark.parametrize(("expert_dims", "width"), [((8,), 8), ((8, 6), 6), (5, 5)])
def test_mmoe_builds_one_output_per_task_of_the_last_expert_width(expert_dims, width):
    torch.manual_seed(0)
    trunk = MMoE(n_experts=3, expert_dims=expert_dims).build(4, ["price", "grade"])
    assert isinstance(trunk, nn.Module)
    assert len(trunk.experts) == 3 and len(trunk.gates) == 2
    assert trunk.out_features == width
    out = trunk(torch.randn(7, 4))
    assert list(out) == ["price", "grade"]
    assert all(h.shape == (7, width) for h in out.values())
    # Each task mixes the experts with its own gate: two tasks, two representations.
    assert not torch.allclose(out["price"], out["grade"])


def test_mmoe_builds_a_fresh_module_each_time_and_the_seed_fixes_it():
    spec = MMoE(n_experts=2, expert_dims=(8,))
    torch.manual_seed(0)
    first = spec.build(3, ["a"])
    second = spec.build(3, ["a"])
    assert first is not second
    assert not all(torch.equal(p, q) for p, q in zip(_weights(first), _weights(second)))
    torch.manual_seed(0)
    again = spec.build(3, ["a"])
    assert all(torch.equal(p, q) for p, q in zip(_weights(first), _weights(again)))


def test_mmoe_passes_activation_and_dropout_to_its_experts():
    trunk = MMoE(n_experts=2, expert_dims=(8,), activation="tanh", dropout=0.25).build(3, ["a"])
    layers = list(trunk.experts[0].modules())
    assert any(isinstance(m, nn.Tanh) for m in layers)
    assert [m.p for m in layers if isinstance(m, nn.Dropout)] == [0.25]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_experts": 0}, "n_experts must be a positive int, got 0"),
        ({"n_experts": 2.0}, "n_experts must be a positive int, got 2.0"),
        ({"expert_dims": (8, 0)}, r"expert_dims must be positive ints, got \(8, 0\)"),
        ({"expert_dims": -3}, "expert_dims must be positive ints, got -3"),
    ],
)
def test_mmoe_refuses_bad_sizes_when_it_builds(params, match):
    spec = MMoE(**params)  # scikit-learn style: __init__ stores, the build checks
    with pytest.raises(ValueError, match=f"MMoE: {match}"):
        spec.build(3, ["a"])


def test_the_base_spec_leaves_build_to_subclasses():
    with pytest.raises(NotImplementedError):
        TrunkSpec().build(3, ["a"])


# ======================================================================== through an estimator
def test_mmoe_trunk_by_name_and_spec():
    X, y = with_auxiliary()
    by_name = MultiTaskNet(tasks={"r": "regression"}, trunk="mmoe", **BALANCING).fit(X, y)
    assert len(by_name.module_.trunk.experts) == 4
    spec = MMoE(n_experts=3, expert_dims=(8,))
    net = MultiTaskNet(tasks={"r": "regression"}, trunk=spec, **BALANCING).fit(X, y)
    assert len(net.module_.trunk.experts) == 3
    assert net.module_.head.in_features == 8
    assert net.score(X, y) > 0.5
    assert spec.n_experts == 3  # the parameter object is not changed by fit
    est = clone(MultiTaskNet(trunk=spec)).set_params(trunk__n_experts=2)
    assert est.trunk.n_experts == 2 and spec.n_experts == 3
    with pytest.raises(ValueError, match="n_experts"):
        MultiTaskNet(tasks={"r": "regression"}, trunk=MMoE(n_experts=0), **BALANCING).fit(X, y)


# ============================================================= rows' independence
@pytest.mark.parametrize("spec", [MMoE(n_experts=3, expert_dims=(30,)),
                                  PLE(n_levels=2, expert_dims=(30,))], ids=["mmoe", "ple"])
@pytest.mark.parametrize("threads", [1, 2])
def test_expert_trunks_give_a_row_the_same_output_wherever_it_sits_in_the_batch(spec, threads):
    # 13 input columns and 2-4 gate outputs: the shape for which MKL's float32 matrix
    # product rounds a row by its position (the sklearn check of sample order failed on
    # PLE by 2e-9); the gates and the mixture are products and sums per row.
    torch.manual_seed(0)
    trunk = spec.build(13, ["a", "b"])
    x = torch.randn(256, 13)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            out = trunk(x)
            for seed in range(5):
                order = torch.randperm(256, generator=torch.Generator().manual_seed(seed))
                moved = trunk(x[order])
                for task in ("a", "b"):
                    assert torch.equal(moved[task], out[task][order])
    finally:
        torch.set_num_threads(before)


def test_the_rowwise_gates_are_linear_layers_with_the_same_parameters():
    torch.manual_seed(0)
    gate = RowwiseLinear(13, 3)
    plain = nn.Linear(13, 3)
    plain.load_state_dict(gate.state_dict())
    x = torch.randn(9, 13)
    torch.testing.assert_close(gate(x), plain(x))
    assert isinstance(PLE(expert_dims=(4,)).build(5, ["a"]).levels[0].task_gates[0],
                      RowwiseLinear)


# ======================================================================== PLE
def test_ple_levels_route_task_and_shared_experts():
    torch.manual_seed(0)
    trunk = PLE(n_shared_experts=2, n_task_experts=3, n_levels=3, expert_dims=(8, 6)).build(
        5, ["a", "b"])
    assert isinstance(trunk, PLETrunk) and trunk.out_features == 6
    assert [len(level.task_experts[0]) for level in trunk.levels] == [3, 3, 3]
    # Levels after the first read the previous level's width; the last has no shared gate.
    assert trunk.levels[1].shared_experts[0].out_features == 6
    assert trunk.levels[1].task_gates[0].in_features == 6
    assert trunk.levels[-1].shared_gate is None
    assert trunk.levels[0].shared_gate.out_features == 2 * 3 + 2
    out = trunk(torch.randn(7, 5))
    assert {k: v.shape for k, v in out.items()} == {"a": (7, 6), "b": (7, 6)}
    # Task a's output does not depend on task b's own experts in the last level.
    x = torch.randn(7, 5)
    a1 = trunk(x)["a"]
    with torch.no_grad():
        for p in trunk.levels[-1].task_experts[1].parameters():
            p.add_(1.0)
    assert torch.equal(trunk(x)["a"], a1)
    assert not torch.equal(trunk(x)["b"], trunk(x)["a"])


def test_ple_shares_only_its_shared_experts_and_gates():
    trunk = PLE(n_levels=2, expert_dims=(4,)).build(3, ["a", "b"])
    shared = {id(p) for p in shared_parameters(trunk)}
    own = {id(p) for level in trunk.levels
           for part in (level.task_experts, level.task_gates) for p in part.parameters()}
    assert shared and own and not shared & own
    assert shared | own == {id(p) for p in trunk.parameters()}
    assert len(trunk.shared_output_parameters()) == 2  # the last level's shared experts


@pytest.mark.parametrize("params, match", [
    ({"n_levels": 0}, "n_levels must be a positive int, got 0"),
    ({"n_task_experts": True}, "n_task_experts must be a positive int"),
    ({"expert_dims": (4, -1)}, "expert_dims must be positive ints"),
])
def test_ple_refuses_bad_sizes_when_it_builds(params, match):
    with pytest.raises(ValueError, match=f"PLE: {match}"):
        PLE(**params).build(3, ["a"])


@pytest.mark.parametrize("weighting", ["static", "pcgrad", "gradnorm"])
def test_ple_trunk_trains_with_loss_and_gradient_weightings(weighting):
    X, y = noisy_tasks(tasks=3)
    net = MultiTaskNet(trunk="ple", weighting=weighting, **{**BALANCING, "max_epochs": 15})
    net.fit(X, y)
    scores = net.task_scores(X, y)
    assert scores["a"] > 0.5 and scores["b"] > 0.8 and scores["c"] > 0.5, scores
    assert clone(net).set_params(trunk=PLE(n_levels=1)).fit(X, y).module_.trunk.levels[0] \
        .shared_gate is None


def test_ple_trunk_is_searched_like_any_parameter():
    from sklearn.model_selection import GridSearchCV

    X, y = noisy_tasks(tasks=2)
    search = GridSearchCV(MultiTaskNet(trunk=PLE(expert_dims=(8,)), **BALANCING),
                          {"trunk__n_task_experts": [1, 2]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_["trunk__n_task_experts"] in (1, 2)
    assert isinstance(search.best_estimator_.module_.trunk, PLETrunk)
