"""``set_params`` beyond scikit-learn's: one entry of a dict parameter, a parameter of a
component given by name, a parameter of one entry of a dict of components.

- ``task_weights__<task>=w`` (and any name in ``_dict_params``) sets one entry of a dict
  parameter, storing a new dict so that clones never share one; ``optimizer_params="auto"``
  first becomes the dict it stands for (``{"betas": (0.9, 0.95)}`` for Adam);
- ``weighting__<param>`` (any name in ``_named_specs``) on a component given by name first
  replaces the name by the object it stands for;
- ``encoders__<modality>__<param>`` (any name in ``_spec_dicts``) sets a parameter of one
  entry's object, a copy made from its name if it is one.
"""

from __future__ import annotations

from ._builder import optimizer_arguments

__all__ = ["apply_entries", "split_params"]


def split_params(est, params: dict) -> tuple[dict, dict, dict]:
    """``params`` as scikit-learn's plain settings, dict entries (``name -> {key: value}``)
    and entries' parameters (``name -> {key__param: value}``)."""
    params = dict(params)
    for key in list(params):
        name, sep, _ = key.partition("__")
        if not (sep and name in est._named_specs):
            continue
        # "weighting__alpha" with weighting="gradnorm" (set now or before): the name
        # becomes the object it stands for, whose parameter is then set.
        make = est._named_specs[name]
        if isinstance(params.get(name), str):
            params[name] = make(params[name])
        elif name not in params and isinstance(getattr(est, name), str):
            setattr(est, name, make(getattr(est, name)))
    plain, updates, nested = {}, {}, {}
    for key, value in params.items():
        name, sep, sub = key.partition("__")
        if sep and name in est._spec_dicts and "__" in sub:
            nested.setdefault(name, {})[sub] = value
        elif sep and name in est._dict_params:
            updates.setdefault(name, {})[sub] = value
        else:
            plain[key] = value
    return plain, updates, nested


def apply_entries(est, updates: dict, nested: dict) -> None:
    """Set the dict entries and the entries' parameters that :func:`split_params` found."""
    for name, entries in updates.items():
        current = getattr(est, name)
        if name == "optimizer_params" and isinstance(current, str):
            # "auto": the arguments it stands for with the optimizer set now.
            current = optimizer_arguments(est.optimizer, current)
        if isinstance(current, str):
            raise ValueError(
                f"Cannot set {name}__{next(iter(entries))}: {name}={current!r} is a rule "
                f"for every task; set {name} to a dict (e.g. {name}={{}}) first, or in the "
                "same call."
            )
        setattr(est, name, {**(current or {}), **entries})
    for name, entries in nested.items():
        # "encoders__text__max_features": a copy of that entry's object (made from its
        # name if it is one), with the parameter set.
        merged = dict(getattr(est, name) or {})
        for sub, value in entries.items():
            key, _, param = sub.partition("__")
            if key not in merged:
                raise ValueError(
                    f"Cannot set {name}__{sub}: {name} has no entry {key!r}; set "
                    f"{name}__{key} to a name or an object first (or in the same call)."
                )
            spec = est._spec_dicts[name](merged[key], key)
            merged[key] = spec.set_params(**{param: value})
        setattr(est, name, merged)
