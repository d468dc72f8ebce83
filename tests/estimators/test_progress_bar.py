"""progress_bar: a tqdm bar over epochs with per-task losses; "auto" stays out of searches."""

import pickle

import numpy as np
import pytest
from _helpers import SMALL, STEADY, colour_and_price
from sklearn.ensemble import BaggingClassifier
from sklearn.model_selection import GridSearchCV, cross_val_predict, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sk_mtl import MultiTaskNet, MultiTaskNetClassifier
from sk_mtl.estimators import _training
from sk_mtl.model_selection import TaskWeightSearchCV

FAST = {**SMALL, **STEADY, "hidden_dims": (8,), "lr": 0.02, "max_epochs": 4, "batch_size": 32}


def test_the_bar_counts_epochs_and_shows_each_tasks_loss(capsys):
    X, y = colour_and_price()
    net = MultiTaskNet(progress_bar=True, **FAST).fit(X, y)
    err = capsys.readouterr().err
    assert "MultiTaskNet" in err and "4/4" in err and "epoch" in err
    last = net.history_[-1]
    # The postfix holds the last epoch's validation loss of each task.
    assert f"color={last['valid_loss_color']:.3g}" in err
    assert f"price={last['valid_loss_price']:.3g}" in err
    assert "best" not in err  # skorch's valid_loss_best flag is not a task
    # The fitted estimator holds no live bar: it pickles, and predicts after loading.
    loaded = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_the_bar_stops_where_early_stopping_stops(capsys):
    X, y = colour_and_price(200)
    params = {**FAST, "max_epochs": 200, "early_stopping": True, "n_iter_no_change": 2,
              "validation_fraction": 0.3, "lr": 0.1}
    net = MultiTaskNet(progress_bar=True, **params).fit(X, y)
    n = len(net.history_)
    assert n < 200
    err = capsys.readouterr().err
    assert f"{n}/200" in err and "MultiTaskNet (stopped early)" in err


@pytest.fixture
def watched(monkeypatch):
    """As if in a terminal or notebook, with no delay before the bar appears."""
    monkeypatch.setattr(_training, "_interactive", lambda: True)
    monkeypatch.setattr(_training, "PROGRESS_DELAY_S", 0.0)


def test_auto_draws_for_a_watched_fit_but_not_in_searches(watched, capsys):
    X, y = colour_and_price()
    MultiTaskNet(**FAST).fit(X, y)
    assert "MultiTaskNet" in capsys.readouterr().err
    make_pipeline(StandardScaler(), MultiTaskNet(**FAST)).fit(X, y)  # a Pipeline fits once
    assert "MultiTaskNet" in capsys.readouterr().err
    GridSearchCV(MultiTaskNet(**FAST), {"lr": [0.01, 0.02]}, cv=2).fit(X, y)  # refit too
    cross_validate(MultiTaskNet(**FAST), X, y, cv=2)
    cross_val_predict(MultiTaskNetClassifier(**FAST), X, y["color"], cv=2)
    BaggingClassifier(MultiTaskNetClassifier(**FAST), n_estimators=2).fit(X, y["color"])
    MultiTaskNet(verbose=1, **FAST).fit(X, y)  # skorch's table reports the epochs
    capsys.readouterr()  # (that table goes to stdout)
    conditioned = MultiTaskNet(weighting="conditioned", **FAST)
    TaskWeightSearchCV(conditioned, {"price": [0.5, 2.0]}, cv=2, refit=False).fit(X, y)
    net = MultiTaskNet(**FAST)
    for _ in range(3):
        net.partial_fit(X, y)
    assert capsys.readouterr().err == ""
    # Decided at each call: partial_fit after a watched fit draws none either, and a fit
    # after partial_fit does.
    net = MultiTaskNet(**FAST).fit(X, y)
    capsys.readouterr()
    net.partial_fit(X, y)
    assert capsys.readouterr().err == ""
    net = MultiTaskNet(warm_start=True, **FAST).partial_fit(X, y)
    net.set_params(max_epochs=8).fit(X, y)
    assert "MultiTaskNet" in capsys.readouterr().err
    # progress_bar=True asks for it inside a search too.
    GridSearchCV(MultiTaskNet(progress_bar=True, **FAST), {"lr": [0.01]}, cv=2,
                 refit=False).fit(X, y)
    assert capsys.readouterr().err.count("MultiTaskNet") >= 2


def test_auto_is_silent_unwatched_and_false_is_silent_always(watched, capsys, monkeypatch):
    X, y = colour_and_price()
    MultiTaskNet(progress_bar=False, **FAST).fit(X, y)
    monkeypatch.setattr(_training, "_interactive", lambda: False)
    MultiTaskNet(**FAST).fit(X, y)
    assert capsys.readouterr().err == ""


def test_a_bad_setting_is_refused_before_training():
    X, y = colour_and_price()
    with pytest.raises(ValueError, match="progress_bar must be True, False or 'auto'"):
        MultiTaskNetClassifier(progress_bar="yes", **FAST).fit(X, y["color"])


class _Boom(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise RuntimeError("boom")


def test_a_fit_that_raises_closes_its_bar(capsys):
    from tqdm import tqdm

    X, y = colour_and_price()
    with pytest.raises(RuntimeError, match="boom") as raised:
        MultiTaskNet(progress_bar=True, callbacks=[("boom", _Boom())], **FAST).fit(X, y)
    # The traceback (kept alive here, as a notebook keeps the last one) holds the net.
    assert raised.traceback
    assert not [bar for bar in tqdm._instances if "MultiTaskNet" in str(bar.desc)]
