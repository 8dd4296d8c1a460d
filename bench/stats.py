"""Small helpers for timing and for the rows of the result table."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values)


def clock(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mib(size: float | None) -> str:
    if size is None:
        return "–"
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


@dataclasses.dataclass
class Row:
    """One line of the result table: a measure beside its baseline, the ratio, the target and the verdict."""

    measure: str
    value: str
    baseline: str = "–"
    ratio: str = "–"
    target: str = "–"
    met: bool | None = None  # None: reported for reference, no target
    notes: str = ""
    data: dict = dataclasses.field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT MET", None: "info"}[self.met]

    def as_json(self) -> dict:
        return {
            "measure": self.measure,
            "baseline": self.baseline,
            "value": self.value,
            "ratio": self.ratio,
            "target": self.target,
            "verdict": self.verdict,
            "notes": self.notes,
            "data": self.data,
        }
