"""Loaders for the real multi-task data sets.

As in scikit-learn, ``load_*`` functions read local files only: the wine data
ships inside the package, the other files are read from a local data folder
(see :func:`get_data_home`), and a missing file raises
:class:`~sk_mtl.exceptions.DataFileNotFoundError` that explains where the file
comes from and how to make it available. ``fetch_*`` functions read the same
folder and, when the file is not there, download it once into that folder from
a public copy checked against its SHA-256.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import shlex
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.utils import Bunch

from ..exceptions import DataDownloadError, DataFileNotFoundError

__all__ = [
    "fetch_womens_clothing_reviews",
    "get_data_home",
    "load_suite_table",
    "load_wine_quality",
    "load_womens_clothing_reviews",
    "suite_names",
]

_DATA_HOME_ENV_VAR = "SK_MTL_DATA"


@dataclass(frozen=True)
class _DataFile:
    """Description of one data file read by a loader.

    Parameters
    ----------
    filename : str
        Name of the file inside the data folder.

    description : str
        One-line description of what the file holds.

    source : str
        Where the file comes from (reference and address).

    licence : str
        Licence the file is distributed under.

    feature_names : tuple of str
        Columns returned as ``data``, in this order.

    target_names : tuple of str
        Columns returned as ``target``, in this order.

    notes : str, default=""
        Extra paragraph appended to the ``DESCR`` text.

    read_csv_kwargs : dict, default={}
        Extra keyword arguments passed to :func:`pandas.read_csv`.

    packaged_sha256 : str, default=""
        For a file that ships gzip-compressed inside the package
        (``sk_mtl/datasets/data/<filename>.gz``): the SHA-256 of its
        uncompressed content, checked when it is read. Empty: not packaged.

    remote_urls : tuple of str, default=()
        For a file that ``fetch_*`` may download: public addresses of copies
        of its uncompressed content, tried in this order. Empty: never
        downloaded.

    remote_sha256 : str, default=""
        The SHA-256 of the uncompressed content the addresses must give; a
        download that differs is refused.
    """

    filename: str
    description: str
    source: str
    licence: str
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    notes: str = ""
    read_csv_kwargs: dict[str, Any] = field(default_factory=dict)
    packaged_sha256: str = ""
    remote_urls: tuple[str, ...] = ()
    remote_sha256: str = ""


#: Public copies of Kaggle's "Womens Clothing E-Commerce Reviews.csv" (8,483,448 bytes),
#: each at a fixed commit so that its content cannot change under us. The three
#: repositories hold one and the same git blob, fbc03e5353458fd51f9eae90a2d0eb6ec8d2418f,
#: which is also the git blob id (``git hash-object``) of the decompressed
#: ``womens_clothing_ecommerce_reviews.csv.gz`` of the project's shared data folder: the
#: addresses serve byte for byte the file the examples and benchmarks were measured on.
#: The SHA-256 below was computed from that local copy (``zcat ... | sha256sum``); it was
#: not computed from a download (the machine that wrote this had no network), the blob ids
#: were read from the repositories' stored snapshots.
_CLOTHING_CSV = "Womens%20Clothing%20E-Commerce%20Reviews.csv"
_CLOTHING_URLS = (
    "https://raw.githubusercontent.com/AFAgarap/ecommerce-reviews-analysis/"
    f"6c5c8a1a8d4fa208f353a73e97e7b9961f4b544a/{_CLOTHING_CSV}",
    "https://raw.githubusercontent.com/NadimKawwa/WomeneCommerce/"
    f"cb45093091912cc6c75739cddc3be782de8c5d38/{_CLOTHING_CSV}",
    "https://raw.githubusercontent.com/hanzhang0420/Women-Clothing-E-commerce/"
    f"49b17125e3362aaa893daeb4fc9ba9f9668285f6/{_CLOTHING_CSV}",
)
_CLOTHING_SHA256 = "bd93cc515747ad1f87b8bc863c9e40da758509e6db6506a96d06976e61e36ee0"


_DATA_FILES: dict[str, _DataFile] = {
    "wine_quality": _DataFile(
        filename="wine_quality_red_white.csv",
        description=(
            "UCI Wine Quality data set: red and white Portuguese 'Vinho Verde' "
            "wines joined into one table with a `color` column (6,497 rows)"
        ),
        source=(
            "UCI Machine Learning Repository, Wine Quality (P. Cortez, "
            "A. Cerdeira, F. Almeida, T. Matos and J. Reis, 'Modeling wine "
            "preferences by data mining from physicochemical properties', "
            "Decision Support Systems 47(4), 2009), "
            "https://archive.ics.uci.edu/dataset/186/wine+quality"
        ),
        licence="CC BY 4.0",
        packaged_sha256="cf14b83633f9b8102f470f98986274df58a7ebe53a814550ee188549257f79e5",
        feature_names=(
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
        ),
        target_names=("quality", "color"),
        notes=(
            "Tasks: `quality` (integer score 3-9, regression or ordinal "
            "classification) and `color` ('red' or 'white', binary "
            "classification) from 11 physico-chemical measurements.\n\n"
            "Reference holdout: 25% test split with `random_state=0`. "
            "Single-task scikit-learn models give a `quality` MAE of 0.495 "
            "and a `color` accuracy of 0.994."
        ),
    ),
    "womens_clothing_reviews": _DataFile(
        filename="womens_clothing_ecommerce_reviews.csv.gz",
        description=(
            "Women's E-Commerce Clothing Reviews: 23,486 customer reviews with "
            "text, reviewer and product information"
        ),
        source=(
            "Kaggle, 'Women's E-Commerce Clothing Reviews' by nicapotato, "
            "https://www.kaggle.com/datasets/nicapotato/"
            "womens-ecommerce-clothing-reviews"
        ),
        licence="CC0 Public Domain",
        feature_names=(
            "Title",
            "Review Text",
            "Age",
            "Positive Feedback Count",
            "Division Name",
            "Department Name",
            "Class Name",
            "Clothing ID",
        ),
        target_names=("Rating", "Recommended IND"),
        notes=(
            "Tasks: `Rating` (1-5, 5-class classification) and "
            "`Recommended IND` (0/1, binary classification) from text and "
            "tabular columns. Missing text is kept as NaN: 845 rows have no "
            "`Review Text` and 3,810 no `Title`.\n\n"
            "Reference holdout: rows with review text, 20% test split with "
            "`train_test_split(..., test_size=0.2, random_state=0)`. TF-IDF "
            "(1-2 grams) + one-hot + scaled numbers with a logistic regression "
            "per task give `Recommended IND` ROC AUC 0.961 and `Rating` "
            "5-class accuracy 0.658."
        ),
        read_csv_kwargs={"index_col": 0},
        remote_urls=_CLOTHING_URLS,
        remote_sha256=_CLOTHING_SHA256,
    ),
}


def _checkout_data_home() -> Path:
    """Return ``shared/data`` beside the folder holding the project checkout."""
    # sk_mtl/datasets/_base.py -> parents[2] is the checkout root.
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def _default_data_home() -> Path:
    """The project's ``../shared/data`` when it exists, else ``~/sk_mtl_data``."""
    checkout = _checkout_data_home()
    return checkout if checkout.is_dir() else Path.home() / "sk_mtl_data"


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of the folder that holds the sk_mtl data files.

    The folder is looked up in this order:

    1. the ``data_home`` argument, if given;
    2. the ``SK_MTL_DATA`` environment variable, if set and not empty;
    3. the ``shared/data`` folder beside the project checkout (that is
       ``../shared/data`` relative to the checkout root), when that folder
       exists;
    4. ``~/sk_mtl_data`` (as scikit-learn's ``~/scikit_learn_data``).

    Nothing is created or downloaded: the folder does not need to exist
    (``fetch_*`` functions create it when they download into it).

    Parameters
    ----------
    data_home : str or path-like, default=None
        The path to the data folder. If `None`, the ``SK_MTL_DATA``
        environment variable is used, and if that is not set either, the
        ``../shared/data`` folder beside the project checkout when it exists,
        else ``~/sk_mtl_data``. A leading ``~`` is expanded to the user's home
        folder.

    Returns
    -------
    data_home : pathlib.Path
        The path to the data folder.

    Examples
    --------
    >>> from sk_mtl.datasets import get_data_home
    >>> get_data_home("my_data").name
    'my_data'
    """
    if data_home is None:
        data_home = os.environ.get(_DATA_HOME_ENV_VAR) or _default_data_home()
    return Path(data_home).expanduser()


def _missing_file_message(data_file: _DataFile, data_home: Path, fetch: str = "") -> str:
    """Build the message of the error raised when a data file is missing; ``fetch`` names
    the function that downloads it, if there is one."""
    by_hand = (
        "put the file in that folder, or pass `data_home=` the folder that holds it, or set "
        f"the {_DATA_HOME_ENV_VAR} environment variable to that folder."
    )
    fix = (
        f"`{fetch}()` downloads it once into that folder (or into `data_home=`) from a "
        f"public copy checked against its SHA-256. Without network, {by_hand}"
        if fetch else f"To fix this, {by_hand}"
    )
    return (
        f"Data file {data_file.filename!r} was not found in the folder "
        f"'{data_home}'.\n"
        f"It holds the {data_file.description}.\n"
        f"Source: {data_file.source}. Licence: {data_file.licence}.\n{fix}"
    )


#: Seconds to wait for a server before giving up on an address.
_DOWNLOAD_TIMEOUT_S = 60


def _urlopen(url: str, timeout: float):
    """Open ``url`` for reading (the seam the tests replace: they never download)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _download(data_file: _DataFile, folder: Path, fetch: str) -> Path:
    """Download ``data_file`` into ``folder`` from the first of its addresses that gives the
    expected content; write it atomically (a temporary file in ``folder``, then renamed), so
    that an interrupted or refused download leaves nothing behind.

    Raises :class:`~sk_mtl.exceptions.DataDownloadError` naming each address tried and why
    it failed (no network, an HTTP error, another SHA-256) when none gave the content.
    """
    path = folder / data_file.filename
    failures = []
    for url in data_file.remote_urls:
        try:
            with _urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
                content = response.read()
        except urllib.error.HTTPError as exc:  # the server answered, with an error
            failures.append(f"  {url}\n    answered HTTP {exc.code}: {exc.reason}")
            continue
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # No network, a refused connection or a timeout (URLError and the others are
            # OSErrors); a connection closed mid-file (HTTPException); a malformed address
            # (ValueError).
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            failures.append(f"  {url}\n    could not be reached: {reason!r}")
            continue
        digest = hashlib.sha256(content).hexdigest()
        if digest != data_file.remote_sha256:
            failures.append(
                f"  {url}\n    gave {len(content):,} bytes of SHA-256 {digest}, not the "
                f"expected {data_file.remote_sha256} (a changed or damaged copy: refused)"
            )
            continue
        payload = gzip.compress(content, mtime=0) if path.suffix == ".gz" else content
        _write_atomically(path, payload)
        return path
    offline = any("could not be reached" in failure for failure in failures)
    original = urllib.parse.unquote(data_file.remote_urls[0].rsplit("/", 1)[-1])
    raise DataDownloadError(
        f"{fetch}() could not download {data_file.filename!r} into '{folder}'; every "
        "address failed:\n" + "\n".join(failures) + "\n"
        + ("Is this machine offline, or behind a proxy (urllib reads the https_proxy "
           "environment variable)? " if offline else "")
        + f"Nothing was written. Source: {data_file.source}. "
        f"Licence: {data_file.licence}. To put the file in place by hand, download "
        f"{original!r} from the source or one of the addresses above on a machine with "
        f"network and save it gzip-compressed as '{path}' (gzip -c < {shlex.quote(original)}"
        f" > {shlex.quote(str(path))}), or set the {_DATA_HOME_ENV_VAR} environment "
        "variable to a folder that holds it."
    )


def _write_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in the same folder renamed
    over it, so that a reader (or another process fetching too) never sees a partial
    file."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise DataDownloadError(
            f"Cannot write the downloaded {path.name!r} into '{folder}': {exc}. Pass "
            f"`data_home=` a folder you can write to, or set the {_DATA_HOME_ENV_VAR} "
            "environment variable to one."
        ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _packaged_bytes(data_file: _DataFile) -> bytes:
    """The content of a data file that ships inside the package, checked against its
    SHA-256 (a damaged copy raises rather than giving other numbers)."""
    packaged = resources.files(__package__) / "data" / f"{data_file.filename}.gz"
    content = gzip.decompress(packaged.read_bytes())
    digest = hashlib.sha256(content).hexdigest()
    if digest != data_file.packaged_sha256:
        raise ValueError(
            f"The copy of {data_file.filename!r} inside the sk_mtl package is damaged "
            f"(SHA-256 {digest}, expected {data_file.packaged_sha256}); reinstall sk_mtl."
        )
    return content


def _descr(data_file: _DataFile) -> str:
    """Build the ``DESCR`` text of a data set from its table entry."""
    descr = (
        f"{data_file.description}.\n\n"
        f"File: {data_file.filename}\n"
        f"Source: {data_file.source}.\n"
        f"Licence: {data_file.licence}. Cite the source where the licence "
        "asks.\n"
    )
    if data_file.notes:
        descr += f"\n{data_file.notes}\n"
    return descr


def _load(
    name: str,
    *,
    data_home: str | os.PathLike[str] | None,
    return_X_y: bool,
    fetch: str = "",
    download_if_missing: bool = False,
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Read the data file registered under ``name`` in ``_DATA_FILES``; ``fetch`` names the
    public function that may download it (into the data folder, with
    ``download_if_missing``)."""
    data_file = _DATA_FILES[name]
    folder = get_data_home(data_home)
    path = folder / data_file.filename
    if path.is_file():
        source = path
    elif data_file.packaged_sha256:
        source = io.BytesIO(_packaged_bytes(data_file))
    elif download_if_missing and data_file.remote_urls:
        source = _download(data_file, folder, fetch)
    else:
        raise DataFileNotFoundError(_missing_file_message(data_file, folder, fetch))

    frame = pd.read_csv(source, **data_file.read_csv_kwargs)
    feature_names = list(data_file.feature_names)
    target_names = list(data_file.target_names)
    data = frame[feature_names]
    target = frame[target_names]

    if return_X_y:
        return data, target

    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        DESCR=_descr(data_file),
    )


def load_wine_quality(
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Load the red and white wine quality data set (multi-task).

    The UCI Wine Quality data (Cortez et al., 2009, CC BY 4.0): the red and
    white wine files joined into one table with a ``color`` column. Two
    tasks are predicted from 11 physico-chemical measurements: ``quality``
    (integer score from 3 to 9) and ``color`` (``'red'`` or ``'white'``).

    =================   ==============================
    Samples total       6497 (1599 red, 4898 white)
    Features            11, real, non-negative
    Targets             2: quality (int 3-9), color
    =================   ==============================

    The data ships with sk_mtl (gzip-compressed, 93 KB, checked against its
    SHA-256 when read), so no argument and no data folder is needed. A file
    ``wine_quality_red_white.csv`` in the data folder (see
    :func:`get_data_home`) is read instead when there is one. Nothing is
    downloaded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        A folder that may hold ``wine_quality_red_white.csv``. If `None`, the
        folder given by :func:`get_data_home` is used; without the file there,
        the copy inside the package is read.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : pandas DataFrame of shape (6497, 11)
            The 11 physico-chemical measurements.
        target : pandas DataFrame of shape (6497, 2)
            The two targets, columns ``quality`` and ``color``.
        frame : pandas DataFrame of shape (6497, 13)
            The whole table, with `data` and `target`.
        feature_names : list of str
            The names of the 11 feature columns.
        target_names : list of str
            The names of the target columns: ``['quality', 'color']``.
        DESCR : str
            The description of the data set: origin and licence.

    (data, target) : tuple if ``return_X_y`` is True
        A tuple of two DataFrames: the features of shape (6497, 11) and the
        targets of shape (6497, 2).

    Raises
    ------
    ValueError
        If the copy inside the package is damaged (its SHA-256 is not the
        recorded one): reinstall sk_mtl.

    See Also
    --------
    load_womens_clothing_reviews : Load the women's clothing reviews data set.
    get_data_home : Return the path of the sk_mtl data folder.

    Examples
    --------
    >>> from sk_mtl.datasets import load_wine_quality
    >>> X, y = load_wine_quality(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.columns.tolist()  # doctest: +SKIP
    ((6497, 11), ['quality', 'color'])
    >>> y["color"].value_counts().to_dict()  # doctest: +SKIP
    {'white': 4898, 'red': 1599}

    The two tasks are related: the mean quality differs by colour.

    >>> y.groupby("color")["quality"].mean().round(2).to_dict()  # doctest: +SKIP
    {'red': 5.64, 'white': 5.88}
    """
    return _load("wine_quality", data_home=data_home, return_X_y=return_X_y)


def load_womens_clothing_reviews(
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Load the women's e-commerce clothing reviews data set (multi-task).

    Customer reviews of women's clothing (Kaggle, nicapotato, CC0). Two tasks
    are predicted from review text and tabular columns: ``Rating`` (1 to 5)
    and ``Recommended IND`` (0 or 1). Missing text is kept as NaN: 845 rows
    have no ``Review Text`` and 3,810 no ``Title``.

    =================   ========================================
    Samples total       23486
    Features            8: 2 text, 3 categorical, 3 integer
    Targets             2: Rating (int 1-5), Recommended IND (0/1)
    =================   ========================================

    The file ``womens_clothing_ecommerce_reviews.csv.gz`` is read from the
    data folder (see :func:`get_data_home`). This function reads local files
    only; :func:`fetch_womens_clothing_reviews` reads the same file and
    downloads it first when it is not there.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder that holds ``womens_clothing_ecommerce_reviews.csv.gz``.
        If `None`, the folder given by :func:`get_data_home` is used.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : pandas DataFrame of shape (23486, 8)
            The columns ``Title``, ``Review Text``, ``Age``,
            ``Positive Feedback Count``, ``Division Name``,
            ``Department Name``, ``Class Name`` and ``Clothing ID``.
        target : pandas DataFrame of shape (23486, 2)
            The two targets, columns ``Rating`` and ``Recommended IND``.
        frame : pandas DataFrame of shape (23486, 10)
            The whole table, with `data` and `target`.
        feature_names : list of str
            The names of the 8 feature columns.
        target_names : list of str
            The names of the target columns:
            ``['Rating', 'Recommended IND']``.
        DESCR : str
            The description of the data set: origin, licence and the
            reference holdout.

    (data, target) : tuple if ``return_X_y`` is True
        A tuple of two DataFrames: the features of shape (23486, 8) and the
        targets of shape (23486, 2).

    Raises
    ------
    DataFileNotFoundError
        If ``womens_clothing_ecommerce_reviews.csv.gz`` is not in the data
        folder; the message says where the file comes from and that
        :func:`fetch_womens_clothing_reviews` downloads it.

    See Also
    --------
    fetch_womens_clothing_reviews : The same, downloading the file if missing.
    load_wine_quality : Load the red and white wine quality data set.
    get_data_home : Return the path of the sk_mtl data folder.

    Examples
    --------
    >>> from sk_mtl.datasets import load_womens_clothing_reviews
    >>> reviews = load_womens_clothing_reviews()  # doctest: +SKIP
    >>> reviews.frame.shape, reviews.target_names  # doctest: +SKIP
    ((23486, 10), ['Rating', 'Recommended IND'])
    >>> reviews.data[["Title", "Review Text"]].isna().sum().to_dict()  # doctest: +SKIP
    {'Title': 3810, 'Review Text': 845}
    """
    return _load("womens_clothing_reviews", data_home=data_home, return_X_y=return_X_y,
                 fetch="fetch_womens_clothing_reviews")


def fetch_womens_clothing_reviews(
    *,
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Load the women's clothing reviews, downloading them once if missing.

    The data of :func:`load_womens_clothing_reviews` (Kaggle, nicapotato,
    CC0: 23,486 reviews; tasks ``Rating`` and ``Recommended IND``). The file
    ``womens_clothing_ecommerce_reviews.csv.gz`` is read from the data folder
    (see :func:`get_data_home`) when it is there. Otherwise, with
    ``download_if_missing=True``, the original CSV (8.5 MB) is downloaded from
    a public copy on GitHub (the first of three that answers, each pinned to
    a commit), checked against its SHA-256, and stored gzip-compressed
    (2.8 MB) in the data folder, which is created if needed; later calls read
    it from there. The file is written under a temporary name and renamed
    when complete, so an interrupted download leaves nothing behind.

    The recorded SHA-256 is that of the copy in the project's data folder
    that the examples and benchmarks were measured on; the three addresses
    hold the same bytes (the same git blob), read from the repositories
    without downloading the file over the network.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to read the file from and to download it into. If `None`,
        the folder given by :func:`get_data_home` is used (``$SK_MTL_DATA``,
        ``../shared/data`` beside a checkout, else ``~/sk_mtl_data``).

    download_if_missing : bool, default=True
        If False, raise :class:`~sk_mtl.exceptions.DataFileNotFoundError`
        when the file is not in the data folder instead of downloading it
        (what :func:`load_womens_clothing_reviews` does).

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : pandas DataFrame of shape (23486, 8)
            The columns ``Title``, ``Review Text``, ``Age``,
            ``Positive Feedback Count``, ``Division Name``,
            ``Department Name``, ``Class Name`` and ``Clothing ID``.
        target : pandas DataFrame of shape (23486, 2)
            The two targets, columns ``Rating`` and ``Recommended IND``.
        frame : pandas DataFrame of shape (23486, 10)
            The whole table, with `data` and `target`.
        feature_names : list of str
            The names of the 8 feature columns.
        target_names : list of str
            The names of the target columns:
            ``['Rating', 'Recommended IND']``.
        DESCR : str
            The description of the data set: origin, licence and the
            reference holdout.

    (data, target) : tuple if ``return_X_y`` is True
        A tuple of two DataFrames: the features of shape (23486, 8) and the
        targets of shape (23486, 2).

    Raises
    ------
    DataDownloadError
        If the file had to be downloaded and no address gave it: the machine
        is offline, an address answered with an error, or the content's
        SHA-256 differs from the expected one. Nothing is written then; the
        message names each address and its reason.
    DataFileNotFoundError
        If the file is not in the data folder and ``download_if_missing`` is
        False.

    See Also
    --------
    load_womens_clothing_reviews : The same, from local files only.
    get_data_home : Return the path of the sk_mtl data folder.

    Examples
    --------
    >>> from sk_mtl.datasets import fetch_womens_clothing_reviews
    >>> X, y = fetch_womens_clothing_reviews(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.columns.tolist()  # doctest: +SKIP
    ((23486, 8), ['Rating', 'Recommended IND'])
    """
    return _load("womens_clothing_reviews", data_home=data_home, return_X_y=return_X_y,
                 fetch="fetch_womens_clothing_reviews",
                 download_if_missing=download_if_missing)


_SUITE_FOLDER = "suite"
_SUITE_MANIFEST = "manifest.json"


def _suite_manifest(data_home: str | os.PathLike[str] | None) -> tuple[Path, dict]:
    """The suite folder and its manifest, or a clear error when they are not there."""
    import json

    folder = get_data_home(data_home) / _SUITE_FOLDER
    path = folder / _SUITE_MANIFEST
    if not path.is_file():
        raise DataFileNotFoundError(
            f"The multi-task table suite was not found: no {_SUITE_MANIFEST!r} in '{folder}'.\n"
            "It holds 20 public multi-task tables (Mulan, UCI and others; each table's "
            "licence is in the manifest).\nsk_mtl does not download it. Put the suite "
            "folder there, or pass `data_home=` the folder that holds `suite/`, or set the "
            f"{_DATA_HOME_ENV_VAR} environment variable to that folder."
        )
    with open(path, encoding="utf-8") as fh:
        return folder, json.load(fh)


def suite_names(*, data_home: str | os.PathLike[str] | None = None) -> list[str]:
    """Return the names of the tables of the multi-task suite, smallest first.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder that holds ``suite/manifest.json``. If `None`, the folder
        given by :func:`get_data_home` is used.

    Returns
    -------
    names : list of str
        The table names, ordered by number of rows.

    Raises
    ------
    DataFileNotFoundError
        If the suite is not in the data folder.

    See Also
    --------
    load_suite_table : Load one table of the suite.

    Examples
    --------
    >>> from sk_mtl.datasets import suite_names
    >>> suite_names()[:3]  # doctest: +SKIP
    ['slump', 'flags', 'atp1d']
    """
    _, manifest = _suite_manifest(data_home)
    entries = sorted(manifest["datasets"], key=lambda d: (d["rows"], d["name"]))
    return [d["name"] for d in entries]


def load_suite_table(
    name: str,
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, pd.DataFrame]:
    """Load one table of the 20-table multi-task suite.

    The suite (``suite/`` in the data folder, described by its
    ``manifest.json``) holds real multi-task tables from 103 to 36,733 rows:
    multi-target regression, multi-label and mixed kinds, some with
    categorical features and missing values. It is what sk_mtl's defaults are
    chosen on (``benchmarks/bench_suite.py``). The table's group column (a
    split indicator such as a year or a fold number) is dropped; categorical
    features are returned with pandas' ``category`` dtype, missing values as
    NaN.

    Parameters
    ----------
    name : str
        The table's name, one of :func:`suite_names`.

    data_home : str or path-like, default=None
        The folder that holds ``suite/``. If `None`, the folder given by
        :func:`get_data_home` is used.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : pandas DataFrame of shape (n_samples, n_features)
            The features.
        target : pandas DataFrame of shape (n_samples, n_tasks)
            The targets, one column per task (NaN where a label is missing).
        tasks : dict of str to str
            The kind of each task (``"regression"``, ``"binary"`` or
            ``"multiclass"``), as the manifest gives it; ready for ``tasks=``.
        categorical_features : list of str
            The categorical feature columns.
        feature_names : list of str
            The names of the feature columns.
        target_names : list of str
            The names of the target columns.
        DESCR : str
            The table's origin, licence and notes.

    (data, target) : tuple if ``return_X_y`` is True
        A tuple of two DataFrames.

    Raises
    ------
    DataFileNotFoundError
        If the suite or the table's file is not in the data folder.
    ValueError
        If ``name`` is not a table of the suite.

    See Also
    --------
    suite_names : The names of the suite's tables.

    Examples
    --------
    >>> from sk_mtl.datasets import load_suite_table
    >>> enb = load_suite_table("enb")  # doctest: +SKIP
    >>> enb.data.shape, enb.tasks  # doctest: +SKIP
    ((768, 8), {'heating_load': 'regression', 'cooling_load': 'regression'})
    """
    folder, manifest = _suite_manifest(data_home)
    entries = {d["name"]: d for d in manifest["datasets"]}
    if name not in entries:
        raise ValueError(
            f"{name!r} is not a table of the suite; the tables are {sorted(entries)}."
        )
    entry = entries[name]
    path = folder / entry["file"]
    if not path.is_file():
        raise DataFileNotFoundError(
            f"Suite table file {entry['file']!r} was not found in '{folder}' (listed in its "
            f"manifest). Source: {entry['original_source']}. Licence: {entry['licence']}."
        )
    frame = pd.read_csv(path)
    features = list(entry["feature_columns"])
    categorical = list(entry["categorical_columns"])
    targets = [t["name"] for t in entry["targets"]]
    data = frame[features].copy()
    for column in categorical:
        data[column] = data[column].astype("category")
    target = frame[targets]
    if return_X_y:
        return data, target
    descr = (
        f"Suite table {name!r}: {entry['rows']} rows, {len(features)} features "
        f"({len(categorical)} categorical), {len(targets)} targets.\n\n"
        f"Source: {entry['original_source']}.\nLicence: {entry['licence']}.\n"
        + "".join(f"\n- {note}" for note in entry.get("notes", []))
    )
    return Bunch(
        data=data,
        target=target,
        tasks={t["name"]: t["kind"] for t in entry["targets"]},
        categorical_features=categorical,
        feature_names=features,
        target_names=targets,
        DESCR=descr,
    )
