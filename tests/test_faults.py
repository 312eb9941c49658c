"""Every vendor fault against every tool, through the MCP client: each call ends in a success or one clear error
line, and the vendor sees exactly the requests the retry policy allows (test_errors.py holds the single cases)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult

from jobctl_mcp.client import MAX_RESPONSE_BYTES
from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.sandbox.faults import GARBLED_NUMBER, Fault
from jobctl_mcp.tools import ALL_TOOLS
from tests.cases import CASES, CRON, Agent, Shared, ToolCase, case_id, shared_server
from tests.conftest import data, error, text

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def module_server() -> AsyncGenerator[Shared]:
    async with shared_server() as shared:
        yield shared


@pytest.fixture
def shared(module_server: Shared) -> Shared:
    return module_server.fresh()


Outcome = Literal["ok", "error", "unknown"]
UNKNOWN = "The outcome is unknown: check the job list or status before trying again."
BACKOFF = [(0.25, 0.5), (0.5, 1.0)]  # the first two retry delays: half fixed, half jitter (test settings)
CALL_TIMEOUT = 120.0  # the default JOBCTL_CALL_TIMEOUT: retries and their waits must fit in it


@dataclass(frozen=True)
class Expect:
    outcome: Outcome
    says: str = ""  # a fragment of the one-line error
    requests: int = 1  # the tool's own requests the vendor saw
    sleeps: tuple[tuple[float, float], ...] = ()  # the waits between attempts, each within (low, high)


def retried(outcome: Outcome, says: str, *, attempts: int = 3, waits: list[tuple[float, float]] = BACKOFF) -> Expect:
    return Expect(outcome, says, attempts, tuple(waits[: attempts - 1]))


def unusable(case: ToolCase, says: str) -> Expect:
    """A 2xx answer the tool cannot use: an error after a read; after a write, the outcome is unknown."""
    return Expect("error" if case.repeatable else "unknown", says)


@dataclass(frozen=True)
class Scenario:
    name: str
    arm: Callable[[ToolCase], list[Fault]]
    expect: Callable[[ToolCase], Expect]


def persistent(kind: Literal["connect", "timeout", "reset"], label: str) -> Scenario:
    def expect(case: ToolCase) -> Expect:
        if kind == "connect":  # never reached the vendor: retried for every method, and the vendor saw nothing
            return Expect("error", "no answer after 3 attempts (connect error)", 0, tuple(BACKOFF))
        if case.repeatable:
            return retried("error", f"no answer after 3 attempts ({label})")
        return Expect("unknown", f"{label} after the request was sent. {UNKNOWN}")

    return Scenario(f"{kind}-always", lambda case: [case.fault(kind, times=10)], expect)


def status(code: int, body: Any, says: str, content_type: str | None = None) -> Scenario:
    def arm(case: ToolCase) -> list[Fault]:
        return [case.fault("response", status=code, body=body, content_type=content_type, times=10)]

    def expect(case: ToolCase) -> Expect:
        if code in (502, 503, 504) and case.repeatable:
            return retried("error", f"HTTP {code}: {says}")
        if code in (502, 504):  # a gateway answered: the write may have reached the vendor
            return Expect("unknown", f"HTTP {code} from a gateway after the request was sent. {UNKNOWN}")
        return Expect("error", f"HTTP {code}: {says}")

    return Scenario(f"{code}-{'html' if content_type else 'always'}", arm, expect)


def rate_limited(retry_after: str | None, waits: list[tuple[float, float]], says: str, attempts: int = 3) -> Scenario:
    headers = {"Retry-After": retry_after} if retry_after else {}

    def arm(case: ToolCase) -> list[Fault]:
        return [case.fault("response", status=429, headers=headers, body={"message": "Too many requests"}, times=10)]

    def expect(case: ToolCase) -> Expect:
        # The vendor refused without acting: every method is tried again, after Retry-After (capped) or backoff.
        return retried("error", f"HTTP 429: {says}", attempts=attempts, waits=waits)

    return Scenario(f"429-retry-after-{retry_after}", arm, expect)


def once(kind: Literal["connect", "timeout", "reset"], times: int = 1) -> Scenario:
    def expect(case: ToolCase) -> Expect:
        if kind == "connect":
            return Expect("ok", requests=1, sleeps=tuple(BACKOFF[:times]))
        if case.repeatable:
            return Expect("ok", requests=2, sleeps=tuple(BACKOFF[:1]))
        label = "read timeout" if kind == "timeout" else "read error"
        return Expect("unknown", f"{label} after the request was sent. {UNKNOWN}")

    return Scenario(f"{kind}-once", lambda case: [case.fault(kind, times=times)], expect)


def status_once(code: int) -> Scenario:
    def expect(case: ToolCase) -> Expect:
        if case.repeatable:
            return Expect("ok", requests=2, sleeps=tuple(BACKOFF[:1]))
        if code == 503:
            return Expect("error", "HTTP 503")
        return Expect("unknown", f"HTTP {code} from a gateway after the request was sent. {UNKNOWN}")

    return Scenario(f"{code}-once", lambda case: [case.fault("response", status=code, body="busy")], expect)


def rate_limited_once() -> Scenario:
    def arm(case: ToolCase) -> list[Fault]:
        return [case.fault("response", status=429, headers={"Retry-After": "1"}, body={})]

    # Even a POST: the vendor did nothing with a request it refused.
    return Scenario("429-once", arm, lambda case: Expect("ok", requests=2, sleeps=((1, 1),)))  # noqa: ARG005


def answered(
    name: str, body: Any, expect: Callable[[ToolCase], Expect], content_type: str | None = None, chunked: bool = False
) -> Scenario:
    """A 2xx answer the tool may not be able to use."""

    def arm(case: ToolCase) -> list[Fault]:
        return [case.fault("response", status=200, body=body, content_type=content_type, chunked=chunked)]

    return Scenario(name, arm, expect)


def not_json(case: ToolCase) -> Expect:
    # A write answered 2xx with something unreadable may never have reached the vendor (a proxy's login page).
    return unusable(case, "the answer was not JSON" if case.repeatable else f"but the answer was not JSON. {UNKNOWN}")


def wrong_shape(case: ToolCase) -> Expect:
    return Expect("ok") if case.accepts_any else unusable(case, f"the answer is not {case.expects}")


def empty(case: ToolCase) -> Expect:
    return Expect("ok") if case.accepts_empty or case.accepts_any else unusable(case, "the answer was empty")


REFUSED = "Sandbox refused the request"


def error_inside(case: ToolCase) -> Expect:
    if case.vendor == "commvault":  # Commvault's own convention: the request was refused, nothing was done
        return Expect("error", REFUSED)
    return unusable(case, f"the answer reports an error: {REFUSED}")


def error_inside_body(case: ToolCase) -> dict[str, Any]:
    if case.vendor == "commvault":
        return {"errorCode": 2, "errorMessage": REFUSED}
    return {"status": 500, "error": "Internal Server Error", "detail": REFUSED}


def too_large(case: ToolCase) -> Expect:
    size = f"the answer was larger than {MAX_RESPONSE_BYTES // 2**20} MB"
    return Expect("error", size) if case.repeatable else Expect("unknown", f"HTTP 200, but {size}. {UNKNOWN}")


@cache  # built once: 16 MB
def huge_body() -> bytes:
    """Valid JSON just over the byte cap."""
    return b'{"padding": "' + b"x" * MAX_RESPONSE_BYTES + b'"}'


HTML_500 = "<html><head><title>500 Internal Server Error</title></head><body><h1>nginx</h1></body></html>"
HTML_503 = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>nginx</body></html>"
PORTAL = "<html><head><title>Sign in to continue</title></head><body><form>...</form></body></html>"

SCENARIOS = (
    persistent("connect", "connect error"),
    persistent("timeout", "read timeout"),
    persistent("reset", "read error"),
    once("connect", times=2),
    once("timeout"),
    once("reset"),
    status(500, {"errorMessage": "Internal failure (sandbox)", "detail": "Internal failure (sandbox)"}, "Internal"),
    status(502, "Bad Gateway", "Bad Gateway"),
    status(503, {"message": "Service Unavailable"}, "Service Unavailable"),
    status(504, "Gateway Timeout", "Gateway Timeout"),
    status(500, HTML_500, "500 Internal Server Error", "text/html"),
    status(503, HTML_503, "503 Service Temporarily Unavailable", "text/html"),
    status_once(502),
    status_once(503),
    status_once(504),
    rate_limited_once(),
    rate_limited(None, BACKOFF, "Too many requests. Rate limited: wait before calling again."),
    rate_limited("2", [(2, 2), (2, 2)], "Too many requests. Retry after 2s (at "),
    rate_limited("86400", [], "Too many requests. Retry after 86400s (at ", attempts=1),  # beyond the 30 s cap
    answered("not-json", "{not json", not_json, "application/json"),
    answered("html-200", PORTAL, not_json, "text/html"),
    answered("nested-json", "[" * 100_000 + "]" * 100_000, not_json, "application/json"),
    answered("empty", b"", empty),
    answered("wrong-shape-object", {"unexpected": [1, 2, 3]}, wrong_shape),
    answered("wrong-shape-list", [{"unexpected": True}], wrong_shape),
    answered("wrong-shape-scalar", "42", wrong_shape, "application/json"),
    Scenario(
        "error-inside-200",
        lambda case: [case.fault("response", status=200, body=error_inside_body(case))],
        error_inside,
    ),
    answered("huge", huge_body(), too_large, "application/json"),
    answered("huge-chunked", huge_body(), too_large, "application/json", chunked=True),  # no Content-Length
)


def test_the_cases_cover_every_tool() -> None:
    assert {case.tool for case in CASES} == {spec.name for spec in ALL_TOOLS}


def check(tool: str, result: CallToolResult, expected: Expect) -> None:
    if expected.outcome == "ok":
        data(result)
        return
    message = error(result)  # one line
    assert expected.says in message
    assert "<" not in message  # no markup from an HTML page
    assert message.startswith(f"Error executing tool {tool}: ")  # a message of ours, never the SDK's crash line
    assert ("outcome is unknown" in message) == (expected.outcome == "unknown"), message
    assert len(message) < 500


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_vendor_fault(case: ToolCase, scenario: Scenario, shared: Shared, transcript: list[str]) -> None:
    sandbox, sleeps = shared.sandbox, shared.sleeps
    for fault in scenario.arm(case):
        case.sim(sandbox).faults.add(fault)
    expected = scenario.expect(case)
    with anyio.fail_after(30):  # a hang, not a speed: retries wait in virtual time
        result = await Agent(shared.client, transcript).call(case.tool, case.arguments)
    check(case.tool, result, expected)
    assert len(case.own_requests(sandbox)) == expected.requests
    assert len(sleeps) == len(expected.sleeps), sleeps
    for wait, (low, high) in zip(sleeps, expected.sleeps, strict=True):
        assert low <= wait <= high
    assert sum(sleeps) < CALL_TIMEOUT


# ---- answers in the vendor's own shape with the wrong types inside: read defensively, never a crash ------------

# What the agent gets from each tool when its own request is answered garbled (sandbox fault "garble": every second
# value that does not identify its object turned into another type, one junk item more in every list), against a
# sandbox whose clock stands still. A reviewed snapshot: after a deliberate change (a new tool, one taken out),
# `UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_faults.py -k garbled` rewrites it, and its diff is what a
# reviewer reads.
GARBLED = Path(__file__).with_name("garbled.snapshot.json")
STILL = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
async def still_server() -> AsyncGenerator[Shared]:
    async with shared_server(clock=lambda: STILL) as shared:
        yield shared


@cache
def garbled_snapshot() -> dict[str, Any]:
    return json.loads(GARBLED.read_text()) if GARBLED.exists() else {}


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_a_garbled_answer_is_read_defensively(
    case: ToolCase, still_server: Shared, transcript: list[str]
) -> None:
    shared = still_server.fresh()
    case.sim(shared.sandbox).faults.add(case.fault("garble"))
    result = await Agent(shared.client, transcript).call(case.tool, case.arguments)
    # Never a crash: a value of the wrong type is left out (null, or one item fewer) and what has the right type is
    # kept, or, when what identifies the answer is unreadable, the vendor's error line says the answer is unusable.
    if result.is_error:
        got: dict[str, Any] = {"error": error(result)}
        assert got["error"].startswith(f"Error executing tool {case.tool}: {case.vendor.capitalize()} "), got
    else:
        got = data(result)
    read = json.dumps({key: value for key, value in got.items() if key != "raw"})
    assert "garbled" not in read  # no number or flag read from text
    assert str(GARBLED_NUMBER) not in read  # no text made of a number
    if os.environ.get("UPDATE_SNAPSHOT"):
        GARBLED.write_text(json.dumps({**garbled_snapshot(), case.id: got}, indent=2, sort_keys=True) + "\n")
        garbled_snapshot.cache_clear()
    assert case.id in garbled_snapshot(), f"no entry for {case.id} in {GARBLED.name}: regenerate it (see above)"
    assert got == garbled_snapshot()[case.id]


def test_the_garbled_snapshot_holds_exactly_the_cases() -> None:
    cases = sorted(case.id for case in CASES)
    if os.environ.get("UPDATE_SNAPSHOT"):  # a tool taken out takes its entry with it
        kept = {key: value for key, value in garbled_snapshot().items() if key in cases}
        GARBLED.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
        garbled_snapshot.cache_clear()
    assert sorted(garbled_snapshot()) == cases


# ---- a huge answer: the tool stays small and says how to ask for less --------------------------------------------


def job_list(count: int, **extra: Any) -> dict[str, Any]:
    summaries = ({"jobId": 200_000 - i, "status": "Completed", "jobType": "Backup", **extra} for i in range(count))
    jobs = [{"jobSummary": summary} for summary in summaries]
    return {"totalRecordsWithoutPaging": count, "jobs": jobs}


async def test_a_vendor_that_ignores_the_limit_still_gives_one_small_page(
    client: Client, sandbox: Sandbox, transcript: list[str]
) -> None:
    listing = job_list(100_000)
    assert len(json.dumps(listing)) < MAX_RESPONSE_BYTES  # compact summaries: the whole answer is read
    sandbox.commvault.faults.add(Fault("response", method="GET", path="^/Job$", status=200, body=listing, times=2))
    agent = Agent(client, transcript)
    first = await agent.call("commvault-list-jobs", {})
    page = data(first)
    later = data(await agent.call("commvault-list-jobs", {"limit": 5, "offset": 40}))
    assert (page["total"], page["offset"], page["nextOffset"], len(page["jobs"])) == (100_000, 0, 20, 20)
    assert page["jobs"][0]["jobId"] == 200_000
    assert len(text(first)) < 8_000
    assert page["note"] == (
        "Commvault ignored the paging and sent all 100000 jobs at once; this page was cut from them. "
        "To ask for less, narrow the query with lookupTime, jobFilter or clientId, or a smaller limit."
    )
    # It ignored the offset as well: the server pages for it.
    assert [job["jobId"] for job in later["jobs"]] == [199_960, 199_959, 199_958, 199_957, 199_956]
    assert later["nextOffset"] == 45


async def test_a_list_beyond_the_byte_cap_is_one_line_saying_how_to_narrow_it(
    client: Client, sandbox: Sandbox, transcript: list[str]
) -> None:
    padding = "x" * 160  # fuller summaries, as Commvault sends them: 100,000 no longer fit in the cap
    listing = job_list(100_000, pad=padding)
    sandbox.commvault.faults.add(Fault("response", method="GET", path="^/Job$", status=200, body=listing))
    message = error(await Agent(client, transcript).call("commvault-list-jobs", {"jobFilter": "All"}))
    assert message.endswith(
        "Commvault list jobs failed: the answer was larger than 16 MB. "
        "To ask for less, narrow the query with lookupTime, jobFilter or clientId, or a smaller limit."
    )
    assert len(message) < 300


@pytest.mark.parametrize(("tool", "arguments", "path"), [
    ("commvault-get-job-details", {"jobId": 9612, "raw": True}, "^/Job/9612$"),
    ("get-job-id", {"jobId": CRON, "raw": True}, "^/job/[^/]+$"),
    ("get-job-status", {"jobId": CRON, "raw": True}, "/status$"),
])  # fmt: skip
async def test_a_raw_object_too_large_for_an_agent_is_refused_in_one_line(
    client: Client, sandbox: Sandbox, transcript: list[str], tool: str, arguments: dict[str, Any], path: str
) -> None:
    notes = "y" * 100_000
    if tool.startswith("commvault"):
        summary = {"jobId": 9612, "status": "Completed", "notes": notes}
        vendor, body = sandbox.commvault, {"totalRecordsWithoutPaging": 1, "jobs": [{"jobSummary": summary}]}
    else:
        vendor, body = sandbox.qovery, {"id": CRON, "name": "nightly-report", "state": "DEPLOYED", "notes": notes}
    vendor.faults.add(Fault("response", method="GET", path=path, status=200, body=body, times=2))
    agent = Agent(client, transcript)
    message = error(await agent.call(tool, arguments))
    assert "larger than 64 KB. Call again without raw." in message
    assert len(json.dumps(data(await agent.call(tool, {**arguments, "raw": False})))) < 2_000


# ---- the call deadline holds for every tool -------------------------------------------------------------------


@pytest.fixture(scope="module")
async def impatient_server() -> AsyncGenerator[Shared]:
    async with shared_server(call_timeout=0.1) as shared:
        yield shared


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_a_vendor_that_never_answers_is_cut_off_at_the_call_deadline(
    case: ToolCase, impatient_server: Shared, transcript: list[str]
) -> None:
    sandbox = impatient_server.fresh().sandbox
    case.sim(sandbox).faults.add(case.fault("delay", seconds=60))
    # wait-for-job waits on purpose: its deadline is the call timeout plus its own timeoutSeconds.
    arguments = {**case.arguments, "timeoutSeconds": 1} if case.tool == "wait-for-job" else case.arguments
    with anyio.fail_after(30):  # the vendor holds the answer for 60 s: only the call deadline ends it sooner
        message = error(await Agent(impatient_server.client, transcript).call(case.tool, arguments))
    deadline = 1.1 if case.tool == "wait-for-job" else 0.1
    assert f"no complete answer within {deadline:g} s (JOBCTL_CALL_TIMEOUT)" in message
    assert ("outcome is unknown" in message) == case.mutating
    # Never sent twice. On a machine slow enough, the 0.1 s deadline may even pass before the request is sent.
    assert len(case.own_requests(sandbox)) <= 1
