"""Nothing silent, nothing lost: clear errors for degenerate input, divergence, atomic fits,
interruption, warm starts and partial_fit (one test for each way a fit could fail silently or
lose a fitted model)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import line_and_sign
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from sk_mtl import (
    FusionNet,
    FusionNetClassifier,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sk_mtl.exceptions import TrainingDivergedError

X = np.random.RandomState(0).randn(30, 2)
Y = np.arange(30) % 2


class Interrupt(Callback):
    """Raise ``KeyboardInterrupt`` (a Ctrl-C) at the end of one epoch, once: the "once" is
    kept outside the callback, as a user's keyboard is (the net restores callback states
    when it resumes)."""

    pressed: set = set()

    def __init__(self, at_epoch, key):
        self.at_epoch = at_epoch
        self.key = key

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.at_epoch and self.key not in self.pressed:
            self.pressed.add(self.key)
            raise KeyboardInterrupt


class PoisonWeights(Callback):
    """Make the trained weights NaN after a training step of one epoch (a divergence on
    demand; the weights' moving average, ``ema_decay``, follows them there)."""

    def __init__(self, at_epoch):
        self.at_epoch = at_epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.at_epoch:
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.fill_(float("nan"))


def _weights(est):
    return {k: v.clone() for k, v in est.module_.state_dict().items()}


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0, msg=k)


# ============================================================================ clear errors
@pytest.mark.parametrize(
    "fit, match",
    [
        (lambda: FusionNet(max_epochs=1).fit({"a": X, "b": np.empty((30, 0))}, Y),
         "Modality 'b' has no columns"),
        (lambda: FusionNet(max_epochs=1, modalities={"a": ["p", "q"], "none": []}).fit(
            pd.DataFrame(X, columns=["p", "q"]), Y), "Modality 'none' selects no column"),
        (lambda: FusionNet(max_epochs=1).fit({"a": X, "img": np.zeros((30, 0, 4, 4))}, Y),
         "Modality 'img' has no pixels or channels"),
        (lambda: MultiTaskNetClassifier(batch_norm=True, batch_size=1, max_epochs=1).fit(X, Y),
         "BatchNorm.*batch_size=1"),
        (lambda: MultiTaskNetRegressor(batch_norm=True, max_epochs=1).fit(X[:1], [0.5]),
         "BatchNorm.*1 training row"),
        (lambda: MultiTaskNetClassifier(max_epochs=1).fit(
            np.full((20, 2), 3e38) * np.where(np.arange(20) % 2, 1, -1)[:, None],
            np.arange(20) % 2), r"magnitude up to 3e\+38 in column\(s\) \[0, 1\]"),
        (lambda: MultiTaskNetClassifier(max_epochs=1, task_weights={"y": 1e308}).fit(X, Y),
         r"task_weights\['y'\]=1e\+308 is larger"),
        (lambda: FusionNetClassifier(max_epochs=1, fusion="weighted_sum",
                                     fusion_weights={"a": 1e308}).fit({"a": X}, Y),
         r"fusion_weights\['a'\]=1e\+308 is larger"),
        (lambda: MultiTaskNetRegressor(max_epochs=1).fit(X, X[:, 0] * 1e160),
         "Task 'y' has labels too large to standardize"),
    ],
    ids=["zero-column modality", "empty column list", "zero-channel image", "BN batch 1",
         "BN one row", "float32 overflow", "huge task weight", "huge fusion weight",
         "huge target"],
)
def test_degenerate_input_gets_a_clear_error_before_training(fit, match):
    with pytest.raises(ValueError, match=match):
        fit()


def test_batch_norm_skips_a_one_row_last_batch():
    # 33 rows in batches of 16: the last batch has one row.
    X33, y33 = line_and_sign(33)
    net = MultiTaskNet(batch_norm=True, batch_size=16, max_epochs=3, validation_fraction=None,
                       retrieval=None, random_state=0).fit(X33, y33)
    assert net.history_[-1, "train_batch_count"] == 2
    assert np.isfinite(net.predict_tasks(X33)["r"]).all()
    # 1x1 images through the CNN encoder (BatchNorm2d) train too.
    images = np.random.RandomState(0).rand(30, 1, 1, 1)
    FusionNetClassifier(max_epochs=1, batch_size=29).fit({"img": images}, Y)


def test_score_with_labels_of_another_type_raises():
    net = MultiTaskNetClassifier(max_epochs=2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="Mix of label input types"):
        net.score(X, np.array(["0", "1"] * 15))
    labels = np.array(["a", "b"] * 15)
    strings = MultiTaskNetClassifier(max_epochs=2, random_state=0).fit(X, labels)
    with pytest.raises(ValueError, match="Mix of label input types"):
        strings.score(X, Y)


# ============================================================================ divergence
def test_divergence_raises_and_leaves_the_estimator_unfitted():
    X2, y2 = line_and_sign()
    net = MultiTaskNet(optimizer="sgd", lr=10, max_epochs=5, retrieval=None)
    with pytest.raises(TrainingDivergedError, match=r"diverged in epoch \d.*lr=10"):
        net.fit(X2, y2)
    with pytest.raises(NotFittedError):
        net.predict(X2)


def test_divergence_can_restore_the_last_finite_epoch():
    X2, y2 = line_and_sign()
    net = MultiTaskNet(max_epochs=6, on_divergence="restore", callbacks=[PoisonWeights(3)],
                       retrieval=None, random_state=0)
    with pytest.warns(UserWarning, match="weights of epoch 2, the last finite one"):
        net.fit(X2, y2)
    assert len(net.history_) == 2
    assert all(torch.isfinite(p).all() for p in net.module_.parameters())
    assert np.isfinite(net.predict_tasks(X2)["r"]).all()
    # Divergence in the first epoch leaves nothing to restore: an error even so.
    first = MultiTaskNet(max_epochs=3, on_divergence="restore", callbacks=[PoisonWeights(1)],
                         retrieval=None)
    with pytest.raises(TrainingDivergedError):
        first.fit(X2, y2)


def test_non_finite_outputs_never_leave_predict():
    X2, y2 = line_and_sign()
    net = MultiTaskNet(max_epochs=2, random_state=0).fit(X2, y2)
    with torch.no_grad():
        net.module_.head.bias.fill_(float("inf"))
    with pytest.raises(ValueError, match="output for task 'r' is not finite on 120 row"):
        net.predict(X2)


# ============================================================================ atomic fit
def test_a_failed_refit_keeps_the_earlier_model():
    X2, y2 = line_and_sign()
    net = MultiTaskNet(max_epochs=3, random_state=0).fit(X2, y2)
    before = net.predict(X2)
    state = dict(net.__dict__)
    net.set_params(callbacks=[PoisonWeights(2)])
    with pytest.raises(TrainingDivergedError):
        net.fit(X2, y2)
    assert net.__dict__.keys() == state.keys()
    assert net.net_ is state["net_"]
    np.testing.assert_array_equal(net.predict(X2), before)
    # A fit failing on bad input keeps it too.
    with pytest.raises(ValueError):
        net.fit(X2[:, :2] * np.nan, y2)
    np.testing.assert_array_equal(net.predict(X2), before)


def test_a_failed_first_fit_leaves_the_estimator_unfitted():
    X2, y2 = line_and_sign()
    net = MultiTaskNet(max_epochs=3, callbacks=[PoisonWeights(1)])
    with pytest.raises(TrainingDivergedError):
        net.fit(X2, y2)
    assert not hasattr(net, "net_") and not hasattr(net, "tasks_")


# ============================================================================ interruption
RESUME = dict(max_epochs=6, dropout=0.2, n_iter_no_change=50, random_state=0)


@pytest.mark.parametrize("estimator", [MultiTaskNet, FusionNet])
def test_interrupted_fit_warns_and_resumes_to_the_uninterrupted_weights(estimator):
    X2, y2 = line_and_sign(300)
    full = estimator(**RESUME).fit(X2, y2)
    net = estimator(callbacks=[Interrupt(at_epoch=3, key=estimator.__name__)], **RESUME)
    with pytest.warns(UserWarning, match="interrupted by user after 2 complete epoch"):
        net.fit(X2, y2)
    assert np.isfinite(net.predict_tasks(X2)["r"]).all()  # usable as it is
    net.set_params(warm_start=True).fit(X2, y2)
    # FusionNet then trains again on all rows (refit_full), as the uninterrupted fit did.
    first = net.history_ if net.validation_history_ is None else net.validation_history_
    assert len(first) == 6 and len(net.history_) == len(full.history_)
    _assert_same_weights(net, full)
    np.testing.assert_array_equal(net.predict(X2), full.predict(X2))


def test_warm_start_continues_to_max_epochs_in_total():
    X2, y2 = line_and_sign()
    params = dict(lr_schedule=None, early_stopping=False, dropout=0.2, random_state=0)
    full = MultiTaskNet(max_epochs=6, **params).fit(X2, y2)
    net = MultiTaskNet(max_epochs=2, **params).fit(X2, y2)
    net.set_params(max_epochs=6, warm_start=True).fit(X2, y2)
    assert len(net.history_) == 6
    _assert_same_weights(net, full)
    with pytest.warns(UserWarning, match="already trained 6 epochs"):
        net.fit(X2, y2)
    # Other tasks need a fresh fit.
    with pytest.raises(ValueError, match="same tasks"):
        net.fit(X2, y2[["r"]])


def test_warm_start_raising_max_epochs_stretches_the_cosine_schedule():
    """The first fit's cosine reaches 0 at its max_epochs; a warm start to more epochs
    decays over the new max_epochs instead of training at a learning rate of 0."""

    seen = []

    class Rates(Callback):  # the estimator clones its callbacks: record outside them
        def on_epoch_begin(self, net, **kwargs):
            seen.append(net.optimizer_.param_groups[0]["lr"])

    X2, y2 = line_and_sign()
    net = MultiTaskNet(max_epochs=3, early_stopping=False, lr=0.01, callbacks=[Rates()],
                       random_state=0).fit(X2, y2)
    assert seen == pytest.approx([0.01, 0.0075, 0.0025])
    before = [p.detach().clone() for p in net.net_.module_.parameters()]
    net.set_params(max_epochs=6, warm_start=True).fit(X2, y2)
    assert len(net.history_) == 6
    # Epochs 3, 4, 5 at the factors of a 6-epoch cosine: 0.5, 0.25, 0.067.
    expected = [0.01 * 0.5 * (1 + np.cos(np.pi * e / 6)) for e in (3, 4, 5)]
    assert seen[-3:] == pytest.approx(expected)
    moved = max(float((p.detach() - b).abs().max())
                for p, b in zip(net.net_.module_.parameters(), before))
    assert moved > 1e-4


# ============================================================================ partial_fit
def test_partial_fit_trains_one_epoch_per_call():
    X2, y2 = line_and_sign(400)
    net = MultiTaskNet(hidden_dims=(32,), lr=0.01, random_state=0)
    for start in range(0, 400, 100):
        net.partial_fit(X2[start:start + 100], y2.iloc[start:start + 100])
    assert len(net.history_) == 4
    assert net.retrieval_ is None
    losses = net.history_[:, "train_loss"]
    assert losses[-1] < losses[0]
    for _ in range(6):
        net.partial_fit(X2, y2)
    assert net.task_scores(X2, y2)["b"] > 0.8


def test_partial_fit_errors_are_clear_and_atomic():
    X2, y2 = line_and_sign()
    with pytest.raises(ValueError, match="partial_fit trains without retrieval"):
        MultiTaskNet(retrieval=5).partial_fit(X2, y2)
    net = MultiTaskNetClassifier(random_state=0).partial_fit(X, Y)
    before = net.predict_proba(X)
    with pytest.raises(ValueError, match="not among the classes"):
        net.partial_fit(X, Y + 1)
    np.testing.assert_array_equal(net.predict_proba(X), before)
    assert len(net.history_) == 1


def test_no_warning_when_nothing_goes_wrong():
    X2, y2 = line_and_sign()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MultiTaskNet(max_epochs=3, random_state=0).fit(X2, y2).predict(X2)


def test_a_pickled_interrupted_fit_resumes_like_the_uninterrupted_one():
    """A checkpoint of the interrupted estimator (pickle here) resumes to the same end."""
    import pickle

    X2, y2 = line_and_sign(300)
    full = MultiTaskNet(**RESUME).fit(X2, y2)
    net = MultiTaskNet(callbacks=[Interrupt(at_epoch=4, key="pickled")], **RESUME)
    with pytest.warns(UserWarning, match="after 3 complete epoch"):
        net.fit(X2, y2)
    resumed = pickle.loads(pickle.dumps(net)).set_params(warm_start=True).fit(X2, y2)
    _assert_same_weights(resumed, full)
