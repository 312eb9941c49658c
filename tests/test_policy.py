"""Operator policy: which tools are served, human confirmation, dry run and the audit trail."""

from __future__ import annotations

import json
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.server.request_state import InvalidRequestState
from mcp.shared.exceptions import MCPError

from jobctl_mcp.errors import ConfigError
from jobctl_mcp.sandbox import COMMVAULT_PASSWORD, Sandbox
from jobctl_mcp.server import create_server
from jobctl_mcp.tools import ALL_TOOLS
from tests.conftest import Sleeps, data, error, isolated_settings, sandbox_server

pytestmark = pytest.mark.anyio

CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
READ_ONLY = [spec.name for spec in ALL_TOOLS if spec.hints.read_only]
DESTRUCTIVE = {spec.name for spec in ALL_TOOLS if spec.hints.destructive}

Answer = Callable[[str], Awaitable[types.ElicitResult]]


async def listed(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


def writes(sandbox: Sandbox) -> list[str]:
    """Requests that could have changed something at either vendor (a Commvault login changes no job)."""
    requests = [*sandbox.commvault.requests, *sandbox.qovery.requests]
    return [f"{r.method} {r.path}" for r in requests if r.method != "GET" and r.path != "/Login"]


async def test_read_only_serves_only_reading_tools_and_refuses_the_others_by_name(
    connect: Callable[..., Client], sandbox: Sandbox
) -> None:
    async with connect(read_only=True) as client:
        assert await listed(client) == READ_ONLY
        message = error(await client.call_tool("commvault-kill-running-job", {"jobId": 9669}))
        assert data(await client.call_tool("get-job-status", {"jobId": CRON}))["state"] == "DEPLOYED"
    assert message == (
        "commvault-kill-running-job is not available: the server is read-only (JOBCTL_READ_ONLY). "
        "Only the operator can change this."
    )
    assert writes(sandbox) == []


async def test_read_only_beats_an_allow_list_naming_a_mutating_tool(connect: Callable[..., Client]) -> None:
    async with connect(read_only=True, tools="commvault-kill-running-job,get-job-status") as client:
        assert await listed(client) == ["get-job-status"]
        assert "read-only" in error(await client.call_tool("commvault-kill-running-job", {"jobId": 9669}))


async def test_toolsets_allow_and_deny_lists(connect: Callable[..., Client], sandbox: Sandbox) -> None:
    async with connect(toolsets="qovery", exclude_tools="delete-job") as client:
        names = await listed(client)
        qovery = [spec.name for spec in ALL_TOOLS if spec.vendor == "qovery" and spec.name != "delete-job"]
        assert names == [*qovery, "wait-for-job"]  # spans vendors: served, but only for the enabled ones
        assert "toolset is not enabled" in error(await client.call_tool("commvault-list-jobs", {}))
        waited = error(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": 9612}))
        assert "the commvault toolset is not enabled on this server (JOBCTL_TOOLSETS)" in waited
        assert "JOBCTL_EXCLUDE_TOOLS" in error(await client.call_tool("delete-job", {"jobId": CRON}))
    async with connect(tools="get-job-status,stop-job") as client:
        assert await listed(client) == ["get-job-status", "stop-job"]
        assert "allow-list" in error(await client.call_tool("deploy-job", {"jobId": CRON}))
    assert sandbox.commvault.requests == []
    assert writes(sandbox) == []


async def test_disable_destructive_hides_the_four_destructive_tools(connect: Callable[..., Client]) -> None:
    async with connect(disable_destructive=True) as client:
        names = await listed(client)
        assert names == [spec.name for spec in ALL_TOOLS if spec.name not in DESTRUCTIVE]
        assert "JOBCTL_DISABLE_DESTRUCTIVE" in error(await client.call_tool("uninstall-job", {"jobId": CRON}))


def test_an_unknown_tool_name_stops_the_server_listing_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown tool names .*: kill-everything\. Valid names: commvault-run"):
        create_server(isolated_settings(exclude_tools="kill-everything"))


def answering(action: str, approve: bool = True, seen: list[str] | None = None) -> Callable[..., Any]:
    async def callback(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        if seen is not None:
            seen.append(params.message)
        content = {"approve": approve} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return callback


def confirming_client(sandbox: Sandbox, sleeps: Sleeps, callback: Any, mode: str = "auto", **settings: Any) -> Client:
    server = sandbox_server(sandbox, sleeps, confirm_destructive=True, **settings)
    return Client(server, elicitation_callback=callback, mode=mode)


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 input_required, and 2025-11-25 sessions
async def test_an_approved_kill_shows_the_human_the_job_then_acts(sandbox: Sandbox, sleeps: Sleeps, mode: str) -> None:
    seen: list[str] = []
    async with confirming_client(sandbox, sleeps, answering("accept", seen=seen), mode) as client:
        killed = data(await client.call_tool("commvault-kill-running-job", {"jobId": 9671}))
    assert killed["status"] == "Kill Pending"
    assert seen[0] == (
        "Kill Commvault Backup job 9671 of fs02.example.com/default, now Pending? A killed job cannot be resumed."
    )
    assert writes(sandbox) == ["POST /Job/9671/action/kill"]


@pytest.mark.parametrize(("action", "approve"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_a_human_who_does_not_approve_stops_the_call(
    sandbox: Sandbox, sleeps: Sleeps, action: str, approve: bool
) -> None:
    async with confirming_client(sandbox, sleeps, answering(action, approve)) as client:
        message = error(await client.call_tool("delete-job", {"jobId": CRON}))
    assert "Not done: the human did not approve. Delete Qovery cron job nightly-report" in message
    assert writes(sandbox) == []


async def test_a_job_that_changes_while_the_human_decides_is_not_touched(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async def callback(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        sandbox.commvault.jobs[9671]["status"] = "Running"  # the MediaAgent came back meanwhile
        return types.ElicitResult(action="accept", content={"approve": True})

    async with confirming_client(sandbox, sleeps, callback, mode="legacy") as client:
        message = error(await client.call_tool("commvault-kill-running-job", {"jobId": 9671}))
    assert "the job changed while the human decided" in message
    assert "now Pending?" in message
    assert "now Running?" in message
    assert writes(sandbox) == []


async def test_a_client_that_cannot_ask_is_refused_by_default(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async with Client(sandbox_server(sandbox, sleeps, confirm_destructive=True)) as client:
        message = error(await client.call_tool("uninstall-job", {"jobId": CRON}))
        assert data(await client.call_tool("stop-job", {"jobId": CRON}))["status"]["state"] == "STOP_QUEUED"
    assert "needs a human's confirmation (JOBCTL_CONFIRM_DESTRUCTIVE)" in message
    assert "JOBCTL_CONFIRM_FALLBACK=allow" in message
    assert writes(sandbox) == [f"POST /job/{CRON}/stop"]  # a tool that is not destructive is not asked about


async def test_the_operator_can_let_unconfirmable_calls_through(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async with Client(sandbox_server(sandbox, sleeps, confirm_destructive=True, confirm_fallback="allow")) as client:
        data(await client.call_tool("uninstall-job", {"jobId": CRON}))
    assert writes(sandbox) == [f"POST /job/{CRON}/uninstall"]


MUTATING_CALLS: list[tuple[str, dict[str, Any], str, str]] = [
    ("commvault-run-backup-job", {"subclientId": 12}, "POST", "/CreateTask"),
    ("commvault-kill-running-job", {"jobId": 9669}, "POST", "/Job/9669/action/kill"),
    ("commvault-resume-suspended-job", {"jobId": 9670}, "POST", "/Job/9670/action/resume"),
    ("commvault-suspend-running-job", {"jobId": 9669}, "POST", "/Job/9669/action/pause"),
    ("commvault-run-restore-job", {"clientId": 7, "subclientId": 12, "paths": ["/a"], "inPlace": True}, "POST", ""),
    ("edit-job", {"jobId": CRON, "body": {"cpu": 750}}, "PUT", f"/job/{CRON}"),
    ("delete-job", {"jobId": CRON}, "DELETE", f"/job/{CRON}"),
    ("clean-failed-job", {"jobId": CRON}, "POST", f"/job/{CRON}/cleanFailedJob"),
    ("deploy-job", {"jobId": CRON, "imageTag": "2.0", "forceEvent": "CRON"}, "POST", f"/job/{CRON}/deploy"),
    ("redeploy-job", {"jobId": CRON}, "POST", f"/job/{CRON}/redeploy"),
    ("stop-job", {"jobId": CRON}, "POST", f"/job/{CRON}/stop"),
    ("uninstall-job", {"jobId": CRON}, "POST", f"/job/{CRON}/uninstall"),
]


async def test_dry_run_returns_each_request_and_sends_nothing(connect: Callable[..., Client], sandbox: Sandbox) -> None:
    async with connect(dry_run=True) as client:
        for tool, arguments, method, path in MUTATING_CALLS:
            planned = data(await client.call_tool(tool, arguments))
            assert (planned["dryRun"], planned["method"]) == (True, method), tool
            base = sandbox.COMMVAULT_BASE_URL if tool.startswith("commvault-") else sandbox.QOVERY_BASE_URL
            assert planned["url"].split("?")[0] == base + (path or "/CreateTask"), tool
        deploy = data(await client.call_tool("deploy-job", {"jobId": CRON, "imageTag": "2.0", "forceEvent": "CRON"}))
        edit = data(await client.call_tool("edit-job", {"jobId": CRON, "body": {"cpu": 750}}))
        assert data(await client.call_tool("commvault-get-job-details", {"jobId": 9669}))["jobId"] == 9669
    assert deploy["url"].endswith("/deploy?forceEvent=CRON")
    assert deploy["body"] == {"image_tag": "2.0"}
    assert (edit["body"]["cpu"], edit["body"]["name"]) == (750, "nightly-report")  # the merged job, after a real read
    seen = {f"{r.method} {r.path}" for r in [*sandbox.commvault.requests, *sandbox.qovery.requests]}
    # Only the login, edit-job's read of the job it merges into, and the one read-only call.
    # Reads go through (a browse or a job-details POST changes nothing); no write does.
    assert seen == {"POST /Login", f"GET /job/{CRON}", "GET /Job/9669", "POST /JobDetails", "GET /Events"}


async def test_the_audit_file_gets_one_line_per_mutating_call_under_concurrency(
    connect: Callable[..., Client], sandbox: Sandbox, tmp_path: Path
) -> None:
    trail = tmp_path / "audit.jsonl"
    async with connect(audit_log=str(trail)) as client:

        async def call(tool: str, arguments: dict[str, Any]) -> None:
            await client.call_tool(tool, arguments)

        async with anyio.create_task_group() as group:
            for _ in range(25):
                group.start_soon(call, "commvault-run-backup-job", {"subclientId": 12})
                group.start_soon(call, "deploy-job", {"jobId": CRON})  # one is accepted, the others conflict
            for _ in range(10):
                group.start_soon(call, "get-job-status", {"jobId": CRON})  # reads are not audited
    lines = [json.loads(line) for line in trail.read_text().splitlines()]
    assert len(lines) == 50
    assert stat.S_IMODE(trail.stat().st_mode) == 0o600
    backups = [line for line in lines if line["tool"] == "commvault-run-backup-job"]
    assert {line["outcome"] for line in backups} == {"ok"}
    assert len({tuple(line["vendorIds"]["jobIds"]) for line in backups}) == 25
    deploys = sorted((line for line in lines if line["tool"] == "deploy-job"), key=lambda line: line["outcome"])
    assert [line["outcome"] for line in deploys] == ["error"] * 24 + ["ok"]
    assert deploys[-1]["vendorIds"]["deploymentRequestId"]
    assert deploys[-1]["jobId"] == CRON
    assert "HTTP 409" in deploys[0]["detail"]
    assert all(line["durationMs"] >= 0 and line["time"].endswith("Z") for line in lines)
    assert COMMVAULT_PASSWORD not in trail.read_text()


async def test_audit_lines_record_refusals_dry_runs_and_unknown_outcomes(
    connect: Callable[..., Client], sandbox: Sandbox, tmp_path: Path
) -> None:
    from jobctl_mcp.sandbox.faults import Fault

    trail = tmp_path / "audit.jsonl"
    sandbox.qovery.faults.add(Fault("timeout", method="POST"))
    async with connect(audit_log=str(trail), exclude_tools="delete-job") as client:
        error(await client.call_tool("stop-job", {"jobId": CRON}))
        error(await client.call_tool("delete-job", {"jobId": CRON}))
    body = {"taskInfo": {"subTasks": [{"subTask": {"subTaskType": 2}}]}, "password": "hunter2"}
    async with connect(audit_log=str(trail), dry_run=True) as client:
        data(await client.call_tool("commvault-run-backup-job", {"body": body}))
    outcomes = [json.loads(line) for line in trail.read_text().splitlines()]
    assert [(line["tool"], line["outcome"]) for line in outcomes] == [
        ("stop-job", "unknown"),
        ("delete-job", "refused"),
        ("commvault-run-backup-job", "dry_run"),
    ]
    assert outcomes[2]["arguments"]["body"]["password"] == "[redacted]"
    assert "hunter2" not in trail.read_text()


async def test_a_restore_body_is_confirmed_with_what_it_restores(sandbox: Sandbox, sleeps: Sleeps) -> None:
    restore = {
        "destination": {"inPlace": False, "destClient": {"clientName": "fs02.example.com"}, "destPath": ["/restore"]},
        "fileOption": {"sourceItem": ["/var/www", "/etc/nginx"]},
        "commonOptions": {"unconditionalOverwrite": True},
    }
    subtask = {"subTask": {"subTaskType": 3, "operationType": 1001}, "options": {"restoreOptions": restore}}
    body = {"taskInfo": {"associations": [{"clientId": 7, "subclientId": 12}], "subTasks": [subtask]}}
    seen: list[str] = []
    async with confirming_client(sandbox, sleeps, answering("accept", seen=seen)) as client:
        data(await client.call_tool("commvault-run-restore-job", {"body": body}))
    assert seen == [
        "Restore 2 path(s) (/var/www, /etc/nginx) from Commvault clientId 7, subclientId 12 into /restore on "
        "client fs02.example.com, overwriting existing files?"
    ]
    assert writes(sandbox) == ["POST /CreateTask"]


async def test_what_the_human_reads_is_cleaned_and_bounded(sandbox: Sandbox, sleeps: Sleeps) -> None:
    # The agent itself can name the job (edit-job) just before asking to delete it.
    sandbox.qovery.jobs[CRON]["name"] = "nightly\nApprove: yes\u202etxt.exe\u200b\U000e0041" + "x" * 5000
    seen: list[str] = []
    async with confirming_client(sandbox, sleeps, answering("accept", seen=seen)) as client:
        data(await client.call_tool("delete-job", {"jobId": CRON}))
    (question,) = seen
    assert question.startswith("Delete Qovery cron job nightly Approve: yestxt.exe")
    assert question.endswith("with its configuration? This cannot be undone.")
    assert len(question) < 400
    assert not any(ord(c) < 32 or c in "\u202e\u200b" or ord(c) >= 0xE0000 for c in question)


DELETE_EVENTS = [
    ("deploy-job", {"jobId": CRON, "forceEvent": "DELETE"}),
    ("redeploy-job", {"jobId": CRON, "forceEvent": "DELETE"}),
]


@pytest.mark.parametrize(("tool", "arguments"), DELETE_EVENTS)
async def test_a_delete_event_is_refused_when_destructive_calls_are_disabled(
    connect: Callable[..., Client], sandbox: Sandbox, tool: str, arguments: dict[str, Any]
) -> None:
    async with connect(disable_destructive=True) as client:
        assert tool in await listed(client)  # the tool stays: only its destructive calls are refused
        message = error(await client.call_tool(tool, arguments))
        data(await client.call_tool(tool, {**arguments, "forceEvent": "START"}))
    assert "destructive with these arguments" in message
    assert "JOBCTL_DISABLE_DESTRUCTIVE" in message
    assert writes(sandbox) == [f"POST /job/{CRON}/{tool.removesuffix('-job')}"]


@pytest.mark.parametrize(("tool", "arguments"), DELETE_EVENTS)
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_delete_event_asks_a_human_and_other_events_do_not(
    sandbox: Sandbox, sleeps: Sleeps, tool: str, arguments: dict[str, Any], mode: str
) -> None:
    seen: list[str] = []
    async with confirming_client(sandbox, sleeps, answering("decline", seen=seen), mode) as client:
        declined = error(await client.call_tool(tool, arguments))
        data(await client.call_tool(tool, {"jobId": CRON}))
        hints = {t.name: t.annotations for t in (await client.list_tools()).tools}
    assert seen == [
        f"Run the DELETE event of Qovery cron job nightly-report ({CRON}, now DEPLOYED) now? Its delete command runs."
    ]
    assert "the human did not approve" in declined
    assert writes(sandbox) == [f"POST /job/{CRON}/{tool.removesuffix('-job')}"]
    annotations = hints[tool]
    assert annotations is not None
    assert annotations.destructive_hint is False  # the tool's hint stays; the rule is per call


async def templates(client: Client) -> list[str]:
    return [template.uri_template for template in (await client.list_resource_templates()).resource_templates]


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        ({}, ["commvault://jobs/{jobId}", "qovery://jobs/{jobId}/status"]),
        ({"exclude_tools": "get-job-status"}, ["commvault://jobs/{jobId}"]),
        ({"tools": "get-job-status,deploy-job"}, ["qovery://jobs/{jobId}/status"]),
        ({"toolsets": "qovery", "exclude_tools": "get-job-status"}, []),
        ({"read_only": True}, ["commvault://jobs/{jobId}", "qovery://jobs/{jobId}/status"]),
    ],
)
async def test_resources_are_served_only_with_the_tool_they_mirror(
    connect: Callable[..., Client], sandbox: Sandbox, settings: dict[str, Any], served: list[str]
) -> None:
    async with connect(**settings) as client:
        assert sorted(await templates(client)) == served
        for uri in ("commvault://jobs/9612", f"qovery://jobs/{CRON}/status"):
            if uri.split(":")[0] + "://jobs/{jobId}" + ("/status" if uri.endswith("/status") else "") not in served:
                with pytest.raises(MCPError):
                    await client.read_resource(uri)
    hidden = {
        "commvault": "commvault://jobs/{jobId}" not in served,
        "qovery": "qovery://jobs/{jobId}/status" not in served,
    }
    assert not (hidden["commvault"] and sandbox.commvault.requests)
    assert not (hidden["qovery"] and sandbox.qovery.requests)


async def approve_by_hand(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[Any, Any]:
    """Drive a 2026-07-28 confirmation without the client's loop: the question, then the approving answer."""
    asked = await client.session.call_tool(tool, arguments, allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult)
    assert asked.input_requests
    assert asked.request_state
    answers = {key: types.ElicitResult(action="accept", content={"approve": True}) for key in asked.input_requests}
    return answers, asked.request_state


@pytest.mark.parametrize("state_key", [None, "k" * 32])  # a key of the process, or one replicas share
async def test_one_approval_runs_its_action_once(sandbox: Sandbox, sleeps: Sleeps, state_key: str | None) -> None:
    arguments = {"clientId": 7, "subclientId": 12, "paths": ["/var/www"], "inPlace": True, "overwrite": True}
    tool = "commvault-run-restore-job"
    async with confirming_client(sandbox, sleeps, answering("accept"), state_key=state_key) as client:
        answers, state = await approve_by_hand(client, tool, arguments)
        first = await client.session.call_tool(tool, arguments, input_responses=answers, request_state=state)
        replays: list[str] = []
        for _ in range(3):
            with pytest.raises(MCPError) as replayed:
                await client.session.call_tool(tool, arguments, input_responses=answers, request_state=state)
            replays.append(replayed.value.error.message)
        # A new call asks the human again, and a new approval runs it again.
        answers, state = await approve_by_hand(client, tool, arguments)
        second = await client.session.call_tool(tool, arguments, input_responses=answers, request_state=state)
    assert isinstance(first, types.CallToolResult)
    assert not first.is_error
    assert replays == ["Invalid or expired requestState"] * 3
    assert isinstance(second, types.CallToolResult)
    assert not second.is_error
    assert writes(sandbox) == ["POST /CreateTask", "POST /CreateTask"]


def test_a_sealed_state_is_remembered_for_its_validity_only() -> None:
    from jobctl_mcp.approvals import SingleUseCodec

    now = [0.0]
    codec = SingleUseCodec(["k" * 32], ttl=120.0, clock=lambda: now[0])
    token = codec.seal(b"state")
    assert codec.unseal(token) == b"state"
    now[0] = 119.0
    with pytest.raises(InvalidRequestState):
        codec.unseal(token)
    now[0] = 121.0  # by now the SDK refuses it as expired; the memory of it can go
    codec.unseal(codec.seal(b"other"))
    assert codec.unseal(token) == b"state"
