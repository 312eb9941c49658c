"""The seven Commvault tools against the simulated Commvault: what the agent gets and what Commvault receives."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from jobctl_mcp.sandbox import COMMVAULT_API_KEY, COMMVAULT_PASSWORD, COMMVAULT_USERNAME, Sandbox
from jobctl_mcp.sandbox.faults import Fault
from tests.conftest import data, error, text

pytestmark = pytest.mark.anyio


async def test_login_sends_the_base64_password_once_and_the_token_on_every_call(
    client: Client, sandbox: Sandbox
) -> None:
    await client.call_tool("commvault-list-jobs", {})
    await client.call_tool("commvault-get-job-details", {"jobId": 9669})
    login, first, second, *details = sandbox.commvault.requests
    assert [r.path for r in details] == ["/JobDetails", "/Events"]  # who started and stopped it, and its events
    assert {r.headers["authtoken"] for r in details} == {first.headers["authtoken"]}
    assert (login.method, login.path) == ("POST", "/Login")
    assert login.body["username"] == COMMVAULT_USERNAME
    assert base64.b64decode(login.body["password"]).decode() == COMMVAULT_PASSWORD
    assert first.headers["authtoken"].startswith("QSDK ")
    assert second.headers["authtoken"] == first.headers["authtoken"]
    assert first.headers["user-agent"].startswith("jobctl-mcp/")


async def test_list_jobs_converts_hours_to_seconds_and_pages_by_query_and_header(
    client: Client, sandbox: Sandbox
) -> None:
    arguments = {"clientId": 7, "jobFilter": "Backup,Restore", "jobCategory": "All", "lookupTime": 168, "limit": 2}
    listed = data(await client.call_tool("commvault-list-jobs", arguments))
    sent = sandbox.commvault.requests_matching("GET", r"^/Job$")[0]
    assert sent.query == {
        "clientId": "7",
        "jobFilter": "Backup,Restore",
        "jobCategory": "All",
        "completedJobLookupTime": "604800",
        "limit": "2",
        "offset": "0",
    }
    assert (sent.headers["limit"], sent.headers["offset"]) == ("2", "0")
    assert listed["offset"] == 0
    assert len(listed["jobs"]) == 2
    assert listed["total"] > 2
    assert listed["nextOffset"] == 2
    assert all(job["client"] == "fs01.example.com" for job in listed["jobs"])
    assert [job["jobId"] for job in listed["jobs"]] == sorted((job["jobId"] for job in listed["jobs"]), reverse=True)


async def test_list_jobs_job_filter_is_about_types_all_sends_an_empty_filter(client: Client, sandbox: Sandbox) -> None:
    backups = data(await client.call_tool("commvault-list-jobs", {"limit": 100}))
    every_type = data(await client.call_tool("commvault-list-jobs", {"jobFilter": "All", "limit": 100}))
    default_query, all_query = (r.query for r in sandbox.commvault.requests_matching("GET", r"^/Job$"))
    assert "jobFilter" not in default_query
    assert all_query["jobFilter"] == ""
    assert {job["jobType"] for job in backups["jobs"]} == {"Backup"}
    assert "Restore" in {job["jobType"] for job in every_type["jobs"]}


async def test_list_jobs_leaves_out_jobs_commvault_marks_invisible(client: Client) -> None:
    listed = data(await client.call_tool("commvault-list-jobs", {"jobFilter": "All", "limit": 100}))
    assert 9560 not in [job["jobId"] for job in listed["jobs"]]


async def test_job_details_are_compact_with_iso_times_and_move_as_polled(client: Client) -> None:
    first = data(await client.call_tool("commvault-get-job-details", {"jobId": 9669}))
    assert first["status"] == "Running"
    assert first["jobType"] == "Backup"
    assert (first["client"], first["clientId"], first["subclientId"]) == ("fs01.example.com", 7, 12)
    assert first["startTime"].endswith("Z")
    assert first["endTime"] is None
    assert first["raw"] is None
    later = data(await client.call_tool("commvault-get-job-details", {"jobId": 9669}))
    assert later["percentComplete"] > first["percentComplete"]


async def test_job_details_raw_returns_the_vendor_summary(client: Client) -> None:
    details = data(await client.call_tool("commvault-get-job-details", {"jobId": 9612, "raw": True}))
    assert details["raw"]["jobId"] == 9612
    assert details["raw"]["status"] == details["status"] == "Completed w/ one or more errors"


async def test_an_empty_job_list_for_one_id_is_not_found(client: Client) -> None:
    message = error(await client.call_tool("commvault-get-job-details", {"jobId": 424242}))
    assert "no job 424242" in message


async def test_suspend_uses_action_pause_and_resume_brings_the_job_back(client: Client, sandbox: Sandbox) -> None:
    suspended = data(await client.call_tool("commvault-suspend-running-job", {"jobId": 9669}))
    assert suspended == {"jobId": 9669, "action": "suspend", "status": "Suspend Pending"}
    assert sandbox.commvault.requests_matching("POST", r"/Job/9669/action/pause$")
    assert not sandbox.commvault.requests_matching("POST", r"suspend")
    assert data(await client.call_tool("commvault-get-job-details", {"jobId": 9669}))["status"] == "Suspended"
    resumed = data(await client.call_tool("commvault-resume-suspended-job", {"jobId": 9669}))
    assert resumed["status"] == "Running"
    assert sandbox.commvault.requests_matching("POST", r"/Job/9669/action/resume$")


async def test_kill_is_requested_then_the_job_ends_killed(client: Client, sandbox: Sandbox) -> None:
    killed = data(await client.call_tool("commvault-kill-running-job", {"jobId": 9671}))
    assert killed["status"] == "Kill Pending"
    assert sandbox.commvault.requests_matching("POST", r"/Job/9671/action/kill$")
    assert data(await client.call_tool("commvault-get-job-details", {"jobId": 9671}))["status"] == "Killed"


@pytest.mark.parametrize(
    ("tool", "action", "route", "job_id"),
    [
        ("commvault-kill-running-job", "kill", "kill", 9671),
        ("commvault-suspend-running-job", "suspend", "pause", 9669),
        ("commvault-resume-suspended-job", "resume", "resume", 9669),
    ],
)
@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Fault("response", method="GET", path=r"^/Job/\d+$", body={"errorMessage": "Internal failure"}), "HTTP 500"),
        (Fault("connect", method="GET", path=r"^/Job/\d+$", times=3), "no answer after 3 attempts"),
    ],
    ids=["500", "unreachable"],
)
async def test_an_action_done_stays_done_when_the_job_cannot_be_re_read(
    client: Client,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    tool: str,
    action: str,
    route: str,
    job_id: int,
    failure: Fault,
    reason: str,
) -> None:
    if action == "resume":
        data(await client.call_tool("commvault-suspend-running-job", {"jobId": job_id}))
        assert data(await client.call_tool("commvault-get-job-details", {"jobId": job_id}))["status"] == "Suspended"
    sandbox.commvault.faults.add(failure)
    result = await client.call_tool(tool, {"jobId": job_id})
    # The vendor accepted the action: the agent is told it was done, with no status, and nothing about a failure.
    assert data(result) == {"jobId": job_id, "action": action, "status": None}
    assert not any(word in text(result).lower() for word in ("error", "fail", "unavailable"))
    assert len(sandbox.commvault.requests_matching("POST", rf"^/Job/{job_id}/action/{route}$")) == 1
    # The operator's log says why the status is missing.
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"{action} of job {job_id} accepted, but the job could not be re-read" in warning
    assert reason in warning
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "jobctl_mcp.audit"]
    assert audit[-1]["tool"] == tool
    assert audit[-1]["outcome"] == "ok"


@pytest.mark.parametrize(
    ("tool", "job_id", "expected"),
    [
        ("commvault-suspend-running-job", 9612, "Cannot suspend job [9612]"),  # errors[].errList[] inside a 200
        ("commvault-kill-running-job", 9612, "9612"),  # flat errorCode/errorMessage inside a 200
        ("commvault-resume-suspended-job", 9669, "9669"),
    ],
)
async def test_errors_inside_http_200_answers_are_errors(client: Client, tool: str, job_id: int, expected: str) -> None:
    message = error(await client.call_tool(tool, {"jobId": job_id}))
    assert expected in message
    assert "commvault-get-job-details" in message  # what to do next


async def test_backup_builds_the_create_task_request_and_returns_numeric_job_ids(
    client: Client, sandbox: Sandbox
) -> None:
    started = data(
        await client.call_tool(
            "commvault-run-backup-job", {"subclientId": 12, "backupLevel": "Full", "clientName": "fs01.example.com"}
        )
    )
    task = sandbox.commvault.requests_matching("POST", r"^/CreateTask$")[0].body["taskInfo"]
    assert task["associations"] == [{"subclientId": 12, "clientName": "fs01.example.com", "_type_": "SUBCLIENT_ENTITY"}]
    assert task["task"]["taskType"] == 1
    (subtask,) = task["subTasks"]
    assert subtask["subTask"] == {"subTaskType": 2, "operationType": 2}
    assert subtask["options"]["backupOpts"]["backupLevel"] == "FULL"
    assert isinstance(started["taskId"], int)
    (job_id,) = started["jobIds"]
    job = data(await client.call_tool("commvault-get-job-details", {"jobId": job_id}))
    assert (job["jobType"], job["backupLevel"], job["subclientId"]) == ("Backup", "Full", 12)


async def test_backup_body_is_sent_as_given(client: Client, sandbox: Sandbox) -> None:
    body: dict[str, Any] = {
        "taskInfo": {
            "associations": [{"subclientId": 14, "_type_": "SUBCLIENT_ENTITY"}],
            "task": {"taskType": 1},
            "subTasks": [{"subTask": {"subTaskType": 2, "operationType": 2}, "options": {"backupOpts": {}}}],
        }
    }
    data(await client.call_tool("commvault-run-backup-job", {"body": body}))
    assert sandbox.commvault.requests_matching("POST", r"^/CreateTask$")[0].body == body


@pytest.mark.parametrize(
    "arguments",
    [
        {},  # neither a subclient nor a body
        {"subclientId": 12, "body": {"taskInfo": {}}},
        {"body": {"taskInfo": {"subTasks": [{"subTask": {"subTaskType": 3, "operationType": 1001}}]}}},
        {"subclientId": 12, "backupLevel": "Hourly"},
    ],
)
async def test_backup_refuses_incomplete_or_non_backup_requests_before_sending(
    client: Client, sandbox: Sandbox, arguments: dict[str, object]
) -> None:
    message = error(await client.call_tool("commvault-run-backup-job", arguments))
    assert message.startswith("Error executing tool commvault-run-backup-job: Invalid arguments")
    assert sandbox.commvault.requests == []


async def test_out_of_place_restore_builds_a_create_task_restore(client: Client, sandbox: Sandbox) -> None:
    arguments = {
        "clientId": 7,
        "clientName": "fs01.example.com",
        "subclientId": 12,
        "backupsetId": 5,
        "instanceId": 1,
        "paths": ["C:\\Data\\Reports\\q3.xlsx"],
        "destinationClient": "fs02.example.com",
        "destinationPath": "D:\\RestoreArea",
    }
    started = data(await client.call_tool("commvault-run-restore-job", arguments))
    task = sandbox.commvault.requests_matching("POST", r"^/CreateTask$")[0].body["taskInfo"]
    association = task["associations"][0]
    assert {k: association[k] for k in ("clientId", "subclientId", "backupsetId", "instanceId", "applicationId")} == {
        "clientId": 7,
        "subclientId": 12,
        "backupsetId": 5,
        "instanceId": 1,
        "applicationId": 33,
    }
    (subtask,) = task["subTasks"]
    assert subtask["subTask"] == {"subTaskType": 3, "operationType": 1001}
    restore = subtask["options"]["restoreOptions"]
    assert restore["destination"] == {
        "inPlace": False,
        "destClient": {"clientName": "fs02.example.com"},
        "destPath": ["D:\\RestoreArea"],
    }
    assert restore["fileOption"]["sourceItem"] == ["C:\\Data\\Reports\\q3.xlsx"]
    assert restore["commonOptions"]["unconditionalOverwrite"] is False
    job = data(await client.call_tool("commvault-get-job-details", {"jobId": started["jobIds"][0]}))
    assert job["jobType"] == "Restore"


async def test_in_place_restore_with_overwrite(client: Client, sandbox: Sandbox) -> None:
    arguments = {"clientId": 7, "subclientId": 12, "paths": ["/srv/data"], "inPlace": True, "overwrite": True}
    data(await client.call_tool("commvault-run-restore-job", arguments))
    restore = sandbox.commvault.requests_matching("POST", r"^/CreateTask$")[0].body["taskInfo"]["subTasks"][0]
    assert restore["options"]["restoreOptions"]["destination"] == {"inPlace": True, "destClient": {"clientId": 7}}
    assert restore["options"]["restoreOptions"]["commonOptions"]["unconditionalOverwrite"] is True


@pytest.mark.parametrize(
    "arguments",
    [
        {"clientId": 7, "subclientId": 12, "paths": ["/a"]},  # neither in place nor a destination
        {"clientId": 7, "subclientId": 12, "paths": ["/a"], "inPlace": True, "destinationPath": "/b"},
        {"clientId": 7, "subclientId": 12, "paths": [], "inPlace": True},
        {"body": {"taskInfo": {"subTasks": [{"subTask": {"subTaskType": 2}}]}}},  # a backup through restore
    ],
)
async def test_restore_refuses_ambiguous_requests_before_sending(
    client: Client, sandbox: Sandbox, arguments: dict[str, object]
) -> None:
    error(await client.call_tool("commvault-run-restore-job", arguments))
    assert sandbox.commvault.requests == []


async def test_commvault_errors_in_create_task_are_errors(client: Client) -> None:
    message = error(await client.call_tool("commvault-run-backup-job", {"subclientId": 999}))
    assert "Subclient was not found" in message


async def test_an_expired_session_logs_in_again_once(client: Client, sandbox: Sandbox) -> None:
    data(await client.call_tool("commvault-get-job-details", {"jobId": 9612}))
    sandbox.commvault.expire_tokens()
    data(await client.call_tool("commvault-get-job-details", {"jobId": 9612}))
    paths = [(r.method, r.path) for r in sandbox.commvault.requests if r.path in ("/Login", "/Job/9612")]
    assert paths == [
        ("POST", "/Login"),
        ("GET", "/Job/9612"),
        ("GET", "/Job/9612"),
        ("POST", "/Login"),
        ("GET", "/Job/9612"),
    ]


async def test_an_api_key_is_sent_as_the_authtoken_without_login(
    connect: Callable[..., Client], sandbox: Sandbox
) -> None:
    bare_key = COMMVAULT_API_KEY.removeprefix("QSDK ")
    async with connect(env={"COMMVAULT_API_KEY": bare_key}) as client:
        data(await client.call_tool("commvault-list-jobs", {}))
    (request,) = sandbox.commvault.requests
    assert request.headers["authtoken"] == COMMVAULT_API_KEY


async def test_a_refused_api_key_is_one_clear_error_without_retries(
    connect: Callable[..., Client], sandbox: Sandbox
) -> None:
    async with connect(env={"COMMVAULT_API_KEY": "QSDK revoked"}) as client:
        message = error(await client.call_tool("commvault-list-jobs", {}))
    assert "HTTP 401" in message
    assert "COMMVAULT_API_KEY" in message
    assert len(sandbox.commvault.requests) == 1


async def test_a_wrong_password_is_one_clear_error(connect: Callable[..., Client], sandbox: Sandbox) -> None:
    env = {"COMMVAULT_USERNAME": COMMVAULT_USERNAME, "COMMVAULT_PASSWORD": "wrong"}
    async with connect(env=env) as client:
        message = error(await client.call_tool("commvault-list-jobs", {}))
    assert "Invalid Username or Password" in message
    assert "COMMVAULT_PASSWORD" in message
    assert [r.path for r in sandbox.commvault.requests] == ["/Login"]


def _subtask(head: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"subTask": head, "options": options or {"backupOpts": {}}}


_RESTORE_OPTIONS = {"restoreOptions": {"destination": {"inPlace": True}, "fileOption": {"sourceItem": ["/etc"]}}}
_BACKUP = _subtask({"subTaskType": 2, "operationType": 2})
_RESTORE = _subtask({"subTaskType": 3, "operationType": 1001}, _RESTORE_OPTIONS)


@pytest.mark.parametrize(
    "body",
    [
        {"taskInfo": {"subTasks": [_subtask({"subTaskType": 2.0, "operationType": 1001}, _RESTORE_OPTIONS)]}},
        {"taskInfo": {"subTasks": [_subtask({"subTaskType": 2, "operationType": 1001})]}},
        {"taskInfo": {"subTasks": [_subtask({"subTaskType": 2, "operationType": 2}, _RESTORE_OPTIONS)]}},
        {"taskInfo": {"subTasks": [_subtask({"subTaskType": "3", "operationType": "1001"})]}},
        {"taskInfo": {"subTasks": [_BACKUP]}, "TaskInfo": {"subTasks": [_RESTORE]}},
        {"taskInfo": {"subTasks": [_BACKUP], "SubTasks": [_RESTORE]}},
        {"taskInfo": {"subTasks": [_subtask({"subTaskType": 2, "SubTaskType": 3, "operationType": 2})]}},
        {"TaskInfo": {"SubTasks": [_RESTORE]}},
        {"taskInfo": {"subTasks": [_BACKUP, _RESTORE]}},
        {"taskInfo": {"subTasks": [_BACKUP, "restore"]}},
    ],
)
async def test_a_backup_body_carrying_a_restore_never_reaches_commvault(
    connect: Callable[..., Client], sandbox: Sandbox, body: dict[str, Any]
) -> None:
    async with connect(exclude_tools="commvault-run-restore-job") as client:
        message = error(await client.call_tool("commvault-run-backup-job", {"body": body}))
    assert "Invalid arguments" in message
    assert sandbox.commvault.requests == []


@pytest.mark.parametrize("code", ["2", 2.0])
async def test_a_backup_body_may_write_its_codes_in_any_numeric_form(
    client: Client, sandbox: Sandbox, code: object
) -> None:
    body = {"TaskInfo": {"SubTasks": [_subtask({"SubTaskType": code, "OperationType": code})]}}
    await client.call_tool("commvault-run-backup-job", {"body": body})  # the sandbox reads lower-case integers only
    assert sandbox.commvault.requests_matching("POST", r"^/CreateTask$")[0].body == body


@pytest.mark.parametrize(
    "restore",
    [
        {"destination": {"inPlace": True, "destClient": {"clientId": 7}}},  # no paths
        {"fileOption": {"sourceItem": ["/a"]}, "destination": {"destClient": {"clientId": 7}}},  # in place?
        {"fileOption": {"sourceItem": ["/a"]}, "destination": {"inPlace": False, "destClient": {"clientId": 7}}},
        {"fileOption": {"sourceItem": ["/a"]}, "destination": {"inPlace": True}},  # to which client?
        {"fileOption": {"sourceItem": [7]}, "destination": {"inPlace": True, "destClient": {"clientId": 7}}},
    ],
)
async def test_a_restore_body_that_does_not_show_what_it_restores_is_refused(
    client: Client, sandbox: Sandbox, restore: dict[str, Any]
) -> None:
    body = {
        "taskInfo": {"subTasks": [_subtask({"subTaskType": 3, "operationType": 1001}, {"restoreOptions": restore})]}
    }
    message = error(await client.call_tool("commvault-run-restore-job", {"body": body}))
    assert "body must show what it restores" in message
    assert sandbox.commvault.requests == []
