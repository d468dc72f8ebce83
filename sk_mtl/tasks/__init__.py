"""Task kinds: label encoding, head size, loss and output transform for each output.

Estimators never switch on a kind name: they look the name up in :data:`TASK_KINDS` once and
then ask the task object.
"""

from ._base import Task
from ._kinds import BinaryTask, MulticlassTask, MultilabelTask, RegressionTask
from ._registry import TASK_KINDS, as_label_array, infer_kind, make_task

__all__ = [
    "TASK_KINDS",
    "BinaryTask",
    "MulticlassTask",
    "MultilabelTask",
    "RegressionTask",
    "Task",
    "as_label_array",
    "infer_kind",
    "make_task",
]
