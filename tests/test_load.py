"""Many calls at once over real loopback sockets: one connection pool per vendor, every call completes, a vendor
request that hangs delays no other call, and connections and tasks return to their baseline afterwards."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from mcp import Client

from jobctl_mcp.sandbox import Sandbox, sandbox_env
from jobctl_mcp.sandbox.faults import Fault
from jobctl_mcp.sandbox.loopback import LoopbackServer, loopback_server
from jobctl_mcp.server import create_server, sandboxed
from tests.cases import CRON, Agent, running_tasks, settle
from tests.conftest import Sleeps, data, isolated_settings

pytestmark = pytest.mark.anyio

POOL_SIZE = 100  # httpx2's default max_connections, per vendor client
KEEP_ALIVE = 20  # httpx2's default max_keepalive_connections


async def test_200_calls_at_once_share_one_pool_finish_despite_a_hang_and_leave_nothing_behind(
    sleeps: Sleeps, transcript: list[str]
) -> None:
    sandbox = Sandbox()
    # The 120 Qovery reads are held 0.3 s each, so that all of them are in flight together and the pool is full.
    sandbox.qovery.faults.add(Fault("delay", method="GET", path=f"^/job/{CRON}$", seconds=60))  # hangs
    sandbox.qovery.faults.add(Fault("delay", method="GET", path="/status$", seconds=0.3, times=120))
    with loopback_server(sandbox.commvault.app) as commvault, loopback_server(sandbox.qovery.app) as qovery:
        env = sandbox_env(f"{commvault.url}/commandcenter/api", qovery.url)
        server = create_server(sandboxed(isolated_settings(), env), sleep=sleeps, clock=sleeps.clock)
        tasks_before_the_server = running_tasks()
        async with Client(server) as client:
            agent = Agent(client, transcript)
            baseline = running_tasks()
            await many_calls_beside_a_hanging_one(agent, sandbox)
            await settle(lambda: running_tasks() == baseline)
            # Idle connections beyond each pool's keep-alive limit were closed (the server sees it a moment later);
            # the rest wait for the next call. Job details send three reads at once: Commvault's pool fills too.
            await settle(lambda: max(qovery.open_connections(), commvault.open_connections()) <= KEEP_ALIVE)
            assert_one_pool(sandbox, commvault, qovery)
            # The server is still healthy.
            assert data(await agent.call("get-job-status", {"jobId": CRON}))["state"] == "DEPLOYED"
        await settle(lambda: commvault.open_connections() == qovery.open_connections() == 0)
        await settle(lambda: running_tasks() == tasks_before_the_server)


async def many_calls_beside_a_hanging_one(agent: Agent, sandbox: Sandbox) -> None:
    results: list[dict[str, Any]] = []
    hang_finished = False

    async def hanging() -> None:
        nonlocal hang_finished
        await agent.call("get-job-id", {"jobId": CRON})
        hang_finished = True

    async def call(tool: str, arguments: dict[str, Any]) -> None:
        results.append(data(await agent.call(tool, arguments)))

    async with anyio.create_task_group() as group:
        group.start_soon(hanging)
        await settle(lambda: bool(sandbox.qovery.requests_matching("GET", f"^/job/{CRON}$")))
        started = time.monotonic()
        with anyio.fail_after(50):  # below the hanging request's 60 s
            async with anyio.create_task_group() as calls:
                for index in range(200):
                    if index % 5 < 3:
                        calls.start_soon(call, "get-job-status", {"jobId": CRON})
                    else:
                        calls.start_soon(call, "commvault-get-job-details", {"jobId": (9612, 9600, 9590)[index % 3]})
        assert len(results) == 200
        assert not hang_finished  # every other call finished while that vendor request still hung
        # Held 0.3 s each, the 120 reads would take 36 s one after another: they ran at once.
        assert time.monotonic() - started < 30
        group.cancel_scope.cancel()  # the agent gives up on the hanging call


def assert_one_pool(sandbox: Sandbox, commvault: LoopbackServer, qovery: LoopbackServer) -> None:
    reads = sandbox.qovery.requests_matching("GET", "/status$")
    assert len(reads) == 120
    ports = {request.client for request in reads}
    # 120 reads held at once through one pool of 100 (one more holds the hanging request): some had to wait
    # for a connection and reuse it. A client per call would have opened a connection for each.
    assert len(ports) <= POOL_SIZE
    assert len(ports) > KEEP_ALIVE  # the calls really ran at once
    assert sandbox.commvault.logins == 1  # 80 Commvault calls at once, one session
