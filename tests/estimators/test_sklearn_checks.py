"""scikit-learn's estimator checks on the three MultiTaskNet estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_mtl import (
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)

# Small, fast, well-conditioned settings: the checks fit dozens of times on tiny data.
_FAST = dict(hidden_dims=(32,), lr=0.02, max_epochs=40, batch_size=64, random_state=0)

ESTIMATORS = [
    MultiTaskNet(**_FAST),
    MultiTaskNetClassifier(**_FAST),
    MultiTaskNetRegressor(**_FAST),
    # FusionNet estimators in their 2-D single-modality form.
    FusionNet(**_FAST),
    FusionNetClassifier(**_FAST),
    FusionNetRegressor(**_FAST),
]

# The networks compute in float32. Predicting a subset runs matrix products of another
# shape, whose float32 sums may round differently in the last bit (seen: 3e-7 relative);
# the check demands 1e-7. Predictions agree to float32 precision (tested in test_multitask).
_FLOAT32_SUBSET = (
    "float32 matmuls of another batch shape round differently in the last bit (~3e-7 "
    "relative); the check's tolerance is 1e-7"
)
# Only the regressor's predict returns the raw float outputs; the classifiers' labels and
# probabilities pass the check on its data.
EXPECTED_FAILURES = {
    "MultiTaskNetRegressor": {"check_methods_subset_invariance": _FLOAT32_SUBSET},
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
