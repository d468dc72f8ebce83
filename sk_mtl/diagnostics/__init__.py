"""Diagnostics for multi-task networks: gradient conflict, benefit over single-task, plots.

- :class:`GradientCosine` is a skorch callback that records, every epoch, the cosine
  similarity between the tasks' loss gradients on the shared trunk (negative values mean the
  tasks pull the shared parameters in conflicting directions) and each gradient's norm.
- :func:`compare_single_task` cross-validates a multi-task estimator against one single-task
  copy of it per task, on the same splits, and reports the relative improvement per task and
  its mean ``delta_m``.
- :func:`plot_history` draws the per-task losses, task weights and gradient cosines of a
  fitted estimator's ``history_`` (needs matplotlib: ``pip install "sk_mtl[plot]"``).
"""


from ._compare import compare_single_task
from ._gradients import GradientCosine
from ._plots import plot_history

__all__ = ["GradientCosine", "compare_single_task", "plot_history"]
