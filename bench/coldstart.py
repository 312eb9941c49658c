"""Benchmark 1, cold start: process spawn to the first tools/list answer over stdio, against the SDK's floor.
Each started server's resident memory right after that answer is kept for benchmark 4."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from processes import FLOOR, JOBCTL, PYTHON, Vendors, children, rss_mib, stdio_session
from report import Figure, Row, median

RUNS = 8
TARGET = 1.1


@dataclass(frozen=True)
class Start:
    seconds: float
    rss_mib: float


@dataclass(frozen=True)
class Variant:
    name: str
    args: list[str]
    env: dict[str, str] | None


def variants(vendors: Vendors, otlp: str) -> list[Variant]:
    return [
        Variant("floor", [PYTHON, FLOOR], None),
        Variant("jobctl-mcp", [JOBCTL], vendors.env),
        Variant("jobctl-mcp --sandbox", [JOBCTL, "--sandbox"], None),
        # Telemetry on, exporting to a receiver on loopback: what loading the OpenTelemetry SDK costs a start.
        Variant("jobctl-mcp --sandbox, tracing", [JOBCTL, "--sandbox"], {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp}),
    ]


async def first_list(variant: Variant, workdir: Path, log: IO[str]) -> Start:
    before = children()
    began = time.perf_counter()
    async with stdio_session(variant.args, variant.env, workdir, log) as client:
        await client.list_tools()
        elapsed = time.perf_counter() - began
        (pid,) = children() - before
        return Start(elapsed, rss_mib(pid))


async def measure(vendors: Vendors, otlp: str, workdir: Path, log: IO[str]) -> dict[str, list[Start]]:
    """RUNS starts of each variant, interleaved so that a change in the machine's load hits them all alike."""
    runs = variants(vendors, otlp)
    for variant in runs:
        await first_list(variant, workdir, log)  # discarded: writes bytecode, fills the page cache
    starts: dict[str, list[Start]] = {variant.name: [] for variant in runs}
    for _ in range(RUNS):
        for variant in runs:
            starts[variant.name].append(await first_list(variant, workdir, log))
    return starts


def rows(starts: dict[str, list[Start]]) -> list[Row]:
    floor = Figure(median([s.seconds for s in starts["floor"]]) * 1000, "ms")
    found: list[Row] = []
    for name, figure in (("jobctl-mcp", "vendors on loopback"), ("jobctl-mcp --sandbox", "--sandbox")):
        measured = Figure(median([s.seconds for s in starts[name]]) * 1000, "ms")
        found.append(
            Row(
                "1 cold start",
                f"spawn to first tools/list, stdio, {figure}",
                measured,
                "one-tool MCPServer",
                floor,
                f"≤ {TARGET}x",
                measured.value <= TARGET * floor.value,
            )
        )
    untraced = Figure(median([s.seconds for s in starts["jobctl-mcp --sandbox"]]) * 1000, "ms")
    traced = Figure(median([s.seconds for s in starts["jobctl-mcp --sandbox, tracing"]]) * 1000, "ms")
    found.append(
        Row("1 cold start", "spawn to first tools/list, --sandbox, OTLP export on", traced, "same, off", untraced)
    )
    return found
