"""Figures, their baselines and ratios, and the table they are printed in."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured value; `note` says what else the reader needs (errors, CPU used, a count)."""

    value: float
    unit: str
    note: str = ""

    def __str__(self) -> str:
        if self.unit == "B":
            # Context cost is read in tokens; bytes/4 is the usual estimate for JSON and English.
            shown = f"{self.value:,.0f} B ≈ {self.value / 4:,.0f} tok"
        elif self.unit in ("ms", "MiB") or abs(self.value) < 10:
            shown = f"{self.value:,.2f} {self.unit}"
        else:
            shown = f"{self.value:,.0f} {self.unit}"
        return f"{shown} ({self.note})" if self.note else shown


Value = Figure | str  # a string says why there is no figure: "n/a: ..."


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    measured: Value
    baseline_name: str
    baseline: Value
    target: str = "-"
    met: bool | None = None

    def ratio(self) -> str:
        if not isinstance(self.measured, Figure) or not isinstance(self.baseline, Figure) or not self.baseline.value:
            return "n/a"
        return f"{self.measured.value / self.baseline.value:.2f}x"

    def verdict(self) -> str:
        return "-" if self.met is None else "yes" if self.met else "**no**"


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: a value that was actually measured."""
    ranked = sorted(samples)
    return ranked[max(0, math.ceil(p / 100 * len(ranked)) - 1)]


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table, ready for the README."""
    header = ("#", "figure", "jobctl-mcp", "baseline", "ratio", "target", "met")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        baseline = f"{row.baseline_name}: {row.baseline}"
        cells = (row.benchmark, row.figure, str(row.measured), baseline, row.ratio(), row.target, row.verdict())
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)
