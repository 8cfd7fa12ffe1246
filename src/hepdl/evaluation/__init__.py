"""``hepdl evaluate``: a finished run judged on other files, saying what it judged.

It sits above ``train`` (cli -> evaluation -> train's public loading functions and
tasks): it loads a run (``hepdl.train.artifacts``, ``hepdl.train.classical``), reads the
files with the run's saved representation (``hepdl.train.inputs``), predicts
(``hepdl.train.predict``) and lets the run's task write the judgement. It warns when the
rows are ones the run was trained or validated on (``hepdl.train.row_identity``), and on
a file without labels writes the predictions and says that metrics need labels.
"""

from __future__ import annotations

__all__ = ["Evaluation", "evaluate_run"]


def __getattr__(name: str):  # lazy: importing hepdl.evaluation must not import torch
    if name in __all__:
        from hepdl.evaluation import evaluate

        return getattr(evaluate, name)
    raise AttributeError(name)
