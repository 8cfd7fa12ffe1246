"""Tasks: one kind of learning per module, each a LightningModule wrapping plain models.

A task owns what differs between kinds of learning (its config section, targets, model
head, loss, epoch metrics, prediction and evaluation); ``TaskBase`` holds what they share
(hepdl.tasks._base). The registry is the public face:

    list_tasks()                         -> ["classify", "regress"]
    task_config_class("regress")         -> the section class of ``task.kind: regress``
    create_task(config.task, model, ...) -> the task, ready for a Lightning Trainer

Modules: ``classify`` (labels; ROC, rejection), ``regress`` (target columns; response and
resolution); private: ``_base`` (shared plumbing), ``_registry``, ``_optim`` (optimisers,
schedules), ``_epoch_metrics`` (classification's per-epoch physics metrics).
"""

from __future__ import annotations

from typing import Any

from hepdl.tasks._base import TaskBase
from hepdl.tasks._optim import check_schedule
from hepdl.tasks._registry import list_tasks, register_task, task_class, task_config_class
from hepdl.tasks.classify import ClassificationTask, ClassifyConfig
from hepdl.tasks.regress import RegressConfig, RegressionTask


def create_task(section: Any, model: Any, **derived: Any) -> TaskBase:
    """The task of ``section`` (an ``ExperimentConfig.task``) around ``model``; ``derived``
    are the options hepdl sets from the data (the signal class, the target scaling)."""
    cls = task_class(section.kind)
    return cls(model, **section.options(), **section.optimizer_options(), **derived)


__all__ = [
    "ClassificationTask",
    "ClassifyConfig",
    "RegressConfig",
    "RegressionTask",
    "TaskBase",
    "check_schedule",
    "create_task",
    "list_tasks",
    "register_task",
    "task_class",
    "task_config_class",
]
