# ruff: noqa: T201
"""python bench/run.py: every benchmark of issue 6 against the simulated vendors served on loopback, printed as one
table in which each figure stands beside its baseline, measured in the same run, and their ratio."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO

import anyio
import httpx2

import coldstart
import context_cost
import converter
import memory
import percall
import throughput
from processes import (
    FLOOR,
    JOBCTL,
    PYTHON,
    CpuClock,
    Vendors,
    children,
    clean_env,
    loopback_vendors,
    otlp_sink,
    rss_mib,
    stdio_session,
)
from rawrpc import raw_stdio
from report import Row, table

METHOD = f"""Medians: cold start over {coldstart.RUNS} interleaved starts per server, after one discarded start each;
per-call latency over {percall.SAMPLES:,} rounds after {percall.WARMUP} warm-up rounds, each round the tool call, the
same vendor requests made directly as the tool makes them (async httpx2), and the SDK floor's echo call, in turn (p99
by nearest rank). Both servers are spoken to by a raw JSON-RPC client over stdio (newline-delimited JSON, 2026-07-28
era), so no client-side work is counted. The net cost is the tool's median round trip less the floor's median and the
direct requests' median: jobctl-mcp's own work per call; the range beside it is the same figure over each of
{percall.BLOCKS} blocks of consecutive rounds. CPU per call is each server process's user and system time over the
rounds (from /proc), and this process's for the direct requests: a figure other processes on the machine barely move,
where they do move wall-clock time. Throughput over {throughput.WINDOWS} windows of {throughput.WINDOW_SECONDS:g} s;
idle memory over the cold starts. Memory growth is read in one process, from call {memory.WARM:,} to call
{memory.CALLS:,}. Byte counts are exact, as compact JSON; tokens are estimated as bytes/4."""
# Each phase is bounded, so that a hung server ends the run with its log instead of never.
LIMITS = {"1 cold start": 120, "2 per-call cost": 180, "4 memory": 120, "5 context cost": 90, "3 throughput": 180}
BUSY_WARNING = 0.10


@dataclass
class Phases:
    """Each phase's duration and how busy other processes kept the machine meanwhile, for the report."""

    done: list[tuple[str, float, float]] = field(default_factory=list[tuple[str, float, float]])

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        # Progress goes to stderr: stdout carries only the report.
        print(f"{name} ...", file=sys.stderr, flush=True)
        began, clock = time.monotonic(), CpuClock.read()
        with anyio.fail_after(LIMITS.get(name, 300)):
            yield
        wall = time.monotonic() - began
        self.done.append((name, wall, CpuClock.read().others_since(clock, wall)))
        print(f"  {name}: {wall:.0f} s", file=sys.stderr, flush=True)

    def summary(self) -> str:
        return "; ".join(f"{name} {wall:.0f} s, {others:.0%}" for name, wall, others in self.done)

    def disturbed(self) -> bool:
        return any(others > BUSY_WARNING for _, _, others in self.done)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, mcp {version('mcp')}, jobctl-mcp {version('jobctl-mcp')}"
    )


async def one_process(
    vendors: Vendors, workdir: Path, log: IO[str], baseline: converter.Converter | str, phases: Phases
) -> list[Row]:
    """Benchmarks 2, 4 and 5: per-call cost over raw JSON-RPC, then memory and context cost through the SDK's
    client, each in a jobctl-mcp process of its own on stdio."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx2.AsyncClient(timeout=30))
        probes = await percall.probes(vendors, http)
        rows = await per_call(vendors, workdir, log, http, probes, phases)
        before = children()
        jobctl = await stack.enter_async_context(stdio_session([JOBCTL], vendors.env, workdir, log))
        (pid,) = children() - before
        tools = list((await jobctl.list_tools()).tools)
        idle = rss_mib(pid)
        with phases.phase("4 memory"):
            rows += await memory.growth_rows(jobctl, pid, probes, idle)
        with phases.phase("5 context cost"):
            generic = await baseline.tools(workdir, log) if isinstance(baseline, converter.Converter) else baseline
            rows += context_cost.tool_list_rows(tools, generic, baseline)
            token = probes[0].headers["Authtoken"]
            rows += await context_cost.list_answer_rows(jobctl, vendors, http, token)
        return rows


async def per_call(
    vendors: Vendors, workdir: Path, log: IO[str], http: httpx2.AsyncClient, probes: list[percall.Probe], phases: Phases
) -> list[Row]:
    """Benchmark 2: jobctl-mcp and the SDK floor on stdio, each spoken to in raw JSON-RPC; the first probe once
    more against a jobctl-mcp that exports traces and metrics over OTLP."""
    with otlp_sink() as otlp:
        exporting = {**vendors.env, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp}
        async with (
            raw_stdio([JOBCTL], clean_env(**vendors.env), workdir, log) as jobctl,
            raw_stdio([JOBCTL], clean_env(**exporting), workdir, log) as traced,
            raw_stdio([PYTHON, FLOOR], clean_env(), workdir, log) as floor,
        ):
            rows: list[Row] = []
            with phases.phase("2 per-call cost"):
                measured = [await percall.measure(probe, jobctl, floor, http) for probe in probes]
                for probe, samples in zip(probes, measured, strict=True):
                    rows += percall.rows(probe, samples)
                exported = await percall.measure(probes[0], traced, floor, http)
                rows += percall.traced_rows(probes[0], exported, measured[0])
            return rows


async def run_per_call(workdir: Path, log: IO[str], phases: Phases) -> list[Row]:
    with loopback_vendors(workdir, log) as vendors:
        async with httpx2.AsyncClient(timeout=30) as http:
            return await per_call(vendors, workdir, log, http, await percall.probes(vendors, http), phases)


async def run(workdir: Path, log: IO[str], phases: Phases) -> list[Row]:
    with phases.phase("generic converter: fastmcp in bench/.venv-fastmcp"):
        baseline = converter.prepare()  # before any timing: a first install downloads from PyPI
    with loopback_vendors(workdir, log) as vendors:
        with phases.phase("1 cold start"), otlp_sink() as otlp:
            starts = await coldstart.measure(vendors, otlp, workdir, log)
        rows = [*coldstart.rows(starts), memory.idle_row(starts)]
        rows += await one_process(vendors, workdir, log, baseline, phases)
        with phases.phase("3 throughput"):
            measured = [await throughput.measure_mode(mode, vendors, workdir, log) for mode in throughput.MODES]
        for result in measured:
            rows += throughput.rows(result)
        rows.append(throughput.cores_row(measured))
    return sorted(rows, key=lambda row: row.benchmark[0])  # stable: each benchmark keeps its own order


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__)
    parser.add_argument("--per-call", action="store_true", help="only benchmark 2, the per-call cost (about 1 min)")
    only_per_call = parser.parse_args().per_call
    began, phases = time.monotonic(), Phases()
    with tempfile.TemporaryDirectory(prefix="jobctl-bench-") as directory:
        log_path = Path(directory) / "servers.log"
        with log_path.open("w") as log:
            try:
                rows = anyio.run(run_per_call if only_per_call else run, Path(directory), log, phases)
            except BaseException:
                log.flush()
                print(f"The benchmark stopped. The servers' last lines:\n{tail(log_path)}", file=sys.stderr)
                raise
    minutes, seconds = divmod(round(time.monotonic() - began), 60)
    print(f"jobctl-mcp benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {machine()}\n")
    print(table(rows))
    print(f"\n{METHOD}\n")
    print(f"Total {minutes} min {seconds:02d} s. Each phase, and the share of the machine other processes kept busy")
    print(f"meanwhile: {phases.summary()}.")
    if phases.disturbed():
        print(f"Other processes took over {BUSY_WARNING:.0%} in some phase: those timings are disturbed; run again.")


if __name__ == "__main__":
    main()
