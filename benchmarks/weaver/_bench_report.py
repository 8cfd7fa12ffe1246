"""The benchmark's summary of its runs: AUCs per side and best-epoch rule, throughput
ratios hepdl/weaver per seed, and the markdown table it prints."""

from __future__ import annotations

import statistics
from typing import Any

from _bench_epochs import best_epochs


def summary(results: list[dict]) -> dict[str, Any]:
    """Per side: AUC mean/std/each, throughput medians; ratios hepdl/weaver per seed."""
    sides: dict[str, Any] = {}
    for side in ("hepdl", "weaver"):
        runs = [r for r in results if r["side"] == side]
        aucs = [r["auc"] for r in runs]
        sides[side] = {
            "auc": aucs,
            "auc_mean": statistics.fmean(aucs),
            "auc_std": statistics.stdev(aucs) if len(aucs) > 1 else 0.0,
            "jets_per_s_cpu": [r["throughput"]["cpu"] for r in runs],
            "jets_per_s_wall": [r["throughput"]["wall"] for r in runs],
            "parameters": runs[0]["parameters"],
            "auc_by_rule": _auc_by_rule(runs),
            "auc_by_epoch": [
                statistics.fmean(epoch)
                for epoch in zip(*(r["per_epoch"]["test_auc"] for r in runs), strict=True)
            ],
        }
    by_seed = {(r["side"], r["seed"]): r["throughput"] for r in results}
    seeds = sorted({r["seed"] for r in results})
    ratios = {
        clock: [by_seed["hepdl", s][clock] / by_seed["weaver", s][clock] for s in seeds]
        for clock in ("cpu", "wall")
    }
    return {"sides": sides, "ratio_hepdl_over_weaver": ratios, "seeds": seeds}


RULES = {
    "val_loss": "the epoch of lowest val loss",
    "val_accuracy": "the epoch of highest val accuracy",
    "last": "the last epoch",
}


def _auc_by_rule(runs: list[dict]) -> dict[str, list[float]]:
    """Test AUC per seed of the epoch each best-epoch rule picks (where it can apply)."""
    chosen = [best_epochs(r["per_epoch"]) for r in runs]
    rules = set.intersection(*(set(c) for c in chosen))
    return {
        rule: [r["per_epoch"]["test_auc"][c[rule]] for r, c in zip(runs, chosen, strict=True)]
        for rule in sorted(rules)
    }


def markdown(report: dict[str, Any]) -> str:
    sides, ratios = report["sides"], report["ratio_hepdl_over_weaver"]
    lines = [
        "| side | params | test AUC mean ± std (per seed) | jets/s cpu (median) "
        "| jets/s wall (median) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for side, s in sides.items():
        each = ", ".join(f"{a:.4f}" for a in s["auc"])
        lines.append(
            f"| {side} | {s['parameters']} | {s['auc_mean']:.4f} ± {s['auc_std']:.4f} ({each}) "
            f"| {statistics.median(s['jets_per_s_cpu']):.0f} "
            f"| {statistics.median(s['jets_per_s_wall']):.0f} |"
        )
    for side, s in sides.items():
        for rule, aucs in s["auc_by_rule"].items():
            lines.append(
                f"\n{side} test AUC at {RULES[rule]}: "
                f"{statistics.fmean(aucs):.4f} ({', '.join(f'{a:.4f}' for a in aucs)})"
            )
        by_epoch = ", ".join(f"{a:.4f}" for a in s["auc_by_epoch"])
        lines.append(f"\n{side} mean test AUC per epoch: {by_epoch}")
    for clock in ("cpu", "wall"):
        r = ratios[clock]
        lines.append(
            f"\nthroughput ratio hepdl/weaver ({clock} clock): median {statistics.median(r):.3f} "
            f"[{min(r):.3f}-{max(r):.3f}] over seeds {report['seeds']}"
        )
    return "\n".join(lines)
