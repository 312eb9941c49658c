"""Hostile arguments for every tool, generated from its input schema: each call is refused in one line before any
vendor request, or handled; none crashes the server or makes it call a path other than its own routes."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mcp_types import CallToolResult

from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.spec import AnySpec
from jobctl_mcp.tools import ALL_TOOLS, input_schema
from tests.cases import CASES, CRON, Agent, Shared, shared_server
from tests.conftest import KNOWN_SECRETS, data, error

COMMVAULT = "/commandcenter/api"
ID = r"[1-9][0-9]*"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LOGIN = ("POST", f"{COMMVAULT}/Login")


def _routes(spec: AnySpec) -> set[tuple[str, str]]:
    """Every request the row says its tool may make, as (method, full URL path); a Commvault client may log in."""
    routes = {route for route in (spec.route, *spec.reads) if route is not None}
    allowed = {(r.method, PLACEHOLDER.sub(f"({ID}|{UUID})", r.path)) for r in routes}
    commvault = {(method, f"{COMMVAULT}{path}") for method, path in allowed} | {LOGIN}
    return {"commvault": commvault, "qovery": allowed, None: allowed | commvault}[spec.vendor]


PLACEHOLDER = re.compile(r"{\w+}")
# Anything else than what the rows declare is a path the arguments changed.
ROUTES: dict[str, set[tuple[str, str]]] = {spec.name: _routes(spec) for spec in ALL_TOOLS}
VALID = {case.tool: case.arguments for case in CASES}

PATH_TRICKS = [
    "..", ".", "../..", "/", "%2e%2e", "%2F", "9669/../../Login", "../9669", "9669/", "9669?x=1", "9669#x",
    "9669;x", "\\..\\Login", "/etc/passwd", "9669\x00", " 9669", "9669\n", "\u0669\u0666\u0666\u0669", "9669.0",
    "+9669", "0x25c5", "1e3", f"{CRON}/../../organization", f"{CRON}/status", f"../{CRON}", CRON.upper(),
    "{" + CRON + "}", f"urn:uuid:{CRON}", CRON.replace("-", ""), "00000000-0000-0000-0000-000000000000",
]  # fmt: skip
HUGE_STRINGS = ["x" * 100_000, "\u00e9" * 30_000, "../" * 20_000, "\u202e" * 5_000 + "9669"]
NUMBERS = [0, -1, -(2**63), 2**31, 2**63, 2**64 + 1, 10**30, -(10**30), 0.5, -0.0, 1e308, 9669, 9669.0]
ODD_TEXT = [
    "", " ", "\x00", "\U0001f600", "\uff21\uff22", "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:ldap://x/a}",
    "%s%n", "Token qov_x", '{"taskInfo": {}}', "[1, 2]", "{", '{"cpu": 1}', "null",
]  # fmt: skip
# Every argument of every tool gets each of these in turn; hypothesis then explores at random.
CORPUS: list[Any] = [None, True, [], {}, [1, "a"], {"jobId": 1}, *NUMBERS, *ODD_TEXT, *PATH_TRICKS, *HUGE_STRINGS]
UNKNOWN_NAMES = ["jobid", "../jobId", "", "\n", "x" * 10_000, "confirm", "__proto__"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has no NaN: no MCP client can send one
    st.text(max_size=40),
    st.uuids().map(str),
    st.sampled_from(PATH_TRICKS),
    st.sampled_from(HUGE_STRINGS),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=6,
)


def arguments_for(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid arguments with one value replaced, any values under the schema's names, or unknown names added."""
    names: list[str] = list(argument_names(tool))
    valid = VALID[tool]

    def changed(name: str, value: Any) -> dict[str, Any]:
        return {**valid, name: value}

    def extended(more: dict[str, Any]) -> dict[str, Any]:
        return {**valid, **more}

    one_changed = st.builds(changed, st.sampled_from(names), values)
    any_known = st.dictionaries(st.sampled_from(names), values, max_size=len(names))
    unknown_names = st.text(min_size=1, max_size=30).filter(lambda name: name not in names)
    extra = st.builds(extended, st.dictionaries(unknown_names, values, min_size=1, max_size=2))
    return st.one_of(one_changed, any_known, extra)


class FuzzServer:
    """One server on an event loop of its own: hypothesis draws in the test's thread, where its control-flow
    exceptions cannot reach the loop (inside anyio's test runner they would stop it)."""

    def __init__(self, portal: BlockingPortal, shared: Shared) -> None:
        self._portal = portal
        self.shared = shared

    def call(self, tool: str, arguments: dict[str, Any], transcript: list[str]) -> CallToolResult:
        async def call() -> CallToolResult:
            self.shared.fresh()
            with anyio.fail_after(30):  # a hang, not a speed
                return await Agent(self.shared.client, transcript).call(tool, arguments)

        return self._portal.call(call)


def argument_names(tool: str) -> list[str]:
    spec = next(spec for spec in ALL_TOOLS if spec.name == tool)
    return list(input_schema(spec.input)["properties"])


@pytest.fixture(scope="module")
def fuzz_server() -> Generator[FuzzServer]:
    with start_blocking_portal("asyncio") as portal, portal.wrap_async_context_manager(shared_server()) as shared:
        yield FuzzServer(portal, shared)


def refused_or_handled(tool: str, arguments: dict[str, Any], result: CallToolResult, sandbox: Sandbox) -> None:
    """The call ended in a result or in one line of ours, sent nothing if it was refused, and called only the
    tool's own routes."""
    shown = repr(arguments)[:300]
    if result.is_error:
        message = error(result)  # one line
        # Ours, not the SDK's bare "Error executing tool <name>" that stands for a crash.
        assert message.startswith(f"Error executing tool {tool}: "), shown
        if ": Invalid arguments: " in message:
            assert sandbox.commvault.requests == sandbox.qovery.requests == [], shown
    for request in [*sandbox.commvault.requests, *sandbox.qovery.requests]:
        allowed = ROUTES[tool]
        assert any(request.method == method and re.fullmatch(path, request.url_path) for method, path in allowed), (
            f"{tool} called {request.method} {request.url_path!r} for {shown}"
        )


@pytest.mark.parametrize("tool", list(ROUTES))
def test_every_argument_refuses_or_handles_each_hostile_value(
    tool: str, fuzz_server: FuzzServer, transcript: list[str]
) -> None:
    names = argument_names(tool)
    calls = [{**VALID[tool], name: value} for name in names for value in CORPUS]
    calls += [{**VALID[tool], name: 1} for name in UNKNOWN_NAMES]
    for arguments in calls:
        result = fuzz_server.call(tool, arguments, transcript)
        refused_or_handled(tool, arguments, result, fuzz_server.shared.sandbox)


@pytest.mark.parametrize("tool", list(ROUTES))
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(draw=st.data())
def test_hostile_arguments_are_refused_or_handled(
    tool: str, fuzz_server: FuzzServer, transcript: list[str], draw: st.DataObject
) -> None:
    arguments = draw.draw(arguments_for(tool), label="arguments")
    # Hypothesis also draws the string literals of local modules, the sandbox's credentials among them: an agent
    # that sends one gets it echoed back ("unknown argument ..."), which the secrets scan must not count.
    assume(not any(secret in repr(arguments) for secret in KNOWN_SECRETS))
    result = fuzz_server.call(tool, arguments, transcript)
    refused_or_handled(tool, arguments, result, fuzz_server.shared.sandbox)


def test_the_fuzzed_server_still_serves_every_tool(fuzz_server: FuzzServer, transcript: list[str]) -> None:
    for case in CASES:
        data(fuzz_server.call(case.tool, case.arguments, transcript))


def test_every_tool_is_fuzzed() -> None:
    assert set(ROUTES) == {spec.name for spec in ALL_TOOLS}


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("edit-job", {"jobId": CRON, "body": "[" * 50_000}),
        ("commvault-run-backup-job", {"body": '{"a":' * 5_000}),
        ("commvault-run-restore-job", {**VALID["commvault-run-restore-job"], "paths": "[" * 3_000 + "]" * 3_000}),
    ],
)
def test_json_text_nested_too_deep_is_refused_in_one_line(
    tool: str, arguments: dict[str, Any], fuzz_server: FuzzServer, transcript: list[str]
) -> None:
    result = fuzz_server.call(tool, arguments, transcript)
    assert ": Invalid arguments: " in error(result)
    refused_or_handled(tool, arguments, result, fuzz_server.shared.sandbox)
