"""One encoder per modality (pure torch): a batch of one modality to (n, out_features)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._sparse import SparseLinear, SparseRows
from ._trunks import MLPTrunk, make_activation

__all__ = [
    "CNNEncoder",
    "CategoricalEncoder",
    "GRUTextEncoder",
    "LinearEncoder",
    "SparseMLPEncoder",
    "TokenBagEncoder",
]


class SparseMLPEncoder(nn.Module):
    """MLP whose first layer reads sparse rows (or dense ones) without densifying them.

    Parameters
    ----------
    in_features : int
        Number of input columns (e.g. a TF-IDF vocabulary of 100,000 n-grams).
    hidden_dims : sequence of int
        Widths of the layers; the first is the sparse projection.
    activation : str, default="relu"
        Non-linearity after each layer.
    dropout : float, default=0.0
        Dropout after each layer.
    sparse_grad : bool, default=False
        Sparse gradients for the first layer (inputs must then be sparse rows).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import SparseMLPEncoder
    >>> SparseMLPEncoder(10, (8, 4))(torch.zeros(3, 10)).shape
    torch.Size([3, 4])
    """

    def __init__(self, in_features: int, hidden_dims: Sequence[int] = (64,),
                 activation: str = "relu", dropout: float = 0.0,
                 sparse_grad: bool = False) -> None:
        super().__init__()
        dims = tuple(hidden_dims)
        if not dims:
            raise ValueError("SparseMLPEncoder needs at least one layer width.")
        self.first = SparseLinear(in_features, dims[0], sparse_grad)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.rest = MLPTrunk(dims[0], dims[1:], activation, dropout)
        self.out_features = self.rest.out_features

    def forward(self, x: SparseRows | Tensor) -> Tensor:
        return self.rest(self.drop(self.act(self.first(x))))


class LinearEncoder(nn.Module):
    """A linear projection of one modality (dense, sparse or image pixels) to ``out_features``.

    Summing these projections over modalities is exactly one linear layer over the
    concatenated inputs: this is how ``fusion="early"`` joins raw inputs.
    """

    def __init__(self, in_features: int, out_features: int, sparse_grad: bool = False) -> None:
        super().__init__()
        self.proj = SparseLinear(in_features, out_features, sparse_grad)
        self.out_features = out_features

    def forward(self, x: SparseRows | Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim > 2:
            x = x.flatten(1)
        if isinstance(x, Tensor) and not x.is_floating_point():
            x = x.float()
        return self.proj(x)


class TokenBagEncoder(nn.Module):
    """Mean of learned token embeddings over the non-padding tokens of each row (id 0 = pad).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import TokenBagEncoder
    >>> enc = TokenBagEncoder(vocab_size=20, dim=8)
    >>> enc(torch.tensor([[3, 4, 0], [5, 0, 0]])).shape
    torch.Size([2, 8])
    """

    def __init__(self, vocab_size: int, dim: int = 64, activation: str = "relu") -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=0)
        self.act = make_activation(activation)
        self.out_features = dim

    def forward(self, ids: Tensor) -> Tensor:
        return self.act(self.bag(ids))


class GRUTextEncoder(nn.Module):
    """Token embeddings read by a bidirectional GRU, mean-pooled over non-padding positions."""

    def __init__(self, vocab_size: int, dim: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.gru = nn.GRU(dim, dim, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * dim, dim)
        self.out_features = dim

    def forward(self, ids: Tensor) -> Tensor:
        mask = (ids != 0).unsqueeze(-1).float()
        states, _ = self.gru(self.embed(ids))
        pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        return torch.relu(self.out(pooled))


class CategoricalEncoder(nn.Module):
    """One embedding table per categorical column (code 0 = unknown or missing), concatenated
    and projected to ``dim``.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import CategoricalEncoder
    >>> CategoricalEncoder([4, 7], dim=5)(torch.tensor([[1, 6], [0, 2]])).shape
    torch.Size([2, 5])
    """

    def __init__(self, cardinalities: Sequence[int], dim: int = 64,
                 embedding_dim: int | None = None) -> None:
        super().__init__()
        self.tables = nn.ModuleList(
            nn.Embedding(c, embedding_dim or min(32, (c + 1) // 2 + 1)) for c in cardinalities
        )
        width = sum(t.embedding_dim for t in self.tables)
        self.proj = nn.Sequential(nn.Linear(width, dim), nn.ReLU())
        self.out_features = dim

    def forward(self, codes: Tensor) -> Tensor:
        parts = [table(codes[:, j]) for j, table in enumerate(self.tables)]
        return self.proj(torch.cat(parts, dim=1))


class CNNEncoder(nn.Module):
    """A small CNN for ``(n, C, H, W)`` images: two conv blocks, global average pooling.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import CNNEncoder
    >>> CNNEncoder(in_channels=1, dim=16)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 16])
    """

    def __init__(self, in_channels: int, dim: int = 64, channels: Sequence[int] = (16, 32)):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for c in channels:
            layers += [nn.Conv2d(width, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            width = c
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.proj = nn.Sequential(nn.Linear(width, dim), nn.ReLU())
        self.out_features = dim

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.features(x))
