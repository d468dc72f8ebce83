"""Data-parallel training of one network over the processes of a ``torch.distributed``
group: a thin adapter on the network builder, not skorch's ``AccelerateMixin``.

A fit is data-parallel when torch's default process group is initialized with more than one
process (a script launched by ``torchrun`` that called
``torch.distributed.init_process_group``). Every process builds the same network from the
same seed (rank 0's, broadcast) and trains it wrapped in torch's
``DistributedDataParallel`` (DDP): each process computes the gradient of its share of every
global batch and DDP averages the gradients (all-reduce) before the identical optimizer
steps. The pieces:

- :class:`DataParallel`: the group seen from one process (rank, size, backend) and the few
  collectives the fit needs besides DDP's own: the seed, the check that every process
  trains the same setup, each task's labelled-row count per batch, the epoch's sums;
- :class:`TrainingGraph`: the module and the loss module (whose learnable weighting
  parameters, if any, are averaged too), the unit DDP wraps.

Why not skorch's ``AccelerateMixin``: its training step back-propagates one loss through
``accelerator.backward`` and shards a ``DataLoader`` (per-row ``__getitem__`` and collate),
while sk_mtl's step back-propagates through the weighting seam on whole-tensor batches; and
skorch's own documentation warns that each process then keeps its own history, so that
early stopping can stop one process and not another unless a ``DistributedHistory`` with
a ``TCPStore`` is set up. Here the epoch's losses are all-reduced before they reach the
history, so every callback reads the same numbers in every process; and nothing beyond
torch is needed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import torch
from torch import Tensor, nn

__all__ = ["DataParallel", "TrainingGraph", "current_group"]


class TrainingGraph(nn.Module):
    """The network and its loss module as one module, for DDP to wrap: a weighting's
    learnable parameters (held by the loss module) are averaged with the network's."""

    def __init__(self, module: nn.Module, criterion: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.criterion = criterion

    def forward(self, X, **kwargs):
        return self.module(X, **kwargs)


class DataParallel:
    """One process's view of the data-parallel group a fit trains over.

    Parameters
    ----------
    rank : int
        This process's rank in the default group.
    world_size : int
        Number of processes (at least 2).
    backend : str
        The group's backend (``"gloo"``, ``"nccl"``).
    """

    def __init__(self, rank: int, world_size: int, backend: str) -> None:
        self.rank = rank
        self.world_size = world_size
        self.backend = backend

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, world_size={self.world_size}, " \
               f"backend={self.backend!r})"

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the process that writes and reports."""
        return self.rank == 0

    def record(self) -> dict:
        """What the fitted estimator keeps (``data_parallel_``): plain values."""
        return {"rank": self.rank, "world_size": self.world_size, "backend": self.backend}

    def check_device(self, device: torch.device) -> None:
        """NCCL moves CUDA tensors only; gloo CPU (and CUDA) tensors."""
        if self.backend == "nccl" and device.type != "cuda":
            raise ValueError(
                f"The process group's backend is 'nccl', which works on CUDA tensors only, "
                f"but device={str(device)!r}. Use device=f\"cuda:{{local_rank}}\" with "
                "nccl, or init_process_group('gloo') for CPU training."
            )

    def _comm_device(self, device: torch.device) -> torch.device:
        return device if self.backend == "nccl" else torch.device("cpu")

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` in every process."""
        import torch.distributed as dist

        box = [int(value)]
        dist.broadcast_object_list(box, src=0)
        return int(box[0])

    def check_same(self, what: str, value) -> None:
        """Raise in every process when ``value`` (plain, comparable) differs between them:
        the processes must train the same setup on their shares of the same data."""
        import torch.distributed as dist

        values = [None] * self.world_size
        dist.all_gather_object(values, value)
        if any(v != values[0] for v in values[1:]):
            listing = "; ".join(f"rank {r}: {v}" for r, v in enumerate(values))
            raise ValueError(
                f"Data-parallel fit: the processes disagree on {what} ({listing}). Every "
                "process of the group must call fit with the same estimator parameters and "
                "the same data (each trains on its share of every batch)."
            )

    def sum(self, tensor: Tensor) -> Tensor:
        """The sum of ``tensor`` over the processes, bit-identical in every process (the
        all-reduce's result is broadcast from rank 0, so that decisions taken on it, such
        as early stopping's, cannot differ by a rounding)."""
        import torch.distributed as dist

        device = tensor.device
        out = tensor.detach().to(self._comm_device(device), copy=True)
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        dist.broadcast(out, src=0)
        return out.to(device)

    def wrap(self, module: nn.Module, criterion: nn.Module, device: torch.device):
        """``DistributedDataParallel`` over the network and its loss module (rank 0's
        weights are broadcast to the others as it starts)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" and device.index is not None else None
        return DistributedDataParallel(TrainingGraph(module, criterion), device_ids=ids)

    def scale_losses(self, losses: Mapping[str, Tensor], targets, size: int):
        """This process's task losses of a batch, rescaled so that their sum over the
        processes is ``world_size`` times the global batch's losses; and this process's
        weight of the batch in the epoch's means (``global rows / world_size``).

        A task's loss is the mean over its labelled rows (weighted, the denominator at
        least 1); process ``r`` holds ``c_r`` of the ``C`` labelled rows of the global
        batch, so its mean times ``world_size * max(c_r, 1) / max(C, 1)`` averages over the
        processes (as DDP averages their gradients) to the global mean. One all-reduce of
        the counts (and the rows) per batch."""
        names = list(losses)
        device = next(iter(losses.values())).device
        counts = torch.stack([
            *(_labelled(targets[n]) for n in names),
            torch.tensor(float(size), dtype=torch.float64, device=device),
        ])
        totals = self.sum(counts)
        scale = self.world_size * counts[:-1].clamp_min(1.0) / totals[:-1].clamp_min(1.0)
        scaled = {n: losses[n] * scale[j].to(losses[n].dtype) for j, n in enumerate(names)}
        return scaled, float(totals[-1]) / self.world_size


def _labelled(target) -> Tensor:
    """Labelled rows (weighted) of one task's batch ``(values, mask)``, as float64."""
    values, mask = target
    if mask is None:
        return torch.tensor(float(len(values)), dtype=torch.float64, device=values.device)
    return mask.sum().to(torch.float64)


def current_group() -> DataParallel | None:
    """The data-parallel group a fit in this process trains over, or ``None``.

    ``None`` when torch's default process group is not initialized or has one process.
    When a launcher started several processes (``WORLD_SIZE`` > 1 in the environment) but
    no group was initialized, warn: each process would train its own model.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        world_size = dist.get_world_size()
        if world_size > 1:
            return DataParallel(dist.get_rank(), world_size, str(dist.get_backend()))
        return None
    launched = os.environ.get("WORLD_SIZE", "1")
    if launched.isdigit() and int(launched) > 1:
        warnings.warn(
            f"This process was launched as one of WORLD_SIZE={launched} processes (e.g. by "
            "torchrun), but torch.distributed's process group is not initialized: each "
            "process trains its own model on all the data. Call "
            "torch.distributed.init_process_group() (backend 'gloo' on CPU, 'nccl' on "
            "GPUs) before fit to train one model data-parallel.",
            UserWarning,
            stacklevel=4,
        )
    return None
