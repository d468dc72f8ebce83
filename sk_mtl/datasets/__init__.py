"""Loaders for real multi-task data sets read from a local data folder."""

from . import _base
from ._base import *  # noqa: F403

__all__ = list(_base.__all__)
