"""Benchmark 3, throughput: tool calls per second over streamable HTTP with 1, 8 and 64 concurrent clients, stateful
and stateless, with the CPU the server used (one process is one event loop, so at most one core)."""

from __future__ import annotations

import os
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio
from mcp import Client

from jobctl_mcp.sandbox.qovery import NIGHTLY_REPORT
from processes import CALL_TIMEOUT, FLOOR, JOBCTL, PYTHON, Vendors, clean_env, cpu_seconds, http_server
from report import Figure, Row, median

CLIENTS = (1, 8, 64)
WINDOWS = 5
WINDOW_SECONDS = 1.0
CELL_TIMEOUT = 60.0
TOOL = ("get-job-status", {"jobId": NIGHTLY_REPORT})
FLOOR_TOOL = ("echo", {"text": "x"})


@dataclass(frozen=True)
class Mode:
    """How the server runs and which protocol era the clients speak."""

    name: str
    stateless: bool
    # "legacy" is 2025-11-25 with the initialize handshake (a session when the server keeps them);
    # "auto" settles on 2026-07-28, which has no sessions whatever the server's mode.
    client_mode: str

    def flags(self) -> list[str]:
        return ["--stateless"] if self.stateless else []


MODES = (
    Mode("stateful, 2025-11-25 sessions", stateless=False, client_mode="legacy"),
    Mode("stateless, 2025-11-25", stateless=True, client_mode="legacy"),
    Mode("stateless, 2026-07-28", stateless=True, client_mode="auto"),
)


@dataclass(frozen=True)
class Rate:
    calls_per_second: float
    errors: int
    server_cpu: float  # cores the server process kept busy
    first_error: str = ""

    def figure(self) -> Figure:
        note = f"{self.errors} errors, server {self.server_cpu:.2f} CPU"
        return Figure(self.calls_per_second, "calls/s", note + (f": {self.first_error}" if self.first_error else ""))


async def window(clients: list[Client], pid: int, tool: tuple[str, dict[str, Any]]) -> Rate:
    """Every client calls `tool` back to back for WINDOW_SECONDS."""
    done = 0
    errors: list[str] = []
    deadline = time.perf_counter() + WINDOW_SECONDS

    async def worker(client: Client) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            try:
                result = await client.call_tool(*tool)
            except Exception as exc:  # counted, not raised: the target is zero errors, so each one is reported
                errors.append(f"{type(exc).__name__}: {exc}"[:120])
                continue
            if result.is_error:
                errors.append(str(result.content)[:120])
            else:
                done += 1

    cpu, began = cpu_seconds(pid), time.perf_counter()
    async with anyio.create_task_group() as group:
        for client in clients:
            group.start_soon(worker, client)
    seconds = time.perf_counter() - began
    return Rate(done / seconds, len(errors), (cpu_seconds(pid) - cpu) / seconds, errors[0] if errors else "")


async def rate(url: str, pid: int, mode: Mode, count: int, tool: tuple[str, dict[str, Any]]) -> Rate:
    """The median of WINDOWS windows with `count` connected clients."""
    with anyio.fail_after(CELL_TIMEOUT):
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(Client(url, mode=mode.client_mode, read_timeout_seconds=CALL_TIMEOUT))
                for _ in range(count)
            ]
            for client in clients:
                await client.list_tools()  # a 2026-07-28 client lists before it calls
                await client.call_tool(*tool)
            windows = [await window(clients, pid, tool) for _ in range(WINDOWS)]
    first_error = next((w.first_error for w in windows if w.first_error), "")
    return Rate(
        median([w.calls_per_second for w in windows]),
        sum(w.errors for w in windows),
        median([w.server_cpu for w in windows]),
        first_error,
    )


@dataclass(frozen=True)
class Measured:
    mode: Mode
    floor: Rate
    rates: dict[int, Rate]


async def measure_mode(mode: Mode, vendors: Vendors, workdir: Path, log: IO[str]) -> Measured:
    floor_args = [PYTHON, FLOOR, *mode.flags()]
    with http_server(floor_args, clean_env(), workdir, log) as (url, pid):
        floor = await rate(url, pid, mode, 1, FLOOR_TOOL)
    jobctl_args = [JOBCTL, "--transport", "streamable-http", *mode.flags()]
    with http_server(jobctl_args, clean_env(**vendors.env), workdir, log) as (url, pid):
        rates = {count: await rate(url, pid, mode, count, TOOL) for count in CLIENTS}
    return Measured(mode, floor, rates)


def rows(measured: Measured) -> list[Row]:
    name, one = measured.mode.name, measured.rates[1]
    found = [
        Row(
            "3 throughput",
            f"{name}, 1 client",
            one.figure(),
            "one-tool MCPServer, 1 client",
            Figure(measured.floor.calls_per_second, "calls/s"),
            "0 errors",
            one.errors == 0,
        )
    ]
    for count in CLIENTS[1:]:
        many = measured.rates[count]
        scales = many.errors == 0 and many.calls_per_second > one.calls_per_second
        found.append(
            Row(
                "3 throughput",
                f"{name}, {count} clients",
                many.figure(),
                "same, 1 client",
                Figure(one.calls_per_second, "calls/s"),
                "more calls/s, 0 errors",
                scales,
            )
        )
    return found


def cores_row(measured: list[Measured]) -> Row:
    """The most CPU one server process kept busy, against the cores the machine has."""
    busiest = max((rate for m in measured for rate in m.rates.values()), key=lambda rate: rate.server_cpu)
    cores = float(os.cpu_count() or 1)
    return Row(
        "3 throughput",
        "CPU one server process used, busiest run",
        Figure(busiest.server_cpu, "cores", f"at {busiest.calls_per_second:,.0f} calls/s"),
        "cores on this machine",
        Figure(cores, "cores"),
        f"uses the {cores:.0f} cores",
        busiest.server_cpu >= 0.9 * cores,
    )
