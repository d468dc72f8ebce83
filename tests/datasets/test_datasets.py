"""Tests for the sk_mtl.datasets loaders."""

from pathlib import Path

import pandas as pd
import pytest
from sklearn.utils import Bunch

from sk_mtl.datasets import (
    _base,
    get_data_home,
    load_wine_quality,
    load_womens_clothing_reviews,
)
from sk_mtl.exceptions import DataFileNotFoundError

WINE_FEATURES = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
]
REVIEWS_FEATURES = [
    "Title",
    "Review Text",
    "Age",
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
    "Clothing ID",
]

LOADERS = {
    "wine_quality_red_white.csv": load_wine_quality,
    "womens_clothing_ecommerce_reviews.csv.gz": load_womens_clothing_reviews,
}


def _real_data_home(filename):
    """Return the real data folder, or skip when it does not hold ``filename``."""
    data_home = get_data_home()
    if not (data_home / filename).is_file():
        pytest.skip(f"real data file {filename} not found in {data_home}")
    return data_home


def _write_tiny_wine(folder, quality):
    """Write a one-row wine file whose ``quality`` identifies ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    row = {name: [1.0] for name in WINE_FEATURES}
    row.update(quality=[quality], color=["red"])
    pd.DataFrame(row).to_csv(folder / "wine_quality_red_white.csv", index=False)
    return folder


# get_data_home -------------------------------------------------------------


def test_get_data_home_default(monkeypatch):
    monkeypatch.delenv("SK_MTL_DATA", raising=False)
    checkout = Path(_base.__file__).resolve().parents[3] / "shared" / "data"
    assert _base._checkout_data_home() == checkout
    # ../shared/data beside the checkout where there is one (tests/datasets/test_fetch.py
    # covers the other case, ~/sk_mtl_data).
    expected = checkout if checkout.is_dir() else Path.home() / "sk_mtl_data"
    assert get_data_home() == expected


def test_get_data_home_env_var_beats_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"


def test_get_data_home_empty_env_var_is_ignored(monkeypatch):
    monkeypatch.setenv("SK_MTL_DATA", "")
    assert get_data_home() == _base._default_data_home()


def test_get_data_home_argument_beats_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home(str(tmp_path / "arg")) == tmp_path / "arg"


def test_get_data_home_returns_path_and_creates_nothing(tmp_path):
    data_home = get_data_home(tmp_path / "missing")
    assert isinstance(data_home, Path)
    assert not data_home.exists()


def test_get_data_home_expands_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert get_data_home("~/data") == tmp_path / "data"


def test_loader_data_home_precedence(monkeypatch, tmp_path):
    arg_home = _write_tiny_wine(tmp_path / "arg", quality=3)
    env_home = _write_tiny_wine(tmp_path / "env", quality=9)
    default_home = _write_tiny_wine(tmp_path / "default", quality=6)
    monkeypatch.setattr(_base, "_default_data_home", lambda: default_home)

    monkeypatch.delenv("SK_MTL_DATA", raising=False)
    assert load_wine_quality().target["quality"].tolist() == [6]

    monkeypatch.setenv("SK_MTL_DATA", str(env_home))
    assert load_wine_quality().target["quality"].tolist() == [9]

    wine = load_wine_quality(data_home=arg_home)
    assert wine.target["quality"].tolist() == [3]


# Missing files -------------------------------------------------------------


@pytest.mark.parametrize("filename, loader", [
    ("womens_clothing_ecommerce_reviews.csv.gz", load_womens_clothing_reviews),
])
def test_missing_file_error(tmp_path, filename, loader):
    with pytest.raises(DataFileNotFoundError) as excinfo:
        loader(data_home=tmp_path)
    message = str(excinfo.value)
    assert isinstance(excinfo.value, FileNotFoundError)
    assert filename in message
    assert str(tmp_path) in message
    assert "data_home=" in message
    assert "SK_MTL_DATA" in message
    entry = next(f for f in _base._DATA_FILES.values() if f.filename == filename)
    assert entry.licence in message
    assert entry.source in message


def test_missing_file_error_names_env_var_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_womens_clothing_reviews()


# The wine data inside the package ------------------------------------------


def test_wine_loads_from_the_package_without_a_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path / "nowhere"))
    wine = load_wine_quality()
    assert wine.frame.shape == (6497, 13) and wine.feature_names == WINE_FEATURES
    assert wine.target["color"].value_counts().to_dict() == {"white": 4898, "red": 1599}
    real = get_data_home(None)
    monkeypatch.delenv("SK_MTL_DATA")
    if (get_data_home() / "wine_quality_red_white.csv").is_file():
        # The packaged copy is the shared file, value for value.
        pd.testing.assert_frame_equal(wine.frame, load_wine_quality().frame)
    assert real.name == "nowhere"


def test_a_damaged_packaged_copy_is_refused(monkeypatch, tmp_path):
    import dataclasses

    entry = _base._DATA_FILES["wine_quality"]
    monkeypatch.setitem(_base._DATA_FILES, "wine_quality",
                        dataclasses.replace(entry, packaged_sha256="0" * 64))
    with pytest.raises(ValueError, match="inside the sk_mtl package is damaged"):
        load_wine_quality(data_home=tmp_path)


# Real data -----------------------------------------------------------------


def test_load_wine_quality():
    data_home = _real_data_home("wine_quality_red_white.csv")
    wine = load_wine_quality(data_home=data_home)

    assert isinstance(wine, Bunch)
    assert wine.frame.shape == (6497, 13)
    assert wine.data.shape == (6497, 11)
    assert wine.target.shape == (6497, 2)
    assert wine.feature_names == WINE_FEATURES
    assert wine.target_names == ["quality", "color"]
    assert list(wine.data.columns) == WINE_FEATURES
    assert list(wine.target.columns) == ["quality", "color"]
    assert wine.target["quality"].between(3, 9).all()
    assert set(wine.target["color"]) == {"red", "white"}
    assert "CC BY 4.0" in wine.DESCR
    assert "Cortez" in wine.DESCR


def test_load_womens_clothing_reviews():
    filename = "womens_clothing_ecommerce_reviews.csv.gz"
    data_home = _real_data_home(filename)
    reviews = load_womens_clothing_reviews(data_home=data_home)

    assert isinstance(reviews, Bunch)
    assert reviews.frame.shape == (23486, 10)
    assert reviews.data.shape == (23486, 8)
    assert reviews.target.shape == (23486, 2)
    assert reviews.feature_names == REVIEWS_FEATURES
    assert reviews.target_names == ["Rating", "Recommended IND"]
    assert list(reviews.data.columns) == REVIEWS_FEATURES
    assert list(reviews.target.columns) == ["Rating", "Recommended IND"]
    assert set(reviews.target["Rating"]) == {1, 2, 3, 4, 5}
    assert set(reviews.target["Recommended IND"]) == {0, 1}
    # Missing text is kept as NaN, not filled.
    assert reviews.data["Review Text"].isna().sum() == 845
    assert reviews.data["Title"].isna().sum() == 3810
    assert "CC0" in reviews.DESCR
    assert "Kaggle" in reviews.DESCR
    assert "test_size=0.2, random_state=0" in reviews.DESCR


@pytest.mark.parametrize("filename, loader", LOADERS.items())
def test_return_X_y(filename, loader):
    data_home = _real_data_home(filename)
    bunch = loader(data_home=data_home)
    X, y = loader(data_home=data_home, return_X_y=True)
    pd.testing.assert_frame_equal(X, bunch.data)
    pd.testing.assert_frame_equal(y, bunch.target)


@pytest.mark.parametrize("loader", LOADERS.values())
def test_loaders_are_keyword_only(loader):
    with pytest.raises(TypeError):
        loader(None)


# ============================================================================ the suite
def _suite_or_skip():
    from sk_mtl.datasets import suite_names

    try:
        return suite_names()
    except DataFileNotFoundError as exc:
        pytest.skip(f"suite not found: {exc}")


def test_suite_names_lists_the_twenty_tables_smallest_first():
    names = _suite_or_skip()
    assert len(names) == 20
    assert names[0] == "slump" and names[-1] == "gas_turbine_emissions"


def test_load_suite_table_returns_features_targets_and_kinds():
    from sk_mtl.datasets import load_suite_table

    _suite_or_skip()
    penguins = load_suite_table("palmer_penguins")
    assert isinstance(penguins, Bunch)
    assert penguins.tasks == {"species": "multiclass", "sex": "binary",
                              "body_mass_g": "regression"}
    assert list(penguins.target.columns) == list(penguins.tasks)
    assert penguins.categorical_features == ["island"]
    assert penguins.data["island"].dtype == "category"
    assert penguins.target["sex"].isna().sum() == 11  # missing labels stay NaN
    X, y = load_suite_table("enb", return_X_y=True)
    assert X.shape == (768, 8) and y.shape == (768, 2)
    # The group column (a split indicator) is not a feature.
    X, _ = load_suite_table("gas_turbine_emissions", return_X_y=True)
    assert "year" not in X.columns


def test_load_suite_table_errors_name_the_table_and_the_folder(tmp_path):
    from sk_mtl.datasets import load_suite_table

    with pytest.raises(DataFileNotFoundError, match="suite"):
        load_suite_table("enb", data_home=tmp_path)
    _suite_or_skip()
    with pytest.raises(ValueError, match="'nope' is not a table of the suite"):
        load_suite_table("nope")


def test_datasets_is_reachable_after_import_sk_mtl():
    import subprocess
    import sys

    code = "import sk_mtl; print(sk_mtl.datasets.load_wine_quality().frame.shape)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(6497, 13)"
