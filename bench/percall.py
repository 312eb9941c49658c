"""Benchmark 2, per-call overhead: two read tools through the SDK's stdio client, against a direct httpx2 request
to the same loopback vendor and against the SDK floor's own stdio round trip."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp import Client

from jobctl_mcp.sandbox import COMMVAULT_PASSWORD, COMMVAULT_USERNAME, QOVERY_API_KEY
from jobctl_mcp.sandbox.qovery import NIGHTLY_REPORT
from processes import Vendors
from report import Figure, Row, median, percentile

WARMUP = 100
SAMPLES = 1000
CALLS_PER_PROBE = WARMUP + SAMPLES
TARGET_MS = 1.0
# A finished job: the sandbox moves an active job one step on every read, this one stays as it is.
FINISHED_JOB = 9612


@dataclass(frozen=True)
class Probe:
    """A tool call and the one vendor request it makes."""

    tool: str
    arguments: dict[str, Any]
    url: str
    headers: dict[str, str]


async def probes(vendors: Vendors, http: httpx2.AsyncClient) -> list[Probe]:
    token = await commvault_token(vendors, http)
    qovery_auth = {"Authorization": f"Token {QOVERY_API_KEY}"}
    return [
        Probe(
            "commvault-get-job-details",
            {"jobId": FINISHED_JOB},
            f"{vendors.commvault_api}/Job/{FINISHED_JOB}",
            {"Authtoken": token},
        ),
        Probe(
            "get-job-status", {"jobId": NIGHTLY_REPORT}, f"{vendors.qovery}/job/{NIGHTLY_REPORT}/status", qovery_auth
        ),
    ]


async def commvault_token(vendors: Vendors, http: httpx2.AsyncClient) -> str:
    """Log in as jobctl-mcp does (the password base64-encoded) and return the Authtoken."""
    password = base64.b64encode(COMMVAULT_PASSWORD.encode()).decode()
    answer = await http.post(
        f"{vendors.commvault_api}/Login", json={"username": COMMVAULT_USERNAME, "password": password}
    )
    answer.raise_for_status()
    return answer.json()["token"]


async def call_tool(client: Client, name: str, arguments: dict[str, Any]) -> None:
    result = await client.call_tool(name, arguments)
    if result.is_error:
        raise RuntimeError(f"{name} answered an error: {result.content}")


async def elapsed(call: Callable[[], Awaitable[None]]) -> float:
    began = time.perf_counter()
    await call()
    return time.perf_counter() - began


@dataclass(frozen=True)
class Latencies:
    tool: list[float]
    direct: list[float]
    floor: list[float]


async def measure(probe: Probe, jobctl: Client, floor: Client, http: httpx2.AsyncClient) -> Latencies:
    """The three calls in turn, so that a change in the machine's load hits them alike."""

    async def tool() -> None:
        await call_tool(jobctl, probe.tool, probe.arguments)

    async def direct() -> None:
        answer = await http.get(probe.url, headers=probe.headers)
        answer.raise_for_status()
        answer.json()  # the server decodes the answer too

    async def echo() -> None:
        await call_tool(floor, "echo", {"text": probe.tool})

    samples = Latencies([], [], [])
    for _ in range(WARMUP):
        for call in (tool, direct, echo):
            await call()
    for _ in range(SAMPLES):
        samples.tool.append(await elapsed(tool))
        samples.direct.append(await elapsed(direct))
        samples.floor.append(await elapsed(echo))
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

    direct = "direct httpx2 GET"
    overhead = ms(samples.tool) - ms(samples.direct)
    own = overhead - ms(samples.floor)
    return [
        Row(
            "2 per call",
            f"{probe.tool}: median",
            Figure(ms(samples.tool), "ms"),
            direct,
            Figure(ms(samples.direct), "ms"),
        ),
        Row(
            "2 per call",
            f"{probe.tool}: p99",
            Figure(ms(samples.tool, 99), "ms"),
            direct,
            Figure(ms(samples.direct, 99), "ms"),
        ),
        Row(
            "2 per call",
            f"{probe.tool}: overhead (median minus direct)",
            Figure(overhead, "ms", f"{own:+.2f} ms beyond the SDK floor"),
            "SDK floor's stdio round trip (echo)",
            Figure(ms(samples.floor), "ms"),
            f"< {TARGET_MS:g} ms",
            overhead < TARGET_MS,
        ),
    ]
