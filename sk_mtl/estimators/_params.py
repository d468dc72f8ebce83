"""The estimators' parameters, declared once: defaults and constraints as tables.

:data:`SHARED` holds every parameter all six estimators take, with its default;
:data:`TABLE` and :data:`FUSION` add the one-table and the multimodal estimators' own and
override the defaults that differ. :func:`declare_init` writes an estimator's ``__init__``
from such a table (a plain keyword-only signature, as scikit-learn requires, that stores
each argument unchanged). :data:`CONSTRAINTS` maps the shared parameters whose value alone
can be checked to that check; :func:`check_params` runs them, the MLP's checks and the
estimator input's own (the family's parameters) at the start of every fit, before anything
is converted or trained. Parameters whose check needs the data (``tasks``,
``task_weights``, ``auxiliary_tasks``, ``stratify``, ``weighting``, ``retrieval``) are
checked where they are resolved, still before training.

A new shared parameter is one line in :data:`SHARED`, one constraint and one docstring
entry; a parameter of one family is checked in its input's ``check_params``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from torch import nn

from ..data import check_class_weight
from ..modules import ACTIVATIONS
from ..trunks import TrunkSpec, make_trunk
from ._builder import hidden_dims, optimizer_class, torch_device
from ._training import LR_SCHEDULES

__all__ = ["CONSTRAINTS", "FUSION", "ON_DIVERGENCE", "SHARED", "TABLE", "check_params",
           "declare_init"]

#: The parameters of every estimator, with the one-table estimators' defaults.
SHARED = {
    "tasks": None,
    "task_weights": None,
    "class_weight": None,
    "auxiliary_tasks": None,
    "weighting": "static",
    "hidden_dims": (128, 128),
    "activation": "relu",
    "dropout": 0.1,
    "batch_norm": False,
    "trunk": None,
    "lambda_l1": 0.0,
    "lambda_l2": 0.0,
    "optimizer": "adamw",
    "lr": 2e-3,
    "optimizer_params": None,
    "lr_schedule": "cosine",
    "max_epochs": 100,
    "batch_size": "auto",
    "validation_fraction": 0.1,
    "stratify": None,
    "early_stopping": "auto",
    "n_iter_no_change": 10,
    "tol": 1e-4,
    "refit_full": False,
    "ema_decay": None,
    "callbacks": None,
    "verbose": 0,
    "progress_bar": "auto",
    "random_state": None,
    "device": "cpu",
    "n_threads": 1,
    "warm_start": False,
    "on_divergence": "raise",
    "retrieval": "auto",
}

#: ``MultiTaskNet*``: the shared parameters and the table's own.
TABLE = {
    **SHARED,
    "hidden_dims": "auto",
    "dropout": "auto",
    "input_scaling": "auto",
    "ensemble_size": "auto",
    "cross_fit": False,
    "numeric_embedding": None,
    "front_scale": 6.0,
    "ema_decay": 0.995,
    "optimizer_params": "auto",
}

#: ``FusionNet*``: the shared parameters with the defaults that differ where text makes a
#: network overfit within a few epochs, then the modalities' own: dropout 0.5 (trunk and
#: encoders), early stopping with patience 3 on the 10% validation split, batches of 256,
#: 50 epochs, then the network trained again on all rows for the epochs early stopping chose
#: (measured on the clothing reviews in benchmarks/bench_fusion_clothing.py).
FUSION = {
    **SHARED,
    "hidden_dims": (100,),
    "dropout": 0.5,
    "optimizer": "adam",
    "lr": 1e-3,
    "lr_schedule": None,
    "max_epochs": 50,
    "batch_size": 256,
    "early_stopping": True,
    "n_iter_no_change": 3,
    "refit_full": True,
    "n_threads": None,
    "modalities": None,
    "encoders": None,
    "fusion": "concat",
    "fusion_weights": None,
    "learn_fusion_weights": False,
    "fusion_conditioning": None,
    "encoder_dim": 64,
    "fusion_dim": 64,
    "modality_dropout": 0.0,
    "text_max_features": 50_000,
    "text_ngram_range": (1, 2),
    "text_min_df": 2,
    "text_max_len": 200,
    "alignment_weight": 0.0,
}


def declare_init(defaults: dict):
    """An ``__init__(self, *, name=default, ...)`` for the parameters of ``defaults`` that
    stores each argument as the attribute of its name, unchanged (scikit-learn's rule).

    Written as source and compiled, as :mod:`dataclasses` does, so that the signature is a
    real one: ``inspect.signature``, ``help`` and scikit-learn's ``get_params`` read it.
    """
    names = list(defaults)
    args = ", ".join(f"{n}=_defaults[{n!r}]" for n in names)
    body = "".join(f"    self.{n} = {n}\n" for n in names)
    namespace = {"_defaults": dict(defaults), "__name__": __name__}
    exec(f"def __init__(self, *, {args}):\n{body}", namespace)
    init = namespace["__init__"]
    init.__doc__ = "Store the parameters; see the class docstring."
    return init

#: What ``on_divergence=`` may ask for when the training loss or weights stop being finite.
ON_DIVERGENCE = ("raise", "restore")


def positive_int(*allow):
    """An integer >= 1 (``bool`` is not one), or one of ``allow``."""
    def check(name, value):
        if value in allow:
            return
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return check


def non_negative(name, value):
    """A finite real number >= 0."""
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")


def positive_real(name, value):
    """A finite real number > 0."""
    if not (isinstance(value, numbers.Real) and value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")


def one_of(*choices, words: str | None = None, strict: bool = False):
    """One of ``choices``, compared by equality (``strict``: of the choice's type too, so
    that ``1`` is not ``True``)."""
    def check(name, value):
        if strict:  # a str subclass (numpy's, from a grid) is a str; 1 is not True
            ok = any(isinstance(value, type(c)) and value == c for c in choices)
        else:
            try:
                ok = bool(value in choices)
            except (TypeError, ValueError):  # e.g. an array, whose == is elementwise
                ok = False
        if not ok:
            listed = words or f"one of {list(choices)}"
            raise ValueError(f"{name} must be {listed}, got {value!r}.")
    return check


def name_in(table: dict):
    """A key of ``table``."""
    def check(name, value):
        if not isinstance(value, (str, type(None))) or value not in table:
            raise ValueError(
                f"{name}={value!r} is not known; use one of {sorted(table, key=str)}."
            )
    return check


def fraction_or_none(name, value):
    """``None`` or a number in [0, 1)."""
    if value is not None and not (isinstance(value, numbers.Real) and 0 <= value < 1):
        raise ValueError(f"{name} must be None or in [0, 1), got {value!r}.")


def decay_or_none(name, value):
    """``None`` or a real number in [0, 1) (not a bool)."""
    if value is None:
        return
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0 <= value < 1):
        raise ValueError(f"{name} must be None or a number in [0, 1), got {value!r}.")


def dict_auto_or_none(name, value):
    """``None``, ``"auto"`` or a dict of keyword arguments (names as strings)."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            f"{name} must be None, 'auto' or a dict of the optimizer's keyword arguments, "
            f"got {value!r}."
        )


def trunk_spec(name, value):
    """``None`` (then :func:`check_params` checks the MLP's ``hidden_dims``, ``activation``
    and ``dropout``), a name in ``TRUNKS``, a ``TrunkSpec``, a module or a callable."""
    if isinstance(value, str):
        make_trunk(value)
    elif value is not None and not isinstance(value, (TrunkSpec, nn.Module)) and not callable(
        value
    ):
        raise TypeError(
            "trunk must be None, a name in sk_mtl.trunks.TRUNKS, a TrunkSpec, an nn.Module, "
            f"or a callable n_features -> nn.Module; got {type(value).__name__}."
        )


def _called(fn):
    """A check that calls ``fn(value)``, which raises with its own message."""
    return lambda name, value: fn(value)


#: The shared parameters' constraints, in the order they are checked.
CONSTRAINTS = {
    "trunk": trunk_spec,
    "class_weight": _called(check_class_weight),
    "progress_bar": one_of(True, False, "auto", words="True, False or 'auto'", strict=True),
    "lambda_l1": non_negative,
    "lambda_l2": non_negative,
    "lr": positive_real,
    "max_epochs": positive_int(),
    "batch_size": positive_int(-1, "auto"),
    "n_threads": positive_int(None),
    "lr_schedule": name_in(LR_SCHEDULES),
    "early_stopping": one_of(True, False, "auto", words="True, False or 'auto'"),
    "n_iter_no_change": positive_int(),
    "tol": non_negative,
    "validation_fraction": fraction_or_none,
    "warm_start": one_of(True, False, words="True or False"),
    "refit_full": one_of(True, False, words="True or False"),
    "ema_decay": decay_or_none,
    "on_divergence": one_of(*ON_DIVERGENCE, strict=True),
    "optimizer": _called(optimizer_class),
    "optimizer_params": dict_auto_or_none,
    "device": _called(torch_device),
}


def check_params(est) -> None:
    """Check the shared parameters of ``est`` in :data:`CONSTRAINTS`, the MLP's when it is
    the trunk, the rules between parameters, and the parameters of its input."""
    chooses = est._input.auto_dropouts is not None  # the one-table estimators
    auto = isinstance(est.dropout, str) and est.dropout == "auto"
    allowed = '[0, 1) or "auto"' if chooses else "[0, 1)"
    if auto and not chooses:  # whatever the trunk: FusionNet's encoders read it too
        raise ValueError(f"dropout must be in {allowed}, got {est.dropout!r}.")
    auto_dims = isinstance(est.hidden_dims, str)
    if auto_dims and (est.hidden_dims != "auto" or not chooses):
        raise ValueError(
            "hidden_dims must be a tuple of positive ints"
            + (' or "auto"' if chooses else "") + f", got {est.hidden_dims!r}."
        )
    if est.trunk is None and not auto_dims:
        check = positive_int()
        for d in hidden_dims(est.hidden_dims):
            check("each of hidden_dims", d)
    if est.trunk is None:
        if isinstance(est.activation, str) and est.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={est.activation!r} is not known; use one of "
                f"{sorted(ACTIVATIONS)} or an nn.Module class."
            )
        if not (isinstance(est.dropout, numbers.Real) and 0 <= est.dropout < 1) and not (
            chooses and auto
        ):
            raise ValueError(f"dropout must be in {allowed}, got {est.dropout!r}.")
    for name, check in CONSTRAINTS.items():
        check(name, getattr(est, name))
    if est.early_stopping is True and not est.validation_fraction:
        raise ValueError(
            "early_stopping=True needs a validation split: set validation_fraction > 0."
        )
    est._input.check_params(est)
