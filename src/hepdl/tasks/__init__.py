"""Tasks: LightningModules that wrap a plain model with its loss, metrics and optimiser."""

from __future__ import annotations

from hepdl.tasks.classify import ClassificationTask

__all__ = ["ClassificationTask"]
