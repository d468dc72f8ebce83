"""The network builder: an estimator's torch module and skorch net, untrained.

:func:`build_network` is the one way the package builds a network for an estimator: ``fit``
and ``partial_fit`` call it before training, and :func:`sk_mtl.load` calls it to rebuild a
saved model before copying the weights in (:func:`build_module` alone on the meta device
checks a file's weights before anything is allocated). The estimator's input
(``_input``: :class:`~sk_mtl.estimators._inputs.TableInput` or
:class:`~sk_mtl.estimators._modality_input.ModalityInput`) builds the part that reads ``X``
(trunk, or encoders and fusion); this module adds the weight conditioning, the loss and
the skorch net with its callbacks.
"""

from __future__ import annotations

import copy
import numbers

import torch
from torch import nn

from ..data import TensorData
from ..modules import ConditionedTrunk, MLPTrunk, MultiTaskModule, infer_out_features
from ..trunks import TrunkSpec, make_trunk
from ..weighting import GradientWeighting
from ._net import MultiTaskCriterion, MultiTaskSkorchNet
from ._training import LR_SCHEDULES, EpochProgressBar, ResumableEarlyStopping

__all__ = ["OPTIMIZERS", "build_module", "build_network", "dropout_rate", "network_dims",
           "optimizer_class", "torch_device"]

#: Names accepted by ``optimizer=``; a torch optimizer class works too.
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


#: ``optimizer_params="auto"`` (the ``MultiTaskNet*`` default): Adam's and AdamW's decay of
#: the second-moment estimate at 0.95 instead of torch's 0.999 (RealMLP's, Holzmüller et
#: al., NeurIPS 2024), chosen on the 20-table suite (``docs/defaults.md``).
AUTO_ADAM_BETAS = (0.9, 0.95)


def optimizer_arguments(optimizer, params) -> dict:
    """The keyword arguments the optimizer is built with: ``params`` as given (``None``:
    none), or for ``"auto"`` Adam's and AdamW's ``betas`` at :data:`AUTO_ADAM_BETAS` and
    nothing for other optimizers.

    Examples
    --------
    >>> optimizer_arguments("adamw", "auto"), optimizer_arguments("sgd", "auto")
    ({'betas': (0.9, 0.95)}, {})
    >>> optimizer_arguments("adamw", {"weight_decay": 0.0})
    {'weight_decay': 0.0}
    """
    if isinstance(params, str):  # "auto" (checked with the other parameters)
        adam = issubclass(optimizer_class(optimizer), (torch.optim.Adam, torch.optim.AdamW))
        return {"betas": AUTO_ADAM_BETAS} if adam else {}
    return dict(params or {})


def optimizer_class(opt) -> type[torch.optim.Optimizer]:
    """The optimizer class that ``optimizer=`` names (checked)."""
    if isinstance(opt, str):
        if opt not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={opt!r} is not known; use one of {sorted(OPTIMIZERS)} or a "
                "torch.optim.Optimizer class."
            )
        return OPTIMIZERS[opt]
    if isinstance(opt, type) and issubclass(opt, torch.optim.Optimizer):
        return opt
    raise TypeError(
        f"optimizer must be a name in {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
        f"class, got {opt!r}."
    )


def torch_device(spec) -> torch.device:
    """The torch device that ``device=`` names (checked; CUDA must be there)."""
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={spec!r} is not a torch device: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={spec!r} was asked for but CUDA is not available.")
    return device


def hidden_dims(dims) -> tuple:
    """``hidden_dims=`` as a tuple (an int is one layer)."""
    if isinstance(dims, numbers.Integral):
        return (dims,)
    try:
        return tuple(dims)
    except TypeError:
        raise TypeError(f"hidden_dims must be a tuple of positive ints, got {dims!r}.") from None


def dropout_rate(est) -> float:
    """The dropout rate the network is built with: ``dropout_``, the rate the fit chose
    (``dropout="auto"`` trains with several), else ``dropout`` itself."""
    rate = getattr(est, "dropout_", None)
    return float(est.dropout if rate is None else rate)


def network_dims(est) -> tuple[int, ...]:
    """The hidden widths the network is built with: ``hidden_dims_``, the widths the fit
    resolved (``hidden_dims="auto"`` follows the rows), else ``hidden_dims`` itself."""
    dims = getattr(est, "hidden_dims_", None)
    return tuple(int(d) for d in hidden_dims(est.hidden_dims if dims is None else dims))


def trunk_module(est, n_features: int, task_names: list[str]) -> tuple[nn.Module, int]:
    """The shared trunk that ``est.trunk`` asks for over ``n_features`` inputs, and its
    output width: the MLP of ``hidden_dims`` for ``None``."""
    spec = est.trunk
    if spec is None:
        trunk = MLPTrunk(n_features, network_dims(est), est.activation, dropout_rate(est),
                         est.batch_norm)
    elif isinstance(spec, (str, TrunkSpec)):
        trunk = make_trunk(spec).build(n_features, task_names)
    elif isinstance(spec, nn.Module):
        trunk = copy.deepcopy(spec)
    else:
        trunk = spec(n_features)
        if not isinstance(trunk, nn.Module):
            raise TypeError(
                f"trunk({n_features}) must return an nn.Module, got {type(trunk).__name__}."
            )
    return trunk, infer_out_features(trunk, n_features)


def build_module(est, tasks, weighting) -> nn.Module:
    """The untrained torch module of the fitted (or being fitted) ``est`` for ``tasks``;
    its trunk reads the task weights when ``weighting`` is a weight conditioning."""
    if not getattr(weighting, "conditions", False):
        return est._input.build_module(est, tasks)
    n_conditions = len(tasks) if weighting.conditioning == "input" else 0
    module = est._input.build_module(est, tasks, n_conditions)
    width = module.head.in_features if isinstance(module, MultiTaskModule) else (
        module.trunk.out_features
    )
    module.trunk = ConditionedTrunk(module.trunk, width, len(tasks), weighting.conditioning,
                                    weighting.layers)
    return module


def build_network(est, tasks, weighting, *, seed: int, device: torch.device,
                  valid: TensorData | None = None, early_stopping: bool = False,
                  schedule: bool = True, n_train: int | None = None,
                  parallel=None) -> MultiTaskSkorchNet:
    """The initialized, untrained skorch net of ``est`` for ``tasks`` (``weighting`` bound
    to them). Call it under the fit's seeded random state: the weights it draws depend on
    it. ``valid`` is the validation split; ``n_train`` rows are checked against BatchNorm
    layers; ``schedule=False`` leaves out the learning-rate schedule (``partial_fit``);
    ``parallel`` is the data-parallel group of the fit (only rank 0 prints its epochs)."""
    module = build_module(est, tasks, weighting)
    if n_train is not None:
        _check_batch_norm(module, n_train, est.batch_size_)
    if isinstance(weighting, GradientWeighting) and not any(
        p.requires_grad for p in module.trunk.parameters()
    ):
        raise ValueError(
            f"weighting={est.weighting!r} aggregates the tasks' gradients on the shared "
            "trunk, but this trunk has no trainable parameters (e.g. hidden_dims=()); "
            "use a trunk with layers or a loss-level weighting."
        )
    criterion = MultiTaskCriterion(
        {n: t.make_loss() for n, t in tasks.items()}, weighting.make_module()
    )
    optimizer_kwargs = {
        f"optimizer__{k}": v
        for k, v in optimizer_arguments(est.optimizer, est.optimizer_params).items()
    }
    net = MultiTaskSkorchNet(
        module=module,
        criterion=criterion,
        optimizer=optimizer_class(est.optimizer),
        lr=est.lr,
        max_epochs=est.max_epochs,
        batch_size=est.batch_size_,
        train_split=fixed_split(valid),
        callbacks=_callbacks(est, early_stopping, schedule,
                             bool(est.verbose) and (parallel is None or parallel.is_main))
        or None,
        verbose=int(est.verbose) if parallel is None or parallel.is_main else 0,
        device=str(device),
        weighting=weighting,
        lambda_l1=float(est.lambda_l1),
        lambda_l2=float(est.lambda_l2),
        shuffle_seed=seed,
        on_divergence=est.on_divergence,
        ema_decay=None if est.ema_decay is None else float(est.ema_decay),
        **est._input.net_options(est, weighting),
        **optimizer_kwargs,
    )
    return net.initialize()


def _callbacks(est, early_stopping: bool, schedule: bool, verbose: bool) -> list:
    callbacks = list(copy.deepcopy(est.callbacks) or [])
    if schedule and LR_SCHEDULES[est.lr_schedule] is not None:
        callbacks.append(("lr_schedule", LR_SCHEDULES[est.lr_schedule](est.max_epochs)))
    # Always there, drawing only when the call that trains says so (progress_delay_);
    # before early stopping, which ends the fit from its own on_epoch_end.
    callbacks.append(("progress_bar", EpochProgressBar(delay=None, desc=type(est).__name__)))
    if early_stopping:
        callbacks.append(
            ("early_stopping", ResumableEarlyStopping(
                monitor="valid_loss",
                patience=est.n_iter_no_change,
                threshold=est.tol,
                threshold_mode="rel",
                load_best=True,
                sink=print if verbose else _silent,
            ))
        )
    return callbacks


def _check_batch_norm(module: nn.Module, n_train: int, batch_size: int) -> None:
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()):
        return
    if n_train < 2 or batch_size == 1:
        raise ValueError(
            "The network has BatchNorm layers (batch_norm=True, or an encoder with them), "
            "which need at least 2 rows per training batch; "
            + (f"there are {n_train} training row(s)" if n_train < 2 else "batch_size=1")
            + ". Use more rows, a larger batch_size, or batch_norm=False."
        )


def _silent(*args, **kwargs) -> None:
    pass


class _FixedSplit:
    """skorch ``train_split`` that returns a validation set made beforehand (or none)."""

    def __init__(self, valid: TensorData | None) -> None:
        self.valid = valid

    def __call__(self, dataset, y=None, **fit_params):
        return dataset, self.valid


def fixed_split(valid: TensorData | None) -> _FixedSplit | None:
    """skorch's ``train_split`` for a validation set made beforehand (``None``: none)."""
    return None if valid is None else _FixedSplit(valid)
