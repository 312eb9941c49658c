"""The streamable HTTP endpoint over real loopback sockets: token, Host and Origin checks, probes, body cap,
protocol eras, and two stateless replicas serving one client."""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from jobctl_mcp.endpoint import TOKEN_RECHECK_SECONDS, http_app
from jobctl_mcp.sandbox import Sandbox, sandbox_env
from jobctl_mcp.sandbox.faults import Fault
from jobctl_mcp.sandbox.loopback import serving
from jobctl_mcp.server import create_server, sandboxed
from jobctl_mcp.tools import ALL_TOOLS
from tests.commands import COMMAND, clean_env, free_port, running_http_server
from tests.conftest import Sleeps, data, error, isolated_settings

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token-for-tests-0123456789abcdef"
CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
JSON_RPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class ManualClock:
    """Paces the token file's re-reads; tests move it by hand instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self) -> None:
        self.now += TOKEN_RECHECK_SECONDS


@contextmanager
def endpoint(sandbox: Sandbox, clock: ManualClock | None = None, **settings: Any) -> Generator[str]:
    """The HTTP app against the in-process sandbox, served on a loopback port; yields its base URL."""
    configured = isolated_settings(**{"transport": "streamable-http", **settings})
    vendors = sandboxed(configured, sandbox.env())
    server = create_server(vendors, transports=sandbox.transports(), sleep=Sleeps(), sandbox=True)
    with serving(http_app(server, vendors, sandbox.transports(), clock=clock or ManualClock())) as base:
        yield base


@asynccontextmanager
async def mcp_client(
    url: str, mode: str = "auto", transport: httpx2.AsyncBaseTransport | None = None, **options: Any
) -> AsyncGenerator[Client]:
    """An MCP client carrying the token; the caller's httpx2 client is ours to close, so it is closed here."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30, transport=transport) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, **options) as client,
    ):
        yield client


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 sessionless, and 2025-11-25 sessions
async def test_tools_list_and_call_over_http_with_the_token(sandbox: Sandbox, mode: str) -> None:
    with endpoint(sandbox, http_token=TOKEN) as base:
        async with mcp_client(f"{base}/mcp", mode=mode) as client:
            assert len((await client.list_tools()).tools) == len(ALL_TOOLS)
            assert data(await client.call_tool("get-job-status", {"jobId": CRON}))["state"] == "DEPLOYED"
            expected = "2026-07-28" if mode == "auto" else "2025-11-25"
            assert client.protocol_version == expected


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
async def test_a_missing_or_wrong_token_gets_401_and_no_hint_of_the_tools(
    sandbox: Sandbox, authorization: str | None
) -> None:
    with endpoint(sandbox, http_token=TOKEN) as base:
        headers = JSON_RPC | ({"Authorization": authorization} if authorization else {})
        async with httpx2.AsyncClient() as http:
            answer = await http.post(f"{base}/mcp", json=INITIALIZE, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="jobctl-mcp"'
    assert answer.json() == {"error": "unauthorized"}


async def test_a_foreign_origin_gets_403_and_a_foreign_host_421(sandbox: Sandbox) -> None:
    with endpoint(sandbox, http_token=TOKEN, allowed_origins="https://agents.example.com") as base:
        auth = JSON_RPC | {"Authorization": f"Bearer {TOKEN}"}
        async with httpx2.AsyncClient() as http:
            foreign = await http.post(f"{base}/mcp", json=INITIALIZE, headers=auth | {"Origin": "https://evil.example"})
            allowed = await http.post(
                f"{base}/mcp", json=INITIALIZE, headers=auth | {"Origin": "https://agents.example.com"}
            )
            rebound = await http.post(f"{base}/mcp", json=INITIALIZE, headers=auth | {"Host": "evil.example"})
    assert foreign.status_code == 403
    assert allowed.status_code == 200
    assert rebound.status_code == 421


async def test_allowed_hosts_extend_the_loopback_defaults(sandbox: Sandbox) -> None:
    with endpoint(sandbox, allowed_hosts="jobctl.internal:8000") as base:
        async with httpx2.AsyncClient() as http:
            answer = await http.post(
                f"{base}/mcp", json=INITIALIZE, headers=JSON_RPC | {"Host": "jobctl.internal:8000"}
            )
    assert answer.status_code == 200


async def test_probes(sandbox: Sandbox) -> None:
    with endpoint(sandbox, http_token=TOKEN) as base:
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{base}/healthz", headers={"Host": "10.1.2.3:8000"})
            ready = await http.get(f"{base}/readyz")
            unauthenticated_check = await http.get(f"{base}/readyz?check=vendors")
            checked = await http.get(f"{base}/readyz?check=vendors", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert ready.json() == {
        "status": "ready",
        "vendors": {"commvault": {"state": "configured"}, "qovery": {"state": "configured"}},
    }
    assert unauthenticated_check.status_code == 401
    assert checked.status_code == 200
    assert {vendor: result["state"] for vendor, result in checked.json()["vendors"].items()} == {
        "commvault": "ok",
        "qovery": "ok",
    }
    assert not sandbox.qovery.requests_matching("GET", r"/job/")  # the check reads no job


@pytest.mark.parametrize(
    ("header", "status"), [({"Host": "rebound.example"}, 421), ({"Origin": "https://rebound.example"}, 403)]
)
async def test_the_vendor_check_obeys_the_host_and_origin_rules(
    sandbox: Sandbox, header: dict[str, str], status: int
) -> None:
    """A DNS-rebinding page reaching a token-less local server must not trigger a vendor login and read its answer."""
    with endpoint(sandbox) as base:
        async with httpx2.AsyncClient() as http:
            refused = await http.get(f"{base}/readyz?check=vendors", headers=header)
            assert refused.status_code == status
            assert sandbox.commvault.requests == sandbox.qovery.requests == []
            probe = await http.get(f"{base}/readyz", headers={"Host": "10.1.2.3:8000"})  # by the pod's address
            checked = await http.get(f"{base}/readyz?check=vendors")
    assert probe.status_code == checked.status_code == 200
    assert [r.path for r in sandbox.commvault.requests] == ["/Login", "/Job"]


async def test_readiness_fails_when_a_configured_vendor_refuses_the_credentials(sandbox: Sandbox) -> None:
    with endpoint(sandbox, http_token=TOKEN) as base:
        sandbox.qovery.faults.add(Fault("response", status=401, body={"status": 401, "detail": "Token revoked"}))
        async with httpx2.AsyncClient() as http:
            checked = await http.get(f"{base}/readyz?check=vendors", headers={"Authorization": f"Bearer {TOKEN}"})
    assert checked.status_code == 503
    assert "Token revoked" in checked.json()["vendors"]["qovery"]["detail"]


async def test_a_body_over_the_cap_is_refused(sandbox: Sandbox) -> None:
    with endpoint(sandbox, http_token=TOKEN, max_body_bytes=4096) as base:
        big = INITIALIZE | {"padding": "x" * 10_000}
        async with httpx2.AsyncClient() as http:
            answer = await http.post(f"{base}/mcp", json=big, headers=JSON_RPC | {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 413


FIRST = "the-first-token-0123456789abcdef-0001"
SECOND = "the-rotated-token-0123456789abcdef-02"  # as long as FIRST: a rotation that keeps the size


@asynccontextmanager
async def token_status(base: str) -> AsyncGenerator[Callable[[str], Awaitable[int]]]:
    """A function giving the status /mcp answers to `initialize` with a token."""
    async with httpx2.AsyncClient(timeout=30) as http:

        async def status(token: str) -> int:
            headers = JSON_RPC | {"Authorization": f"Bearer {token}"}
            return (await http.post(f"{base}/mcp", json=INITIALIZE, headers=headers)).status_code

        yield status


async def test_a_rotated_token_file_takes_effect_without_restart(sandbox: Sandbox, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{FIRST}\n")
    clock = ManualClock()
    with endpoint(sandbox, clock, http_token_file=str(token_file)) as base:
        async with token_status(base) as status:
            before = await status(FIRST)
            token_file.write_text(f"{SECOND}\n")
            clock.advance()
            after = (await status(FIRST), await status(SECOND))
            token_file.unlink()
            clock.advance()
            gone = await status(SECOND)
    assert before == 200
    assert after == (401, 200)
    assert gone == 401  # an unreadable token file lets nobody in


async def test_a_rotation_keeping_size_and_mtime_is_seen_at_the_next_recheck(sandbox: Sandbox, tmp_path: Path) -> None:
    token_file, staged = tmp_path / "token", tmp_path / "staged"
    token_file.write_text(FIRST)
    staged.write_text(SECOND)
    old = token_file.stat()
    os.utime(staged, ns=(old.st_atime_ns, old.st_mtime_ns))
    clock = ManualClock()
    with endpoint(sandbox, clock, http_token_file=str(token_file)) as base:
        async with token_status(base) as status:
            shutil.copy2(staged, token_file)  # cp -p: new content, same size, same mtime
            assert (token_file.stat().st_size, token_file.stat().st_mtime_ns) == (old.st_size, old.st_mtime_ns)
            within_the_recheck = (await status(FIRST), await status(SECOND))
            clock.advance()
            after_it = (await status(FIRST), await status(SECOND))
    assert within_the_recheck == (200, 401)  # read at most once per TOKEN_RECHECK_SECONDS
    assert after_it == (401, 200)


async def write_end_once_read(fifo: Path) -> int:
    """A write end of `fifo`, opened once something holds its read end (until then the open fails with ENXIO)."""
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        await anyio.sleep(0.01)


async def test_a_token_file_that_blocks_refuses_requests_and_the_probes_still_answer(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    token_file, fifo = tmp_path / "token", tmp_path / "fifo"
    token_file.write_text(FIRST)
    clock = ManualClock()
    with endpoint(sandbox, clock, http_token_file=str(token_file)) as base, anyio.fail_after(30):
        async with token_status(base) as status, httpx2.AsyncClient() as http:
            os.mkfifo(fifo)
            os.replace(fifo, token_file)  # a FIFO nobody writes: reading it blocks, as a hung file system does
            clock.advance()
            refused: list[int] = []
            probes: list[int] = []
            writer = -1

            async def send_the_token() -> None:
                refused.append(await status(FIRST))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(send_the_token)
                writer = await write_end_once_read(token_file)  # the server is now stuck reading it
                probes = [(await http.get(f"{base}{path}")).status_code for path in ("/healthz", "/readyz")]
            os.close(writer)  # lets the stuck read end
            token_file.unlink()
            token_file.write_text(SECOND)
            clock.advance()
            recovered = await status(SECOND)
    assert probes == [200, 200]
    assert refused == [401]
    assert recovered == 200


def test_a_short_token_file_stops_the_server_at_start(tmp_path: Path) -> None:
    """In one line; the placeholders shipped in deploy/ are refused the same way (tests/test_deploy.py)."""
    token, token_file = "short-0123456789", tmp_path / "token"
    token_file.write_text(f"{token}\n")
    env = clean_env(JOBCTL_HTTP_TOKEN_FILE=str(token_file))
    args = [COMMAND, "--sandbox", "--transport", "streamable-http", "--port", str(free_port())]
    refused = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"jobctl-mcp: JOBCTL_HTTP_TOKEN_FILE {token_file}: holds a token that ")
    assert token not in line


async def test_a_slow_vendor_cannot_hold_a_call_past_its_deadline(sandbox: Sandbox) -> None:
    sandbox.qovery.faults.add(Fault("delay", seconds=60))
    # Bounded well below the vendor's 60 s: only the call deadline can end the call in time.
    with endpoint(sandbox, http_token=TOKEN, call_timeout=0.3) as base, anyio.fail_after(30):
        async with mcp_client(f"{base}/mcp") as client:
            message = error(await client.call_tool("get-job-status", {"jobId": CRON}))
            assert data(await client.call_tool("commvault-get-job-details", {"jobId": 9612}))["jobId"] == 9612
    assert "no complete answer within 0.3 s (JOBCTL_CALL_TIMEOUT)" in message


def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    args = [COMMAND, "--sandbox", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "1"]
    refused = subprocess.run(args, env=clean_env(), cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "refusing to serve 0.0.0.0:1 without authentication: set JOBCTL_HTTP_TOKEN" in refused.stderr


class Alternating(httpx2.AsyncBaseTransport):
    """A round-robin balancer in the client: each request goes to the next replica's port."""

    def __init__(self, ports: list[int]) -> None:
        self._next: Iterator[int] = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.served: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._next)
        self.served[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_two_stateless_replicas_serve_one_client(tmp_path: Path, mode: str) -> None:
    sandbox = Sandbox()
    approvals: list[str] = []

    async def approve(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        approvals.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    with serving(sandbox.commvault.app) as commvault, serving(sandbox.qovery.app) as qovery:
        env = clean_env(
            **sandbox_env(f"{commvault}/commandcenter/api", qovery),
            JOBCTL_HTTP_TOKEN=TOKEN,
            JOBCTL_STATELESS="true",
            JOBCTL_CONFIRM_DESTRUCTIVE="true",
            JOBCTL_STATE_KEY="a-key-both-replicas-share-0123456789",
        )
        with running_http_server(env, tmp_path) as first, running_http_server(env, tmp_path) as second:
            ports = [int(url.split(":")[2].split("/")[0]) for url in (first, second)]
            balancer = Alternating(ports)
            with anyio.fail_after(60):
                async with mcp_client(first, mode, balancer, elicitation_callback=approve) as client:
                    assert len((await client.list_tools()).tools) == len(ALL_TOOLS)
                    deployed = data(await client.call_tool("deploy-job", {"jobId": CRON}))
                    states = [data(await client.call_tool("get-job-status", {"jobId": CRON})) for _ in range(2)]
                    killed = await client.call_tool("commvault-kill-running-job", {"jobId": 9671})
    assert deployed["status"]["state"] == "DEPLOYMENT_QUEUED"
    assert [s["state"] for s in states] == ["DEPLOYING", "DEPLOYED"]
    assert min(balancer.served.values()) >= 3
    if mode == "auto":
        assert data(killed)["status"] == "Kill Pending"
        assert len(approvals) == 1  # asked through one replica, answered through the other (JOBCTL_STATE_KEY)
    else:
        # A 2025-11-25 client has no session on a stateless endpoint, so no replica can ask it: refused.
        assert "has no session to carry the question" in error(killed)
        assert approvals == []
        assert not sandbox.commvault.requests_matching("POST", "action/kill")
