"""The version of sk_mtl.

A module of its own, at the bottom of the package: :mod:`sk_mtl.persistence` writes the
version into every model file and imports it from here, not from the package ``__init__``
(which imports persistence). Keep it equal to ``version`` in ``pyproject.toml``.
"""

__version__ = "0.1.0.dev0"
