"""Following jobs: wait-for-job with progress, timeouts and cancellation, and the job resources."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.sandbox.faults import Fault
from tests.cases import settle
from tests.conftest import Sleeps, data, error, sandbox_server

pytestmark = pytest.mark.anyio

CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
FAILING = "0b9e6f2d-3c4a-4e1b-8f7d-2a6c5e9b1d03"  # the sandbox's cleanup-temp: its deployments fail


class Progress(list[tuple[float, float | None, str | None]]):
    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.append((progress, total, message))


async def test_a_backup_is_followed_to_completion_with_progress(client: Client, sleeps: Sleeps) -> None:
    started = data(await client.call_tool("commvault-run-backup-job", {"subclientId": 18}))
    (job_id,) = started["jobIds"]
    progress = Progress()
    waited = data(
        await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": job_id}, progress_callback=progress)
    )
    assert (waited["finished"], waited["succeeded"], waited["state"]) == (True, True, "Completed")
    assert waited["commvault"]["jobId"] == job_id
    assert waited["commvault"]["percentComplete"] == 100
    assert waited["polls"] == 4  # 25, 50, 75, 100 percent: the sandbox moves a job on every read
    assert sleeps == [0.25, 0.5, 1.0]  # starts fast, backs off (the sandbox's pace; 2 s to 30 s by default)
    assert waited["waitedSeconds"] == 1.8
    values = [value for value, _, _ in progress]
    assert values == [25, 50, 75, 100]  # strictly increasing
    assert {total for _, total, _ in progress} == {100.0}
    assert progress[0][2] == "Running 25% Backup"
    assert progress[-1][2] == "Completed 100%"


async def test_a_deployment_is_followed_to_deployed_with_its_states(client: Client) -> None:
    data(await client.call_tool("deploy-job", {"jobId": CRON, "imageTag": "1.4.3"}))
    progress = Progress()
    waited = data(
        await client.call_tool("wait-for-job", {"vendor": "qovery", "jobId": CRON}, progress_callback=progress)
    )
    assert (waited["finished"], waited["succeeded"], waited["state"]) == (True, True, "DEPLOYED")
    assert waited["qovery"]["deploymentStatus"] == "UP_TO_DATE"
    assert [value for value, _, _ in progress] == [1.0, 2.0]
    assert [message for _, _, message in progress] == ["DEPLOYING (DEPLOYMENT_QUEUEING)", "DEPLOYED (DEPLOYMENT)"]


async def test_failures_end_the_wait_with_their_state_and_reason(client: Client) -> None:
    started = data(await client.call_tool("commvault-run-backup-job", {"subclientId": 17}))
    backup = data(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": started["jobIds"][0]}))
    assert (backup["finished"], backup["succeeded"], backup["state"]) == (True, False, "Failed")
    assert backup["commvault"]["reason"].startswith("Failed to create a VSS snapshot of volume [D:] on client")
    data(await client.call_tool("redeploy-job", {"jobId": FAILING}))
    deployment = data(await client.call_tool("wait-for-job", {"vendor": "qovery", "jobId": FAILING}))
    assert (deployment["finished"], deployment["succeeded"], deployment["state"]) == (True, False, "DEPLOYMENT_ERROR")


async def test_a_deleted_qovery_job_ends_the_wait_as_deleted(client: Client) -> None:
    data(await client.call_tool("delete-job", {"jobId": CRON}))
    waited = data(await client.call_tool("wait-for-job", {"vendor": "qovery", "jobId": CRON}))
    assert (waited["finished"], waited["succeeded"], waited["state"], waited["polls"]) == (True, True, "DELETED", 2)


async def test_a_qovery_job_that_vanishes_between_polls_was_deleted(sandbox: Sandbox) -> None:
    class DeletedMeanwhile(Sleeps):
        async def __call__(self, seconds: float) -> None:
            gone = {"status": 404, "error": "Not Found", "detail": f"Job {CRON} not found"}
            sandbox.qovery.faults.add(Fault("response", status=404, body=gone))
            await super().__call__(seconds)

    async with Client(sandbox_server(sandbox, DeletedMeanwhile())) as client:
        data(await client.call_tool("stop-job", {"jobId": CRON}))
        waited = data(await client.call_tool("wait-for-job", {"vendor": "qovery", "jobId": CRON}))
    assert (waited["finished"], waited["succeeded"], waited["state"], waited["polls"]) == (True, True, "DELETED", 2)
    assert waited["note"] == "The job no longer exists: it was deleted."


async def test_reaching_the_timeout_is_not_an_error(client: Client, sandbox: Sandbox, sleeps: Sleeps) -> None:
    waited = data(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": 9670, "timeoutSeconds": 5}))
    assert (waited["finished"], waited["succeeded"], waited["state"]) == (False, None, "Suspended")
    assert waited["note"] == "Still Suspended after 5 s; call wait-for-job again to keep waiting."
    assert sleeps == [0.25, 0.5, 1.0, 1.0, 1.0, 1.0, 0.25]  # the last pause is cut to the deadline, then a last look
    assert len(sandbox.commvault.requests_matching("GET", "/Job/9670")) == waited["polls"] == 8


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"vendor": "commvault", "jobId": CRON}, "a Commvault jobId is a positive integer"),
        ({"vendor": "qovery", "jobId": 9669}, "a Qovery jobId is a UUID"),
        ({"vendor": "qovery", "jobId": CRON, "timeoutSeconds": 3600}, "timeoutSeconds: Input should be less"),
        ({"vendor": "vmware", "jobId": 1}, "vendor: Input should be 'commvault' or 'qovery'"),
    ],
)
async def test_wait_arguments_are_checked_against_the_vendor(
    client: Client, sandbox: Sandbox, arguments: dict[str, Any], problem: str
) -> None:
    assert problem in error(await client.call_tool("wait-for-job", arguments))
    assert sandbox.commvault.requests == sandbox.qovery.requests == []


async def test_an_unknown_job_is_an_error_not_a_wait(client: Client) -> None:
    assert "HTTP 404" in error(
        await client.call_tool("wait-for-job", {"vendor": "qovery", "jobId": FAILING[:-1] + "0"})
    )
    assert "no job 424242" in error(await client.call_tool("wait-for-job", {"vendor": "commvault", "jobId": 424242}))


async def test_cancelling_a_wait_stops_the_polling(sandbox: Sandbox, connect: Callable[..., Client]) -> None:
    from jobctl_mcp.server import create_server, sandboxed
    from tests.conftest import isolated_settings

    settings = sandboxed(isolated_settings(poll_interval=0.02, poll_interval_max=0.02), sandbox.env())
    async with Client(create_server(settings, transports=sandbox.transports())) as client:

        def polled() -> int:
            return len(sandbox.commvault.requests_matching("GET", "/Job/9670"))

        async with anyio.create_task_group() as group:
            arguments = {"vendor": "commvault", "jobId": 9670, "timeoutSeconds": 600}
            group.start_soon(client.call_tool, "wait-for-job", arguments)
            await settle(lambda: polled() > 3)  # however slow the machine, the wait is polling
            group.cancel_scope.cancel()
        polls = polled()
        await anyio.sleep(0.2)  # ten more poll intervals: a poll still running would show here
        assert polled() == polls
        # The server is still healthy after the cancellation.
        assert data(await client.call_tool("commvault-get-job-details", {"jobId": 9612}))["jobId"] == 9612


async def test_job_resources_read_back_the_tools_summaries(client: Client) -> None:
    templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
    assert set(templates) == {"commvault://jobs/{jobId}", "qovery://jobs/{jobId}/status"}
    assert templates["commvault://jobs/{jobId}"].mime_type == "application/json"
    commvault = (await client.read_resource("commvault://jobs/9612")).contents[0]
    qovery = (await client.read_resource(f"qovery://jobs/{CRON}/status")).contents[0]
    assert commvault.mime_type == qovery.mime_type == "application/json"
    tool_job = data(await client.call_tool("commvault-get-job-details", {"jobId": 9612}))
    tool_status = data(await client.call_tool("get-job-status", {"jobId": CRON}))
    # The summary the tool gives; the tool adds who started or stopped the job and its events.
    summary = json.loads(getattr(commvault, "text", ""))
    assert summary == {k: tool_job[k] for k in summary}
    assert set(tool_job) - set(summary) == {"raw", "startedBy", "stoppedBy", "events"}
    assert json.loads(getattr(qovery, "text", "")) == {k: v for k, v in tool_status.items() if k != "raw"}


async def test_resources_follow_the_toolsets_and_refuse_bad_ids(connect: Callable[..., Client]) -> None:
    from mcp import MCPError

    async with connect(toolsets="qovery") as client:
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        assert templates == ["qovery://jobs/{jobId}/status"]
        with pytest.raises(MCPError, match="a Qovery job id is a UUID"):
            await client.read_resource("qovery://jobs/not-a-uuid/status")
        with pytest.raises(MCPError, match="HTTP 404"):
            await client.read_resource(f"qovery://jobs/{FAILING[:-1]}0/status")
