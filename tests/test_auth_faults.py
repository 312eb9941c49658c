"""Credentials that stop working, for every tool: one new Commvault login and never a loop, a wrong password or
a refused token ends in one clear line without retries, and Qovery's 401 names the token scheme."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator, Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from jobctl_mcp.sandbox import COMMVAULT_USERNAME, QOVERY_API_KEY, Sandbox
from tests.cases import COMMVAULT_CASES, QOVERY_CASES, Agent, Shared, ToolCase, case_id, shared_server
from tests.conftest import Sleeps, data, error

pytestmark = pytest.mark.anyio

WRONG_PASSWORD = "not-the-password-7f3a"
REVOKED_KEY = "QSDK revoked-key-52c1"
ACCESS_DENIED = {"errorCode": 401, "errorMessage": "Access denied: the Authtoken is missing, invalid or expired"}
# A warm-up read that no case's own route matches: it logs in before the fault.
WARM_UP = ("commvault-get-job-details", {"jobId": 9580})


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def refused_server() -> AsyncGenerator[Shared]:
    """Both vendors configured with credentials they refuse: a wrong password, and an API token sent as Bearer."""
    env = {"COMMVAULT_USERNAME": COMMVAULT_USERNAME, "COMMVAULT_PASSWORD": WRONG_PASSWORD}
    async with shared_server(env={**env, "QOVERY_API_KEY": f"Bearer {QOVERY_API_KEY}"}) as shared:
        yield shared


@pytest.fixture(scope="module")
async def revoked_key_server() -> AsyncGenerator[Shared]:
    async with shared_server(env={"COMMVAULT_API_KEY": REVOKED_KEY}) as shared:
        yield shared


@pytest.fixture(scope="module")
async def module_server() -> AsyncGenerator[Shared]:
    async with shared_server() as shared:
        yield shared


@pytest.mark.parametrize("case", COMMVAULT_CASES, ids=case_id)
async def test_an_expired_session_costs_one_login_then_the_call_succeeds(
    case: ToolCase, connect: Callable[..., Client], sandbox: Sandbox, sleeps: Sleeps, transcript: list[str]
) -> None:
    async with connect() as client:
        agent = Agent(client, transcript)
        data(await agent.call(*WARM_UP))
        sandbox.commvault.expire_tokens()
        warm = len(sandbox.commvault.requests)
        data(await agent.call(case.tool, case.arguments))
    # Whatever went out with the expired token (the first request, or every read sent together) is refused once
    # and sent again with the one new token.
    assert sandbox.commvault.logins == 2
    sent = [r for r in sandbox.commvault.requests[warm:] if r.path != "/Login"]
    old, new = sandbox.commvault.issued_tokens
    refused = Counter(r.path for r in sent if r.headers["authtoken"] == old)
    accepted = Counter(r.path for r in sent if r.headers["authtoken"] == new)
    assert refused
    assert refused <= accepted
    assert refused.total() + accepted.total() == len(sent)
    assert sent[0].headers["authtoken"] == old
    assert sleeps == []


@pytest.mark.parametrize("case", COMMVAULT_CASES, ids=case_id)
async def test_a_401_after_a_fresh_login_is_an_error_not_a_loop(
    case: ToolCase, connect: Callable[..., Client], sandbox: Sandbox, sleeps: Sleeps, transcript: list[str]
) -> None:
    async with connect() as client:
        agent = Agent(client, transcript)
        data(await agent.call(*WARM_UP))
        sandbox.commvault.faults.add(case.fault("response", status=401, body=ACCESS_DENIED, times=10))
        with anyio.fail_after(30):  # a hang, not a speed
            message = error(await agent.call(case.tool, case.arguments))
    assert "HTTP 401: Access denied" in message
    assert "The session was refused after a fresh login: check COMMVAULT_USERNAME's rights." in message
    assert len(case.own_requests(sandbox)) == 2
    assert len(sandbox.commvault.requests_matching("POST", "^/Login$")) == 2  # the first one, and one more
    assert sleeps == []


async def test_concurrent_calls_on_an_expired_session_share_one_new_login(
    connect: Callable[..., Client], sandbox: Sandbox, transcript: list[str]
) -> None:
    results: list[dict[str, Any]] = []
    async with connect() as client:
        agent = Agent(client, transcript)
        data(await agent.call(*WARM_UP))
        sandbox.commvault.expire_tokens()

        async def read(job_id: int) -> None:
            results.append(data(await agent.call("commvault-get-job-details", {"jobId": job_id})))

        with anyio.fail_after(30):  # a hang, not a speed
            async with anyio.create_task_group() as group:
                for job_id in [9612, 9600, 9590, 9580] * 5:
                    group.start_soon(read, job_id)
    assert len(results) == 20
    assert sandbox.commvault.logins == 2


@pytest.mark.parametrize("case", COMMVAULT_CASES, ids=case_id)
async def test_a_wrong_password_is_one_login_and_one_clear_line(
    case: ToolCase, refused_server: Shared, transcript: list[str]
) -> None:
    shared = refused_server.fresh()
    message = error(await Agent(shared.client, transcript).call(case.tool, case.arguments))
    assert "Commvault login failed: Invalid Username or Password. Check COMMVAULT_USERNAME and COMMVAULT_PASSWORD." in (
        message
    )
    assert [request.path for request in shared.sandbox.commvault.requests] == ["/Login"]
    assert shared.sleeps == []
    assert WRONG_PASSWORD not in " ".join(transcript)


async def test_wrong_password_calls_at_once_share_one_refused_login(
    refused_server: Shared, transcript: list[str]
) -> None:
    shared = refused_server.fresh()
    agent = Agent(shared.client, transcript)
    messages: list[str] = []

    async def call() -> None:
        messages.append(error(await agent.call("commvault-list-jobs", {})))

    with anyio.fail_after(30):  # a hang, not a speed
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
    assert len(messages) == 10
    assert len(set(messages)) == 1
    # The calls that waited for the refused login share its answer: one attempt, where ten would lock the account.
    assert [request.path for request in shared.sandbox.commvault.requests] == ["/Login"]
    assert shared.sleeps == []


@pytest.mark.parametrize("case", COMMVAULT_CASES, ids=case_id)
async def test_a_revoked_api_key_is_one_request_and_one_clear_line(
    case: ToolCase, revoked_key_server: Shared, transcript: list[str]
) -> None:
    shared = revoked_key_server.fresh()
    message = error(await Agent(shared.client, transcript).call(case.tool, case.arguments))
    assert "HTTP 401: Access denied" in message
    assert "The Authtoken was refused (expired or invalid): set a fresh COMMVAULT_API_KEY." in message
    sent = shared.sandbox.commvault.requests  # the tool's first request (or the reads it sends together)
    assert sent
    assert {request.headers["authtoken"] for request in sent} == {"QSDK revoked-key-52c1"}
    assert len({(request.method, request.path) for request in sent}) == len(sent)  # none sent again
    assert "revoked-key-52c1" not in " ".join(transcript)


@pytest.mark.parametrize("case", QOVERY_CASES, ids=case_id)
async def test_a_qovery_401_names_the_token_scheme(
    case: ToolCase, refused_server: Shared, transcript: list[str]
) -> None:
    shared = refused_server.fresh()
    message = error(await Agent(shared.client, transcript).call(case.tool, case.arguments))
    assert "HTTP 401: Access token is missing or invalid." in message
    assert "check QOVERY_API_KEY (API tokens go as 'Token <t>', JWTs as 'Bearer <t>')" in message
    (request,) = shared.sandbox.qovery.requests  # the first request of the tool (edit-job reads first): no retry
    assert request.headers["authorization"] == f"Bearer {QOVERY_API_KEY}"
    assert shared.sleeps == []


@pytest.mark.parametrize("case", QOVERY_CASES, ids=case_id)
async def test_a_qovery_403_says_what_it_can_mean(case: ToolCase, module_server: Shared, transcript: list[str]) -> None:
    shared = module_server.fresh()
    forbidden = {"status": 403, "error": "Forbidden", "detail": "You do not have access to this job"}
    case.sim(shared.sandbox).faults.add(case.fault("response", status=403, body=forbidden, times=10))
    message = error(await Agent(shared.client, transcript).call(case.tool, case.arguments))
    assert "HTTP 403: You do not have access to this job. The token lacks permission for this job, or the job" in (
        message
    )
    assert len(case.own_requests(shared.sandbox)) == 1
    assert shared.sleeps == []
