"""Training: turn a config into data, model and task, run Lightning, write the run directory."""

from __future__ import annotations

__all__ = ["evaluate_run", "train_experiment"]


def __getattr__(name: str):  # lazy: importing hepdl.train must not import torch
    if name == "train_experiment":
        from hepdl.train.run import train_experiment

        return train_experiment
    if name == "evaluate_run":
        from hepdl.train.evaluate import evaluate_run

        return evaluate_run
    raise AttributeError(name)
