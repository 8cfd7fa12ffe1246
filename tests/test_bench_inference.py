"""benchmarks/bench_inference.py measures what it says: a smoke test on the MLP.

The exported MLP, eager against TorchScript and ONNX Runtime on 2 repeats of 2 small
batches: the outputs agree, the table's ratios are the per-repeat quotients' median and
range, a slow batch gets its own repeats of one call, a side that raises is reported and
left out, and ``--gpu`` without a CUDA device exits cleanly. (torch.compile is left out:
its first call alone takes tens of seconds.)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_inference as bench  # benchmarks/ is no package: its folder on sys.path

PARTICLES = 8


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    torch.set_num_threads(1)
    return bench.export("mlp", PARTICLES, tmp_path_factory.mktemp("mlp"))


def _sides(model):
    example = bench.batch_inputs(model.prep, 4, PARTICLES, seed=0)
    tensors = [torch.as_tensor(example[n]) for n in model.names]
    sides = bench.torch_sides(model, "cpu", tensors)
    sides.pop("compile")
    return {**sides, "onnxruntime": bench.onnx_side(model, "cpu")}


def _measure(model, sides, **options):
    settings = {"batches": [1, 5], "particles": PARTICLES, "repeats": 2}
    settings.update({"budget": 60.0} | options)
    return bench.measure("mlp", model, sides, **settings)


def test_export_writes_the_onnx_file_and_the_sides_agree(mlp):
    assert mlp.onnx_path.name == "model.onnx" and mlp.onnx_path.is_file()
    assert mlp.names == ["features"]
    arrays = bench.batch_inputs(mlp.prep, 3, PARTICLES, seed=1)
    assert arrays["features"].shape == (3, len(mlp.prep.feature_names))
    rows = _measure(mlp, _sides(mlp))
    assert [(r.batch, r.repeats) for r in rows] == [(1, 2), (5, 2)]
    for row in rows:
        assert sorted(row.seconds) == ["eager", "onnxruntime", "torchscript"]
        assert all(len(times) == 2 and min(times) > 0 for times in row.seconds.values())
        assert sorted(row.differences) == ["onnxruntime", "torchscript"]
        assert max(row.differences.values()) < 1e-5


def test_table_ratios_are_the_per_repeat_quotients(mlp):
    seconds = {"eager": [2.0, 4.0], "torchscript": [1.0, 3.0], "onnxruntime": [4.0, 4.0]}
    row = bench.Row("mlp", 100, 2, seconds, {})
    table = bench.tables([row], ("eager", "torchscript", "compile", "onnxruntime"))
    lines = table.splitlines()
    # torchscript: 1/2 and 3/4, median 0.625; onnxruntime 2 and 1, median 1.5
    assert lines[1].split() == [
        "mlp",
        "100",
        "2",
        "33",  # 100 jets / 3.0 s median
        "jets/s",
        "0.625",
        "[0.500-0.750]",
        "failed",
        "1.500",
        "[1.000-2.000]",
    ]
    median_us = statistics.median([1.0, 3.0]) / 100 * 1e6
    assert lines[-1].split() == ["mlp", "100", "30000", f"{median_us:.0f}", "failed", "40000"]
    assert bench.per_jet([3e-6, 1e-6, 2e-6], 100) == "0.02"


@pytest.mark.parametrize(("budget", "repeats"), [(1e9, 3), (0.0, 2)])
def test_long_calls_are_single_and_cut_to_the_budget(mlp, monkeypatch, budget, repeats):
    monkeypatch.setattr(bench, "SINGLE_CALL_SECONDS", 0.0)  # every call counts as long
    sides = _sides(mlp)
    calls = []
    onnx = sides["onnxruntime"].call
    sides["onnxruntime"].call = lambda arrays: calls.append(len(arrays["features"])) or onnx(arrays)
    first, second = _measure(mlp, sides, repeats=3, budget=budget)
    assert [first.repeats, second.repeats] == [repeats, repeats]
    assert len(second.seconds["eager"]) == repeats
    assert calls.count(1) == 1 + repeats  # the first batch's first call predicts its time
    assert calls.count(5) == repeats  # then no warm-up: one call per repeat
    assert max(second.differences.values()) < 1e-5


def test_failing_side_is_reported_and_left_out(mlp):
    sides = _sides(mlp)

    def broken(_):
        raise RuntimeError("no kernel for this\nsecond line")

    sides["torchscript"].call = broken
    (row,) = _measure(mlp, sides, batches=[1])
    assert sorted(row.seconds) == ["eager", "onnxruntime"]
    assert sides["torchscript"].failure == "batch 1: RuntimeError: no kernel for this"


def test_per_call_warms_up_then_repeats():
    calls = []

    def run():
        calls.append(1)
        time.sleep(0.08)

    seconds = bench.per_call(run, single=False)
    assert len(calls) == 1 + 3  # a warm-up, then 3 calls of 0.08 s pass MIN_SECONDS 0.2
    assert 0.08 <= seconds < 0.5
    calls.clear()
    assert bench.per_call(run, single=True) >= 0.08
    assert calls == [1]


def test_gpu_without_cuda_exits_cleanly(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["bench_inference.py", "--gpu", "--models", "mlp"])
    bench.main()
    out = capsys.readouterr().out
    assert out == f"--gpu: torch {torch.__version__} sees no CUDA device; nothing measured\n"


def test_repeats_below_two_are_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_inference.py", "--repeats", "1"])
    with pytest.raises(SystemExit) as exit_info:
        bench.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--repeats must be at least 2 (a median and its range), got 1" in err
