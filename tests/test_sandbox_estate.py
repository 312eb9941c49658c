"""The sandbox's estate over HTTP: Qovery's organization, projects, environments, services, job statuses, deployment
history and logs; Commvault's clients, subclients, browse, job details and events. Qovery answers are held to the
official spec when ../shared is present."""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

import httpx2
import pytest

from jobctl_mcp.sandbox import (
    COMMVAULT_API_KEY,
    COMMVAULT_PASSWORD,
    COMMVAULT_USERNAME,
    QOVERY_API_KEY,
    QOVERY_JWT,
    Sandbox,
)
from jobctl_mcp.sandbox.commvault import CommvaultSim
from jobctl_mcp.sandbox.qovery import (
    BACKFILL_EVENTS,
    CLEANUP_TEMP,
    ENV_ANALYTICS_PRODUCTION,
    ENV_ANALYTICS_STAGING,
    ENV_PLATFORM_PRODUCTION,
    MIGRATE_DB,
    NIGHTLY_REPORT,
    NIGHTLY_REPORT_PRODUCTION,
    ORGANIZATION_ID,
    PROJECT_ANALYTICS,
    PROJECT_PLATFORM,
    SEED_DATABASE,
    WEEKLY_EXPORT,
    QoverySim,
)
from tests.openapi import OpenAPI, qovery_spec

pytestmark = pytest.mark.anyio

NOW = 1_750_400_000.0  # 2025-06-20T06:13:20Z, after every seeded deployment
QOVERY_AUTH = {"Authorization": f"Token {QOVERY_API_KEY}"}
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def qovery(sim: QoverySim, headers: dict[str, str] | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=sim.transport(), base_url=Sandbox.QOVERY_BASE_URL, headers=headers or QOVERY_AUTH
    )


def history_spec() -> OpenAPI:
    """The spec, with DeploymentHistoryServiceDetails narrowed to its job branch.

    The spec's `details` is a oneOf whose Helm branch requires no key, so every job's details also match it and the
    oneOf can never hold for a job: each answer is checked against JobDeploymentHistoryDetails instead.
    """
    document = copy.deepcopy(qovery_spec().document)
    schemas = document["components"]["schemas"]
    branches = schemas["DeploymentHistoryServiceDetails"]["oneOf"]
    schemas["DeploymentHistoryServiceDetails"] = next(
        b for b in branches if b.get("description") == "JobDeploymentHistoryDetails"
    )
    return OpenAPI(document)


def check(spec: OpenAPI, response: httpx2.Response) -> Any:
    """The answer's JSON, after checking it against the response schema its operation declares for its status."""
    request = response.request
    operation = _operation(spec, request.method, request.url.path)
    declared = operation["responses"][str(response.status_code)]
    body = response.json()
    spec.validate(body, declared["content"]["application/json"]["schema"])
    return body


def _operation(spec: OpenAPI, method: str, path: str) -> dict[str, Any]:
    for template, operations in spec.document["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the spec")


# ---- Qovery: the estate ---------------------------------------------------------------------------------


async def test_qovery_discovery_answers_follow_the_spec_level_by_level() -> None:
    spec = history_spec()
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        (organization,) = check(spec, await client.get("/organization"))["results"]
        projects = check(spec, await client.get(f"/organization/{organization['id']}/project"))["results"]
        environments = {
            project["name"]: check(spec, await client.get(f"/project/{project['id']}/environment"))["results"]
            for project in projects
        }
        jobs = {
            environment["id"]: check(spec, await client.get(f"/environment/{environment['id']}/job"))["results"]
            for listed in environments.values()
            for environment in listed
        }
        statuses = {
            environment_id: check(spec, await client.get(f"/environment/{environment_id}/job/status"))["results"]
            for environment_id in jobs
        }
        services = check(spec, await client.get(f"/organization/{ORGANIZATION_ID}/services"))["results"]
        for listed in jobs.values():
            for job in listed:
                check(spec, await client.get(f"/job/{job['id']}/deploymentHistoryV2"))
        for environment_id in jobs:
            check(spec, await client.get(f"/environment/{environment_id}/logs"))
    assert (organization["id"], organization["name"]) == (ORGANIZATION_ID, "Acme")
    assert {p["name"]: p["id"] for p in projects} == {"analytics": PROJECT_ANALYTICS, "platform": PROJECT_PLATFORM}
    assert {p["name"]: p["associated_environments_count"] for p in projects} == {"analytics": 2, "platform": 1}
    assert {name: sorted(e["name"] for e in listed) for name, listed in environments.items()} == {
        "analytics": ["production", "staging"],
        "platform": ["production"],
    }
    assert {e["name"]: e["mode"] for e in environments["analytics"]} == {
        "staging": "STAGING",
        "production": "PRODUCTION",
    }
    for environment_id, listed in jobs.items():
        assert {job["environment"]["id"] for job in listed} == {environment_id}
        assert [s["id"] for s in statuses[environment_id]] == [job["id"] for job in listed]
    names = {environment_id: sorted(job["name"] for job in listed) for environment_id, listed in jobs.items()}
    assert names == {
        ENV_ANALYTICS_STAGING: ["backfill-events", "cleanup-temp", "nightly-report", "seed-database"],
        ENV_ANALYTICS_PRODUCTION: ["nightly-report", "weekly-export"],
        ENV_PLATFORM_PRODUCTION: ["migrate-db", "rotate-keys"],
    }
    assert {s["service_type"] for s in services} >= {"JOB", "APPLICATION", "DATABASE"}
    assert len([s for s in services if s["service_type"] == "JOB"]) == sum(map(len, jobs.values()))


async def test_nightly_report_is_in_staging_and_in_production() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        services = (await client.get(f"/organization/{ORGANIZATION_ID}/services")).json()["results"]
        staging = (await client.get(f"/job/{NIGHTLY_REPORT}")).json()
        production = (await client.get(f"/job/{NIGHTLY_REPORT_PRODUCTION}")).json()
    reports = {
        s["environment_name"] + "/" + s["project_name"]: s["id"] for s in services if s["name"] == "nightly-report"
    }
    assert reports == {"staging/analytics": NIGHTLY_REPORT, "production/analytics": NIGHTLY_REPORT_PRODUCTION}
    assert staging["environment"]["id"] == ENV_ANALYTICS_STAGING
    assert production["environment"]["id"] == ENV_ANALYTICS_PRODUCTION
    assert production["source"]["image"]["tag"] != staging["source"]["image"]["tag"]


async def test_staging_holds_several_jobs_two_of_them_deployed() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        statuses = (await client.get(f"/environment/{ENV_ANALYTICS_STAGING}/job/status")).json()["results"]
        one_by_one = [(await client.get(f"/job/{s['id']}/status")).json() for s in statuses]
    assert statuses == one_by_one
    states = {s["id"]: s["state"] for s in statuses}
    assert states == {
        NIGHTLY_REPORT: "DEPLOYED",
        SEED_DATABASE: "DEPLOYED",
        CLEANUP_TEMP: "DEPLOYMENT_ERROR",
        BACKFILL_EVENTS: "READY",
    }


async def test_environment_statuses_move_a_deployment_on_as_job_status_reads_do() -> None:
    sim = QoverySim(clock=lambda: NOW)
    async with qovery(sim) as client:
        await client.post(f"/job/{NIGHTLY_REPORT}/deploy", json={"image_tag": "1.4.3"})
        states: list[str] = []
        for _ in range(2):
            listed = (await client.get(f"/environment/{ENV_ANALYTICS_STAGING}/job/status")).json()["results"]
            states.append(next(s["state"] for s in listed if s["id"] == NIGHTLY_REPORT))
        single = (await client.get(f"/job/{NIGHTLY_REPORT}/status")).json()
    assert states == ["DEPLOYING", "DEPLOYED"]
    assert single["state"] == "DEPLOYED"
    assert single["service_deployment_status"] == "UP_TO_DATE"


async def test_weekly_export_is_an_image_job_in_production() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        job = (await client.get(f"/job/{WEEKLY_EXPORT}")).json()
        deployed = await client.post(f"/job/{WEEKLY_EXPORT}/deploy", json={"image_tag": "2.1.0"})
        states = [(await client.get(f"/job/{WEEKLY_EXPORT}/status")).json()["state"] for _ in range(2)]
    assert job["environment"]["id"] == ENV_ANALYTICS_PRODUCTION
    assert job["source"]["image"]["image_name"] == "acme/weekly-export"
    assert deployed.status_code == 202
    assert states == ["DEPLOYING", "DEPLOYED"]


async def test_services_are_filtered_by_project_and_environment() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        url = f"/organization/{ORGANIZATION_ID}/services"
        every = (await client.get(url)).json()["results"]
        platform = (await client.get(url, params={"project_id": PROJECT_PLATFORM})).json()["results"]
        staging = (await client.get(url, params={"environment_id": ENV_ANALYTICS_STAGING})).json()["results"]
        nowhere = (await client.get(url, params={"environment_id": UNKNOWN})).json()["results"]
    assert {s["project_name"] for s in platform} == {"platform"}
    assert {(s["name"], s["service_type"]) for s in platform} == {
        ("migrate-db", "JOB"),
        ("rotate-keys", "JOB"),
        ("api", "APPLICATION"),
        ("postgres", "DATABASE"),
        ("redis", "CONTAINER"),
    }
    assert {s["environment_id"] for s in staging} == {ENV_ANALYTICS_STAGING}
    assert {s["name"] for s in staging if s["service_type"] != "JOB"} == {"dashboard", "warehouse"}
    assert nowhere == []
    assert all(("job_type" in s) == (s["service_type"] == "JOB") for s in every)
    assert len({s["id"] for s in every}) == len(every)


async def test_to_update_lists_the_jobs_whose_configuration_is_not_deployed() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        url = f"/environment/{ENV_ANALYTICS_STAGING}/job"
        before = (await client.get(url, params={"toUpdate": "true"})).json()["results"]
        job = (await client.get(f"/job/{NIGHTLY_REPORT}")).json()
        await client.put(f"/job/{NIGHTLY_REPORT}", json={**job, "cpu": 750})
        after = (await client.get(url, params={"toUpdate": "true"})).json()["results"]
    assert [j["id"] for j in before] == [CLEANUP_TEMP]
    assert {j["id"] for j in after} == {CLEANUP_TEMP, NIGHTLY_REPORT}


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        (f"/organization/{UNKNOWN}/project", 404, f"Organization {UNKNOWN} not found"),
        (f"/organization/{UNKNOWN}/services", 404, f"Organization {UNKNOWN} not found"),
        (f"/project/{UNKNOWN}/environment", 404, f"Project {UNKNOWN} not found"),
        (f"/environment/{UNKNOWN}/job", 404, f"Environment {UNKNOWN} not found"),
        (f"/environment/{UNKNOWN}/job/status", 404, f"Environment {UNKNOWN} not found"),
        (f"/environment/{UNKNOWN}/logs", 404, f"Environment {UNKNOWN} not found"),
        (f"/job/{UNKNOWN}/deploymentHistoryV2", 404, f"Job {UNKNOWN} not found"),
        ("/project/staging/environment", 400, "Invalid project id 'staging': expected a UUID"),
        ("/environment/prod/logs", 400, "Invalid environment id 'prod': expected a UUID"),
    ],
)
async def test_unknown_ids_answer_as_unknown_jobs_do(path: str, status: int, detail: str) -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        response = await client.get(path)
        job = await client.get(f"/job/{UNKNOWN}")
    assert response.json() == {
        "status": status,
        "error": "Not Found" if status == 404 else "Bad Request",
        "detail": detail,
    }
    assert response.status_code == status
    assert set(job.json()) == set(response.json())  # the same error body as for an unknown job


async def test_the_new_operations_need_a_token_too() -> None:
    async with qovery(QoverySim(clock=lambda: NOW), headers={"Authorization": f"Bearer {QOVERY_API_KEY}"}) as client:
        refused = await client.get(f"/organization/{ORGANIZATION_ID}/services")
    async with qovery(QoverySim(clock=lambda: NOW), headers={"Authorization": f"Bearer {QOVERY_JWT}"}) as client:
        accepted = await client.get(f"/organization/{ORGANIZATION_ID}/project")
    assert refused.status_code == 401
    assert accepted.status_code == 200


# ---- Qovery: deployment history and logs ------------------------------------------------------------


async def test_migrate_db_last_deployment_failed_and_its_log_says_why() -> None:
    spec = history_spec()
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        history = check(spec, await client.get(f"/job/{MIGRATE_DB}/deploymentHistoryV2"))
        status = (await client.get(f"/job/{MIGRATE_DB}/status")).json()
        last = history["results"][0]
        execution = last["identifier"]["execution_id"]
        logs = check(
            spec, await client.get(f"/environment/{ENV_PLATFORM_PRODUCTION}/logs", params={"version": execution})
        )
    assert [entry["status"] for entry in history["results"]] == ["DEPLOYMENT_ERROR", "DEPLOYED", "DEPLOYED"]
    assert last["status_details"] == {"action": "DEPLOY", "status": "ERROR", "sub_action": "NONE"}
    assert last["auditing_data"]["triggered_by"] == "John Smith"
    assert last["auditing_data"]["origin"] == "CONSOLE"
    assert last["details"]["commit"]["message"] == "feat(orders): backfill discount codes (#318)"
    assert (status["state"], status["execution_id"]) == ("DEPLOYMENT_ERROR", execution)
    job_lines = [line for line in logs if line["details"]["transmitter"]["id"] == MIGRATE_DB]
    assert {line["details"]["execution_id"] for line in logs} == {execution}
    assert len(job_lines) < len(logs)  # the environment's own lines are there too: keep the job's
    (failed,) = [line for line in job_lines if line["type"] == "error"]
    assert failed["error"]["tag"] == "JOB_FAILURE"
    assert 'column "discount_code" of relation "orders" does not exist' in failed["error"]["user_log_message"]
    assert failed["error"]["hint_message"]
    assert failed["details"]["stage"]["step"] == "DeployedError"


async def test_cleanup_temp_failed_on_an_image_that_does_not_exist() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        last = (await client.get(f"/job/{CLEANUP_TEMP}/deploymentHistoryV2")).json()["results"][0]
        version = {"version": last["identifier"]["execution_id"]}
        logs = (await client.get(f"/environment/{ENV_ANALYTICS_STAGING}/logs", params=version)).json()
        latest = (await client.get(f"/environment/{ENV_ANALYTICS_STAGING}/logs")).json()
    assert {line["details"]["transmitter"]["name"] for line in latest} == {"nightly-report", "staging"}
    errors = [line["error"] for line in logs if line["type"] == "error"]
    assert [e["tag"] for e in errors] == ["CONTAINER_REGISTRY_IMAGE_DOESNT_EXIST"]
    assert "acme/cleanup-temp:0.9.1" in errors[0]["user_log_message"]
    assert {line["details"]["transmitter"]["name"] for line in logs} == {"cleanup-temp", "staging"}


async def test_seeded_history_has_successes_with_who_and_from_where() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        entries = (await client.get(f"/job/{NIGHTLY_REPORT}/deploymentHistoryV2")).json()["results"]
    assert [e["details"]["tag"] for e in entries] == ["1.4.2", "1.4.1", "1.4.0"]
    assert {e["status"] for e in entries} == {"DEPLOYED"}
    assert all(e["auditing_data"]["triggered_by"] and e["auditing_data"]["origin"] for e in entries)
    created = [e["auditing_data"]["created_at"] for e in entries]
    assert created == sorted(created, reverse=True)  # newest first


async def test_every_deploy_redeploy_and_stop_adds_a_history_entry_that_follows_the_status() -> None:
    spec = history_spec()
    sim = QoverySim(clock=lambda: NOW)
    async with qovery(sim) as client:

        async def settle() -> None:
            for _ in range(2):
                await client.get(f"/job/{NIGHTLY_REPORT}/status")

        async def history() -> list[dict[str, Any]]:
            return check(spec, await client.get(f"/job/{NIGHTLY_REPORT}/deploymentHistoryV2"))["results"]

        await client.post(f"/job/{NIGHTLY_REPORT}/deploy", json={"image_tag": "1.4.3"})
        queued = (await history())[0]
        await client.get(f"/job/{NIGHTLY_REPORT}/status")
        running = (await history())[0]
        await client.get(f"/job/{NIGHTLY_REPORT}/status")
        await client.post(f"/job/{NIGHTLY_REPORT}/redeploy")
        await settle()
        await client.post(f"/job/{NIGHTLY_REPORT}/stop")
        await settle()
        entries = await history()
        logs = check(spec, await client.get(f"/environment/{ENV_ANALYTICS_STAGING}/logs"))
    assert (queued["status"], queued["status_details"]["status"]) == ("DEPLOYMENT_QUEUED", "QUEUED")
    assert "total_duration" not in queued
    assert (running["status"], running["status_details"]["status"]) == ("DEPLOYING", "ONGOING")
    assert [(e["status"], e["status_details"]["action"]) for e in entries[:3]] == [
        ("STOPPED", "STOP"),
        ("DEPLOYED", "DEPLOY"),
        ("DEPLOYED", "DEPLOY"),
    ]
    assert entries[2]["details"]["tag"] == "1.4.3"
    assert len(entries) == 6
    assert {e["auditing_data"]["triggered_by"] for e in entries[:3]} == {"sandbox-api-token"}
    assert {e["auditing_data"]["origin"] for e in entries[:3]} == {"API"}
    assert entries[0]["auditing_data"]["created_at"].startswith("2025-06-20T06:13:20")
    assert [line["message"]["safe_message"] for line in logs if line["details"]["transmitter"]["type"] == "Job"] == [
        "Stopping job nightly-report",
        "Job nightly-report stopped",
    ]


async def test_history_pages_by_page_size() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        url = f"/job/{MIGRATE_DB}/deploymentHistoryV2"
        default = (await client.get(url)).json()
        two = (await client.get(url, params={"pageSize": "2"})).json()
        bad = await client.get(url, params={"pageSize": "many"})
    assert (default["page"], default["page_size"], len(default["results"])) == (1, 20, 3)
    assert (two["page_size"], len(two["results"])) == (2, 2)
    assert two["results"] == default["results"][:2]
    assert bad.status_code == 400


async def test_logs_of_an_unknown_version_are_empty() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        response = await client.get(f"/environment/{ENV_PLATFORM_PRODUCTION}/logs", params={"version": "nope"})
    assert (response.status_code, response.json()) == (200, [])


async def test_redeploying_migrate_db_fails_again_until_another_commit_is_deployed() -> None:
    sim = QoverySim(clock=lambda: NOW)
    async with qovery(sim) as client:
        await client.post(f"/job/{MIGRATE_DB}/redeploy")
        again = [(await client.get(f"/job/{MIGRATE_DB}/status")).json()["state"] for _ in range(2)]
        previous = "b7d2e4f6a8c0135792468ace0bdf13579bdf2468"
        await client.post(f"/job/{MIGRATE_DB}/deploy", json={"git_commit_id": previous})
        fixed = [(await client.get(f"/job/{MIGRATE_DB}/status")).json() for _ in range(2)]
    assert again == ["DEPLOYING", "DEPLOYMENT_ERROR"]
    assert [s["state"] for s in fixed] == ["DEPLOYING", "DEPLOYED"]
    assert fixed[-1]["service_deployment_status"] == "UP_TO_DATE"


# ---- Qovery: OUT_OF_DATE after an edit ----------------------------------------------------------------


async def test_an_edit_leaves_the_job_out_of_date_until_a_deployment_finishes() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        job = (await client.get(f"/job/{NIGHTLY_REPORT}")).json()
        edited = await client.put(f"/job/{NIGHTLY_REPORT}", json={**job, "memory": 1024})
        after_edit = [(await client.get(f"/job/{NIGHTLY_REPORT}/status")).json() for _ in range(2)]
        await client.post(f"/job/{NIGHTLY_REPORT}/redeploy")
        during = (await client.get(f"/job/{NIGHTLY_REPORT}/status")).json()
        done = (await client.get(f"/job/{NIGHTLY_REPORT}/status")).json()
    assert edited.status_code == 200
    assert [(s["state"], s["service_deployment_status"]) for s in after_edit] == [("DEPLOYED", "OUT_OF_DATE")] * 2
    assert (during["state"], during["service_deployment_status"]) == ("DEPLOYING", "OUT_OF_DATE")
    assert (done["state"], done["service_deployment_status"]) == ("DEPLOYED", "UP_TO_DATE")


async def test_an_edit_made_while_deploying_is_still_out_of_date_afterwards() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        await client.post(f"/job/{NIGHTLY_REPORT}/redeploy")
        job = (await client.get(f"/job/{NIGHTLY_REPORT}")).json()
        await client.put(f"/job/{NIGHTLY_REPORT}", json={**job, "cpu": 250})
        states = [(await client.get(f"/job/{NIGHTLY_REPORT}/status")).json() for _ in range(2)]
    assert (states[-1]["state"], states[-1]["service_deployment_status"]) == ("DEPLOYED", "OUT_OF_DATE")


async def test_an_edit_of_a_never_deployed_job_stays_never_deployed() -> None:
    async with qovery(QoverySim(clock=lambda: NOW)) as client:
        job = (await client.get(f"/job/{BACKFILL_EVENTS}")).json()
        await client.put(f"/job/{BACKFILL_EVENTS}", json={**job, "cpu": 250})
        status = (await client.get(f"/job/{BACKFILL_EVENTS}/status")).json()
    assert status["service_deployment_status"] == "NEVER_DEPLOYED"


# ---- Qovery: a large organization for benchmarks -----------------------------------------------------------


async def test_extra_services_scale_the_organization() -> None:
    sim = QoverySim(clock=lambda: NOW, extra_services=1000)
    async with qovery(sim) as client:
        services = (await client.get(f"/organization/{ORGANIZATION_ID}/services")).json()["results"]
        projects = (await client.get(f"/organization/{ORGANIZATION_ID}/project")).json()["results"]
        generated = [s for s in services if s["name"].startswith(("job-", "svc-"))]
        environment = generated[0]["environment_id"]
        jobs = (await client.get(f"/environment/{environment}/job")).json()["results"]
        statuses = (await client.get(f"/environment/{environment}/job/status")).json()["results"]
        history = (await client.get(f"/job/{jobs[0]['id']}/deploymentHistoryV2")).json()["results"]
    assert len(generated) == 1000
    assert len([s for s in generated if s["service_type"] == "JOB"]) == 920
    assert len({s["environment_id"] for s in generated}) == 40
    assert len(projects) == 2 + 10
    assert [s["id"] for s in statuses] == [j["id"] for j in jobs]
    assert {s["state"] for s in statuses} == {"DEPLOYED"}
    assert [e["status"] for e in history] == ["DEPLOYED"]
    again = QoverySim(clock=lambda: NOW, extra_services=1000)
    assert set(again.jobs) == set(sim.jobs)  # the same ids on every run


def test_the_sandbox_keeps_its_extra_services_across_resets() -> None:
    sandbox = Sandbox(clock=lambda: NOW, qovery_extra_services=50)
    sandbox.reset()
    assert len(sandbox.qovery.jobs) == len(QoverySim().jobs) + 46


# ---- Commvault ----------------------------------------------------------------------------------------------

COMMVAULT_AUTH = {"Authtoken": COMMVAULT_API_KEY}
DAY = 86400


def commvault(sim: CommvaultSim) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=sim.transport(), base_url=Sandbox.COMMVAULT_BASE_URL, headers=COMMVAULT_AUTH)


def browse_request(
    path: str,
    *,
    subclient: int = 12,
    client: int = 7,
    op_type: int = 0,
    to_time: int = 0,
    page_size: int = 100_000,
    skip: int = 0,
    names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A DoBrowse body in the shape cvpysdk's Backupset._prepare_browse_json builds."""
    query: dict[str, Any] = {
        "type": 0,
        "queryId": "dataQuery",
        "dataParam": {
            "sortParam": {"ascending": False, "sortBy": [0]},
            "paging": {"pageSize": page_size, "skipNode": skip, "firstNode": 0},
        },
    }
    if names:
        query["whereClause"] = [{"connector": 0, "criteria": {"field": "FileName", "values": list(names)}}]
    return {
        "opType": op_type,
        "mode": {"mode": 2},
        "paths": [{"path": path}],
        "options": {"showDeletedFiles": False, "restoreIndex": True},
        "entity": {
            "clientId": client,
            "subclientId": subclient,
            "applicationId": 29,
            "instanceId": 1,
            "backupsetId": 5,
        },
        "timeRange": {"fromTime": 0, "toTime": to_time},
        "advOptions": {"copyPrecedence": 0},
        "queries": [query],
    }


def task(subclient: int, sub_task: dict[str, int], options: dict[str, Any]) -> dict[str, Any]:
    step = {"subTaskOperation": 1, "subTask": sub_task, "options": options}
    association = {"subclientId": subclient, "_type_": "SUBCLIENT_ENTITY"}
    return {"taskInfo": {"associations": [association], "task": {"taskType": 1}, "subTasks": [step]}}


def backup(subclient: int, level: str = "INCREMENTAL") -> dict[str, Any]:
    return task(subclient, {"subTaskType": 2, "operationType": 2}, {"backupOpts": {"backupLevel": level}})


def restore(subclient: int, paths: list[str], client: str, destination: str) -> dict[str, Any]:
    where = {"inPlace": False, "destClient": {"clientName": client}, "destPath": [destination]}
    options = {"restoreOptions": {"destination": where, "fileOption": {"sourceItem": paths}}}
    return task(subclient, {"subTaskType": 3, "operationType": 1001}, options)


async def start(client: httpx2.AsyncClient, body: dict[str, Any]) -> int:
    answer = (await client.post("/CreateTask", json=body)).json()
    return int(answer["jobIds"][0])


async def summary(client: httpx2.AsyncClient, job_id: int) -> dict[str, Any]:
    """GET /Job/{jobId}: one read, which moves an active job one step."""
    return (await client.get(f"/Job/{job_id}")).json()["jobs"][0]["jobSummary"]


async def events(client: httpx2.AsyncClient, job_id: int) -> list[dict[str, Any]]:
    return (await client.get("/Events", params={"jobId": job_id})).json().get("commservEvents", [])


async def test_clients_carry_name_host_and_display_name() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        listed = (await client.get("/Client")).json()
        one = (await client.get("/Client/8")).json()
        unknown = await client.get("/Client/99")
    entities = {
        p["client"]["clientEntity"]["clientId"]: p["client"]["clientEntity"] for p in listed["clientProperties"]
    }
    assert listed["filterQueryCount"] == len(entities) == 4
    assert {i: (e["clientName"], e["hostName"], e["displayName"]) for i, e in entities.items()} == {
        7: ("fs01.example.com", "fs01.example.com", "fs01"),
        8: ("db01.example.com", "db01.example.com", "db01"),
        9: ("fs02.example.com", "fs02.example.com", "fs02"),
        10: ("win-app01", "win-app01.corp.example.com", "Billing App Server"),
    }
    assert all(e["_type_"] == 3 and e["clientGUID"] for e in entities.values())
    (db01,) = one["clientProperties"]
    assert [a["idaEntity"]["applicationId"] for a in db01["client"]["idaList"]] == [33, 81]
    assert db01["client"]["osInfo"]["Type"] == "Windows"
    assert (db01["client"]["cvdPort"], db01["clientProps"]["activityControl"]["EnableDataManagement"]) == (8400, True)
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"errorCode": 2, "errorMessage": "Client [99] was not found."},
    )


async def test_subclients_are_listed_by_client_id_or_name() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        by_id = (await client.get("/Subclient", params={"clientId": 8})).json()
        by_name = (await client.get("/Subclient", params={"clientName": "DB01.example.com"})).json()
        fs01 = (await client.get("/Subclient", params={"clientId": 7})).json()
        fs02 = (await client.get("/Subclient", params={"clientName": "fs02.example.com"})).json()
        one = (await client.get("/Subclient/12")).json()
        unknown = (await client.get("/Subclient", params={"clientName": "fs01"})).json()
    assert by_id == by_name
    assert by_id["filterQueryCount"] == len(by_id["subClientProperties"]) == 3
    entities = [p["subClientEntity"] for p in by_id["subClientProperties"]]
    assert [(e["subclientId"], e["appName"], e["applicationId"], e["subclientName"]) for e in entities] == [
        (13, "SQL Server", 81, "default"),
        (15, "File System", 33, "default"),
        (19, "SQL Server", 81, "ReportingDBs"),
    ]
    keys = {"clientId", "clientName", "appName", "applicationId", "instanceId", "instanceName", "backupsetId"}
    assert all(keys | {"backupsetName", "subclientId", "subclientName"} <= set(e) for e in entities)
    linux = [p["subClientEntity"] for p in fs01["subClientProperties"] + fs02["subClientProperties"]]
    assert {e["applicationId"] for e in linux} == {29}
    assert {p["subClientEntity"]["subclientName"] for p in fs02["subClientProperties"]} == {"default", "projects"}
    common = one["subClientProperties"][0]["commonProperties"]
    assert (common["isDefaultSubclient"], common["enableBackup"]) == (True, True)
    assert common["nextBackupTime"] > NOW
    assert one["subClientProperties"][0]["content"] == [{"path": "/etc"}, {"path": "/home"}, {"path": "/var/www"}]
    assert unknown == {"errorCode": 2, "errorMessage": "Client [fs01] was not found."}  # a display name is no name


async def test_last_backup_time_is_the_start_of_the_last_backup_that_completed() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        jobs = (await client.get("/Job", params={"jobCategory": "Finished"})).json()["jobs"]
        last: dict[int, int] = {}
        for entry in (j["jobSummary"] for j in jobs):
            if entry["status"].startswith("Completed"):
                subclient = entry["subclient"]["subclientId"]
                last[subclient] = max(last.get(subclient, 0), entry["jobStartTime"])
        listed: dict[int, int] = {}
        for client_id in (7, 8, 9, 10):
            answer = (await client.get("/Subclient", params={"clientId": client_id})).json()
            for properties in answer["subClientProperties"]:
                listed[properties["subClientEntity"]["subclientId"]] = properties["commonProperties"]["lastBackupTime"]
        job_id = await start(client, backup(18))
        for _ in range(4):
            await summary(client, job_id)
        after = (await client.get("/Subclient/18")).json()["subClientProperties"][0]["commonProperties"]
    assert listed == {**dict.fromkeys(listed, 0), **last}
    assert listed[16] == 0  # fs01's logs subclient was never backed up
    assert listed[12] == sim.jobs[9612]["jobStartTime"]  # completed with errors: its data is there
    assert after["lastBackupTime"] == sim.jobs[job_id]["jobStartTime"] == int(NOW)


async def test_browse_lists_a_folder_as_the_sdk_reads_it() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        answer = (await client.post("/DoBrowse", json=browse_request("/etc"))).json()
    (response,) = answer["browseResponses"]
    assert (response["respType"], response["browseResult"]["queryId"]) == (0, "dataQuery")
    assert response["browseResult"]["totalItemsFound"] == 3
    items = {item["path"]: item for item in response["browseResult"]["dataResultSet"]}
    assert list(items) == ["/etc/hosts", "/etc/nginx", "/etc/passwd"]
    assert items["/etc/hosts"]["flags"]["file"] is True
    assert items["/etc/nginx"]["flags"]["directory"] is True
    assert items["/etc/nginx"]["size"] == 2412 + 1024
    hosts = items["/etc/hosts"]
    assert (hosts["displayName"], hosts["name"], hosts["size"]) == ("hosts", "hosts", 221)
    assert hosts["modificationTime"] == int(NOW) - 40 * DAY
    advanced = hosts["advancedData"]
    assert (advanced["backupJobId"], advanced["backupTime"]) == (9612, sim.jobs[9612]["jobStartTime"])
    assert advanced["subclient"] == {"subclientId": 12, "applicationId": 29, "_type_": 7}


async def test_browsing_a_file_answers_that_file_and_a_missing_path_answers_no_data() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        found = (await client.post("/DoBrowse", json=browse_request("/var/www/index.html"))).json()
        missing = (await client.post("/DoBrowse", json=browse_request("/var/www/missing.html"))).json()
        never = (await client.post("/DoBrowse", json=browse_request("/var/log", subclient=16))).json()
    (item,) = found["browseResponses"][0]["browseResult"]["dataResultSet"]
    assert (item["path"], item["size"], item["advancedData"]["backupJobId"]) == ("/var/www/index.html", 5233, 9612)
    for answer in (missing, never):
        (response,) = answer["browseResponses"]
        assert response["respType"] == 0
        assert response["browseResult"] == {"queryId": "dataQuery"}


async def test_an_earlier_point_in_time_shows_older_versions_and_omits_newer_files() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    before_full = sim.jobs[9612]["jobStartTime"] - 1
    before_incremental = sim.jobs[9605]["jobStartTime"] - 1
    async with commvault(sim) as client:
        older = (await client.post("/DoBrowse", json=browse_request("/var/www/index.html", to_time=before_full))).json()
        home = (await client.post("/DoBrowse", json=browse_request("/home/alice", to_time=before_incremental))).json()
        now = (await client.post("/DoBrowse", json=browse_request("/home/alice"))).json()
    (item,) = older["browseResponses"][0]["browseResult"]["dataResultSet"]
    assert (item["size"], item["advancedData"]["backupJobId"]) == (5120, 9520)
    assert [i["path"] for i in home["browseResponses"][0]["browseResult"]["dataResultSet"]] == ["/home/alice/.bashrc"]
    assert [i["path"] for i in now["browseResponses"][0]["browseResult"]["dataResultSet"]] == [
        "/home/alice/.bashrc",
        "/home/alice/notes.txt",
    ]


async def test_browse_pages_by_skip_node_and_page_size_and_states_the_total() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        pages = [
            (await client.post("/DoBrowse", json=browse_request("/", page_size=2, skip=skip))).json()
            for skip in (0, 2, 4)
        ]
    results = [page["browseResponses"][0]["browseResult"] for page in pages]
    assert [r["totalItemsFound"] for r in results] == [3, 3, 3]
    assert [[i["path"] for i in r["dataResultSet"]] for r in results] == [["/etc", "/home"], ["/var"], []]


async def test_find_and_all_versions() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        found = (await client.post("/DoBrowse", json=browse_request("/**/*", op_type=1, names=("*.conf",)))).json()
        versions = (await client.post("/DoBrowse", json=browse_request("/etc/nginx/nginx.conf", op_type=2))).json()
    assert [i["path"] for i in found["browseResponses"][0]["browseResult"]["dataResultSet"]] == [
        "/etc/nginx/nginx.conf"
    ]
    listed = versions["browseResponses"][0]["browseResult"]["dataResultSet"]
    assert [(i["advancedData"]["backupJobId"], i["size"]) for i in listed] == [(9612, 2412), (9605, 2412), (9520, 2380)]


async def test_windows_paths_browse_with_either_separator() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        drives = (await client.post("/DoBrowse", json=browse_request("\\", subclient=17, client=10))).json()
        slashes = (
            await client.post("/DoBrowse", json=browse_request("/d:/Shares/Finance", subclient=17, client=10))
        ).json()
    assert [i["path"] for i in drives["browseResponses"][0]["browseResult"]["dataResultSet"]] == ["C:", "D:"]
    (budget,) = slashes["browseResponses"][0]["browseResult"]["dataResultSet"]
    assert (budget["path"], budget["advancedData"]["backupJobId"]) == ("D:\\Shares\\Finance\\budget-2025.xlsx", 9630)


@pytest.mark.parametrize(
    ("subclient", "client", "message"),
    [
        (999, 7, "Subclient [999] was not found on client [7]."),
        (12, 9, "Subclient [12] was not found on client [9]."),
        (13, 8, "Browse of [SQL Server] backups is not supported by this request; browse a File System subclient."),
    ],
)
async def test_a_bad_browse_entity_is_an_error_message(subclient: int, client: int, message: str) -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as http:
        response = await http.post("/DoBrowse", json=browse_request("/etc", subclient=subclient, client=client))
    assert response.status_code == 200
    assert response.json() == {
        "browseResponses": [{"respType": 3, "messages": [{"errorCode": 2, "errorMessage": message}]}]
    }


async def test_job_details_say_who_started_a_job_and_why_it_waits_or_failed() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        details = {
            job_id: (await client.post("/JobDetails", json={"jobId": job_id, "showAttempt": True})).json()
            for job_id in (9669, 9650, 9580, 9671, 9612)
        }
        unknown = (await client.post("/JobDetails", json={"jobId": 424242})).json()
    running = details[9669]["job"]["jobDetail"]
    assert set(running) == {"generalInfo", "progressInfo", "detailInfo"}
    general = running["generalInfo"]
    assert (general["jobStartedBy"], general["jobStartedFrom"], general["operationType"]) == (
        "admin",
        "Scheduled",
        "Backup",
    )
    assert general["subclient"]["subclientId"] == 12
    assert running["progressInfo"] == {"state": "Running", "reasonForJobDelay": "", "numOfFilesTransferred": 20249}
    assert sim.jobs[9669]["percentComplete"] == 42  # a detail read does not move the job
    reasons = {job_id: d["job"]["jobDetail"]["progressInfo"]["reasonForJobDelay"] for job_id, d in details.items()}
    assert reasons[9650].startswith("Failed to create a VSS snapshot of volume [D:] on client [win-app01]")
    assert reasons[9580] == "The job has been killed by user [jsmith]."
    assert "MediaAgent [ma01.example.com]" in reasons[9671]
    assert details[9612]["job"]["jobDetail"]["detailInfo"]["skippedItems"] == 2
    assert unknown == {"error": {"errList": [{"errorCode": 2, "errLogMessage": "Job ID [424242] is not valid."}]}}


async def test_events_say_why_a_job_failed_newest_first() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        failed = await events(client, 9650)
        none = (await client.get("/Events", params={"jobId": 9520})).json()
        unknown = (await client.get("/Events", params={"jobId": 424242})).json()
    assert [e["eventCodeString"] for e in failed] == ["19:108", "19:122", "19:107"]
    assert [e["severity"] for e in failed] == [6, 3, 6]
    assert [e["eventCode"] for e in failed] == [str((19 << 24) + n) for n in (108, 122, 107)]
    assert failed[0]["description"] == "Backup job [9650] failed."
    assert failed[1]["description"] == "Received failed message for job [9650], phase [Scan]."
    assert failed[2]["description"].startswith("Failed to create a VSS snapshot")
    assert failed[2]["clientEntity"] == {"clientId": 10, "clientName": "win-app01", "displayName": "Billing App Server"}
    times = [e["timeSource"] for e in failed]
    assert times == sorted(times, reverse=True)
    assert all(e["jobId"] == 9650 and isinstance(e["eventCode"], str) for e in failed)
    assert none == unknown == {}


async def test_a_job_with_errors_has_failed_item_counts_and_warning_events() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        warnings = {job_id: await events(client, job_id) for job_id in (9612, 9630)}
    assert (sim.jobs[9630]["totalFailedFiles"], sim.jobs[9630]["totalFailedFolders"]) == (14, 1)
    assert (sim.jobs[9612]["totalFailedFiles"], sim.jobs[9612]["totalFailedFolders"]) == (2, 0)
    for job_id, found in warnings.items():
        assert {e["severity"] for e in found} == {3}
        assert found[0]["description"] == f"Backup job [{job_id}] completed with one or more errors."
    assert warnings[9630][1]["description"].startswith("Failed to back up [14] files and [1] folders of subclient")


async def test_killed_and_suspended_jobs_have_an_event_naming_who_did_it() -> None:
    async with commvault(CommvaultSim(clock=lambda: NOW)) as client:
        killed = await events(client, 9580)
        suspended = await events(client, 9670)
    assert [e["description"] for e in killed] == ["Job [9580] was killed by user [jsmith]."]
    assert [e["description"] for e in suspended] == ["Job [9670] was suspended by user [admin]."]


async def test_kill_suspend_and_resume_record_events_with_the_logged_in_user() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        password = base64.b64encode(COMMVAULT_PASSWORD.encode()).decode()
        login = (await client.post("/Login", json={"username": COMMVAULT_USERNAME, "password": password})).json()
        session = {"Authtoken": login["token"]}
        await client.post("/Job/9672/action/pause", headers=session)
        settled = [(await summary(client, 9672))["status"] for _ in range(2)]
        await client.post("/Job/9672/action/resume", headers=session)
        await client.post("/Job/9673/action/kill", headers=session)
        paused = await events(client, 9672)
        killed = await events(client, 9673)
    assert settled == ["Suspend Pending", "Suspended"]
    assert [e["description"] for e in paused] == [
        "Job [9672] was resumed by user [admin].",
        "Job [9672] was suspended by user [admin].",
    ]
    assert [(e["description"], e["severity"]) for e in killed] == [("Job [9673] was killed by user [admin].", 3)]


async def test_a_finished_job_never_says_it_is_waiting() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        assert "MediaAgent" in (await summary(client, 9671))["pendingReason"]
        await client.post("/Job/9671/action/kill")
        states = [await summary(client, 9671) for _ in range(2)]
        assert (await client.post("/Job/9670/action/resume")).json() == {"errorCode": 0}
        resumed = [await summary(client, 9670) for _ in range(2)]
    assert [s["status"] for s in states] == ["Kill Pending", "Killed"]
    assert states[-1]["pendingReason"] == "The job has been killed by user [admin]."
    assert resumed[-1]["status"] == "Running"
    assert resumed[-1]["pendingReason"] == ""
    for job in sim.jobs.values():
        if job["status"] not in ("Running", "Waiting", "Pending", "Queued", "Suspended"):
            assert not re.search(r"wait|queued|will (start|resume)", job["pendingReason"], re.IGNORECASE), job
        if job["status"] == "Failed":
            assert job["pendingReason"]


@pytest.mark.parametrize(
    "query",
    [
        {"jobFilter": ""},
        {"jobFilter": "", "jobCategory": "Finished"},
        {"jobFilter": "", "jobCategory": "Active"},
        {},
        {"clientId": "8"},
        {"jobFilter": "Backup,Restore", "completedJobLookupTime": "86400"},
    ],
)
async def test_the_job_total_is_what_the_pages_reach(query: dict[str, str]) -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        await start(client, backup(18))
        seen: list[dict[str, Any]] = []
        totals: set[int] = set()
        for offset in range(0, 60, 4):
            page = (await client.get("/Job", params={**query, "limit": "4", "offset": str(offset)})).json()
            totals.add(page["totalRecordsWithoutPaging"])
            seen += [entry["jobSummary"] for entry in page.get("jobs", [])]
        hidden = (await client.get("/Job/9560")).json()
    (total,) = totals
    assert total == len(seen) == len({job["jobId"] for job in seen})
    assert all(job["isVisible"] for job in seen)
    assert hidden["jobs"][0]["jobSummary"]["isVisible"] is False  # still readable by its id


async def test_a_backup_of_a_busy_subclient_queues_behind_the_active_one() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        job_id = await start(client, backup(12))
        queued = await summary(client, job_id)
        queue_events = await events(client, job_id)
        await client.post("/Job/9669/action/kill")
        await summary(client, 9669)
        await summary(client, 9669)
        started = await summary(client, job_id)
        moving = await summary(client, job_id)
    assert (queued["status"], queued["percentComplete"]) == ("Queued", 0)
    assert "[9669]" in queued["pendingReason"]
    assert queue_events[0]["description"].startswith(f"Job [{job_id}] is queued. Another backup job [9669]")
    assert (started["status"], started["pendingReason"]) == ("Running", "")
    assert moving["percentComplete"] == 25


async def test_a_failing_file_system_restore_says_why_in_file_system_terms() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        body = restore(17, ["D:\\Shares\\Finance\\budget-2025.xlsx"], "win-app01", "D:\\RestoreArea")
        job_id = await start(client, body)
        reads = [await summary(client, job_id) for _ in range(2)]
        found = await events(client, job_id)
        fine = await start(client, restore(15, ["C:\\Scripts\\maintenance.ps1"], "db01.example.com", "C:\\Restore"))
        done = [await summary(client, fine) for _ in range(4)]
    assert reads[-1]["status"] == "Failed"
    assert (
        reads[-1]["pendingReason"] == "Insufficient disk space on client [win-app01] to restore to [D:\\RestoreArea]."
    )
    assert [e["subsystem"] for e in found] == ["JobManager", "JobManager", "clRestore"]
    assert found[0]["description"] == f"Restore job [{job_id}] failed."
    assert done[-1]["status"] == "Completed"
    for job in sim.jobs.values():
        assert "offline (sandbox)" not in job["pendingReason"]
        assert not ("database" in job["pendingReason"].lower() and job["appTypeName"] == "File System")


async def test_recent_failures_db01_running_backups_and_an_idle_fs02_subclient() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        day = {"jobCategory": "Finished", "completedJobLookupTime": str(DAY)}
        finished = [j["jobSummary"] for j in (await client.get("/Job", params=day)).json()["jobs"]]
        failed = [job for job in finished if job["status"] == "Failed"]
        failure_events = {job["jobId"]: await events(client, job["jobId"]) for job in failed}
        active = (await client.get("/Job", params={"clientId": "8", "jobCategory": "Active"})).json()["jobs"]
        fs02 = await start(client, backup(18, "FULL"))
        first = await summary(client, fs02)
    assert len(failed) >= 2
    assert all(job["jobEndTime"] >= NOW - DAY and job["pendingReason"] for job in failed)
    assert all(
        found and found[-1]["description"] == job["pendingReason"]
        for job, found in zip(failed, failure_events.values(), strict=True)
    )
    running = [j["jobSummary"]["jobId"] for j in active if j["jobSummary"]["status"] == "Running"]
    assert len(running) >= 2
    assert (first["status"], first["subclient"]["clientName"], first["subclient"]["applicationId"]) == (
        "Running",
        "fs02.example.com",
        29,
    )


async def test_new_backups_of_win_app01_fail_with_events() -> None:
    sim = CommvaultSim(clock=lambda: NOW)
    async with commvault(sim) as client:
        job_id = await start(client, backup(17))
        failed = await summary(client, job_id)
        found = await events(client, job_id)
    assert (failed["status"], failed["percentComplete"]) == ("Failed", 5)
    assert failed["jobEndTime"] == int(NOW)
    assert [e["eventCodeString"] for e in found] == ["19:108", "19:122", "19:107"]
