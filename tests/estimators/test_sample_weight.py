"""sample_weight: a weight of 2 trains like a duplicated row, 0 like a removed one."""

import _helpers
import numpy as np
import pytest
import sklearn
from _helpers import two_regressions_with_gaps
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import FusionNetClassifier, MultiTaskNetRegressor

# One full batch (_helpers.EXACT) and no input scaling: its quantiles are fitted on the rows
# as given (a duplicated row moves them, a weight does not). The targets have missing labels:
# the weights apply to the labelled rows.
EXACT = {**_helpers.EXACT, "input_scaling": None}


def test_weight_two_is_a_duplicated_row_and_zero_a_removed_one():
    X, y = two_regressions_with_gaps()
    w = np.ones(len(X))
    w[:30] = 2.0
    w[30:50] = 0.0
    weighted = MultiTaskNetRegressor(**EXACT).fit(X, y, sample_weight=w)
    keep = np.r_[np.arange(30), np.arange(50, len(X)), np.arange(30)]  # 0-29 twice, 30-49 out
    copied = MultiTaskNetRegressor(**EXACT).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict(X), copied.predict(X), atol=1e-4)
    scaled = MultiTaskNetRegressor(**EXACT).fit(X, y, sample_weight=3.5 * w)
    np.testing.assert_allclose(scaled.predict(X), weighted.predict(X), atol=1e-4)


@pytest.mark.slow  # fits over several seeds: 3.5 s
def test_with_shuffled_mini_batches_the_gap_is_within_seed_noise():
    X, y = two_regressions_with_gaps(400)
    w = np.where(np.arange(len(X)) < 100, 2.0, 1.0)
    dup = np.r_[np.arange(len(X)), np.arange(100)]
    params = {**EXACT, "batch_size": 32}
    gaps, noise = [], []
    for seed in (0, 1):
        weighted = MultiTaskNetRegressor(**{**params, "random_state": seed}).fit(
            X, y, sample_weight=w)
        copied = MultiTaskNetRegressor(**{**params, "random_state": seed}).fit(X[dup], y[dup])
        other = MultiTaskNetRegressor(**{**params, "random_state": seed + 10}).fit(
            X[dup], y[dup])
        gaps.append(np.abs(weighted.predict(X) - copied.predict(X)).mean())
        noise.append(np.abs(other.predict(X) - copied.predict(X)).mean())
    # Measured: the weighted fit is as far from the duplicated one as another seed is.
    assert np.mean(gaps) < 2 * np.mean(noise)


def test_fusion_net_takes_weights_and_bad_weights_are_refused():
    rng = np.random.RandomState(0)
    words = np.array(["good", "great", "bad", "awful"])
    label = rng.randint(0, 2, size=100)
    text = np.array([" ".join(rng.choice(words[2 * (1 - v):2 * (1 - v) + 2], 3))
                     for v in label], dtype=object)
    X = {"text": text, "tab": rng.normal(size=(100, 2))}
    w = np.where(label == 1, 3.0, 1.0)
    fusion_params = {k: v for k, v in EXACT.items() if k != "input_scaling"}
    net = FusionNetClassifier(**{**fusion_params, "max_epochs": 10}).fit(
        X, label, sample_weight=w
    )
    assert (net.predict(X) == label).mean() > 0.9
    X, y = two_regressions_with_gaps()
    with pytest.raises(ValueError, match="Negative values"):
        MultiTaskNetRegressor(**EXACT).fit(X, y, sample_weight=-np.ones(120))
    with pytest.raises(ValueError, match="at least one non-zero"):
        MultiTaskNetRegressor(**EXACT).fit(X, y, sample_weight=np.zeros(120))
    with pytest.raises(ValueError, match=r"sample_weight.shape"):
        MultiTaskNetRegressor(**EXACT).fit(X, y, sample_weight=np.ones(5))


def test_sample_weight_is_routed_through_pipeline_and_grid_search():
    X, y = two_regressions_with_gaps()
    y = y[:, 0]
    w = np.where(np.arange(len(X)) % 3 == 0, 0.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        net = MultiTaskNetRegressor(**EXACT).set_fit_request(sample_weight=True)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                             net.set_score_request(sample_weight=True))
        search = GridSearchCV(pipe, {"multitasknetregressor__lr": [0.01]},
                              cv=KFold(2)).fit(X, y, sample_weight=w)
        assert np.isfinite(search.best_score_)
        scores = cross_validate(pipe, X, y, cv=KFold(2), params={"sample_weight": w})
        assert np.isfinite(scores["test_score"]).all()
    direct = make_pipeline(StandardScaler(), MultiTaskNetRegressor(**EXACT)).fit(
        X, y, multitasknetregressor__sample_weight=w)
    np.testing.assert_allclose(search.predict(X), direct.predict(X), atol=1e-5)
    unweighted = make_pipeline(StandardScaler(), MultiTaskNetRegressor(**EXACT)).fit(X, y)
    assert np.abs(unweighted.predict(X) - direct.predict(X)).max() > 1e-3


def test_partial_fit_takes_weights_too():
    X, y = two_regressions_with_gaps()
    w = np.ones(len(X))
    w[:30] = 2.0
    w[30:50] = 0.0
    keep = np.r_[np.arange(30), np.arange(50, len(X)), np.arange(30)]
    weighted, copied = MultiTaskNetRegressor(**EXACT), MultiTaskNetRegressor(**EXACT)
    for _ in range(5):
        weighted.partial_fit(X, y, sample_weight=w)
        copied.partial_fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict(X), copied.predict(X), atol=1e-4)
