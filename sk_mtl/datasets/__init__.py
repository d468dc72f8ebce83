"""Loaders for real multi-task data sets read from a local data folder."""

from ._base import (
    get_data_home,
    load_suite_table,
    load_wine_quality,
    load_womens_clothing_reviews,
    suite_names,
)

__all__ = [
    "get_data_home",
    "load_suite_table",
    "load_wine_quality",
    "load_womens_clothing_reviews",
    "suite_names",
]
