"""One factory for the pluggable parts named in a table: tasks, weightings, trunks, fusions,
encoders and activations.

Each part has a table from names to classes (:data:`sk_mtl.tasks.TASK_KINDS`,
:data:`sk_mtl.weighting.WEIGHTINGS`, ...) and a ``make_*`` function built on
:func:`make_component`: a name builds the table's class with its defaults, an object of the
part's base class is cloned, anything else is turned away with the same words everywhere.

This module sits below every layer (pure torch included), so it imports only the standard
library; scikit-learn's ``clone`` is imported when an object is cloned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["make_component", "unknown_name"]


def _either(first: str, others: Sequence[str]) -> str:
    """``first`` and ``others`` as one English alternative: ``"a, b or c"``."""
    items = [first, *others]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def unknown_name(param: str, name: str, table: Mapping[str, Any],
                 others: Sequence[str] = ()) -> ValueError:
    """The error for a name missing from ``table``, naming ``param`` and the known names.

    Examples
    --------
    >>> from sk_mtl._registry import unknown_name
    >>> unknown_name("fusion", "sum", {"concat": None, "late": None}, ["a Fusion"])
    ValueError("fusion='sum' is not known; use one of ['concat', 'late'] or a Fusion.")
    """
    return ValueError(
        f"{param}={name!r} is not known; use {_either(f'one of {sorted(table)}', others)}."
    )


def make_component(spec: Any, table: Mapping[str, Callable[[], Any]], *, param: str,
                   base: type | None = None, others: Sequence[str] = (),
                   convert: Callable[[Any], Any] | None = None, noun: str = "name",
                   describe: Callable[[Any], str] = lambda spec: type(spec).__name__) -> Any:
    """A fresh component from ``spec``: a name in ``table``, an object of ``base`` or what
    ``convert`` accepts.

    Parameters
    ----------
    spec : str or object
        A name builds ``table[name]()``; an instance of ``base`` is cloned with
        ``sklearn.base.clone`` (a fresh, unfitted copy with the same parameters).
    table : mapping of str to callable
        The names accepted and what each builds.
    param : str
        How messages name the parameter (``"weighting"``, ``"tasks['color']"``).
    base : type, default=None
        Class whose instances are cloned; ``None``: none are.
    others : sequence of str, default=()
        The other accepted forms as messages word them (``"an nn.Module"``).
    convert : callable, default=None
        Tried on a ``spec`` that is neither a name nor a ``base``: returns the component, or
        ``None`` when it does not accept ``spec`` either.
    noun : str, default="name"
        What the names in ``table`` are called in the ``TypeError`` (``"kind name"``).
    describe : callable, default=the name of ``spec``'s type
        How the ``TypeError`` shows a ``spec`` it turns away (``repr`` where the type's name
        alone would mislead, as for an instance given where a class is wanted).

    Raises
    ------
    ValueError
        For a name missing from ``table``; the message lists the known names.
    TypeError
        For anything else not accepted; the message says what is.

    Examples
    --------
    >>> from sk_mtl._registry import make_component
    >>> table = {"list": list, "dict": dict}
    >>> make_component("dict", table, param="container")
    {}
    >>> make_component("set", table, param="container", others=["a tuple"])
    Traceback (most recent call last):
    ...
    ValueError: container='set' is not known; use one of ['dict', 'list'] or a tuple.
    >>> make_component(3, table, param="container", others=["a tuple"])
    Traceback (most recent call last):
    ...
    TypeError: container must be a name in ['dict', 'list'] or a tuple, got int.
    """
    if isinstance(spec, str):
        try:
            return table[spec]()
        except KeyError:
            raise unknown_name(param, spec, table, others) from None
    if base is not None and isinstance(spec, base):
        from sklearn.base import clone

        return clone(spec)
    if convert is not None:
        made = convert(spec)
        if made is not None:
            return made
    raise TypeError(
        f"{param} must be {_either(f'a {noun} in {sorted(table)}', others)}, "
        f"got {describe(spec)}."
    )
