"""One rule for DataFrame columns, for every estimator and every DataFrame form of ``X``: a
model fitted on a DataFrame reads a later one's columns by name, in any order (as
``ColumnTransformer`` does); a fitted column that is missing, or one never seen in fit,
raises a ``ValueError`` naming it, before any training or prediction."""

import numpy as np
import pandas as pd
import pytest

from sk_mtl import (
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)

FAST = {"hidden_dims": (8,), "max_epochs": 2, "random_state": 0, "retrieval": None,
        "early_stopping": False, "batch_size": 32}
FUSION_FAST = {**FAST, "encoder_dim": 8, "fusion_dim": 8}
N = 60
RNG = np.random.RandomState(0)
NUMBERS = pd.DataFrame({
    # Columns of very different scales: reading one in the place of another changes the
    # predictions a lot.
    "n_age": RNG.normal(40, 10, N), "n_income": RNG.normal(0, 1e4, N),
    "n_height": RNG.normal(170, 5, N), "n_score": RNG.normal(0, 1, N),
})
MIXED = NUMBERS.assign(
    review=RNG.choice(["fits well and soft", "runs small, cheap fabric", "love it"], N),
    size=RNG.choice(["S", "M", "L"], N),
    colour=RNG.choice(["red", "blue"], N),
)
ALL = [MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor,
       FusionNet, FusionNetClassifier, FusionNetRegressor]
FUSIONS = [FusionNet, FusionNetClassifier, FusionNetRegressor]


def _target(estimator_cls):
    if estimator_cls.__name__.endswith("Classifier"):
        return (NUMBERS["n_score"] > 0).map({True: "high", False: "low"}).rename("label")
    return (NUMBERS["n_score"] + 0.001 * NUMBERS["n_income"]).rename("amount")


def _outputs(est, X):
    if hasattr(est, "predict_proba") and est.tasks_[est.task_names_[0]].is_classification:
        return est.predict_proba(X)
    return est.predict(X)


def _fit(estimator_cls, X, **params):
    defaults = FUSION_FAST if estimator_cls in FUSIONS else FAST
    return estimator_cls(**{**defaults, **params}).fit(X, _target(estimator_cls))


def _check_rule(est, X, shuffled, missing, unseen):
    """Reordered columns give the same outputs; a missing and an unseen column are named."""
    expected = _outputs(est, X)
    np.testing.assert_array_equal(_outputs(est, shuffled), expected)
    with pytest.raises(ValueError, match=rf"lacks column\(s\) \[{missing!r}\]"):
        est.predict(X.drop(columns=missing) if isinstance(X, pd.DataFrame) else missing)
    with pytest.raises(ValueError, match=rf"\[{unseen!r}\].*not .*fit"):
        est.predict(X.assign(**{unseen: 1.0}) if isinstance(X, pd.DataFrame) else unseen)


@pytest.mark.parametrize("estimator_cls", ALL, ids=lambda c: c.__name__)
def test_a_numeric_dataframe_is_read_by_column_name(estimator_cls):
    est = _fit(estimator_cls, NUMBERS)
    shuffled = NUMBERS[["n_score", "n_height", "n_age", "n_income"]]
    _check_rule(est, NUMBERS, shuffled, "n_income", "extra")
    assert list(est.feature_names_in_) == list(NUMBERS.columns)


@pytest.mark.parametrize("estimator_cls", FUSIONS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("modalities", [None, {"text": "review", "cat": ["size", "colour"],
                                               "tab": "n_*"}], ids=["plan", "mapping"])
def test_a_dataframe_of_modalities_is_read_by_column_name(estimator_cls, modalities):
    # The mapping selects the numeric columns with a pattern: a pattern picks columns in
    # the DataFrame's order, which the model must not read as the fitted order.
    est = _fit(estimator_cls, MIXED, modalities=modalities)
    shuffled = MIXED[list(reversed(MIXED.columns))]
    _check_rule(est, MIXED, shuffled, "n_height", "extra")
    # Trained to do without a modality: all its columns may be left out, not some.
    dropped = _fit(estimator_cls, MIXED, modalities=modalities, modality_dropout=0.3)
    assert len(dropped.predict(shuffled.drop(columns="review"))) == N
    with pytest.raises(ValueError, match=r"lacks some but not all columns .*\['colour'\]"):
        dropped.predict(shuffled.drop(columns="colour"))


@pytest.mark.parametrize("estimator_cls", FUSIONS, ids=lambda c: c.__name__)
def test_each_dataframe_of_a_dict_is_read_by_column_name(estimator_cls):
    X = {"tab": NUMBERS, "cat": MIXED[["size", "colour"]], "text": MIXED[["review"]]}
    est = _fit(estimator_cls, X)
    shuffled = {"tab": NUMBERS[["n_score", "n_income", "n_age", "n_height"]],
                "cat": MIXED[["colour", "size"]], "text": MIXED[["review"]]}
    np.testing.assert_array_equal(_outputs(est, shuffled), _outputs(est, X))
    with pytest.raises(ValueError, match=r"Modality 'tab' lacks column\(s\) \['n_age'\]"):
        est.predict({**X, "tab": NUMBERS.drop(columns="n_age")})
    with pytest.raises(ValueError, match=r"Modality 'cat' has column\(s\) \['extra'\] not seen"):
        est.predict({**X, "cat": X["cat"].assign(extra="x")})


@pytest.mark.parametrize("estimator_cls", [MultiTaskNetRegressor, FusionNetRegressor],
                         ids=lambda c: c.__name__)
def test_a_warm_start_reads_the_columns_by_name_too(estimator_cls):
    est = _fit(estimator_cls, NUMBERS, warm_start=True, max_epochs=1)
    reordered = estimator_cls(**{**est.get_params()})
    reordered.fit(NUMBERS, _target(estimator_cls))
    est.set_params(max_epochs=2).fit(NUMBERS, _target(estimator_cls))
    reordered.set_params(max_epochs=2).fit(NUMBERS[NUMBERS.columns[::-1]],
                                           _target(estimator_cls))
    np.testing.assert_allclose(reordered.predict(NUMBERS), est.predict(NUMBERS), rtol=1e-6)


def test_repeated_column_names_are_refused_by_name():
    est = _fit(MultiTaskNetRegressor, NUMBERS)
    repeated = pd.concat([NUMBERS.drop(columns="n_score"), NUMBERS[["n_age"]]], axis=1)
    with pytest.raises(ValueError, match=r"X repeats column name\(s\) \['n_age'\]"):
        est.predict(repeated)
