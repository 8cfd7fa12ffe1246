"""The options of ``task.schedule`` and their checks, without torch: a config is validated
when it loads (``hepdl check``), long before a scheduler exists (``hepdl.tasks._optim``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hepdl.errors import ConfigError

SCHEDULES = ("step", "exponential", "cosine", "one-cycle", "plateau")

# The options of task.schedule each schedule reads; any other option given is a mistake.
SCHEDULE_OPTIONS = {
    "step": {"step_size", "gamma"},
    "exponential": {"gamma"},
    "cosine": {"min_lr"},
    "one-cycle": {"max_lr", "pct_start"},
    "plateau": {"factor", "patience", "monitor", "mode"},
    None: set(),  # warm-up alone, then a constant learning rate
}
REQUIRED_OPTIONS = {"step": {"step_size"}, "exponential": {"gamma"}}
WARMUP_OPTIONS = {"warmup_epochs", "warmup_steps", "warmup_start_factor"}


def check_schedule(options: Mapping[str, Any]) -> None:
    """Refuse options that do not belong to the chosen schedule, a missing required option,
    and warm-ups that cannot be combined; every message names the task.schedule key."""
    name = options.get("name")
    if name not in SCHEDULE_OPTIONS:
        raise ConfigError(f"task.schedule.name '{name}' is not one of {', '.join(SCHEDULES)}")
    given = {key for key, value in options.items() if value is not None and key != "name"}
    stray = sorted(given - SCHEDULE_OPTIONS[name] - WARMUP_OPTIONS)
    if stray:
        valid = sorted(SCHEDULE_OPTIONS[name]) or ["(none)"]
        raise ConfigError(
            f"task.schedule.{stray[0]} does not apply to schedule '{name}'; its options: "
            f"{', '.join(valid)}"
        )
    missing = sorted(REQUIRED_OPTIONS.get(name, set()) - given)
    if missing:
        raise ConfigError(f"task.schedule.{missing[0]} is required by schedule '{name}'")
    warmups = sorted(given & {"warmup_epochs", "warmup_steps"})
    if len(warmups) == 2:
        raise ConfigError("task.schedule: give warmup_epochs or warmup_steps, not both")
    if warmups and name == "plateau":
        raise ConfigError(
            f"task.schedule.{warmups[0]} cannot be combined with schedule 'plateau' (it "
            "reacts to the metric, which a warm-up would distort); use step, exponential, "
            "cosine or one-cycle, or drop the warm-up"
        )
    if not warmups and "warmup_start_factor" in given:
        raise ConfigError("task.schedule.warmup_start_factor needs warmup_epochs or warmup_steps")
    if name is None and not warmups:
        raise ConfigError(
            f"task.schedule: give a name ({', '.join(SCHEDULES)}) or a warm-up "
            "(warmup_epochs or warmup_steps)"
        )
