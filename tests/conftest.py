"""Test-session settings and the fixtures shared by the whole sk_mtl suite.

The estimator settings and tiny synthetic data sets the test files share are plain Python in
``tests/_helpers.py`` (imported: ``from _helpers import SMALL``); the fixtures here are the
shared pieces that need pytest. Tests marked ``slow`` are skipped by a plain ``pytest`` and
run by ``make test`` (see ``[tool.pytest.ini_options]`` in pyproject.toml).
"""

import os

import pytest
import torch

from sk_mtl.datasets import load_wine_quality, load_womens_clothing_reviews
from sk_mtl.exceptions import DataFileNotFoundError

# The tests fit tiny networks (a few hundred rows, batches of 64). With several intra-op
# threads, each small torch op pays a thread hand-off that costs milliseconds as soon as the
# (2-core) machine is busy: measured 16 us per op with one thread against 8 ms with two
# under load, which made a 20-epoch fit take 2 s instead of 0.15 s. Worker processes of
# GridSearchCV(n_jobs=2) get one thread each from joblib anyway.
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _embedding_disk_cache_in_a_temporary_folder(tmp_path_factory):
    """The disk cache of text embeddings (``sk_mtl.data.get_embedding_cache_dir``) in a
    temporary folder for the whole session, set before any test starts a worker process
    (workers inherit it): no test reads or writes the real cache."""
    name = "SK_MTL_EMBEDDING_CACHE"
    previous = os.environ.get(name)
    os.environ[name] = str(tmp_path_factory.mktemp("embedding-cache"))
    yield
    if previous is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = previous


def _real_data(load):
    """``load(return_X_y=True)``, or skip the test when the real data file is not there."""
    try:
        return load(return_X_y=True)
    except DataFileNotFoundError as exc:
        pytest.skip(f"real data not found: {exc}")


@pytest.fixture(autouse=True)
def _no_download(monkeypatch):
    """Tests never download: ``sk_mtl.datasets``' ``fetch_*`` may open local ``file://``
    addresses only (a test that needs another replaces the opener itself)."""
    from sk_mtl.datasets import _base

    real_urlopen = _base._urlopen

    def local_only(url, timeout):
        if not url.startswith("file:"):
            pytest.fail(f"a test tried to download {url}: tests never download")
        return real_urlopen(url, timeout)

    monkeypatch.setattr(_base, "_urlopen", local_only)


@pytest.fixture
def wine():
    """``(X, y)`` of the real wine quality table (6,497 wines; ``y``: quality and color).

    A fresh copy per test, from the data folder or else from the copy inside the package.
    """
    return _real_data(load_wine_quality)


@pytest.fixture
def clothing():
    """``(X, y)`` of the real women's clothing reviews (text, categories, numbers; ``y``:
    ``Recommended IND`` and ``Rating``). A fresh copy per test; skipped without the file."""
    return _real_data(load_womens_clothing_reviews)
