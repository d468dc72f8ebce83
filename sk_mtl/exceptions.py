"""Exceptions raised by sk_mtl.

Bad input raises the built-in :class:`ValueError` or :class:`TypeError` with a message that
names the task, modality or column at fault; the classes here refine those where a caller may
want to catch one case on its own.
"""

__all__ = [
    "DataDownloadError", "DataFileNotFoundError", "ExportError", "InferredKindWarning",
    "TrainingDivergedError",
]


class DataDownloadError(OSError):
    """A data file that :mod:`sk_mtl.datasets` was asked to fetch could not be downloaded.

    Raised when no public copy could be read (no network, an address that answers with an
    error) or when every copy read differs from the expected SHA-256. Nothing is written to
    the data folder then. The message lists each address tried with its reason and says how
    to put the file in place by hand.
    """


class DataFileNotFoundError(FileNotFoundError):
    """A data file used by :mod:`sk_mtl.datasets` is not where it was looked for.

    The message says which file it is, where it comes from and where to put it.
    """


class ExportError(ValueError):
    """A fitted model, or a part of it, that :func:`sk_mtl.onnx.to_onnx` cannot export.

    The message names the part (the estimator, a custom trunk, an opset) and what to do
    instead.
    """


class TrainingDivergedError(ValueError):
    """Training produced a non-finite loss or non-finite weights.

    Raised by ``fit`` (with ``on_divergence="raise"``, the default); the message gives the
    epoch, the task losses at fault and what to change. The estimator is left as it was
    before the fit.
    """


class InferredKindWarning(UserWarning):
    """A task kind inferred from ``y`` that may not be the one meant.

    Warned by ``fit`` of ``MultiTaskNet`` and ``FusionNet`` when a task left out of
    ``tasks=`` holds integers of many levels (a score such as wine quality 3-9, or a count)
    and was read as classes. Declaring the task's kind in ``tasks=`` (``"regression"`` or
    ``"multiclass"``) silences it.
    """
