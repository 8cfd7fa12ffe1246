"""model.out_features that does not fit the classes the data has is refused when the data
is read, before the model is built (5 sigmoid outputs on 2 classes trained to AUC 0.19)."""

from __future__ import annotations

import pytest

from hepdl.errors import ConfigError
from hepdl.tasks.classify import ClassTargets


@pytest.mark.parametrize(
    ("classes", "loss", "model", "message"),
    [
        (
            ["qcd", "top"],
            "bce",
            {"out_features": 5},
            "model.out_features is 5, but model.output 'sigmoid' on the data's 2 classes needs 1; "
            "remove model.out_features (the task sets it)",
        ),
        (
            ["q", "g", "t"],
            "cce",
            {"out_features": 2},
            "model.out_features is 2, but model.output 'softmax' on the data's 3 classes needs 3; "
            "remove model.out_features (the task sets it)",
        ),
    ],
)
def test_width_against_classes(classes: list, loss: str, model: dict, message: str) -> None:
    coding = ClassTargets(class_names=classes, signal_class=1, loss=loss)
    with pytest.raises(ConfigError) as err:
        coding.head_options(model)
    assert str(err.value) == message


def test_matching_width_is_kept() -> None:
    coding = ClassTargets(class_names=["q", "g", "t"], signal_class=2, loss="cce")
    assert coding.head_options({"out_features": 3}) == {"output": "softmax"}
    assert coding.head_options({}) == {"output": "softmax", "out_features": 3}
