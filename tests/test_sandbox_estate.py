"""The sandbox's estate over HTTP: Qovery's organization, projects, environments, services, job statuses, deployment
history and logs; Commvault's clients, subclients, browse, job details and events. Qovery answers are held to the
official spec when ../shared is present."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx2
import pytest

from jobctl_mcp.sandbox import QOVERY_API_KEY, QOVERY_JWT, Sandbox
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
