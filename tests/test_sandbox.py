"""The sandbox itself: vendor shapes, state machines, fault injection and loopback serving."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import httpx2
import pytest

from jobctl_mcp.sandbox import COMMVAULT_PASSWORD, COMMVAULT_USERNAME, QOVERY_API_KEY, Sandbox
from jobctl_mcp.sandbox.commvault import CommvaultSim
from jobctl_mcp.sandbox.faults import Fault
from jobctl_mcp.sandbox.loopback import serving
from jobctl_mcp.sandbox.qovery import CLEANUP_TEMP, MIGRATE_DB, NIGHTLY_REPORT, SEED_DATABASE, WEEKLY_EXPORT, QoverySim
from tests.openapi import qovery_spec

QOVERY_AUTH = {"Authorization": f"Token {QOVERY_API_KEY}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def commvault_client(sim: CommvaultSim) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=sim.transport(), base_url=Sandbox.COMMVAULT_BASE_URL)


def qovery_client(sim: QoverySim) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=sim.transport(), base_url=Sandbox.QOVERY_BASE_URL, headers=QOVERY_AUTH)


async def login(client: httpx2.AsyncClient) -> dict[str, str]:
    password = base64.b64encode(COMMVAULT_PASSWORD.encode()).decode()
    body = {"mode": 4, "username": COMMVAULT_USERNAME, "password": password, "deviceId": "test", "clientType": 30}
    response = await client.post("/Login", json=body)
    assert response.status_code == 200
    return {"Authtoken": response.json()["token"]}


@pytest.mark.anyio
async def test_commvault_login_then_each_read_advances_a_running_job() -> None:
    sim = CommvaultSim(clock=lambda: 1_750_000_000.0)
    async with commvault_client(sim) as client:
        assert (await client.get("/Job/9669")).status_code == 401
        auth = await login(client)
        first = (await client.get("/Job/9669", headers=auth)).json()
        second = (await client.get("/Job/9669", headers=auth)).json()
    assert first["totalRecordsWithoutPaging"] == 1
    assert [first["jobs"][0]["jobSummary"]["percentComplete"], second["jobs"][0]["jobSummary"]["percentComplete"]] == [
        67,
        92,
    ]
    assert second["jobs"][0]["jobSummary"]["currentPhaseName"] == "Archive Index"
    assert sim.logins == 1


@pytest.mark.anyio
async def test_commvault_pause_of_a_finished_job_is_refused_inside_http_200() -> None:
    sim = CommvaultSim()
    async with commvault_client(sim) as client:
        response = await client.post("/Job/9612/action/pause", headers=await login(client))
    assert response.status_code == 200
    error = response.json()["errors"][0]["errList"][0]
    assert error["errorCode"] == 2
    assert "9612" in error["errLogMessage"]
    assert "Completed w/ one or more errors" in error["errLogMessage"]
    assert sim.jobs[9612]["status"] == "Completed w/ one or more errors"


@pytest.mark.anyio
async def test_commvault_has_no_suspend_action() -> None:
    sim = CommvaultSim()
    async with commvault_client(sim) as client:
        response = await client.post("/Job/9669/action/suspend", headers=await login(client))
    assert (response.status_code, response.text) == (404, "Not Found")
    assert sim.jobs[9669]["status"] == "Running"


@pytest.mark.anyio
async def test_qovery_deploy_is_accepted_then_three_status_reads_reach_deployed() -> None:
    sim = QoverySim()
    async with qovery_client(sim) as client:
        accepted = await client.post(f"/job/{NIGHTLY_REPORT}/deploy", json={"image_tag": "1.4.3"})
        states = [(await client.get(f"/job/{NIGHTLY_REPORT}/status")).json() for _ in range(3)]
    assert accepted.status_code == 202
    assert accepted.json()["state"] == "DEPLOYMENT_QUEUED"
    assert UUID(accepted.json()["deployment_request_id"])
    assert [s["state"] for s in states] == ["DEPLOYING", "DEPLOYED", "DEPLOYED"]
    assert [s["status_details"]["status"] for s in states] == ["ONGOING", "SUCCESS", "SUCCESS"]
    assert states[-1]["service_deployment_status"] == "UP_TO_DATE"
    assert sim.jobs[NIGHTLY_REPORT]["source"]["image"]["tag"] == "1.4.3"


@pytest.mark.anyio
async def test_qovery_put_without_healthchecks_is_refused() -> None:
    sim = QoverySim()
    async with qovery_client(sim) as client:
        response = await client.put(f"/job/{NIGHTLY_REPORT}", json={"name": "nightly-report"})
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "Bad Request", "detail": "healthchecks is required"}
    assert sim.jobs[NIGHTLY_REPORT]["description"] == "Builds the nightly billing report"


@pytest.mark.anyio
async def test_connect_fault_never_reaches_the_vendor() -> None:
    sim = QoverySim()
    sim.faults.add(Fault("connect", method="POST", path=r"/deploy$"))
    async with qovery_client(sim) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.post(f"/job/{NIGHTLY_REPORT}/deploy")
        retried = await client.post(f"/job/{NIGHTLY_REPORT}/deploy")
    assert retried.status_code == 202
    assert len(sim.requests_matching("POST", r"/deploy$")) == 1


@pytest.mark.anyio
async def test_timeout_fault_loses_the_answer_after_the_vendor_acted() -> None:
    sim = CommvaultSim()
    sim.faults.add(Fault("timeout", path=r"/action/kill$"))
    async with commvault_client(sim) as client:
        auth = await login(client)
        with pytest.raises(httpx2.ReadTimeout):
            await client.post("/Job/9669/action/kill", headers=auth)
    assert [r.path for r in sim.requests_matching("POST", "kill")] == ["/Job/9669/action/kill"]
    assert sim.jobs[9669]["status"] == "Kill Pending"


def test_loopback_serves_the_sim_over_real_http() -> None:
    sim = QoverySim()
    with serving(sim.app) as base_url, httpx2.Client(base_url=base_url, trust_env=False) as client:
        response = client.get(f"/job/{SEED_DATABASE}", headers=QOVERY_AUTH)
    assert base_url.startswith("http://127.0.0.1:")
    assert response.json()["name"] == "seed-database"
    assert sim.requests[-1].url_path == f"/job/{SEED_DATABASE}"


# Each call: method, path, JSON body. Their answers are checked against the spec's response schemas.
_SCRIPT: list[tuple[str, str, Any]] = [
    *[("GET", f"/job/{job}", None) for job in (NIGHTLY_REPORT, SEED_DATABASE, CLEANUP_TEMP, MIGRATE_DB, WEEKLY_EXPORT)],
    *[("GET", f"/job/{job}/status", None) for job in (NIGHTLY_REPORT, CLEANUP_TEMP, MIGRATE_DB, WEEKLY_EXPORT)],
    ("GET", f"/job/{SEED_DATABASE}/commit", None),
    ("GET", f"/job/{NIGHTLY_REPORT}/commit", None),
    ("POST", f"/job/{CLEANUP_TEMP}/cleanFailedJob", None),
    ("POST", f"/job/{NIGHTLY_REPORT}/deploy", {"image_tag": "1.4.3"}),
    *[("GET", f"/job/{NIGHTLY_REPORT}/status", None) for _ in range(3)],
    ("POST", f"/job/{CLEANUP_TEMP}/redeploy", None),
    *[("GET", f"/job/{CLEANUP_TEMP}/status", None) for _ in range(2)],
    ("POST", f"/job/{NIGHTLY_REPORT}/stop", None),
    ("POST", f"/job/{SEED_DATABASE}/uninstall", {}),
    *[("GET", f"/job/{SEED_DATABASE}/status", None) for _ in range(2)],
    (
        "PUT",
        f"/job/{NIGHTLY_REPORT}",
        {"name": "nightly", "healthchecks": {}, "schedule": {"cronjob": {"scheduled_at": "5 * * * *"}}},
    ),
    (
        "PUT",
        f"/job/{MIGRATE_DB}",
        {"name": "migrate", "healthchecks": {}, "schedule": {"on_start": {"arguments": ["up"]}}},
    ),
]


@pytest.mark.anyio
async def test_qovery_answers_match_the_openapi_response_schemas() -> None:
    spec = qovery_spec()
    async with qovery_client(QoverySim()) as client:
        for method, path, body in _SCRIPT:
            response = await client.request(method, path, json=body)
            responses = spec.operation(method, path)["responses"]
            spec.validate(
                response.json(), responses[str(response.status_code)]["content"]["application/json"]["schema"]
            )
