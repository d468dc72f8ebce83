"""fetch_womens_clothing_reviews: read the data folder, else download once with a SHA-256
check and an atomic write. No test here downloads: the addresses are local ``file://``
URLs or the opener is replaced (and tests/conftest.py fails any test that opens another
address)."""

import dataclasses
import gzip
import hashlib
import http.client
import io
import re
import socket
import urllib.error

import pandas as pd
import pytest

from sk_mtl.datasets import (
    _base,
    fetch_womens_clothing_reviews,
    get_data_home,
    load_womens_clothing_reviews,
)
from sk_mtl.exceptions import DataDownloadError, DataFileNotFoundError

FILENAME = "womens_clothing_ecommerce_reviews.csv.gz"


def _tiny_reviews_csv() -> bytes:
    """Three reviews in the layout of Kaggle's CSV (a leading unnamed row-index column)."""
    frame = pd.DataFrame({
        "Clothing ID": [767, 1080, 1077],
        "Age": [33, 34, 60],
        "Title": [None, "Love it", "Some major design flaws"],
        "Review Text": ["Absolutely wonderful", "Love this dress!", None],
        "Rating": [4, 5, 3],
        "Recommended IND": [1, 1, 0],
        "Positive Feedback Count": [0, 4, 0],
        "Division Name": ["Initmates", "General", "General"],
        "Department Name": ["Intimate", "Dresses", "Dresses"],
        "Class Name": ["Intimates", "Dresses", "Dresses"],
    })
    return frame.to_csv().encode()


@pytest.fixture
def remote(monkeypatch, tmp_path_factory):
    """Serve the tiny CSV from ``file://`` addresses: returns a function that sets the
    clothing entry's addresses (``"good"``, ``"bad"`` for other bytes, ``"missing"``) and
    gives back the good content."""
    content = _tiny_reviews_csv()
    served = tmp_path_factory.mktemp("served")  # beside the test's tmp_path, not in it
    (served / "good.csv").write_bytes(content)
    (served / "bad.csv").write_bytes(content.replace(b"Love", b"Hate"))
    entry = _base._DATA_FILES["womens_clothing_reviews"]

    def serve(*names):
        urls = tuple((served / f"{name}.csv").as_uri() for name in names)
        monkeypatch.setitem(_base._DATA_FILES, "womens_clothing_reviews", dataclasses.replace(
            entry, remote_urls=urls, remote_sha256=hashlib.sha256(content).hexdigest()))
        return content

    return serve


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_downloads_once_into_data_home_and_load_then_reads_it(remote, tmp_path,
                                                                    monkeypatch):
    content = remote("good")
    home = tmp_path / "home" / "not yet made"
    X, y = fetch_womens_clothing_reviews(data_home=home, return_X_y=True)
    assert X.shape == (3, 8) and y.columns.tolist() == ["Rating", "Recommended IND"]
    assert y["Rating"].tolist() == [4, 5, 3]
    # Stored gzip-compressed under the loader's name, byte for byte what was served; no
    # temporary file left.
    assert _files(home) == [FILENAME]
    assert gzip.decompress((home / FILENAME).read_bytes()) == content

    # Once: the next calls read the stored file and open no address.
    def no_download(url, timeout):
        raise AssertionError(f"downloaded {url} again")

    monkeypatch.setattr(_base, "_urlopen", no_download)
    again = fetch_womens_clothing_reviews(data_home=home)
    pd.testing.assert_frame_equal(again.data, X)
    pd.testing.assert_frame_equal(load_womens_clothing_reviews(data_home=home).data, X)


def test_fetch_reads_the_data_folder_first(remote, tmp_path, monkeypatch):
    remote("bad")  # would be refused: the local file must win before any download
    (tmp_path / FILENAME).write_bytes(gzip.compress(_tiny_reviews_csv()))
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path))
    assert fetch_womens_clothing_reviews().frame.shape == (3, 10)


def test_fetch_tries_the_next_address_when_one_fails(remote, tmp_path):
    remote("missing", "bad", "good")
    assert fetch_womens_clothing_reviews(data_home=tmp_path).frame.shape == (3, 10)
    assert _files(tmp_path) == [FILENAME]


def test_a_checksum_mismatch_is_refused_and_nothing_is_written(remote, tmp_path):
    remote("bad")
    expected = _base._DATA_FILES["womens_clothing_reviews"].remote_sha256
    with pytest.raises(DataDownloadError) as excinfo:
        fetch_womens_clothing_reviews(data_home=tmp_path / "home")
    message = str(excinfo.value)
    assert "bad.csv" in message and f"not the expected {expected}" in message
    assert "changed or damaged copy" in message
    assert "offline" not in message  # the address answered: not a network problem
    assert "Nothing was written" in message
    assert _files(tmp_path / "home") == []


def test_offline_gives_a_clear_error_naming_every_address(monkeypatch, tmp_path):
    """The real entry, its real addresses, an opener that finds no network."""
    tried = []

    def offline(url, timeout):
        tried.append(url)
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(_base, "_urlopen", offline)
    home = tmp_path / "home"
    with pytest.raises(DataDownloadError) as excinfo:
        fetch_womens_clothing_reviews(data_home=home)
    assert isinstance(excinfo.value, OSError)
    message = str(excinfo.value)
    assert tried == list(_base._CLOTHING_URLS)
    assert all(url in message for url in tried)
    assert "Temporary failure in name resolution" in message
    assert "Is this machine offline" in message
    assert "fetch_womens_clothing_reviews() could not download" in message
    # How to put the file in place by hand: where from, where to, under which name.
    assert "kaggle.com" in message and str(home / FILENAME) in message
    assert "'Womens Clothing E-Commerce Reviews.csv'" in message
    assert "SK_MTL_DATA" in message and "CC0" in message
    assert not home.exists()


def test_http_errors_and_a_connection_cut_mid_file_are_reported(remote, monkeypatch,
                                                                 tmp_path):
    remote("good", "good")
    calls = []

    class CutResponse(io.BytesIO):
        def read(self, *args):
            raise http.client.IncompleteRead(b"partial", 100)

    def flaky(url, timeout):
        calls.append(url)
        if len(calls) == 1:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        return CutResponse()

    monkeypatch.setattr(_base, "_urlopen", flaky)
    with pytest.raises(DataDownloadError) as excinfo:
        fetch_womens_clothing_reviews(data_home=tmp_path)
    message = str(excinfo.value)
    assert "answered HTTP 404: Not Found" in message
    assert "IncompleteRead" in message
    assert _files(tmp_path) == []


def test_an_interrupted_write_leaves_nothing_behind(remote, monkeypatch, tmp_path):
    remote("good")

    def fail_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_base.os, "replace", fail_replace)
    with pytest.raises(OSError, match="No space left"):
        fetch_womens_clothing_reviews(data_home=tmp_path)
    assert _files(tmp_path) == []  # the temporary file is removed too


def test_a_data_home_that_cannot_be_written_says_so(remote, tmp_path):
    remote("good")
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(DataDownloadError, match=r"Cannot write .* Pass `data_home=` a folder"):
        fetch_womens_clothing_reviews(data_home=tmp_path / "a_file" / "data")


def test_download_if_missing_false_and_load_never_download(remote, tmp_path, monkeypatch):
    remote("good")

    def no_download(url, timeout):
        raise AssertionError("downloaded")

    monkeypatch.setattr(_base, "_urlopen", no_download)
    with pytest.raises(DataFileNotFoundError, match="fetch_womens_clothing_reviews"):
        fetch_womens_clothing_reviews(data_home=tmp_path, download_if_missing=False)
    with pytest.raises(DataFileNotFoundError, match=r"`fetch_womens_clothing_reviews\(\)` "
                                                    "downloads it once"):
        load_womens_clothing_reviews(data_home=tmp_path)
    assert _files(tmp_path) == []


def test_the_addresses_are_pinned_and_the_checksum_is_the_local_copys():
    """Each address is a raw GitHub file at a fixed commit (its content cannot change); the
    recorded SHA-256 is that of the shared data folder's copy, where there is one."""
    entry = _base._DATA_FILES["womens_clothing_reviews"]
    assert len(entry.remote_urls) == 3
    for url in entry.remote_urls:
        assert re.fullmatch(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/"
                            r"Womens%20Clothing%20E-Commerce%20Reviews\.csv", url), url
    assert re.fullmatch(r"[0-9a-f]{64}", entry.remote_sha256)
    local = get_data_home() / FILENAME
    if not local.is_file():
        pytest.skip(f"no local copy in {local.parent} to compare the checksum with")
    content = gzip.decompress(local.read_bytes())
    assert hashlib.sha256(content).hexdigest() == entry.remote_sha256
    # The addresses' git blob id, read from their repositories: the same bytes.
    blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    assert blob == "fbc03e5353458fd51f9eae90a2d0eb6ec8d2418f"


def test_the_default_data_home_without_a_shared_folder_is_in_the_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SK_MTL_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(_base, "_checkout_data_home", lambda: tmp_path / "no" / "shared")
    assert get_data_home() == tmp_path / "sk_mtl_data"
    (tmp_path / "no" / "shared").mkdir(parents=True)
    assert get_data_home() == tmp_path / "no" / "shared"


def test_fetch_is_keyword_only():
    with pytest.raises(TypeError):
        fetch_womens_clothing_reviews(None)


def test_fetching_the_real_file_gives_the_shared_copys_table(monkeypatch, tmp_path):
    """The real checksum end to end: the shared copy's CSV served from a ``file://`` address
    (as the public copies serve it) passes the check and loads as the shared copy does."""
    local = get_data_home() / FILENAME
    if not local.is_file():
        pytest.skip(f"no local copy in {local.parent}")
    served = tmp_path / "served" / "Womens Clothing E-Commerce Reviews.csv"
    served.parent.mkdir()
    served.write_bytes(gzip.decompress(local.read_bytes()))
    entry = _base._DATA_FILES["womens_clothing_reviews"]
    monkeypatch.setitem(_base._DATA_FILES, "womens_clothing_reviews",
                        dataclasses.replace(entry, remote_urls=(served.as_uri(),)))
    fetched = fetch_womens_clothing_reviews(data_home=tmp_path / "home")
    pd.testing.assert_frame_equal(fetched.frame, load_womens_clothing_reviews().frame)
    stored = (tmp_path / "home" / FILENAME).stat().st_size
    assert 2.5e6 < stored < 3.1e6  # "stored gzip-compressed (2.8 MB)", as the docstring says


def test_the_suite_refuses_to_download():
    """tests/conftest.py's guard: any address but a local file fails the test at once."""
    with pytest.raises(pytest.fail.Exception, match="tests never download"):
        _base._urlopen(_base._CLOTHING_URLS[0], timeout=1)
