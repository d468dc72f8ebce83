"""Tests for sk_mtl.data: target splitting, missing labels, batching, validation split."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from sk_mtl.data import (
    BatchIterator,
    TargetColumns,
    TensorData,
    missing_mask,
    split_targets,
    validation_split,
)


# --------------------------------------------------------------------------- split_targets
def test_split_targets_dataframe_uses_column_names():
    y = pd.DataFrame({"quality": [3, 5], "color": ["red", "white"]})
    targets = split_targets(y)
    assert isinstance(targets, TargetColumns)
    assert targets.names == ["quality", "color"]
    assert not targets.one_dimensional
    assert len(targets) == 2
    np.testing.assert_array_equal(targets.columns[0], [3, 5])
    np.testing.assert_array_equal(targets.columns[1], ["red", "white"])


def test_split_targets_dataframe_non_string_columns_become_strings():
    y = pd.DataFrame(np.zeros((3, 2)), columns=[0, 1])
    assert split_targets(y).names == ["0", "1"]


def test_split_targets_one_column_dataframe_is_two_dimensional():
    targets = split_targets(pd.DataFrame({"a": [0, 1]}))
    assert targets.names == ["a"]
    assert not targets.one_dimensional


def test_split_targets_duplicate_columns():
    y = pd.DataFrame([[0, 1], [1, 0]], columns=["a", "a"])
    with pytest.raises(ValueError, match="duplicate"):
        split_targets(y)


def test_split_targets_named_series():
    targets = split_targets(pd.Series([1.0, 2.0], name="price"))
    assert targets.names == ["price"]
    assert targets.one_dimensional


def test_split_targets_unnamed_series():
    assert split_targets(pd.Series([1.0, 2.0])).names == ["y"]


@pytest.mark.parametrize("y", [[0, 1, 0], np.array([0.5, 1.5, 2.5]), ("a", "b", "a")])
def test_split_targets_one_dimensional_is_y(y):
    targets = split_targets(y)
    assert targets.names == ["y"]
    assert targets.one_dimensional
    assert len(targets.columns) == 1
    np.testing.assert_array_equal(targets.columns[0], np.asarray(y))


def test_split_targets_two_dimensional_array():
    y = np.array([[0, 1.5], [1, 2.5], [0, 3.5]])
    targets = split_targets(y)
    assert targets.names == ["y0", "y1"]
    assert not targets.one_dimensional
    np.testing.assert_array_equal(targets.columns[0], [0, 1, 0])
    np.testing.assert_array_equal(targets.columns[1], [1.5, 2.5, 3.5])
    assert split_targets(y.tolist()).names == ["y0", "y1"]


def test_split_targets_ragged_list_is_object_column():
    y = [["a", "b"], ["c"], []]
    targets = split_targets(y)
    assert targets.names == ["y"]
    assert targets.one_dimensional
    column = targets.columns[0]
    assert column.dtype == object
    assert column.shape == (3,)
    assert column[0] == ["a", "b"]
    assert column[2] == []


def test_split_targets_dataframe_of_lists():
    y = pd.DataFrame({"tags": [["a"], ["a", "b"]], "n": [1.0, 2.0]})
    targets = split_targets(y)
    assert targets.columns[0].dtype == object
    assert targets.columns[0][1] == ["a", "b"]


def test_split_targets_bad_inputs():
    with pytest.raises(ValueError, match="y is required"):
        split_targets(None)
    with pytest.raises(TypeError, match="sparse y"):
        split_targets(sp.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        split_targets(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="no column"):
        split_targets(np.zeros((3, 0)))


# --------------------------------------------------------------------------- missing_mask
def test_missing_mask_float_nan():
    np.testing.assert_array_equal(
        missing_mask(np.array([1.0, np.nan, 0.0, np.nan])), [False, True, False, True]
    )


def test_missing_mask_object_none_nan_pd_na():
    column = np.array(["a", None, np.nan, pd.NA, "b", float("nan")], dtype=object)
    np.testing.assert_array_equal(missing_mask(column), [False, True, True, True, False, True])


def test_missing_mask_no_missing_for_ints_bools_strings():
    for column in (np.array([1, 2]), np.array([True, False]), np.array(["a", "b"])):
        assert not missing_mask(column).any()
        assert missing_mask(column).dtype == bool


def test_missing_mask_of_list_column():
    column = np.empty(3, dtype=object)
    column[0], column[1], column[2] = ["a"], None, []
    np.testing.assert_array_equal(missing_mask(column), [False, True, False])


@pytest.mark.parametrize(
    ("series", "missing"),
    [
        (pd.Series([1, None, 3], dtype="Int64"), [False, True, False]),
        (pd.Series([True, None, False], dtype="boolean"), [False, True, False]),
        (pd.Series(["a", None, "b"], dtype="string"), [False, True, False]),
        (pd.Series(["a", None, "b"], dtype="category"), [False, True, False]),
        (pd.Series([1.5, None, 2.5], dtype="Float64"), [False, True, False]),
        (pd.Series([1.5, np.nan, 2.5]), [False, True, False]),
    ],
)
def test_missing_mask_pandas_dtypes_through_split_targets(series, missing):
    targets = split_targets(pd.DataFrame({"t": series}))
    np.testing.assert_array_equal(missing_mask(targets.columns[0]), missing)


def test_int64_extension_column_keeps_values():
    targets = split_targets(pd.DataFrame({"t": pd.Series([1, None, 3], dtype="Int64")}))
    column = targets.columns[0]
    labelled = ~missing_mask(column)
    assert column[labelled].tolist() == [1, 3]


# --------------------------------------------------------------------------- TensorData
def _tensor_data(n=10, sparse=False, with_mask=True):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    X_data = sp.csr_matrix(X) if sparse else torch.from_numpy(X)
    ids = torch.arange(n, dtype=torch.float32)
    mask = torch.arange(n) % 3 != 0 if with_mask else None
    return TensorData(X_data, {"a": ids, "b": ids.long() * 10}, {"a": mask, "b": None})


def _row_ids(Xb):
    """Row index of each row of a batch of ``_tensor_data`` (X[i] = [2i, 2i+1])."""
    return (Xb[:, 0] / 2).long()


def test_tensor_data_take():
    data = _tensor_data()
    part = data.take(np.array([7, 2, 5]))
    assert len(part) == 3
    torch.testing.assert_close(part.targets["a"], torch.tensor([7.0, 2.0, 5.0]))
    torch.testing.assert_close(part.masks["a"], torch.tensor([True, True, True]))
    assert part.masks["b"] is None
    torch.testing.assert_close(_row_ids(part.X), torch.tensor([7, 2, 5]))


def test_tensor_data_take_sparse():
    part = _tensor_data(sparse=True).take(np.array([4, 1]))
    assert sp.issparse(part.X)
    np.testing.assert_array_equal(part.X.toarray()[:, 0], [8.0, 2.0])


# --------------------------------------------------------------------------- BatchIterator
@pytest.mark.parametrize("sparse", [False, True])
def test_shuffled_batches_cover_every_row_once_per_epoch(sparse):
    n, bs = 23, 5
    data = _tensor_data(n, sparse=sparse)
    it = BatchIterator(data, bs, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert len(it) == 5
    orders = []
    for _ in range(2):  # two epochs
        batches = list(it)
        assert [len(Xb) for Xb, _ in batches] == [5, 5, 5, 5, 3]
        ids = torch.cat([_row_ids(Xb) for Xb, _ in batches])
        assert sorted(ids.tolist()) == list(range(n))
        for Xb, ys in batches:
            assert isinstance(Xb, torch.Tensor)
            assert Xb.layout == torch.strided
            rows = _row_ids(Xb)
            # Targets and masks travel with their rows.
            torch.testing.assert_close(ys["a"][0], rows.float())
            torch.testing.assert_close(ys["a"][1], rows % 3 != 0)
            torch.testing.assert_close(ys["b"][0], rows * 10)
            assert ys["b"][1] is None
        orders.append(ids.tolist())
    assert orders[0] != list(range(n))  # shuffled
    assert orders[0] != orders[1]  # a new permutation each epoch


def test_same_generator_seed_gives_same_order():
    data = _tensor_data(30)

    def order(seed):
        it = BatchIterator(data, 7, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return [_row_ids(Xb).tolist() for Xb, _ in it]

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_unshuffled_batches_are_slices_in_order():
    data = _tensor_data(10)
    batches = list(BatchIterator(data, 4))
    assert [_row_ids(Xb).tolist() for Xb, _ in batches] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    torch.testing.assert_close(batches[2][1]["a"][0], torch.tensor([8.0, 9.0]))


def test_batch_size_minus_one_is_one_batch():
    data = _tensor_data(10)
    it = BatchIterator(data, -1)
    assert len(it) == 1
    ((Xb, ys),) = list(it)
    assert Xb.shape == (10, 2)
    assert ys["a"][0].shape == (10,)
    shuffled = list(BatchIterator(data, -1, shuffle=True, generator=torch.Generator()))
    assert len(shuffled) == 1
    assert sorted(_row_ids(shuffled[0][0]).tolist()) == list(range(10))


def test_sparse_input_densified_per_batch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 4)).astype(np.float32)
    X[X < 0.5] = 0.0
    data = TensorData(sp.csr_matrix(X))
    batches = list(BatchIterator(data, 5))
    assert [b[0].shape for b in batches] == [(5, 4), (5, 4), (2, 4)]
    dense = torch.cat([Xb for Xb, _ in batches])
    assert dense.dtype == torch.float32
    torch.testing.assert_close(dense, torch.from_numpy(X))


def test_batches_without_targets():
    ((Xb, ys),) = list(BatchIterator(TensorData(torch.zeros(3, 2)), 10))
    assert Xb.shape == (3, 2)
    assert ys == {}


# --------------------------------------------------------------------------- validation_split
def test_validation_split_partitions_rows():
    train, valid = validation_split(50, 0.2, None, random_state=0)
    assert len(valid) == 10
    assert len(train) == 40
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(50))
    assert np.all(np.diff(train) > 0)
    assert np.all(np.diff(valid) > 0)
    again = validation_split(50, 0.2, None, random_state=0)
    np.testing.assert_array_equal(again[1], valid)
    other = validation_split(50, 0.2, None, random_state=1)
    assert not np.array_equal(other[1], valid)


def test_validation_split_stratified_keeps_class_ratios():
    codes = np.array([0] * 140 + [1] * 40 + [-1] * 20)  # -1: rows missing the label
    np.random.RandomState(0).shuffle(codes)
    train, valid = validation_split(200, 0.25, codes, random_state=0, task_name="color")
    assert len(valid) == 50
    counts = {c: int((codes[valid] == c).sum()) for c in (0, 1, -1)}
    assert counts == {0: 35, 1: 10, -1: 5}
    train_counts = {c: int((codes[train] == c).sum()) for c in (0, 1, -1)}
    assert train_counts == {0: 105, 1: 30, -1: 15}


def test_validation_split_stratified_error_names_task():
    codes = np.array([0] * 19 + [1])  # one member in class 1
    with pytest.raises(ValueError, match=r"stratified on task 'color'"):
        validation_split(20, 0.2, codes, random_state=0, task_name="color")


def test_validation_split_impossible_fraction():
    with pytest.raises(ValueError, match="Cannot make a validation split"):
        validation_split(1, 0.5, None, random_state=0)


def test_column_kinds_and_the_plan_from_a_raw_dataframe():
    from sk_mtl.data import infer_column_kind, plan_modalities

    rng = np.random.RandomState(0)
    n = 40
    df = pd.DataFrame({
        "age": rng.randint(18, 80, n).astype(float),
        "flag": rng.rand(n) > 0.5,
        "when": pd.date_range("2024-01-01", periods=n, freq="D"),
        "count_obj": pd.Series(list(range(n)), dtype=object),
        "dept": rng.choice(["Tops", "Dresses", "Jackets"], n),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n)),
        "review": [" ".join(rng.choice(["soft", "runs", "small", "lovely", "fabric"], 4))
                   for _ in range(n)],
        "title": [f"title {i}" for i in range(n)],  # distinct values: free text
    })
    df.loc[3, "age"] = np.nan
    kinds = {c: infer_column_kind(df[c]) for c in df.columns}
    assert kinds == {"age": "tabular", "flag": "tabular", "when": "tabular",
                     "count_obj": "tabular", "dept": "categorical", "size": "categorical",
                     "review": "text", "title": "text"}
    assert plan_modalities(df) == {
        "text": ["review", "title"], "categorical": ["dept", "size"],
        "numeric": ["age", "flag", "when", "count_obj"],
    }


def test_tabular_modality_imputes_with_missing_indicators_and_expands_datetimes():
    from sk_mtl.data import TabularModality

    frame = pd.DataFrame({
        "a": [1.0, np.nan, 3.0, np.nan],
        "b": [1.0, 2.0, 3.0, np.nan],
        "when": pd.to_datetime(["1970-01-02 06:00", "1970-01-03 00:00", "1970-02-01 00:00", None]),
    })
    tab = TabularModality("t").fit(frame)
    # a: NaN in a row with other values -> indicator; b: NaN only in the all-missing row.
    assert tab.n_columns_ == 2 + 4 and list(tab.indicators_) == [0]
    assert tab.n_features_ == 7
    values, present = tab.transform(frame)
    assert present.tolist() == [True, True, True, False]
    assert values.shape == (4, 7) and torch.isfinite(values).all()
    assert values[1, 0] == 0.0 and values[:, -1].tolist() == [0.0, 1.0, 0.0, 0.0]
    # days since 1970 standardized: the mean of rows 0-2 is 11.08 days
    days = (np.array([1.25, 2.0, 31.0]) - np.mean([1.25, 2.0, 31.0])) / np.std([1.25, 2, 31])
    np.testing.assert_allclose(values[:3, 2].numpy(), days, rtol=1e-5)
    # A column without NaN in training is imputed at predict, without an indicator.
    new = pd.DataFrame({"a": [2.0], "b": [np.nan], "when": pd.to_datetime(["1970-01-05"])})
    values, present = tab.transform(new)
    assert present is None and values[0, 1] == 0.0 and values[0, -1] == 0.0


def test_fitted_modalities_print_their_name_settings_and_width():
    from sk_mtl.data import CategoricalModality, TabularModality, TextModality

    text = TextModality("review", max_len=100)
    assert repr(text) == "TextModality('review', max_len=100)"
    text.fit(np.array(["a good dress", "a bad fit", "good"] * 10, dtype=object))
    assert repr(text) == f"TextModality('review', max_len=100, n_features_={text.n_features_})"
    tab = TabularModality("tab").fit(np.zeros((4, 3)))
    assert repr(tab) == "TabularModality('tab', n_features_=3)"
    cat = CategoricalModality("cat").fit(np.array([["x"], ["y"]], dtype=object))
    assert repr(cat) == "CategoricalModality('cat', n_features_=1)"
