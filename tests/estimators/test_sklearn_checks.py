"""scikit-learn's estimator checks on the six estimators (and MultiTaskNet with a PLE trunk,
FusionNetClassifier conditioned on its fusion weights)."""

from _helpers import SMALL
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
_FAST = {**SMALL, "hidden_dims": (32,), "lr": 0.02, "max_epochs": 40, "batch_size": 64}

ESTIMATORS = [
    MultiTaskNet(**_FAST),
    MultiTaskNetClassifier(**_FAST),
    MultiTaskNetRegressor(**_FAST),
    # The PLE trunk (task-specific and shared experts) behind the same estimator API.
    MultiTaskNet(**_FAST, trunk="ple"),
    # FusionNet estimators in their 2-D single-modality form.
    FusionNet(**_FAST),
    FusionNetClassifier(**_FAST),
    FusionNetRegressor(**_FAST),
    # One network for every fusion-weight vector (each training row draws its own).
    FusionNetClassifier(**_FAST, fusion_conditioning="log_uniform"),
]

# check_methods_subset_invariance runs unexcused: predictions go through fixed blocks of
# PREDICT_BLOCK_SIZE rows, the last one padded, so a row's output does not depend on the rows
# predicted with it (float32 products of other shapes may round differently, by ~3e-7
# relative against the check's 1e-7).
_WEIGHT_EQUIVALENCE = (
    "mini-batch training is stochastic: a repeated row is a separate draw in the shuffled "
    "batches and in the validation split, and the retrieval features see a duplicate as a "
    "zero-distance neighbour; weights equal duplication with one full batch and no "
    "retrieval (tests/estimators/test_sample_weight.py measures both)"
)
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    type(est).__name__: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_EQUIVALENCE,
    }
    for est in ESTIMATORS
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
