"""Tables larger than memory: fit on a ParquetTable or a DaskTable reads them in batches.

Small Parquet files in temporary folders, cut into row groups of 250 rows: what the pass
before training finds (categories of every piece, a uniform sample, labels), which pieces
train and which validate, the model (the same from Parquet and from Dask, near the
in-memory fit's), its file, and the errors before training.
"""

import os

import numpy as np
import pandas as pd
import pytest

from sk_mtl import MultiTaskNet, MultiTaskNetClassifier, load, save
from sk_mtl.data import DaskTable, ParquetTable
from sk_mtl.data import _stream as stream

pytest.importorskip("pyarrow")

#: Small, seeded, one network, a few epochs.
SETTINGS = {"hidden_dims": (16,), "random_state": 0, "max_epochs": 12, "ensemble_size": 1,
            "dropout": 0.0, "lr": 0.01}


def census(n=2000, seed=0) -> pd.DataFrame:
    """Numbers ``a`` (normal) and ``b`` (exponential), categories ``city`` (x, y, z and one
    row of "rare") and ``k`` (integers 0-3); targets ``price`` (regression, 30% missing)
    and ``good`` ("yes"/"no")."""
    rng = np.random.RandomState(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(size=n),
                       "city": rng.choice(["x", "y", "z"], size=n),
                       "k": rng.randint(0, 4, size=n)})
    df.loc[n - 7, "city"] = "rare"  # in the last row group only
    df["price"] = 2 * df["a"] + (df["city"] == "x") + 0.1 * rng.normal(size=n)
    df.loc[rng.rand(n) < 0.3, "price"] = np.nan
    df["good"] = np.where(df["b"] + (df["k"] == 2) > 1, "yes", "no")
    return df


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """census() in two files of four row groups of 250 rows each."""
    df = census()
    path = tmp_path_factory.mktemp("census")
    for i in range(2):
        df.iloc[i * 1000:(i + 1) * 1000].to_parquet(path / f"part-{i}.parquet",
                                                    row_group_size=250, index=False)
    return path


def _table(folder, **kwargs):
    options = {"target": ["price", "good"], "categorical": ["city", "k"],
               "validation": 0.25, "buffer_rows": 600, **kwargs}
    return ParquetTable(folder, **options)


class Counting(ParquetTable):
    """A ParquetTable that counts the rows read from each piece and the largest chunk."""

    def _read(self, piece, columns):
        for chunk in super()._read(piece, columns):
            self.reads.setdefault(piece, 0)
            self.reads[piece] += len(chunk)
            self.largest = max(getattr(self, "largest", 0), len(chunk))
            yield chunk


def test_the_pass_finds_every_category_and_label_and_a_uniform_sample(folder):
    table = _table(folder, sample_rows=300)
    plan = stream.prepare_stream(table, seed=0)
    assert len(plan.train) == 6 and len(plan.valid) == 2  # 25% of 8 row groups
    assert plan.n_train == 1500 and plan.n_valid == 500
    assert len(plan.sample) == 300
    # The categories of all training pieces, not only the sample's: "rare" is one row.
    rare_piece = (str(folder / "part-1.parquet"), 3)
    if rare_piece in plan.train:
        assert "rare" in plan.categories["city"]
    assert list(plan.categories["k"]) == [0, 1, 2, 3]
    assert list(plan.labels["good"]) == ["no", "yes"]
    # Sampled rows come from every training piece, none from a validation piece.
    df = census()
    key = df["a"].to_numpy()
    rows = np.flatnonzero(np.isin(key, plan.sample["a"].to_numpy()))
    pieces = {(rows // 250)[i] for i in range(len(rows))}
    valid = {int(p[0].endswith("1.parquet")) * 4 + p[1] for p in plan.valid}
    assert not pieces & valid and len(pieces) == 6
    # Another seed: another sample and another validation split.
    other = stream.prepare_stream(table, seed=1)
    assert set(other.valid) != set(plan.valid) or not other.sample.equals(plan.sample)


def test_fit_reads_each_training_piece_once_an_epoch_in_chunks(folder, monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_ROWS", 100)
    table = Counting(folder, target=["price", "good"], categorical=["city", "k"],
                     validation=[str(folder / "part-1.parquet")], buffer_rows=300)
    table.reads = {}
    est = MultiTaskNet(**{**SETTINGS, "max_epochs": 3, "early_stopping": False}).fit(table)
    first = [(str(folder / "part-0.parquet"), g) for g in range(4)]
    held = [(str(folder / "part-1.parquet"), g) for g in range(4)]
    # One pass before training, then 3 epochs: each training row group 4 times, each
    # validation row group 4 times (once in the pass, once per epoch's validation).
    assert {p: table.reads[p] for p in first} == {p: 1000 for p in first}
    assert {p: table.reads[p] for p in held} == {p: 1000 for p in held}
    assert table.largest == 100
    history = est.net_.history
    assert len(history) == 3 and "valid_loss" in history[-1]
    assert history[-1, "train_batch_count"] == -(-1000 // est.batch_size_)


def test_streamed_fit_predicts_saves_and_matches_dask(folder, tmp_path):
    df = census()
    X, y = df.drop(columns=["price", "good"]), df[["price", "good"]]
    est = MultiTaskNet(**SETTINGS).fit(_table(folder))
    assert est.task_names_ == ["price", "good"]
    assert list(est.feature_names_in_) == ["a", "b", "city", "k"]
    assert est.n_features_in_ == 4 and est.stream_encoder_.n_features_out_ == 4 + 4 + 4
    scores = est.task_scores(X, y)
    assert scores["price"] > 0.95 and scores["good"] > 0.9
    # The same pieces as Dask partitions: the same pass, batches and model.
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(df, npartitions=8, sort=False)
    table = DaskTable(frame, target=["price", "good"], categorical=["city", "k"],
                      validation=0.25, buffer_rows=600)
    twin = MultiTaskNet(**SETTINGS).fit(table)
    np.testing.assert_array_equal(twin.predict_proba(X)[1], est.predict_proba(X)[1])
    # The model file keeps the encoder.
    save(est, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(X)[1], est.predict_proba(X)[1])
    # An unseen category is all zeros; a missing input column is an error.
    odd = X.head(3).assign(city="elsewhere")
    assert loaded.predict(odd).shape == (3, 2)
    with pytest.raises(ValueError, match=r"lacks the input column\(s\) \['k'\]"):
        est.predict(X.drop(columns="k"))
    # A later in-memory fit forgets the encoder.
    est.set_params(max_epochs=1).fit(X[["a", "b"]], y)
    assert not hasattr(est, "stream_encoder_") and est.n_features_in_ == 2


def test_streamed_fit_is_near_the_in_memory_fit(folder):
    df = census()
    y = df[["price", "good"]]
    X = pd.get_dummies(df.drop(columns=["price", "good"]), columns=["city", "k"]).astype(
        "float32")
    # The same share of rows held out (the stream holds out 2 of 8 row groups), no
    # retrieval features (which the in-memory fit would add, the streamed cannot).
    settings = {**SETTINGS, "max_epochs": 20, "retrieval": None}
    streamed = MultiTaskNet(**settings).fit(_table(folder))
    memory = MultiTaskNet(**settings, validation_fraction=0.25).fit(X, y)
    a = streamed.task_scores(df.drop(columns=["price", "good"]), y)
    b = memory.task_scores(X, y)
    assert abs(a["price"] - b["price"]) < 0.02 and abs(a["good"] - b["good"]) < 0.03


def test_one_target_is_a_one_dimensional_task(folder):
    table = _table(folder, target="good", features=["a", "b", "city", "k"])
    est = MultiTaskNetClassifier(**SETTINGS).fit(table)
    X = census().drop(columns=["price", "good"])
    assert est.predict(X.head(4)).shape == (4,)
    assert list(est.classes_) == ["no", "yes"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"target": "nope"}, r"column\(s\) \['nope'\] are not in the table"),
    ({"categorical": ["k"]}, r"Column\(s\) \['city'\] are not numeric"),
    ({"categorical": ["city", "price"]}, r"both targets and features"),
    ({"validation": 1.5}, "validation must be a fraction"),
    ({"validation": ["elsewhere.parquet"]}, "that are not in"),
    ({"sample_rows": 0}, "sample_rows must be a positive integer"),
])
def test_bad_tables_are_refused_before_training(folder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiTaskNet(**SETTINGS).fit(_table(folder, **kwargs))


@pytest.mark.parametrize(("params", "match"), [
    ({"retrieval": 3}, "retrieval=3 looks up neighbours"),
    ({"class_weight": "balanced"}, "class_weight='balanced' is not supported"),
    ({"stratify": "good"}, "stratify splits rows"),
    ({"numeric_embedding": "piecewise"}, "takes its bins from every row"),
])
def test_settings_that_need_every_row_are_refused(folder, params, match):
    with pytest.raises(ValueError, match=match):
        MultiTaskNet(**{**SETTINGS, **params}).fit(_table(folder))


def test_nan_in_a_numeric_column_names_it_before_training(tmp_path):
    df = census(600)
    df.loc[590, "b"] = np.nan
    df.to_parquet(tmp_path / "t.parquet", row_group_size=200, index=False)
    est = MultiTaskNet(**SETTINGS)
    with pytest.raises(ValueError, match=r"\['b'\] of .*piece .* hold NaN"):
        est.fit(_table(tmp_path))
    assert not hasattr(est, "net_")


def test_other_inputs_are_refused(folder):
    from sk_mtl import FusionNetClassifier

    table = _table(folder)
    with pytest.raises(ValueError, match="fit it with y=None"):
        MultiTaskNet().fit(table, census()["good"])
    with pytest.raises(TypeError, match="partial_fit takes arrays"):
        MultiTaskNet().partial_fit(table, None)
    with pytest.raises(TypeError, match="FusionNetClassifier does not fit on a streamed"):
        FusionNetClassifier().fit(table)
    with pytest.raises(FileNotFoundError, match="no file or folder"):
        MultiTaskNet().fit(ParquetTable(os.path.join(folder, "none"), target="good"))
