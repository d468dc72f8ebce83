"""Tests for sk_mtl.tasks: each task kind on small hand-computed cases, inference, registry."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score

from sk_mtl.modules import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MultilabelLoss,
    RegressionLoss,
)
from sk_mtl.tasks import (
    TASK_KINDS,
    BinaryTask,
    MulticlassTask,
    MultilabelTask,
    RegressionTask,
    Task,
    as_label_array,
    infer_kind,
    make_task,
)


def _objects(*rows):
    """A 1-D object array whose entries are ``rows`` (lists stay lists)."""
    out = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        out[i] = row
    return out


# --------------------------------------------------------------------------- BinaryTask
def test_binary_string_labels_fit_encode_decode():
    task = BinaryTask().fit(np.array(["yes", "no", "yes"]), name="answer")
    assert task.kind == "binary"
    assert task.is_classification
    np.testing.assert_array_equal(task.classes_, ["no", "yes"])
    assert task.n_outputs_ == 1

    values = np.array(["yes", "no", None, "no"], dtype=object)
    labelled = np.array([True, True, False, True])
    encoded = task.encode(values, labelled)
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, [1.0, 0.0, 0.0, 0.0])

    decoded = task.decode(np.array([[-0.5], [0.2], [0.0], [7.0]]))
    # A logit of exactly 0 (p = 0.5) goes to the first class.
    np.testing.assert_array_equal(decoded, ["no", "yes", "no", "yes"])
    assert isinstance(task.make_loss(), BinaryCrossEntropyLoss)


def test_binary_proba_is_sigmoid_in_classes_order():
    task = BinaryTask().fit(np.array([0, 1]), name="t")
    proba = task.proba(np.array([[0.0], [math.log(3.0)], [-math.log(3.0)], [50.0]]))
    np.testing.assert_allclose(
        proba, [[0.5, 0.5], [0.25, 0.75], [0.75, 0.25], [0.0, 1.0]], atol=1e-12
    )
    assert proba.shape == (4, 2)


def test_binary_bool_labels_round_trip():
    task = BinaryTask().fit(np.array([True, False, True]), name="flag")
    np.testing.assert_array_equal(task.classes_, [False, True])
    np.testing.assert_array_equal(
        task.encode(np.array([True, False]), np.array([True, True])), [1.0, 0.0]
    )
    decoded = task.decode(np.array([[1.0], [-1.0]]))
    assert decoded.dtype == bool
    np.testing.assert_array_equal(decoded, [True, False])


def test_binary_int_labels_keep_their_values():
    task = BinaryTask().fit(np.array([1, -1, -1, 1]), name="sign")
    np.testing.assert_array_equal(task.classes_, [-1, 1])
    np.testing.assert_array_equal(
        task.encode(np.array([-1, 1, 1]), np.ones(3, dtype=bool)), [0.0, 1.0, 1.0]
    )
    np.testing.assert_array_equal(task.decode(np.array([[2.0], [-2.0]])), [1, -1])


def test_binary_score_is_accuracy_with_weights():
    task = BinaryTask().fit(np.array(["a", "b"]), name="t")
    y_true = np.array(["a", "b", "b", "a"])
    y_pred = np.array(["a", "b", "a", "a"])
    assert task.score(y_true, y_pred) == pytest.approx(0.75)
    # Weighted: the wrong row weighs 3 of 6.
    assert task.score(y_true, y_pred, sample_weight=[1, 1, 3, 1]) == pytest.approx(0.5)


def test_binary_with_three_classes_raises_naming_task():
    with pytest.raises(ValueError, match=r"'grade'.*3 classes.*multiclass"):
        BinaryTask().fit(np.array([1, 2, 3]), name="grade")


@pytest.mark.parametrize("cls", [BinaryTask, MulticlassTask])
def test_one_class_raises_naming_task(cls):
    with pytest.raises(ValueError, match=r"'solo'.*only one class"):
        cls().fit(np.array(["x", "x", "x"]), name="solo")


# --------------------------------------------------------------------------- MulticlassTask
def test_multiclass_int_labels_fit_encode_decode():
    task = MulticlassTask().fit(np.array([3, 5, 9, 5]), name="quality")
    assert task.kind == "multiclass"
    np.testing.assert_array_equal(task.classes_, [3, 5, 9])
    assert task.n_outputs_ == 3
    encoded = task.encode(np.array([9, 3, 5, 0]), np.array([True, True, True, False]))
    assert encoded.dtype == np.int64
    np.testing.assert_array_equal(encoded, [2, 0, 1, 0])
    raw = np.array([[0.1, 2.0, -1.0], [5.0, 0.0, 0.0], [-1.0, -2.0, -0.5]])
    np.testing.assert_array_equal(task.decode(raw), [5, 3, 9])
    assert isinstance(task.make_loss(), CrossEntropyLoss)


def test_multiclass_string_labels():
    task = MulticlassTask().fit(np.array(["red", "green", "blue", "red"], dtype=object), "c")
    np.testing.assert_array_equal(task.classes_, ["blue", "green", "red"])
    np.testing.assert_array_equal(
        task.encode(np.array(["red", "blue"], dtype=object), np.ones(2, bool)), [2, 0]
    )
    np.testing.assert_array_equal(task.decode(np.array([[0.0, 1.0, 0.5]])), ["green"])


def test_multiclass_proba_is_softmax():
    task = MulticlassTask().fit(np.array([0, 1, 2]), name="t")
    proba = task.proba(np.array([[0.0, math.log(2.0), 0.0], [1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(proba, [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0]], atol=1e-12)
    assert np.isfinite(proba).all()


def test_multiclass_label_smoothing_reaches_loss_and_is_checked():
    loss = MulticlassTask(label_smoothing=0.2).make_loss()
    assert loss.label_smoothing == 0.2
    with pytest.raises(ValueError, match="label_smoothing"):
        MulticlassTask(label_smoothing=1.0).make_loss()


# --------------------------------------------------------------------------- MultilabelTask
def test_multilabel_fit_encode_decode_proba_score():
    values = _objects(["red", "dry"], ["sweet"], [], ("dry",))
    task = MultilabelTask().fit(values, name="tags")
    assert task.kind == "multilabel"
    np.testing.assert_array_equal(task.classes_, ["dry", "red", "sweet"])
    assert task.n_outputs_ == 3

    column = _objects(["red", "dry"], None, [], ["sweet", "dry"])
    labelled = np.array([True, False, True, True])
    encoded = task.encode(column, labelled)
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded, [[1, 1, 0], [0, 0, 0], [0, 0, 0], [1, 0, 1]])

    decoded = task.decode(np.array([[1.0, -1.0, 2.0], [-1.0, -1.0, -1.0]]))
    assert decoded[0] == ("dry", "sweet")
    assert decoded[1] == ()

    proba = task.proba(np.array([[0.0, math.log(3.0), -math.log(3.0)]]))
    np.testing.assert_allclose(proba, [[0.5, 0.75, 0.25]])

    # Subset accuracy, insensitive to the order of labels within a row.
    y_true = _objects(["red", "dry"], ["sweet"], [])
    y_pred = _objects(("dry", "red"), ("sweet", "dry"), ())
    assert task.score(y_true, y_pred) == pytest.approx(2 / 3)
    assert isinstance(task.make_loss(), MultilabelLoss)


def test_multilabel_without_any_label_raises_naming_task():
    with pytest.raises(ValueError, match=r"'tags'.*no label"):
        MultilabelTask().fit(_objects([], []), name="tags")


def test_multilabel_mixed_label_types_raise_naming_task():
    with pytest.raises(ValueError, match=r"'tags'.*mixes label types"):
        MultilabelTask().fit(_objects(["a", 1], [2]), name="tags")


def test_multilabel_rows_must_be_collections_not_strings():
    """A string is one label, not a collection of characters: declaring "multilabel" on a
    column of plain strings is an error naming the task."""
    with pytest.raises(ValueError, match="'tags'"):
        MultilabelTask().fit(np.array(["ab", "b"], dtype=object), name="tags")


# --------------------------------------------------------------------------- RegressionTask
def test_regression_standardizes_and_maps_back():
    task = RegressionTask().fit(np.array([1.0, 3.0]), name="alcohol")
    assert task.kind == "regression"
    assert not task.is_classification
    assert task.mean_ == pytest.approx(2.0)
    assert task.scale_ == pytest.approx(1.0)
    assert task.n_outputs_ == 1
    encoded = task.encode(np.array([1.0, 3.0, np.nan, 5.0]), np.array([1, 1, 0, 1], bool))
    assert encoded.dtype == np.float32
    np.testing.assert_allclose(encoded, [-1.0, 1.0, 0.0, 3.0])
    np.testing.assert_allclose(task.decode(np.array([[0.5], [-2.0]])), [2.5, 0.0])
    loss = task.make_loss()
    assert isinstance(loss, RegressionLoss)
    assert loss.loss == "squared_error"


def test_regression_scale_from_std():
    values = np.array([2.0, 4.0, 6.0, 8.0])  # mean 5, population std sqrt(5)
    task = RegressionTask().fit(values, name="t")
    assert task.mean_ == pytest.approx(5.0)
    assert task.scale_ == pytest.approx(math.sqrt(5.0))
    encoded = task.encode(values, np.ones(4, bool))
    np.testing.assert_allclose(encoded, (values - 5.0) / math.sqrt(5.0), rtol=1e-6)
    np.testing.assert_allclose(task.decode(encoded[:, None]), values, rtol=1e-6)


def test_regression_without_standardize_is_identity():
    task = RegressionTask(standardize=False).fit(np.array([10.0, 30.0]), name="t")
    assert (task.mean_, task.scale_) == (0.0, 1.0)
    np.testing.assert_allclose(task.encode(np.array([10.0]), np.array([True])), [10.0])
    np.testing.assert_allclose(task.decode(np.array([[7.5]])), [7.5])


def test_regression_constant_target_has_unit_scale():
    task = RegressionTask().fit(np.array([4.0, 4.0, 4.0]), name="t")
    assert task.scale_ == 1.0
    np.testing.assert_allclose(task.decode(np.array([[0.0]])), [4.0])


def test_regression_int_labels():
    task = RegressionTask().fit(np.array([1, 2, 3]), name="count")
    assert task.mean_ == pytest.approx(2.0)
    np.testing.assert_allclose(
        task.encode(np.array([1, 2, 3]), np.ones(3, bool)),
        np.array([-1.0, 0.0, 1.0]) / math.sqrt(2 / 3),
        rtol=1e-6,
    )


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_regression_losses(loss):
    task = RegressionTask(loss=loss).fit(np.array([0.0, 1.0]), name="t")
    assert task.make_loss().loss == loss


def test_regression_unknown_loss_raises_naming_task():
    with pytest.raises(ValueError, match=r"'price'.*loss='l3'.*absolute_error"):
        RegressionTask(loss="l3").fit(np.array([0.0, 1.0]), name="price")


def test_regression_score_is_r2():
    task = RegressionTask().fit(np.array([0.0, 1.0]), name="t")
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    y_pred = np.array([1.5, 2.0, 2.5, 4.5])
    assert task.score(y_true, y_pred) == pytest.approx(r2_score(y_true, y_pred))
    # Hand check: SSE = 0.25 + 0 + 0.25 + 0.25, SST = 5.
    assert task.score(y_true, y_pred) == pytest.approx(1 - 0.75 / 5.0)
    w = np.array([1.0, 2.0, 1.0, 2.0])
    assert task.score(y_true, y_pred, sample_weight=w) == pytest.approx(
        r2_score(y_true, y_pred, sample_weight=w)
    )


def test_regression_has_no_proba():
    task = RegressionTask().fit(np.array([0.0, 1.0]), name="t")
    with pytest.raises(TypeError, match="regression"):
        task.proba(np.zeros((2, 1)))


def test_task_loss_on_encoded_targets_matches_torch():
    """encode + make_loss gives the torch loss on the task's encoded targets."""
    task = MulticlassTask().fit(np.array(["a", "b", "c"]), name="t")
    encoded = torch.from_numpy(task.encode(np.array(["c", "a"]), np.ones(2, bool)))
    logits = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0]])
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([2, 0]))
    torch.testing.assert_close(task.make_loss()(logits, encoded), expected)


# --------------------------------------------------------------------------- inference
@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (np.array([0.5, 1.25, -3.0]), "regression"),
        (np.array([0.0, 1.0, 0.0]), "binary"),
        (np.array([1.0, 2.0, 3.0]), "multiclass"),
        (np.array([0, 1, 1]), "binary"),
        (np.array([3, 5, 9, 5]), "multiclass"),
        (np.array([True, False]), "binary"),
        (np.array(["a", "b", "a"], dtype=object), "binary"),
        (np.array(["a", "b", "c"]), "multiclass"),
        (_objects(["a", "b"], [], ["c"]), "multilabel"),
        (_objects(("a",), ("b",)), "multilabel"),
    ],
)
def test_infer_kind(values, kind):
    assert infer_kind(values, "t") == kind


def test_infer_kind_mixed_str_int_raises_value_error_naming_task():
    values = np.array(["a", 1, 2], dtype=object)
    with pytest.raises(ValueError, match="'mixed'"):
        infer_kind(values, "mixed")


def test_as_label_array_mixed_types_raises_naming_task():
    with pytest.raises(ValueError, match=r"'mixed'.*mixes label types \['int', 'str'\]"):
        as_label_array(np.array(["a", 1], dtype=object), "mixed")


def test_as_label_array_uniform_dtypes():
    numbers = as_label_array(np.array([1, 2.5], dtype=object), "t")
    assert numbers.dtype.kind == "f"
    ints = as_label_array(np.array([1, 2], dtype=object), "t")
    assert ints.dtype.kind == "i"
    text = as_label_array(np.array(["a", "b"], dtype=object), "t")
    assert text.dtype == object
    plain = np.array([1.0, 2.0])
    assert as_label_array(plain, "t") is plain
    lists = _objects(["a"], ["b", "c"])
    assert as_label_array(lists, "t") is lists


# --------------------------------------------------------------------------- registry
def test_task_kinds_table():
    assert TASK_KINDS == {
        "binary": BinaryTask,
        "multiclass": MulticlassTask,
        "multilabel": MultilabelTask,
        "regression": RegressionTask,
    }


@pytest.mark.parametrize("kind", sorted(TASK_KINDS))
def test_make_task_from_kind_name(kind):
    task = make_task(kind, "t")
    assert isinstance(task, TASK_KINDS[kind])
    assert task.kind == kind
    assert isinstance(task, Task)


def test_make_task_unknown_kind_lists_kinds():
    with pytest.raises(
        ValueError,
        match=r"'score'.*'ordinal'.*\['binary', 'multiclass', 'multilabel', 'regression'\]",
    ):
        make_task("ordinal", "score")


def test_make_task_bad_spec_type():
    with pytest.raises(TypeError, match=r"tasks\['t'\]"):
        make_task(3, "t")


def test_make_task_clones_task_object():
    given = RegressionTask(loss="huber", standardize=False).fit(np.array([0.0, 2.0]), "t")
    task = make_task(given, "t")
    assert task is not given
    assert isinstance(task, RegressionTask)
    assert task.get_params() == {"loss": "huber", "standardize": False}
    assert not hasattr(task, "n_outputs_")  # a fresh, unfitted copy
    assert given.n_outputs_ == 1  # the given object is left alone
