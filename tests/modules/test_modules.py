"""Tests for sk_mtl.modules: masked losses, the MLP trunk, width inference, MultiTaskModule."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sk_mtl.modules import (
    ACTIVATIONS,
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MLPTrunk,
    MultilabelLoss,
    MultiTaskModule,
    RegressionLoss,
    infer_out_features,
    make_activation,
)

N = 8
MASK = torch.tensor([True, False, True, True, False, True, False, True])


def _case(kind, seed=0):
    """``(loss module, pred, target, plain_loss_fn)`` for one loss kind."""
    g = torch.Generator().manual_seed(seed)
    if kind == "binary":
        pred = torch.randn(N, 1, generator=g)
        target = torch.randint(0, 2, (N,), generator=g).float()
        return (
            BinaryCrossEntropyLoss(),
            pred,
            target,
            lambda p, t: F.binary_cross_entropy_with_logits(p.squeeze(-1), t),
        )
    if kind == "multiclass":
        pred = torch.randn(N, 4, generator=g)
        target = torch.randint(0, 4, (N,), generator=g)
        return CrossEntropyLoss(), pred, target, F.cross_entropy
    if kind == "multiclass_smooth":
        pred = torch.randn(N, 4, generator=g)
        target = torch.randint(0, 4, (N,), generator=g)
        return (
            CrossEntropyLoss(label_smoothing=0.1),
            pred,
            target,
            lambda p, t: F.cross_entropy(p, t, label_smoothing=0.1),
        )
    if kind == "multilabel":
        pred = torch.randn(N, 3, generator=g)
        target = torch.randint(0, 2, (N, 3), generator=g).float()
        return MultilabelLoss(), pred, target, F.binary_cross_entropy_with_logits
    fns = {"squared_error": F.mse_loss, "absolute_error": F.l1_loss, "huber": F.huber_loss}
    pred = 2 * torch.randn(N, 1, generator=g)
    target = torch.randn(N, generator=g)
    return RegressionLoss(kind), pred, target, lambda p, t: fns[kind](p.squeeze(-1), t)


KINDS = [
    "binary",
    "multiclass",
    "multiclass_smooth",
    "multilabel",
    "squared_error",
    "absolute_error",
    "huber",
]


@pytest.mark.parametrize("kind", KINDS)
def test_masked_loss_equals_plain_loss_on_labelled_rows(kind):
    loss, pred, target, plain = _case(kind)
    pred = pred.requires_grad_()
    # Rows outside the mask get absurd targets where that is possible: they must not count.
    if target.dtype.is_floating_point and kind not in ("binary", "multilabel"):
        target = torch.where(MASK, target, torch.full_like(target, 1e6))
    value = loss(pred, target, MASK)
    expected = plain(pred.detach()[MASK], target[MASK])
    torch.testing.assert_close(value, expected)

    # Gradient: that of the plain loss on the labelled rows, zero on the others.
    value.backward()
    ref_pred = pred.detach()[MASK].clone().requires_grad_()
    plain(ref_pred, target[MASK]).backward()
    torch.testing.assert_close(pred.grad[MASK], ref_pred.grad)
    assert torch.count_nonzero(pred.grad[~MASK]) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_loss_without_mask_is_plain_loss(kind):
    loss, pred, target, plain = _case(kind, seed=1)
    torch.testing.assert_close(loss(pred, target), plain(pred, target))
    torch.testing.assert_close(loss(pred, target, None), plain(pred, target))


@pytest.mark.parametrize("kind", KINDS)
def test_all_true_mask_equals_no_mask(kind):
    loss, pred, target, _ = _case(kind, seed=2)
    mask = torch.ones(N, dtype=torch.bool)
    torch.testing.assert_close(loss(pred, target, mask), loss(pred, target))


@pytest.mark.parametrize("kind", KINDS)
def test_all_masked_batch_gives_zero_loss_and_zero_grad(kind):
    loss, pred, target, _ = _case(kind, seed=3)
    pred = pred.requires_grad_()
    value = loss(pred, target, torch.zeros(N, dtype=torch.bool))
    assert value.item() == 0.0
    assert torch.isfinite(value)
    value.backward()
    assert pred.grad is not None
    assert torch.count_nonzero(pred.grad) == 0


def test_binary_masked_loss_hand_computed():
    # Two labelled rows: logit 0 with target 1 -> log 2; logit log(3) with target 0 -> log 4.
    pred = torch.tensor([[0.0], [5.0], [torch.log(torch.tensor(3.0))]])
    target = torch.tensor([1.0, 0.0, 0.0])
    mask = torch.tensor([True, False, True])
    value = BinaryCrossEntropyLoss()(pred, target, mask)
    expected = (torch.log(torch.tensor(2.0)) + torch.log(torch.tensor(4.0))) / 2
    torch.testing.assert_close(value, expected)


def test_regression_loss_unknown_name():
    with pytest.raises(KeyError):
        RegressionLoss("l3")


# --------------------------------------------------------------------------- trunks
def test_mlp_trunk_layer_structure_full():
    trunk = MLPTrunk(6, (8, 4), activation="tanh", dropout=0.25, batch_norm=True)
    types = [type(layer) for layer in trunk.layers]
    assert types == [
        nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout,
        nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout,
    ]  # fmt: skip
    assert (trunk.layers[0].in_features, trunk.layers[0].out_features) == (6, 8)
    assert (trunk.layers[4].in_features, trunk.layers[4].out_features) == (8, 4)
    assert trunk.layers[1].num_features == 8
    assert trunk.layers[3].p == 0.25
    assert trunk.out_features == 4
    trunk.eval()
    assert trunk(torch.randn(5, 6)).shape == (5, 4)


def test_mlp_trunk_plain():
    trunk = MLPTrunk(3, (5,))
    assert [type(layer) for layer in trunk.layers] == [nn.Linear, nn.ReLU]
    assert trunk.out_features == 5


def test_mlp_trunk_without_hidden_layers_is_identity():
    trunk = MLPTrunk(3, ())
    assert len(trunk.layers) == 0
    assert trunk.out_features == 3
    x = torch.randn(4, 3)
    torch.testing.assert_close(trunk(x), x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_mlp_trunk_activation_names(name):
    trunk = MLPTrunk(3, (4,), activation=name)
    assert type(trunk.layers[1]) is ACTIVATIONS[name]
    assert type(make_activation(name)) is ACTIVATIONS[name]


def test_activation_table_has_common_names():
    assert {"relu", "tanh", "gelu", "elu", "leaky_relu", "sigmoid", "identity"} <= set(ACTIVATIONS)


def test_mlp_trunk_activation_class():
    trunk = MLPTrunk(3, (4, 2), activation=nn.Softplus)
    assert type(trunk.layers[1]) is nn.Softplus
    # One fresh instance per layer.
    assert trunk.layers[1] is not trunk.layers[3]


def test_unknown_activation_lists_names():
    with pytest.raises(ValueError, match=r"activation='swishy'.*'relu'"):
        MLPTrunk(3, (4,), activation="swishy")


def test_bad_activation_type():
    with pytest.raises(TypeError, match="activation"):
        make_activation(nn.ReLU())  # an instance, not a class


# --------------------------------------------------------------------------- width inference
def test_infer_out_features_from_attribute():
    assert infer_out_features(MLPTrunk(3, (7,)), 3) == 7
    assert infer_out_features(nn.Linear(3, 9), 3) == 9


def test_infer_out_features_by_dry_run():
    trunk = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU())
    assert not hasattr(trunk, "out_features")
    assert trunk.training
    before = {k: v.clone() for k, v in trunk.state_dict().items()}
    assert infer_out_features(trunk, 3) == 5
    # Mode restored and BatchNorm running statistics untouched (the dry run is in eval mode).
    assert trunk.training
    for key, value in trunk.state_dict().items():
        torch.testing.assert_close(value, before[key])
    trunk.eval()
    assert infer_out_features(trunk, 3) == 5
    assert not trunk.training


def test_infer_out_features_parameter_free_module():
    assert infer_out_features(nn.Flatten(), 4) == 4


class _Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


class _ThreeD(nn.Module):
    def forward(self, x):
        return x.unsqueeze(1)


def test_infer_out_features_failing_trunk():
    with pytest.raises(ValueError, match=r"custom trunk _Broken failed.*\(2, 4\).*boom"):
        infer_out_features(_Broken(), 4)
    with pytest.raises(ValueError, match=r"Sequential failed.*\(2, 4\)"):
        infer_out_features(nn.Sequential(nn.Linear(3, 2)), 4)


def test_infer_out_features_non_2d_output():
    with pytest.raises(ValueError, match="2-D tensor"):
        infer_out_features(_ThreeD(), 4)


# --------------------------------------------------------------------------- MultiTaskModule
def test_multitask_module_outputs_dict_keyed_by_task_names():
    heads = {"quality": 1, "wine.color": 2, "tags/x": 3, "0": 4}
    module = MultiTaskModule(MLPTrunk(5, (6,)), 6, heads)
    out = module(torch.randn(7, 5))
    assert list(out) == list(heads)
    for name, size in heads.items():
        assert out[name].shape == (7, size)
    assert module.task_names == list(heads)
    # Every head is a registered, trainable submodule.
    n_params = sum(p.numel() for p in module.parameters())
    assert n_params == (5 * 6 + 6) + sum(6 * s + s for s in heads.values())
    sum(o.sum() for o in out.values()).backward()
    assert all(p.grad is not None for p in module.parameters())


def test_multitask_module_state_dict_round_trip():
    torch.manual_seed(0)
    a = MultiTaskModule(nn.Linear(3, 4), 4, {"a.b": 1, "c": 2})
    b = MultiTaskModule(nn.Linear(3, 4), 4, {"a.b": 1, "c": 2})
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3)
    for name in ("a.b", "c"):
        torch.testing.assert_close(a(x)[name], b(x)[name])


def test_multitask_module_heads_are_distinct_row_blocks():
    module = MultiTaskModule(nn.Identity(), 3, {"a": 2, "b": 1})
    assert module.head.in_features == 3
    assert module.head_slices == {"a": slice(0, 2), "b": slice(2, 3)}
    x = torch.randn(4, 3)
    out = module(x)
    full = module.head(x)
    torch.testing.assert_close(out["a"], full[:, :2])
    torch.testing.assert_close(out["b"], full[:, 2:])
    # A loss on one task moves only that task's rows of the head.
    out["b"].sum().backward()
    assert module.head.weight.grad[:2].abs().sum() == 0
    assert module.head.weight.grad[2].abs().sum() > 0


def test_multitask_module_per_task_trunk_outputs_use_their_rows():
    class PerTask(nn.Module):
        def forward(self, x):
            return {"a": x, "b": 2 * x}

    module = MultiTaskModule(PerTask(), 3, {"a": 2, "b": 1})
    x = torch.randn(4, 3)
    out = module(x)
    torch.testing.assert_close(out["a"], module.head(x)[:, :2])
    torch.testing.assert_close(out["b"], module.head(2 * x)[:, 2:])


def test_criterion_batches_same_kind_tasks_and_matches_per_task_losses():
    from sk_mtl.estimators._net import MultiTaskCriterion
    from sk_mtl.modules import (
        BinaryCrossEntropyLoss,
        CrossEntropyLoss,
        RegressionLoss,
    )

    torch.manual_seed(0)
    n = 12
    losses = {
        "b1": BinaryCrossEntropyLoss(), "r1": RegressionLoss(), "b2": BinaryCrossEntropyLoss(),
        "m": CrossEntropyLoss(), "r2": RegressionLoss(), "h": RegressionLoss("huber"),
        "b3": BinaryCrossEntropyLoss(), "b4": BinaryCrossEntropyLoss(),
    }
    criterion = MultiTaskCriterion(losses)
    # b1-b4 in one call; two regression tasks are too few to batch; m and h alone.
    assert [len(g) for g in criterion._batched] == [4]
    preds = {name: torch.randn(n, 3 if name == "m" else 1, requires_grad=True) for name in losses}
    targets = {
        "b1": (torch.randint(0, 2, (n,)).float(), None),
        "b2": (torch.randint(0, 2, (n,)).float(), torch.rand(n) > 0.4),
        "r1": (torch.randn(n), torch.rand(n) > 0.3),
        "r2": (torch.randn(n), None),
        "m": (torch.randint(0, 3, (n,)), None),
        "h": (torch.randn(n), None),
        "b3": (torch.randint(0, 2, (n,)).float(), torch.rand(n) > 0.5),
        "b4": (torch.randint(0, 2, (n,)).float(), None),
    }
    got = criterion(preds, targets)
    assert list(got) == list(losses)
    for name, loss in losses.items():
        torch.testing.assert_close(got[name], loss(preds[name], *targets[name]))
    # Gradients reach each task's own output only.
    got["b2"].backward()
    assert preds["b1"].grad is None or preds["b1"].grad.abs().sum() == 0
    assert preds["b2"].grad.abs().sum() > 0


def test_wide_path_is_a_zero_initialised_sparse_linear_model_added_to_the_heads():
    import scipy.sparse as sp

    from sk_mtl.modules import MultiTaskModule, SparseRows, WidePath

    X = sp.random(5, 30, density=0.2, format="csr", random_state=0, dtype="float32")
    wide = WidePath({"text": 30}, 4, lr_scale={"text": 10.0})
    x = {"text": (SparseRows.from_csr(X), None)}
    assert torch.equal(wide(x), torch.zeros(5, 4))
    with torch.no_grad():
        wide.linears[0].bag.weight.normal_()
    expected = torch.from_numpy(X.toarray()) @ wide.linears[0].bag.weight
    torch.testing.assert_close(wide(x), expected)
    assert [s for _, s in wide.scaled_parameters()] == [10.0]
    assert not wide.linears[0].bias.requires_grad

    class Deep(nn.Module):
        out_features = 3

        def forward(self, x):
            return torch.ones(len(x["text"][0]), 3)

    net = MultiTaskModule(Deep(), 3, {"a": 1, "b": 3}, wide=wide)
    plain = MultiTaskModule(Deep(), 3, {"a": 1, "b": 3})
    plain.load_state_dict({k: v for k, v in net.state_dict().items()
                           if not k.startswith("wide.")})
    out, base = net(x), plain(x)
    torch.testing.assert_close(out["a"], base["a"] + expected[:, :1])
    torch.testing.assert_close(out["b"], base["b"] + expected[:, 1:])
    out["b"].sum().backward()
    assert wide.linears[0].bag.weight.grad.is_sparse


def test_symmetric_info_nce_hand_computed_and_the_aligner_skips_rows_without_both():
    import math

    from sk_mtl.modules import ModalityAligner, symmetric_info_nce

    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # normalized: the identity
    b = torch.tensor([[3.0, 0.0], [1.0, 1.0]])  # rows e1 and (1, 1)/sqrt(2)
    s = 1 / math.sqrt(2)
    logits = torch.tensor([[1.0, s], [0.0, s]]) / 0.5  # a_i . b_j / temperature
    rows = -(logits.diag() - logits.logsumexp(1)).mean()
    cols = -(logits.diag() - logits.logsumexp(0)).mean()
    expected = float((rows + cols) / 2)
    assert float(symmetric_info_nce(a, b, temperature=0.5)) == pytest.approx(expected, abs=1e-6)
    assert float(symmetric_info_nce(a, a, temperature=1.0)) == pytest.approx(
        math.log(1 + math.exp(-1)), abs=1e-6)

    aligner = ModalityAligner({"x": 2, "y": 2}, 2)
    with torch.no_grad():
        for p in aligner.proj:
            p.weight.copy_(torch.eye(2))
            p.bias.zero_()
    hs = {"x": torch.cat([a, torch.ones(1, 2)]), "y": torch.cat([b, -torch.ones(1, 2)])}
    present = {"x": torch.tensor([True, True, False]), "y": None}
    with torch.no_grad():  # row 2 (no x) is left out
        assert float(aligner(hs, present)) == pytest.approx(
            float(symmetric_info_nce(a, b, 0.1)), abs=1e-6)
    lonely = {"x": torch.tensor([True, False, False]), "y": None}
    loss = aligner(hs, lonely)  # one shared row: nothing to align
    assert float(loss.detach()) == 0.0 and loss.requires_grad


# ============================================================================ ensembles
def test_ensemble_trunk_gives_one_representation_per_member():
    from sk_mtl.modules import EnsembleMLPTrunk

    torch.manual_seed(0)
    trunk = EnsembleMLPTrunk(5, (8, 8), "relu", 0.0, k=4)
    out = trunk(torch.randn(3, 5))
    assert out.shape == (3, 4, 8)
    # Members differ (their own scalings), though they share the weight matrices.
    assert not torch.allclose(out[:, 0], out[:, 1])
    assert EnsembleMLPTrunk(5, (8, 4), k=2)(torch.randn(3, 5)).shape == (3, 2, 4)
    assert EnsembleMLPTrunk(5, (), k=2)(torch.randn(3, 5)).shape == (3, 2, 5)
    bn = EnsembleMLPTrunk(5, (8,), k=2, batch_norm=True)
    assert any("BatchNorm" in type(m).__name__ for m in bn.modules())


def test_member_averages_decode_to_the_mean_prediction():
    from sk_mtl.modules import average_members

    torch.manual_seed(0)
    out = torch.randn(6, 4, 3)
    # Regression: the mean output.
    torch.testing.assert_close(average_members(out[..., :1], "mean"), out[..., :1].mean(1))
    # Binary: the sigmoid of the average is the members' mean probability.
    torch.testing.assert_close(
        torch.sigmoid(average_members(out[..., :1], "sigmoid")),
        torch.sigmoid(out[..., :1]).mean(1),
    )
    # Multiclass: the softmax of the average is the members' mean probabilities.
    torch.testing.assert_close(
        torch.softmax(average_members(out, "softmax"), dim=-1),
        torch.softmax(out, dim=-1).mean(1),
    )


def test_multitask_module_with_ensemble_trunk_trains_members_and_averages_in_eval():
    from sk_mtl.modules import EnsembleMLPTrunk

    torch.manual_seed(0)
    trunk = EnsembleMLPTrunk(4, (8,), k=3)
    net = MultiTaskModule(trunk, 8, {"r": 1, "c": 3},
                          member_averages={"r": "mean", "c": "softmax"})
    x = torch.randn(5, 4)
    net.train()
    members = net(x)
    assert members["r"].shape == (5, 3, 1) and members["c"].shape == (5, 3, 3)
    net.eval()
    averaged = net(x)
    torch.testing.assert_close(averaged["r"], members["r"].mean(1))
    torch.testing.assert_close(torch.softmax(averaged["c"], -1),
                               torch.softmax(members["c"], -1).mean(1))
