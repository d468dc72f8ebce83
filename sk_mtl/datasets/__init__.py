"""Loaders for real multi-task data sets read from a local data folder."""

from ._base import get_data_home, load_wine_quality, load_womens_clothing_reviews

__all__ = [
    "get_data_home",
    "load_wine_quality",
    "load_womens_clothing_reviews",
]
