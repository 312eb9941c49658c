"""Benchmark 4, memory: resident set size idle, and after 10,000 calls in one process, where growth beyond noise
would be a leak."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client

from coldstart import Start
from percall import Probe
from processes import rss_mib
from report import Figure, Row, median

CALLS = 10_000
# Growth is read over the second half: the first calls still fill caches, pools and allocator arenas.
WARM = CALLS // 2
CONCURRENCY = 8
# Python's allocator keeps and reuses arenas; a steady process moves by a few hundred KiB either way.
NOISE_MIB = 1.0


def idle_row(starts: dict[str, list[Start]]) -> Row:
    """Idle memory from the cold-start runs: each server's RSS right after its first tools/list."""

    def idle(name: str) -> Figure:
        return Figure(median([s.rss_mib for s in starts[name]]), "MiB")

    return Row(
        "4 memory", "RSS idle, after the first tools/list", idle("jobctl-mcp"), "one-tool MCPServer", idle("floor")
    )


async def call_tool(client: Client, name: str, arguments: dict[str, Any]) -> None:
    result = await client.call_tool(name, arguments)
    if result.is_error:
        raise RuntimeError(f"{name} answered an error: {result.content}")


async def call_until(client: Client, probes: list[Probe], total: int, done: int) -> None:
    """Alternate the probes' tool calls, CONCURRENCY at a time, until `total` calls have been made."""
    count = done

    async def worker() -> None:
        nonlocal count
        while count < total:
            probe = probes[count % len(probes)]
            count += 1
            await call_tool(client, probe.tool, probe.arguments)

    async with anyio.create_task_group() as group:
        for _ in range(CONCURRENCY):
            group.start_soon(worker)


async def growth_rows(client: Client, pid: int, probes: list[Probe], idle: float) -> list[Row]:
    """RSS after CALLS calls, against the same process idle and once warm."""
    await call_until(client, probes, WARM, 0)
    warm = rss_mib(pid)
    await call_until(client, probes, CALLS, WARM)
    after = rss_mib(pid)
    growth = after - warm
    return [
        Row("4 memory", f"RSS after {CALLS:,} calls", Figure(after, "MiB"), "same process idle", Figure(idle, "MiB")),
        Row(
            "4 memory",
            f"RSS growth, calls {WARM:,} to {CALLS:,}",
            Figure(after, "MiB", f"{growth:+.2f} MiB"),
            f"same process after {WARM:,} calls",
            Figure(warm, "MiB"),
            f"≤ +{NOISE_MIB:g} MiB",
            growth <= NOISE_MIB,
        ),
    ]
