"""The task registry: one kind of learning per module, registered by name.

A task module registers its ``TaskBase`` subclass with ``@register_task("<kind>")``; the
class carries its config section (``Config``), so ``ExperimentConfig.task`` is validated
against the section of the kind a config names. The section lives in a module of its own
that imports neither torch nor Lightning and registers it with
``@register_section("<kind>")``: loading a config reads the sections only
(``task_config_class``, ``list_tasks``), and ``task_class`` imports the task modules.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from hepdl.registry import Registry

TASKS: Registry[Any] = Registry("task")
SECTIONS: Registry[Any] = Registry("task")  # kind -> its TaskSection class

# One kind of learning per module, its config section beside it: (task, section) modules.
# Importing a module registers its task (its section).
_TASK_MODULES = {
    "classify": ("hepdl.tasks.classify", "hepdl.tasks.classify_section"),
    "regress": ("hepdl.tasks.regress", "hepdl.tasks.regress_section"),
    "segment": ("hepdl.tasks.segment", "hepdl.tasks.segment_section"),
    "gan": ("hepdl.tasks.gan", "hepdl.tasks.gan_section"),
    "vae": ("hepdl.tasks.vae", "hepdl.tasks.vae_section"),
    "flow": ("hepdl.tasks.flow", "hepdl.tasks.flow_section"),
}


def register_task(kind: str) -> Callable[[type], type]:
    """Class decorator: register a ``TaskBase`` subclass as ``task.kind: <kind>``."""

    def decorator(cls: type) -> type:
        cls.kind = kind
        TASKS.register(kind)(cls)
        return cls

    return decorator


def register_section(kind: str) -> Callable[[type], type]:
    """Class decorator: register the config section (a TaskSection) of ``task.kind: <kind>``."""
    return SECTIONS.register(kind)


def load_all() -> None:
    for task_module, _ in _TASK_MODULES.values():
        import_module(task_module)


def _load_sections() -> None:
    for _, section_module in _TASK_MODULES.values():
        import_module(section_module)


def list_tasks() -> list[str]:
    """The registered task kinds, sorted (from their sections: no torch imported)."""
    _load_sections()
    return SECTIONS.names()


def task_class(kind: str) -> type:
    """The task class of ``kind``; ConfigError with the closest kind for an unknown one."""
    load_all()
    return TASKS.factory(kind)


def task_config_class(kind: str) -> type:
    """The config section (a ``hepdl.config.TaskSection``) of task kind ``kind``, without
    importing its task; ConfigError with the closest kind for an unknown one."""
    _load_sections()
    return SECTIONS.factory(kind)
