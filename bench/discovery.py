"""Finding a Qovery job by name, against the sandbox's organization grown to 1,000 services: the requests it
costs (one for the organization's services, one per environment of the jobs shown, the organization list once)
and how long it takes in-process.

    .venv/bin/python bench/discovery.py
"""

from __future__ import annotations

import logging
import time

import anyio
from mcp import Client

from jobctl_mcp.config import Settings
from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.server import create_server, sandboxed

SERVICES = 1000
ROUNDS = 50


async def main() -> None:
    logging.disable(logging.INFO)  # the per-request log lines are not the report
    sandbox = Sandbox(qovery_extra_services=SERVICES)
    settings = sandboxed(Settings(_env_file=None), sandbox.env())  # pyright: ignore[reportCallIssue]
    async with Client(create_server(settings, transports=sandbox.transports(), sandbox=True)) as client:
        await client.call_tool("qovery-list-jobs", {"name": "nightly-report"})  # the organization list, once
        for name in ("nightly-report", "weekly-export", "report"):
            sandbox.qovery.requests.clear()
            began = time.perf_counter()
            for _ in range(ROUNDS):
                result = await client.call_tool("qovery-list-jobs", {"name": name})
            per_call = (time.perf_counter() - began) / ROUNDS * 1000
            found = (result.structured_content or {}).get("total")
            paths = [request.url_path for request in sandbox.qovery.requests]
            services = sum(path.endswith("/services") for path in paths) / ROUNDS
            states = sum(path.endswith("/job/status") for path in paths) / ROUNDS
            print(  # noqa: T201 (a report for a human at a terminal)
                f"{name!r}: {found} jobs of {SERVICES}+ services; per call {services:g} services request(s), "
                f"{states:g} state request(s), {per_call:.1f} ms in-process"
            )


if __name__ == "__main__":
    anyio.run(main)
