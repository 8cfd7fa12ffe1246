"""Training: turn a config into data, model and task, run Lightning, write the run directory."""

from __future__ import annotations

__all__ = ["train_experiment"]  # evaluating a finished run: hepdl.evaluation


def __getattr__(name: str):  # lazy: importing hepdl.train must not import torch
    if name == "train_experiment":
        from hepdl.train.run import train_experiment

        return train_experiment
    raise AttributeError(name)
