"""Serving: a fitted estimator or pipeline as one ONNX graph (needs the ``onnx`` extra).

:func:`to_onnx` exports the whole fitted model (scikit-learn steps through skl2onnx, the
network through torch's exporter) and :func:`check` runs the file in onnxruntime against the
model's own predictions. See the user guide's "Serving" page.
"""

from ..exceptions import ExportError
from ._convert import check, register, to_onnx

__all__ = ["ExportError", "check", "register", "to_onnx"]
