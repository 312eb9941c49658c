"""One valid call of every tool, with the vendor route it calls, for tests that run a fault against all of them;
and what those tests share: an agent that keeps what it was told, one server for many tests, bounded waits."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import anyio
from mcp import Client
from mcp_types import CallToolResult

from jobctl_mcp.client import Route
from jobctl_mcp.sandbox import COMMVAULT_API_KEY, Sandbox
from jobctl_mcp.sandbox.examples import EXAMPLES
from jobctl_mcp.sandbox.faults import Fault, FaultKind, RecordedRequest, VendorSim
from jobctl_mcp.sandbox.qovery import NIGHTLY_REPORT
from jobctl_mcp.spec import AnySpec
from jobctl_mcp.tools import ALL_TOOLS
from tests.conftest import Sleeps, sandbox_server

CRON = NIGHTLY_REPORT
READ_ONLY = frozenset(spec.name for spec in ALL_TOOLS if spec.hints.read_only)


@dataclass(frozen=True)
class ToolCase:
    """A tool called with valid arguments; `method` and `path` match the vendor request that is its own."""

    tool: str
    arguments: dict[str, Any]
    vendor: Literal["commvault", "qovery"]
    method: str
    path: str  # a regex searched in the path below the vendor's API root
    expects: str  # what the tool needs its 2xx answer to be, for messages about answers it cannot use
    accepts_empty: bool = False  # an empty 2xx answer is a success (204 No Content)
    accepts_any: bool = False  # any 2xx answer, even an empty one, is a success (Commvault actions, Qovery delete)
    label: str = field(default="")

    @property
    def id(self) -> str:
        return self.label or self.tool

    repeatable: bool = False  # whether the retry policy may send the tool's own request again after it arrived

    @property
    def mutating(self) -> bool:
        return self.tool not in READ_ONLY

    def sim(self, sandbox: Sandbox) -> VendorSim:
        return sandbox.commvault if self.vendor == "commvault" else sandbox.qovery

    def fault(self, kind: FaultKind, **options: Any) -> Fault:
        """A fault on this tool's own request only (not on a login, nor on a read made before or after it)."""
        return Fault(kind, method=self.method, path=self.path, **options)

    def own_requests(self, sandbox: Sandbox) -> list[RecordedRequest]:
        return self.sim(sandbox).requests_matching(self.method, self.path)


def _path(route: Route, arguments: dict[str, Any]) -> str:
    """A regex of the route's path: the example's own values where it gives them, any one segment elsewhere."""
    parts = re.split(r"({\w+})", route.path)
    return "".join(
        (quote(str(arguments[part[1:-1]]), safe="") if part[1:-1] in arguments else "[^/]+")
        if part.startswith("{")
        else re.escape(part)
        for part in parts
    )


def _case(spec: AnySpec, arguments: dict[str, Any], label: str) -> ToolCase:
    """The case of one example call, from its row: the request that is its own, and what its answer must be."""
    vendor = spec.vendor or arguments["vendor"]
    # A tool with no request of its own (wait-for-job) polls the routes other rows of its vendor read.
    own = [spec] if spec.route else [s for s in ALL_TOOLS if s.vendor == vendor and s.route in spec.reads]
    routes = [s.route for s in own if s.route]
    paths = "|".join(_path(route, arguments) for route in routes)
    parsed = spec.parse and spec.input.model_validate(arguments)
    return ToolCase(
        spec.name,
        arguments,
        vendor,
        routes[0].method,
        f"^({paths})$",
        own[0].expects,
        accepts_empty=bool(spec.parse and spec.parse(None, parsed) is not None),
        accepts_any=(not own[0].expects) or bool(spec.parse and spec.parse({"unexpected": 1}, parsed) is not None),
        label=label,
        repeatable=routes[0].repeatable,
    )


CASES: tuple[ToolCase, ...] = tuple(
    _case(spec, arguments, f"{spec.name}[{arguments['vendor']}]" if len(examples) > 1 else "")
    for spec in ALL_TOOLS
    for examples in [EXAMPLES[spec.name]]
    for arguments in examples
)
COMMVAULT_CASES = tuple(case for case in CASES if case.vendor == "commvault")
QOVERY_CASES = tuple(case for case in CASES if case.vendor == "qovery")
MUTATING_CASES = tuple(case for case in CASES if case.mutating)


def case_id(case: ToolCase) -> str:
    return case.id


class Agent:
    """An MCP client that keeps every text the server sent back, so that a test can scan all of it."""

    def __init__(self, client: Client, transcript: list[str]) -> None:
        self.client = client
        self.transcript = transcript

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        result = await self.client.call_tool(tool, arguments)
        self.transcript.extend(block.text for block in result.content if block.type == "text")
        return result


@dataclass
class Shared:
    """One server for many tests (building one costs ~50 ms), over a sandbox made fresh before each test.

    Commvault is reached with its API key, so that no session has to survive a reset.
    """

    sandbox: Sandbox
    sleeps: Sleeps
    client: Client

    def fresh(self) -> Shared:
        self.sandbox.reset()
        self.sleeps.clear()
        self.sleeps.now = 0.0
        return self


@asynccontextmanager
async def shared_server(
    env: dict[str, str] | None = None, clock: Callable[[], float] = time.time, **settings: Any
) -> AsyncGenerator[Shared]:
    """A Shared server with these settings; `env` replaces the default vendor variables (the Commvault API key),
    and `clock` is the sandbox's."""
    sandbox, sleeps = Sandbox(clock), Sleeps()
    server = sandbox_server(sandbox, sleeps, env or {"COMMVAULT_API_KEY": COMMVAULT_API_KEY}, **settings)
    async with Client(server) as client:
        yield Shared(sandbox, sleeps, client)


async def settle(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait until `condition` holds: a server in another thread, or a socket's other end, catches up in its own time."""
    with anyio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110 (the state lives in other threads and in sockets)
            await anyio.sleep(0.01)


def running_tasks() -> int:
    return len(anyio.get_running_tasks())
