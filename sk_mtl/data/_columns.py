"""Columns by name: the one rule every estimator reads a DataFrame with.

A model fitted on a DataFrame reads a later DataFrame's columns by name, in any order, as
scikit-learn's ``ColumnTransformer`` does; a column it was fitted on that is missing, or one
it never saw, is an error that names them (``ColumnTransformer`` ignores extra columns; a
model given a column it never saw is more often a mistake, a renamed column or the target
left in ``X``, and scikit-learn's estimators refuse unseen names too).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["columns_by_name"]


def columns_by_name(X: pd.DataFrame, fitted: Sequence, owner: str) -> pd.DataFrame:
    """``X``'s columns in the ``fitted`` order, matched by name (``str`` of each label).

    ``owner`` names what reads them in the error ("X", "Modality 'tab'"): a fitted column
    missing from ``X``, a column of ``X`` not among ``fitted``, or a name ``X`` repeats
    raises a ``ValueError`` that names those columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_mtl.data._columns import columns_by_name
    >>> X = pd.DataFrame({"b": [2], "a": [1]})
    >>> list(columns_by_name(X, ["a", "b"], "X").columns)
    ['a', 'b']
    >>> columns_by_name(X, ["a", "c"], "X")
    Traceback (most recent call last):
    ...
    ValueError: X lacks column(s) ['c'] and has column(s) ['b'] not seen in fit; ...
    """
    given = [str(c) for c in X.columns]
    fitted = [str(c) for c in fitted]
    if given == fitted:
        return X
    repeated = sorted({c for c in given if given.count(c) > 1})
    if repeated:
        raise ValueError(
            f"{owner} repeats column name(s) {repeated[:10]}; columns are read by name, so "
            "each must be unique."
        )
    seen = set(fitted)
    missing = [c for c in fitted if c not in set(given)]
    unseen = [c for c in given if c not in seen]
    if missing or unseen:
        parts = []
        if missing:
            parts.append(f"lacks column(s) {missing[:10]}")
        if unseen:
            parts.append(f"has column(s) {unseen[:10]} not seen in fit")
        raise ValueError(
            f"{owner} {' and '.join(parts)}; columns are matched by name, in any order, "
            f"and must be those of the fit: {fitted[:20]}{' ...' if len(fitted) > 20 else ''}."
        )
    position = {c: j for j, c in enumerate(given)}
    return X.iloc[:, [position[c] for c in fitted]]
