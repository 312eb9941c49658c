"""Benchmark 2, per-call cost: two read tools called over stdio by a raw JSON-RPC client, less the SDK floor's own
round trip and less the same vendor requests made directly with httpx2: what remains is jobctl-mcp's own work."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from jobctl_mcp.sandbox import COMMVAULT_PASSWORD, COMMVAULT_USERNAME, QOVERY_API_KEY
from jobctl_mcp.sandbox.qovery import NIGHTLY_REPORT
from processes import Vendors, cpu_seconds
from rawrpc import RawSession
from report import Figure, Row, median, percentile

WARMUP = 200
SAMPLES = 2000
# The net figure is also taken per block of consecutive samples: how far the blocks differ is its noise.
BLOCKS = 5
TARGET_MS = 0.7
# A finished job: the sandbox moves an active job one step on every read, this one stays as it is.
FINISHED_JOB = 9612


@dataclass(frozen=True)
class Probe:
    """A tool call and the vendor requests it makes: (method, URL, JSON body) each, made directly as the tool
    makes them: in turn, or all at once."""

    tool: str
    arguments: dict[str, Any]
    requests: tuple[tuple[str, str, Any], ...]
    headers: dict[str, str]
    at_once: bool = False


async def probes(vendors: Vendors, http: httpx2.AsyncClient) -> list[Probe]:
    token = await commvault_token(vendors, http)
    qovery_auth = {"Authorization": f"Token {QOVERY_API_KEY}"}
    commvault = vendors.commvault_api
    # The job's summary, who started and stopped it, and its events: the three reads the tool sends together.
    job_details = (
        ("GET", f"{commvault}/Job/{FINISHED_JOB}", None),
        ("POST", f"{commvault}/JobDetails", {"jobId": FINISHED_JOB}),
        ("GET", f"{commvault}/Events?jobId={FINISHED_JOB}", None),
    )
    status = (("GET", f"{vendors.qovery}/job/{NIGHTLY_REPORT}/status", None),)
    return [
        Probe("commvault-get-job-details", {"jobId": FINISHED_JOB}, job_details, {"Authtoken": token}, at_once=True),
        Probe("get-job-status", {"jobId": NIGHTLY_REPORT}, status, qovery_auth),
    ]


async def commvault_token(vendors: Vendors, http: httpx2.AsyncClient) -> str:
    """Log in as jobctl-mcp does (the password base64-encoded) and return the Authtoken."""
    password = base64.b64encode(COMMVAULT_PASSWORD.encode()).decode()
    answer = await http.post(
        f"{vendors.commvault_api}/Login", json={"username": COMMVAULT_USERNAME, "password": password}
    )
    answer.raise_for_status()
    return answer.json()["token"]


async def elapsed(call: Callable[[], Awaitable[None]]) -> float:
    began = time.perf_counter()
    await call()
    return time.perf_counter() - began


@dataclass
class Latencies:
    """Round trips in seconds, and CPU seconds per call: each server process's, and this one's for the direct
    requests."""

    tool: list[float]
    direct: list[float]
    floor: list[float]
    tool_cpu: float = 0.0
    floor_cpu: float = 0.0
    direct_cpu: float = 0.0

    def net(self, start: int = 0, stop: int | None = None) -> float:
        """Median tool round trip, less the floor's and the direct request's medians, over samples [start:stop]."""
        return (median(self.tool[start:stop]) - median(self.floor[start:stop]) - median(self.direct[start:stop])) * 1000

    def block_range(self) -> tuple[float, float]:
        size = len(self.tool) // BLOCKS
        nets = [self.net(block * size, (block + 1) * size) for block in range(BLOCKS)]
        return min(nets), max(nets)


async def measure(probe: Probe, jobctl: RawSession, floor: RawSession, http: httpx2.AsyncClient) -> Latencies:
    """The three calls in turn, so that a change in the machine's load hits them alike."""

    async def tool() -> None:
        await jobctl.call_tool(probe.tool, probe.arguments)

    async def one(method: str, url: str, body: Any) -> None:
        answer = await http.request(method, url, headers=probe.headers, json=body)
        answer.raise_for_status()
        answer.json()  # the server decodes the answer too

    async def direct() -> None:
        if not probe.at_once:
            for request in probe.requests:
                await one(*request)
            return
        async with anyio.create_task_group() as group:
            for request in probe.requests:
                group.start_soon(one, *request)

    async def echo() -> None:
        await floor.call_tool("echo", {"text": probe.tool})

    samples = Latencies([], [], [])
    for _ in range(WARMUP):
        for call in (tool, direct, echo):
            await call()
    servers = cpu_seconds(jobctl.pid), cpu_seconds(floor.pid)
    direct_cpu = 0.0
    for _ in range(SAMPLES):
        samples.tool.append(await elapsed(tool))
        began = time.process_time()
        samples.direct.append(await elapsed(direct))
        direct_cpu += time.process_time() - began
        samples.floor.append(await elapsed(echo))
    samples.tool_cpu = (cpu_seconds(jobctl.pid) - servers[0]) / SAMPLES
    samples.floor_cpu = (cpu_seconds(floor.pid) - servers[1]) / SAMPLES
    samples.direct_cpu = direct_cpu / SAMPLES
    return samples


def traced_rows(probe: Probe, traced: Latencies, untraced: Latencies) -> list[Row]:
    """What exporting traces and metrics adds to a call: the same probe against a server exporting over OTLP."""
    on, off = median(traced.tool) * 1000, median(untraced.tool) * 1000
    return [
        Row(
            "2 per call",
            f"{probe.tool}: median, OTLP export on",
            Figure(on, "ms", f"{on - off:+.2f} ms"),
            "same, export off",
            Figure(off, "ms"),
        )
    ]


def rows(probe: Probe, samples: Latencies) -> list[Row]:
    def ms(values: list[float], p: float | None = None) -> float:
        return (median(values) if p is None else percentile(values, p)) * 1000

    floor = "SDK floor's echo round trip"
    net, (low, high) = samples.net(), samples.block_range()
    return [
        Row(
            "2 per call",
            f"{probe.tool}: round trip, median",
            Figure(ms(samples.tool), "ms"),
            floor,
            Figure(ms(samples.floor), "ms"),
        ),
        Row(
            "2 per call",
            f"{probe.tool}: round trip, p99",
            Figure(ms(samples.tool, 99), "ms"),
            floor,
            Figure(ms(samples.floor, 99), "ms"),
        ),
        Row(
            "2 per call",
            f"{probe.tool}: net cost (round trip - floor - direct)",
            Figure(net, "ms", f"{low:.2f} to {high:.2f} across {BLOCKS} blocks"),
            "the same vendor requests made directly (async httpx2)",
            Figure(ms(samples.direct), "ms"),
            f"≤ {TARGET_MS:g} ms",
            net <= TARGET_MS,
        ),
        Row(
            "2 per call",
            f"{probe.tool}: server CPU per call",
            Figure(
                samples.tool_cpu * 1000,
                "ms",
                f"net {(samples.tool_cpu - samples.floor_cpu - samples.direct_cpu) * 1000:.2f} ms of CPU "
                f"after the floor's and the direct requests' {samples.direct_cpu * 1000:.2f} ms",
            ),
            "SDK floor's CPU per echo",
            Figure(samples.floor_cpu * 1000, "ms"),
        ),
    ]
