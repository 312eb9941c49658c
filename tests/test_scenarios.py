"""The operator requests of the agent tasks, each driven through the MCP client from the names in the request
alone, along the short path a careful agent takes (the sandbox's estate holds those names)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from jobctl_mcp.sandbox import Sandbox, sandbox_env
from jobctl_mcp.sandbox.examples import EXAMPLES
from jobctl_mcp.sandbox.loopback import serving
from jobctl_mcp.sandbox.qovery_estate import ORGANIZATION_ID
from jobctl_mcp.server import create_server, sandboxed
from tests.conftest import data, error, isolated_settings

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return data(await client.call_tool(tool, arguments))


async def test_1_deploy_weekly_export_in_production_at_a_tag_and_wait_until_live(
    client: Client, sandbox: Sandbox
) -> None:
    found = await call(client, "qovery-list-jobs", {"name": "weekly-export", "environment": "production"})
    assert found["total"] == 1
    job = found["jobs"][0]
    assert (job["name"], job["environment"]["name"]) == ("weekly-export", "production")
    await call(client, "deploy-job", {"jobId": job["id"], "imageTag": "2.1.0"})
    waited = await call(client, "wait-for-job", {"vendor": "qovery", "jobId": job["id"]})
    assert (waited["finished"], waited["succeeded"], waited["state"]) == (True, True, "DEPLOYED")
    deploys = sandbox.qovery.requests_matching("POST", rf"^/job/{job['id']}/deploy$")
    assert [request.body for request in deploys] == [{"image_tag": "2.1.0"}]


async def test_2_the_state_of_every_job_in_staging(client: Client) -> None:
    staging = await call(client, "qovery-list-jobs", {"environment": "staging"})
    assert staging["total"] == len(staging["jobs"]) >= 2
    assert {job["environment"]["name"] for job in staging["jobs"]} == {"staging"}
    assert all(job["state"] for job in staging["jobs"]), "each job comes with its state"


async def test_7_why_the_last_deployment_of_migrate_db_failed(client: Client) -> None:
    (job,) = (await call(client, "qovery-list-jobs", {"name": "migrate-db"}))["jobs"]
    history = await call(client, "qovery-list-deployments", {"jobId": job["id"]})
    failed = next(d for d in history["deployments"] if d["status"].endswith("ERROR"))
    assert history["log"]["deploymentId"] == failed["id"]
    first = history["log"]["lines"][0]
    assert first["error"] is True
    assert "does not exist" in first["message"]


async def test_9_two_jobs_called_nightly_report_redeploy_the_one_in_staging(client: Client, sandbox: Sandbox) -> None:
    both = await call(client, "qovery-list-jobs", {"name": "nightly-report"})
    assert {job["environment"]["name"] for job in both["jobs"]} == {"staging", "production"}
    staging = next(job for job in both["jobs"] if job["environment"]["name"] == "staging")
    await call(client, "redeploy-job", {"jobId": staging["id"]})
    redeployed = [r.url_path for r in sandbox.qovery.requests if r.method == "POST"]
    assert redeployed == [f"/job/{staging['id']}/redeploy"]


async def test_10_stop_every_deployed_job_in_staging(client: Client, sandbox: Sandbox) -> None:
    staging = (await call(client, "qovery-list-jobs", {"environment": "staging"}))["jobs"]
    deployed = [job["id"] for job in staging if job["state"] == "DEPLOYED"]
    assert len(deployed) >= 2
    for job_id in deployed:
        await call(client, "stop-job", {"jobId": job_id})
    stopped = sorted(r.url_path for r in sandbox.qovery.requests if r.method == "POST")
    assert stopped == sorted(f"/job/{job_id}/stop" for job_id in deployed)


async def test_finding_jobs_costs_one_services_request_and_one_per_environment_shown(
    client: Client, sandbox: Sandbox
) -> None:
    await call(client, "qovery-list-jobs", {"name": "nightly-report"})
    await call(client, "qovery-list-jobs", {"name": "nightly-report"})
    paths = [r.url_path for r in sandbox.qovery.requests]
    assert paths.count("/organization") == 1, "the organization list is asked once"
    assert sum(p.endswith("/services") for p in paths) == 2
    assert sum(p.endswith("/job/status") for p in paths) == 4  # two environments, twice


async def test_qovery_organization_id_skips_the_organization_list(connect: Any, sandbox: Sandbox) -> None:
    async with connect(env={"QOVERY_ORGANIZATION_ID": ORGANIZATION_ID}) as client:
        assert (await call(client, "qovery-list-jobs", {"name": "weekly-export"}))["total"] == 1
    assert "/organization" not in [r.url_path for r in sandbox.qovery.requests]


async def test_paging_reaches_exactly_total_distinct_jobs(client: Client) -> None:
    page = await call(client, "qovery-list-jobs", {"limit": 2})
    seen = [job["id"] for job in page["jobs"]]
    while page["nextOffset"] is not None:
        page = await call(client, "qovery-list-jobs", {"limit": 2, "offset": page["nextOffset"]})
        seen += [job["id"] for job in page["jobs"]]
    assert len(seen) == len(set(seen)) == page["total"] > 2


async def test_3_run_a_full_backup_of_fs02(client: Client, sandbox: Sandbox) -> None:
    listed = await call(client, "commvault-list-subclients", {"clientName": "fs02"})
    assert listed["client"] == "fs02.example.com"
    subclient = next(s for s in listed["subclients"] if s["name"] == "projects")
    started = await call(
        client, "commvault-run-backup-job", {"subclientId": subclient["subclientId"], "backupLevel": "Full"}
    )
    assert started["jobIds"]
    (task,) = [r.body for r in sandbox.commvault.requests if r.path == "/CreateTask"]
    association = task["taskInfo"]["associations"][0]
    assert association["subclientId"] == subclient["subclientId"]
    assert task["taskInfo"]["subTasks"][0]["options"]["backupOpts"]["backupLevel"] == "FULL"


async def test_4_which_backups_failed_in_the_last_day_and_why(client: Client) -> None:
    finished = await call(client, "commvault-list-jobs", {"jobCategory": "Finished", "lookupTime": 24})
    failed = [job for job in finished["jobs"] if job["status"] == "Failed"]
    assert len(failed) >= 2
    for job in failed:
        details = await call(client, "commvault-get-job-details", {"jobId": job["jobId"]})
        assert details["reason"], job["jobId"]
        assert details["events"][0]["severity"] in ("Critical", "Major"), "errors come first"


async def test_5_is_a_file_in_fs01s_backup_then_restore_it_elsewhere(client: Client, sandbox: Sandbox) -> None:
    (subclient,) = [
        s
        for s in (await call(client, "commvault-list-subclients", {"clientName": "fs01"}))["subclients"]
        if s["name"] == "default"
    ]
    found = await call(
        client, "commvault-browse-backup", {"subclientId": subclient["subclientId"], "path": "/var/www/index.html"}
    )
    assert [(item["path"], item["isFolder"]) for item in found["items"]] == [("/var/www/index.html", False)]
    restore = {
        "clientId": subclient["clientId"],
        "subclientId": subclient["subclientId"],
        "backupsetId": subclient["backupsetId"],
        "instanceId": subclient["instanceId"],
        "applicationId": subclient["applicationId"],
        "paths": ["/var/www/index.html"],
        "destinationPath": "/tmp/www-restore",
    }
    started = await call(client, "commvault-run-restore-job", restore)
    waited = await call(client, "wait-for-job", {"vendor": "commvault", "jobId": started["jobIds"][0]})
    assert (waited["finished"], waited["succeeded"]) == (True, True), waited
    browse = next(r.body for r in sandbox.commvault.requests if r.path == "/DoBrowse")
    assert browse["entity"]["subclientId"] == subclient["subclientId"]


async def test_6_suspend_every_running_backup_of_db01(client: Client, sandbox: Sandbox) -> None:
    (db01,) = (await call(client, "commvault-list-clients", {"name": "db01"}))["clients"]
    active = await call(client, "commvault-list-jobs", {"clientId": db01["clientId"], "jobCategory": "Active"})
    running = [job["jobId"] for job in active["jobs"] if job["status"] == "Running"]
    assert len(running) >= 2
    for job_id in running:
        assert (await call(client, "commvault-suspend-running-job", {"jobId": job_id}))["action"] == "suspend"
    paused = sorted(r.path for r in sandbox.commvault.requests if r.path.endswith("/action/pause"))
    assert paused == sorted(f"/Job/{job_id}/action/pause" for job_id in running)


async def test_8_which_servers_are_backed_up_and_when_each_last_succeeded(client: Client) -> None:
    clients = (await call(client, "commvault-list-clients", {}))["clients"]
    assert len(clients) >= 3
    last = {}
    for server in clients:
        subclients = (await call(client, "commvault-list-subclients", {"clientId": server["clientId"]}))["subclients"]
        assert subclients, server["name"]
        times = [s["lastBackupTime"] for s in subclients if s["lastBackupTime"]]
        last[server["name"]] = max(times, default=None)
    assert last["fs01.example.com"] is not None


async def test_an_ambiguous_or_unknown_client_name_says_what_to_do(client: Client) -> None:
    message = error(await client.call_tool("commvault-list-subclients", {"clientName": "fs"}))
    assert "no client is called 'fs'" in message
    assert "Did you mean fs01.example.com, fs02.example.com?" in message


@pytest.mark.parametrize("job_filter", ["All", "Backup", None])
@pytest.mark.parametrize("category", ["All", "Finished", "Active"])
async def test_commvault_paging_reaches_exactly_total_distinct_jobs(
    client: Client, job_filter: str | None, category: str
) -> None:
    arguments: dict[str, Any] = {"jobCategory": category, "limit": 3}
    if job_filter:
        arguments["jobFilter"] = job_filter
    page = await call(client, "commvault-list-jobs", arguments)
    seen = [job["jobId"] for job in page["jobs"]]
    while page["nextOffset"] is not None:
        page = await call(client, "commvault-list-jobs", {**arguments, "offset": page["nextOffset"]})
        seen += [job["jobId"] for job in page["jobs"]]
    assert len(seen) == len(set(seen)) == page["total"]


async def test_the_finding_tools_work_against_vendors_on_loopback() -> None:
    sandbox = Sandbox()
    finding = ["commvault-list-clients", "commvault-list-subclients", "commvault-browse-backup"]
    finding += ["qovery-list-jobs", "qovery-list-deployments"]
    with serving(sandbox.commvault.app) as commvault, serving(sandbox.qovery.app) as qovery:
        env = sandbox_env(f"{commvault}/commandcenter/api", qovery)  # real HTTP over loopback, no transports
        async with Client(create_server(sandboxed(isolated_settings(), env))) as client:
            for tool in finding:
                for arguments in EXAMPLES[tool]:
                    assert data(await client.call_tool(tool, arguments)), tool
    assert {r.path for r in sandbox.commvault.requests} >= {"/Client", "/Subclient", "/DoBrowse"}
    assert any(r.path.endswith("/services") for r in sandbox.qovery.requests)


async def test_a_job_not_found_names_the_tool_that_finds_job_ids(client: Client) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert "qovery-list-jobs" in error(await client.call_tool("get-job-status", {"jobId": missing}))
    assert "commvault-list-jobs" in error(await client.call_tool("commvault-get-job-details", {"jobId": 123456}))
