"""Tasks: one kind of learning per module, each a LightningModule wrapping plain models.

A task owns what differs between kinds of learning (its config section, targets, model
head, loss, epoch metrics, prediction and evaluation); ``TaskBase`` holds what they share
(hepdl.tasks._base). The registry is the public face:

    list_tasks()                         -> ["classify", "regress"]
    task_config_class("regress")         -> the section class of ``task.kind: regress``
    create_task(config.task, model, ...) -> the task, ready for a Lightning Trainer

Modules: ``classify`` (labels; ROC, rejection), ``regress`` (target columns; response and
resolution), ``segment`` (per-pixel truth; IoU), the generative ``gan``, ``vae`` and
``flow`` (showers given the incident energy; CaloChallenge metrics, their shared parts in
``_generative``), each with its config section in ``classify_section``, ``regress_section``
(no torch: loading a config validates a section without importing Lightning); private:
``_base`` (shared plumbing), ``_registry``, ``_optim`` (optimisers, schedules; their
config checks in the torch-free ``schedule_options``),
``_epoch_metrics`` (classification's per-epoch physics metrics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hepdl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hepdl.tasks._base import TaskBase


def create_task(section: Any, model: Any, **derived: Any) -> TaskBase:
    """The task of ``section`` (an ``ExperimentConfig.task``) around ``model``; ``derived``
    are the options hepdl sets from the data (the signal class, the target scaling)."""
    from hepdl.tasks._registry import task_class

    cls = task_class(section.kind)
    return cls(model, **section.options(), **section.optimizer_options(), **derived)


# Each name is imported on first use: the registry and the sections import no torch, the
# task classes import Lightning, the schedule check torch.
__getattr__, __dir__, _exports = lazy_exports(
    __name__,
    {
        "hepdl.tasks._base": ["TaskBase"],
        "hepdl.tasks.schedule_options": ["check_schedule"],
        "hepdl.tasks._registry": ["list_tasks", "register_task", "task_class", "task_config_class"],
        "hepdl.tasks.classify": ["ClassificationTask"],
        "hepdl.tasks.classify_section": ["ClassifyConfig"],
        "hepdl.tasks.regress": ["RegressionTask"],
        "hepdl.tasks.regress_section": ["RegressConfig"],
        "hepdl.tasks.gan": ["GANTask"],
        "hepdl.tasks.gan_section": ["GanConfig"],
        "hepdl.tasks.vae": ["VAETask"],
        "hepdl.tasks.vae_section": ["VaeConfig"],
        "hepdl.tasks.flow": ["FlowTask"],
        "hepdl.tasks.flow_section": ["FlowConfig"],
    },
)
__all__ = sorted([*_exports, "create_task"])
