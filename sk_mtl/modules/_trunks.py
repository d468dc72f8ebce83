"""Shared trunks (pure torch)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .._registry import make_component

__all__ = ["ACTIVATIONS", "MLPTrunk", "infer_out_features", "make_activation"]

#: Activation names accepted by ``activation=``; one table, no string dispatch elsewhere.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
    "leaky_relu": nn.LeakyReLU,
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def make_activation(activation: str | type[nn.Module]) -> nn.Module:
    """Return a fresh activation module from a name in :data:`ACTIVATIONS` or a module class."""
    return make_component(activation, ACTIVATIONS, param="activation",
                          others=["an nn.Module class"], convert=_module_class, describe=repr)


def _module_class(cls) -> nn.Module | None:
    """A fresh ``cls()`` when ``cls`` is an ``nn.Module`` class, else ``None``."""
    return cls() if isinstance(cls, type) and issubclass(cls, nn.Module) else None


def rowwise_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``x @ weight.T + bias`` as a product and a sum per row, so that a row's output does
    not depend on where it sits in its batch. MKL's float32 matrix product rounds a row
    differently by its position for narrow layers (2 to 10 outputs over a width that is
    not a multiple of 4): a reordered batch would predict differently in the last bits."""
    out = (x.unsqueeze(-2) * weight).sum(-1)
    return out if bias is None else out + bias


class RowwiseLinear(nn.Linear):
    """An ``nn.Linear`` (same parameters, same state-dict keys) computed by
    :func:`rowwise_linear`: for the narrow gates of mixture-of-experts trunks, whose cost
    is small beside the experts'."""

    def forward(self, x: Tensor) -> Tensor:
        return rowwise_linear(x, self.weight, self.bias)


class MLPTrunk(nn.Module):
    """A stack of ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` blocks.

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden_dims : sequence of int
        Width of each hidden layer; empty means the trunk is the identity.
    activation : str or nn.Module class, default="relu"
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Whether to insert ``BatchNorm1d`` before each activation.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MLPTrunk
    >>> trunk = MLPTrunk(4, hidden_dims=(8, 3), dropout=0.1)
    >>> trunk.out_features, trunk(torch.zeros(5, 4)).shape
    (3, torch.Size([5, 3]))
    """

    def __init__(
        self,
        in_features: int,
        hidden_dims: Sequence[int] = (100,),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.layers, self.out_features = mlp_layers(
            in_features, hidden_dims, activation, dropout,
            linear=lambda i, width, dim: nn.Linear(width, dim),
            norm=nn.BatchNorm1d if batch_norm else None,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


def mlp_layers(
    in_features: int,
    hidden_dims: Sequence[int],
    activation: str | type[nn.Module],
    dropout: float,
    linear: Callable[[int, int, int], nn.Module],
    norm: Callable[[int], nn.Module] | None = None,
) -> tuple[nn.Sequential, int]:
    """``Linear -> [norm] -> activation -> [Dropout]`` blocks and their output width.

    ``linear(i, width, dim)`` makes the ``i``-th layer from ``width`` to ``dim`` features
    (a plain ``nn.Linear``, or an ensemble's layer); ``norm(dim)``, when given, the
    normalisation after it.
    """
    layers: list[nn.Module] = []
    width = in_features
    for i, dim in enumerate(hidden_dims):
        layers.append(linear(i, width, dim))
        if norm is not None:
            layers.append(norm(dim))
        layers.append(make_activation(activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = dim
    return nn.Sequential(*layers), width


def infer_out_features(trunk: nn.Module, in_features: int) -> int:
    """Width of ``trunk``'s output, read from a dry run on 2 rows (which also checks that the
    trunk accepts ``in_features`` inputs before any training starts)."""
    was_training = trunk.training
    trunk.eval()
    try:
        param = next(trunk.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        with torch.no_grad():
            out = trunk(torch.zeros(2, in_features, device=device))
    except Exception as exc:
        raise ValueError(
            f"The custom trunk {type(trunk).__name__} failed on an input of shape "
            f"(2, {in_features}): {exc}"
        ) from exc
    finally:
        trunk.train(was_training)
    outs = list(out.values()) if isinstance(out, dict) else [out]
    matrices = [o for o in outs if isinstance(o, Tensor) and o.ndim == 2]
    widths = {o.shape[1] for o in matrices}
    if not outs or len(matrices) != len(outs) or len(widths) != 1:
        raise ValueError(
            f"The custom trunk {type(trunk).__name__} must map (n, {in_features}) to a 2-D "
            "tensor (n, width), or to a dict of such tensors of one width; it returned "
            f"{getattr(out, 'shape', type(out))}."
        )
    return int(widths.pop())
