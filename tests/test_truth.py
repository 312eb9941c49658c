"""What the agent is told is exact: ids are ids, one type per id, no stale reason on a finished job."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND

from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.sandbox.faults import Fault
from tests.commands import COMMAND, clean_env
from tests.conftest import Sleeps, data, error, sandbox_server
from tests.test_http import TOKEN, endpoint, mcp_client

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("job_id", [True, 9669.0, "9_669", "+9669", "9669\n", " 9669", "٩٦٦٩"])
async def test_a_wrong_typed_commvault_id_is_refused_before_any_request(
    client: Client, sandbox: Sandbox, job_id: Any
) -> None:
    message = error(await client.call_tool("commvault-suspend-running-job", {"jobId": job_id}))
    assert "Invalid arguments: jobId: an id is a whole number written in digits" in message
    assert sandbox.commvault.requests == []


@pytest.mark.parametrize("job_id", [True, "9669\n", 9669.5])
async def test_wait_for_job_refuses_them_too(client: Client, sandbox: Sandbox, job_id: Any) -> None:
    message = error(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": job_id}))
    assert "Invalid arguments" in message
    assert sandbox.commvault.requests == []


async def test_a_plain_decimal_string_is_still_an_id(client: Client, sandbox: Sandbox) -> None:
    assert data(await client.call_tool("commvault-get-job-details", {"jobId": "9612"}))["jobId"] == 9612
    assert next(r.url_path for r in sandbox.commvault.requests if r.method == "GET").endswith("/Job/9612")


async def test_a_commvault_job_id_is_an_integer_everywhere(client: Client) -> None:
    waited = data(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": 9612}))
    assert waited["jobId"] == 9612
    listed = data(await client.call_tool("commvault-list-jobs", {"jobFilter": "All"}))
    assert all(isinstance(job["jobId"], int) for job in listed["jobs"])
    schema = next(t for t in (await client.list_tools()).tools if t.name == "wait-for-job").output_schema or {}
    assert {"type": "integer"} in schema["properties"]["jobId"]["anyOf"]


async def test_a_killed_job_carries_no_waiting_reason(client: Client) -> None:
    waiting = [
        job
        for job in data(await client.call_tool("commvault-list-jobs", {"jobCategory": "Active", "jobFilter": "All"}))[
            "jobs"
        ]
        if job.get("reason") and "MediaAgent" in job["reason"]
    ]
    assert waiting, "the sandbox has a job waiting for a MediaAgent"
    job_id = waiting[0]["jobId"]
    data(await client.call_tool("commvault-kill-running-job", {"jobId": job_id}))
    final = data(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": job_id}))
    assert final["state"] == "Killed"
    assert final["commvault"]["reason"] is None
    details = data(await client.call_tool("commvault-get-job-details", {"jobId": job_id}))
    assert details["reason"] == "The job has been killed by user [admin]."  # why it ended, not why it waited


# ---- 5. hints that fit -----------------------------------------------------------------------------

CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"  # Qovery, image-based
LIFECYCLE = "a41e7d3c-2f9b-4b61-8d0e-5c7a9f1b2e34"  # Qovery, git-based


async def test_a_vendor_sentence_meets_our_hint_with_one_period(client: Client) -> None:
    message = error(await client.call_tool("commvault-resume-suspended-job", {"jobId": 9669}))
    assert "the job is in state [Running]. Read the job with commvault-get-job-details" in message
    assert ".." not in message


@pytest.mark.parametrize(
    "tool", ["commvault-kill-running-job", "commvault-suspend-running-job", "commvault-resume-suspended-job"]
)
async def test_an_action_on_a_job_that_does_not_exist_gets_the_not_found_hint(client: Client, tool: str) -> None:
    message = error(await client.call_tool(tool, {"jobId": 1234}))
    assert message.endswith("failed: Job ID [1234] is not valid. Find job ids with commvault-list-jobs.")


@pytest.mark.parametrize(
    ("job", "version", "said"),
    [
        (LIFECYCLE, {"imageTag": "1.0"}, "use gitCommitId, not imageTag"),
        (CRON, {"gitCommitId": "136b77f8a57026d1f4760edc84dc8999a5334f97"}, "use imageTag, not gitCommitId"),
    ],
)
async def test_a_refused_version_names_the_tools_arguments(
    client: Client, job: str, version: dict[str, str], said: str
) -> None:
    message = error(await client.call_tool("deploy-job", {"jobId": job, **version}))
    assert said in message
    assert "image_tag" not in message
    assert "git_commit_id" not in message


# ---- 6. edits say what happens next ----------------------------------------------------------------


async def test_an_edit_says_it_applies_at_the_next_deployment(client: Client) -> None:
    assert data(await client.call_tool("get-job-status", {"jobId": CRON}))["deploymentStatus"] == "UP_TO_DATE"
    edited = data(await client.call_tool("edit-job", {"jobId": CRON, "body": {"cpu": 750}}))
    assert edited["cpu"] == 750
    assert edited["note"] == "Saved. It applies at the next deployment: call redeploy-job to apply it now."
    status = data(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert status["deploymentStatus"] == "OUT_OF_DATE"


async def test_a_deployed_version_is_saved_into_the_configuration(client: Client) -> None:
    deploy = next(t for t in (await client.list_tools()).tools if t.name == "deploy-job")
    assert "saved into the job's configuration" in (deploy.description or "")
    deployed = data(await client.call_tool("deploy-job", {"jobId": CRON, "imageTag": "1.4.3"}))
    assert deployed["note"] == "imageTag 1.4.3 is saved into the job's configuration."
    assert data(await client.call_tool("get-job-id", {"jobId": CRON}))["source"].endswith(":1.4.3")
    redeployed = data(await client.call_tool("wait-for-job", {"vendor": "qovery", "jobId": CRON}))
    assert redeployed["state"] == "DEPLOYED"
    assert "note" not in data(await client.call_tool("redeploy-job", {"jobId": CRON}))


# ---- 7. duplicates are visible ---------------------------------------------------------------------


async def test_a_second_backup_of_a_subclient_says_which_job_is_ahead(client: Client, sandbox: Sandbox) -> None:
    started = data(await client.call_tool("commvault-run-backup-job", {"subclientId": 13}))  # 9670 runs
    (job_id,) = started["jobIds"]
    assert started["note"] == (
        "Another job of the same subclient default of db01.example.com is active: job 9670. "
        f"Job {job_id} is Queued (commvault-get-job-details says why)"
    )
    details = data(await client.call_tool("commvault-get-job-details", {"jobId": job_id}))
    assert "Another backup job [9670] is in progress" in (details["reason"] or "")
    alone = data(await client.call_tool("commvault-run-backup-job", {"subclientId": 16}))
    assert alone["note"] is None


async def test_a_backup_started_is_reported_even_if_the_subclients_jobs_cannot_be_read(
    client: Client, sandbox: Sandbox
) -> None:
    sandbox.commvault.faults.add(
        Fault("response", method="GET", path=r"/Job$", status=500, body={"errorMessage": "down"}, times=9)
    )
    started = data(await client.call_tool("commvault-run-backup-job", {"subclientId": 13}))
    assert started["jobIds"]
    assert started["note"] is None


# ---- 9. rate limits: a long wait is the agent's to plan, not ours to sleep through ---------------------


def _retry_time(message: str) -> datetime:
    found = re.search(r"Retry after (\d+)s \(at (\S+)Z\)\.", message)
    assert found, message
    return datetime.fromisoformat(found.group(2)).replace(tzinfo=UTC)


async def test_a_wait_beyond_the_cap_is_answered_at_once_with_when_to_come_back(
    client: Client, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.qovery.faults.add(
        Fault("response", status=429, headers={"Retry-After": "120"}, body={"message": "Slow down"})
    )
    message = error(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert "HTTP 429: Slow down. Retry after 120s (at " in message
    assert abs((_retry_time(message) - datetime.now(UTC)).total_seconds() - 120) < 60
    assert sleeps == []
    assert len(sandbox.qovery.requests) == 1


async def test_a_wait_beyond_what_the_call_has_left_is_answered_at_once(
    connect: Callable[..., Client], sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.commvault.faults.add(Fault("response", method="GET", status=429, headers={"Retry-After": "25"}, body={}))
    async with connect(call_timeout=20.0) as client:  # the cap (30 s) would allow 25 s; the call has 20 s left
        message = error(await client.call_tool("commvault-list-jobs", {}))
    assert "HTTP 429" in message
    assert "Retry after 25s (at " in message
    assert sleeps == []


async def test_a_short_wait_is_still_honoured_silently(client: Client, sandbox: Sandbox, sleeps: Sleeps) -> None:
    sandbox.qovery.faults.add(Fault("response", status=429, headers={"Retry-After": "3"}, body={}))
    data(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert sleeps == [3.0]


# ---- 12. a human at a terminal is told what is happening ---------------------------------------------

NOTICE = "This is an MCP server: it waits for an MCP client on stdin/stdout"


def _stderr_until(process: subprocess.Popen[bytes], marker: str, seconds: float = 60.0) -> str:
    """What the process wrote on stderr until `marker` appeared (or it exited, or `seconds` passed)."""
    assert process.stderr is not None
    said, deadline = b"", time.monotonic() + seconds
    while marker.encode() not in said and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.1)
        if ready:
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                break
            said += chunk
    return said.decode()


def test_typed_in_a_terminal_the_server_says_what_it_waits_for_and_what_to_run() -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [COMMAND, "--sandbox"], stdin=terminal, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env()
    )
    os.close(terminal)
    try:
        said = _stderr_until(process, "config claude-desktop")
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(controller)
        assert process.stderr is not None
        process.stderr.close()
    assert NOTICE in said
    assert "npx @modelcontextprotocol/inspector jobctl-mcp --sandbox\n" in said
    assert "jobctl-mcp config claude-desktop --sandbox" in said


def test_spawned_by_a_client_on_a_pipe_nothing_changes() -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    done = subprocess.run(
        [COMMAND, "--sandbox"],
        input=(json.dumps(initialize) + "\n").encode(),
        capture_output=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )
    answer = json.loads(done.stdout.decode().splitlines()[0])
    assert answer["result"]["serverInfo"]["name"] == "jobctl-mcp"
    assert "serving on stdio (sandbox)" in done.stderr.decode()
    assert NOTICE not in done.stderr.decode()


# ---- 10. protocol answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    ["commvault://jobs/abc", "commvault://jobs/²", "commvault://jobs/" + "9" * 5000, "qovery://jobs/xyz/status"],
)
async def test_a_resource_id_that_is_no_id_is_invalid_params_without_a_traceback(
    client: Client, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, uri: str
) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    assert raised.value.error.code == INVALID_PARAMS
    assert raised.value.error.message.startswith(("a Commvault job id is a positive integer", "a Qovery job id"))
    assert len(raised.value.error.message) < 120
    assert not [record for record in caplog.records if record.exc_info]
    assert sandbox.commvault.requests == []


async def test_a_stateless_endpoint_says_it_has_no_session_to_carry_the_question(sandbox: Sandbox) -> None:
    asked: list[str] = []

    async def approve(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    with endpoint(sandbox, http_token=TOKEN, stateless=True, confirm_destructive=True) as base:
        async with mcp_client(f"{base}/mcp", "legacy", elicitation_callback=approve) as client:
            message = error(await client.call_tool("commvault-kill-running-job", {"jobId": 9671}))
    assert "this stateless endpoint (JOBCTL_STATELESS) has no session to carry the question to a human" in message
    assert "elicitation" not in message
    assert asked == []


async def test_a_client_without_elicitation_is_still_told_so(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async with Client(sandbox_server(sandbox, sleeps, confirm_destructive=True)) as client:
        message = error(await client.call_tool("commvault-kill-running-job", {"jobId": 9671}))
    assert "this client cannot ask one (it does not support elicitation)" in message


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("content", [{"approve": "maybe"}, {"yes": True}, {}])
async def test_an_answer_that_is_not_the_form_gets_one_plain_sentence(
    sandbox: Sandbox, sleeps: Sleeps, mode: str, content: dict[str, Any]
) -> None:
    async def answer(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content=content)

    server = sandbox_server(sandbox, sleeps, confirm_destructive=True)
    async with Client(server, elicitation_callback=answer, mode=mode) as client:
        message = error(await client.call_tool("commvault-kill-running-job", {"jobId": 9671}))
    assert message.startswith(
        "Error executing tool commvault-kill-running-job: Not done: the answer did not match the confirmation form "
        "(approve: true or false). Kill Commvault Backup job 9671"
    )
    assert "Resolver" not in message
    assert not sandbox.commvault.requests_matching("POST", "action/kill")


@pytest.mark.parametrize("key", ["short-key", "   x   "])
def test_a_short_state_key_is_a_one_line_configuration_error(tmp_path: Path, key: str) -> None:
    args = [COMMAND, "--sandbox", "--transport", "streamable-http", "--port", "1"]
    refused = subprocess.run(
        args, env=clean_env(JOBCTL_STATE_KEY=key), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0
    (line,) = refused.stderr.splitlines()
    assert line.startswith("jobctl-mcp: invalid configuration: JOBCTL_STATE_KEY: ")
    assert "at least 32 characters" in line


async def test_no_prompts_are_advertised_when_there_are_none(client: Client) -> None:
    capabilities = client.server_capabilities
    assert capabilities is not None
    assert capabilities.prompts is None
    assert capabilities.tools is not None
    with pytest.raises(MCPError) as raised:
        await client.list_prompts()
    assert raised.value.error.code == METHOD_NOT_FOUND
