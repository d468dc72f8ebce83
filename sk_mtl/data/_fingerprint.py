"""Content keys for inputs: what caches of converted or looked-up rows are keyed by."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["fingerprint"]


def fingerprint(X) -> str | None:
    """A content key for ``X`` (arrays, sparse matrices, DataFrames, dicts of those), or
    None when it cannot be hashed cheaply; the same content gives the same key.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.data import fingerprint
    >>> fingerprint(np.ones((2, 3))) == fingerprint(np.ones((2, 3)))
    True
    >>> fingerprint(np.ones((2, 3))) == fingerprint(np.ones((3, 2)))
    False
    >>> fingerprint([1, 2]) is None
    True
    """
    digest = hashlib.blake2b(digest_size=16)

    def add(obj) -> bool:
        if isinstance(obj, Mapping) and not sp.issparse(obj):
            for key in sorted(obj, key=str):
                digest.update(repr(key).encode())
                if not add(obj[key]):
                    return False
            return True
        if sp.issparse(obj):
            obj = sp.csr_matrix(obj)
            digest.update(repr((obj.shape, obj.dtype.str)).encode())
            return all(add(part) for part in (obj.data, obj.indices, obj.indptr))
        if isinstance(obj, (pd.DataFrame, pd.Series)):
            names = obj.columns if isinstance(obj, pd.DataFrame) else [obj.name]
            digest.update(repr((obj.shape, list(map(str, names)),
                                [str(t) for t in np.atleast_1d(obj.dtypes)])).encode())
            try:
                hashed = pd.util.hash_pandas_object(obj, index=False).to_numpy()
            except TypeError:  # unhashable cells
                return False
            digest.update(hashed.tobytes())
            return True
        if isinstance(obj, np.ndarray):
            digest.update(repr((obj.shape, obj.dtype.str)).encode())
            if obj.dtype.kind == "O":
                try:
                    digest.update(pd.util.hash_array(obj.ravel()).tobytes())
                except TypeError:
                    return False
            else:
                digest.update(np.ascontiguousarray(obj).view(np.uint8))
            return True
        return False  # lists, tensors, other objects: no caching

    return digest.hexdigest() if add(X) else None
