"""Known credentials never reach an agent or a log, even when a vendor echoes them back in its error text.

Every test of the suite is also scanned for them after it runs (conftest._no_secret_is_ever_shown): its logs at
DEBUG, and every text its agent received through tests.cases.Agent."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import TextResourceContents

from jobctl_mcp.sandbox import COMMVAULT_API_KEY, COMMVAULT_PASSWORD, QOVERY_API_KEY, QOVERY_JWT, Sandbox
from jobctl_mcp.sandbox.faults import Fault
from tests.cases import CASES, CRON, Agent, ToolCase, case_id
from tests.conftest import KNOWN_SECRETS, data, error

pytestmark = pytest.mark.anyio

PASSWORD_B64 = base64.b64encode(COMMVAULT_PASSWORD.encode()).decode()


@pytest.mark.parametrize(
    ("configured", "status", "echo"),
    [
        ({}, 401, f"Token {QOVERY_API_KEY} is not valid"),
        ({"QOVERY_API_KEY": QOVERY_JWT}, 403, f"Bearer {QOVERY_JWT} may not read this job"),
        ({}, 200, f"proxy: upstream refused {QOVERY_API_KEY}"),  # an error object inside a 2xx answer
    ],
)
async def test_qovery_echoing_the_token_is_redacted(
    connect: Callable[..., Client],
    sandbox: Sandbox,
    transcript: list[str],
    configured: dict[str, str],
    status: int,
    echo: str,
) -> None:
    body = {"status": status if status >= 400 else 502, "error": "Refused", "detail": echo}
    sandbox.qovery.faults.add(Fault("response", method="GET", status=status, body=body))
    async with connect(env=configured) as client:
        message = error(await Agent(client, transcript).call("get-job-status", {"jobId": CRON}))
    assert "[redacted]" in message
    assert QOVERY_API_KEY not in message
    assert QOVERY_JWT not in message


async def test_commvault_echoing_its_api_key_is_redacted(
    connect: Callable[..., Client], sandbox: Sandbox, transcript: list[str]
) -> None:
    echo = {"errorCode": 500, "errorMessage": f"Authtoken {COMMVAULT_API_KEY} could not be validated"}
    sandbox.commvault.faults.add(Fault("response", method="GET", status=500, body=echo))
    async with connect(env={"COMMVAULT_API_KEY": COMMVAULT_API_KEY}) as client:
        message = error(await Agent(client, transcript).call("commvault-list-jobs", {}))
    assert "HTTP 500: Authtoken [redacted] could not be validated" in message


async def test_commvault_echoing_its_session_token_inside_a_200_is_redacted(
    connect: Callable[..., Client], sandbox: Sandbox, transcript: list[str]
) -> None:
    async with connect() as client:
        agent = Agent(client, transcript)
        await agent.call("commvault-get-job-details", {"jobId": 9612})  # logs in
        (token,) = sandbox.commvault.issued_tokens
        echo = {"errorCode": 2, "errorMessage": f"Session {token.removeprefix('QSDK ')} may not kill jobs"}
        sandbox.commvault.faults.add(Fault("response", method="POST", path="/action/kill$", status=200, body=echo))
        message = error(await agent.call("commvault-kill-running-job", {"jobId": 9669}))
    assert "Session [redacted] may not kill jobs" in message


@pytest.mark.parametrize("echoed", [COMMVAULT_PASSWORD, PASSWORD_B64])
async def test_a_refused_login_echoing_the_password_is_redacted(
    connect: Callable[..., Client], sandbox: Sandbox, transcript: list[str], echoed: str
) -> None:
    refusal = {"errList": [{"errorCode": 0, "errLogMessage": f"Password {echoed} is wrong for admin"}]}
    sandbox.commvault.faults.add(Fault("response", method="POST", path="^/Login$", status=200, body=refusal))
    async with connect() as client:
        message = error(await Agent(client, transcript).call("commvault-list-jobs", {}))
    assert "Commvault login failed: Password [redacted] is wrong for admin." in message


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_no_credential_in_any_output_log_or_audit_line_of_a_failing_call(
    case: ToolCase,
    connect: Callable[..., Client],
    sandbox: Sandbox,
    transcript: list[str],
    tmp_path: Path,
) -> None:
    trail = tmp_path / "audit.jsonl"
    # Qovery with a JWT this time; Commvault logs in (its session token is scanned too, see conftest).
    case.sim(sandbox).faults.add(case.fault("response", status=500, body={"detail": "x", "errorMessage": "x"}))
    async with connect(env={"QOVERY_API_KEY": QOVERY_JWT}, audit_log=str(trail)) as client:
        agent = Agent(client, transcript)
        error(await agent.call(case.tool, case.arguments))
        await agent.call(case.tool, case.arguments)  # and once more, fault spent
    written = trail.read_text() if trail.exists() else ""
    tokens = [token.removeprefix("QSDK ") for token in sandbox.commvault.issued_tokens]
    for secret in [*KNOWN_SECRETS, *tokens]:
        assert secret not in written
    assert len(transcript) == 2


async def test_credentials_echoed_inside_successful_answers_are_redacted(
    client: Client, sandbox: Sandbox, transcript: list[str]
) -> None:
    agent = Agent(client, transcript)
    await agent.call("commvault-get-job-details", {"jobId": 9612})  # logs in: the session token is a secret too
    (token,) = sandbox.commvault.issued_tokens
    session = token.removeprefix("QSDK ")
    job = {"id": CRON, "name": f"job of {QOVERY_API_KEY}", "description": f"password {COMMVAULT_PASSWORD}"}
    sandbox.qovery.faults.add(Fault("response", method="GET", path="^/job/[^/]+$", status=200, body=job))
    status = {"id": CRON, "state": "DEPLOYED", "deployment_request_id": f"Token {QOVERY_API_KEY}"}
    sandbox.qovery.faults.add(Fault("response", method="GET", path="/status$", status=200, body=status, times=2))
    summary = {"jobId": 9612, "status": "Waiting", "pendingReason": f"session {session} / {PASSWORD_B64}"}
    listed = {"totalRecordsWithoutPaging": 1, "jobs": [{"jobSummary": summary}]}
    sandbox.commvault.faults.add(Fault("response", method="GET", path="^/Job$", status=200, body=listed))
    sandbox.commvault.faults.add(Fault("response", method="GET", path="^/Job/9612$", status=200, body=listed))
    shown = [
        data(await agent.call("get-job-id", {"jobId": CRON, "raw": True})),
        data(await agent.call("get-job-status", {"jobId": CRON})),
        data(await agent.call("commvault-list-jobs", {})),
    ]
    for uri in (f"qovery://jobs/{CRON}/status", "commvault://jobs/9612"):
        (content,) = (await client.read_resource(uri)).contents
        assert isinstance(content, TextResourceContents)
        transcript.append(content.text)
    assert str(shown[0]).count("[redacted]") == 4  # name and description, each also in the raw job
    assert shown[1]["deploymentRequestId"] == "Token [redacted]"
    assert shown[2]["jobs"][0]["reason"] == "session [redacted] / [redacted]"
    assert all("[redacted]" in text for text in transcript[-2:])
