"""The task registry: one kind of learning per module, registered by name.

A task module registers its ``TaskBase`` subclass with ``@register_task("<kind>")``; the
class carries its config section (``Config``), so ``ExperimentConfig.task`` is validated
against the section of the kind a config names.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from hepdl._registry import Registry

TASKS: Registry[Any] = Registry("task")

# One kind of learning per module; importing a module registers its task.
_TASK_MODULES = (
    "hepdl.tasks.classify",
    "hepdl.tasks.regress",
)


def register_task(kind: str) -> Callable[[type], type]:
    """Class decorator: register a ``TaskBase`` subclass as ``task.kind: <kind>``."""

    def decorator(cls: type) -> type:
        cls.kind = kind
        TASKS.register(kind)(cls)
        return cls

    return decorator


def load_all() -> None:
    for module in _TASK_MODULES:
        import_module(module)


def list_tasks() -> list[str]:
    """The registered task kinds, sorted."""
    load_all()
    return TASKS.names()


def task_class(kind: str) -> type:
    """The task class of ``kind``; ConfigError with the closest kind for an unknown one."""
    load_all()
    return TASKS.factory(kind)


def task_config_class(kind: str) -> type:
    """The config section (a ``hepdl.config.TaskSection``) of task kind ``kind``."""
    return task_class(kind).Config
