"""The ten Qovery tools against the simulated Qovery: what the agent gets and what Qovery receives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client

from jobctl_mcp.qovery import authorization
from jobctl_mcp.sandbox import QOVERY_API_KEY, QOVERY_JWT, Sandbox
from tests.conftest import data, error
from tests.openapi import qovery_spec

pytestmark = pytest.mark.anyio

CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"  # image-based, deployed
LIFECYCLE = "a41e7d3c-2f9b-4b61-8d0e-5c7a9f1b2e34"  # git-based, deployed


def job_named(sandbox: Sandbox, name: str) -> str:
    return next(str(job_id) for job_id, job in sandbox.qovery.jobs.items() if job["name"] == name)


async def test_api_tokens_are_sent_with_the_token_scheme(client: Client, sandbox: Sandbox) -> None:
    job = data(await client.call_tool("get-job-id", {"jobId": CRON}))
    (request,) = sandbox.qovery.requests
    assert (request.method, request.path) == ("GET", f"/job/{CRON}")
    assert request.headers["authorization"] == f"Token {QOVERY_API_KEY}"
    assert job["name"] == "nightly-report"
    assert job["jobType"] == "CRON"
    assert job["source"] == "image docker.io/acme/nightly-report:1.4.2"
    assert job["schedule"] == "cron '0 2 * * *' Etc/UTC"
    assert job["raw"] is None


async def test_a_jwt_is_sent_as_bearer(connect: Callable[..., Client], sandbox: Sandbox) -> None:
    async with connect(env={"QOVERY_API_KEY": QOVERY_JWT}) as client:
        data(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert sandbox.qovery.requests[0].headers["authorization"] == f"Bearer {QOVERY_JWT}"


@pytest.mark.parametrize(
    ("configured", "sent"),
    [
        ("qov_abc", "Token qov_abc"),
        ("Token qov_abc", "Token qov_abc"),
        ("token qov_abc", "Token qov_abc"),
        ("Bearer some.jwt.value", "Bearer some.jwt.value"),
        (QOVERY_JWT, f"Bearer {QOVERY_JWT}"),
        ("not.a.jwt", "Token not.a.jwt"),
    ],
)
def test_the_scheme_follows_the_token_form(configured: str, sent: str) -> None:
    assert authorization(configured) == sent


async def test_a_token_qovery_refuses_names_the_scheme_rule(connect: Callable[..., Client]) -> None:
    async with connect(env={"QOVERY_API_KEY": "Bearer qov_sandbox_token"}) as client:
        message = error(await client.call_tool("get-job-id", {"jobId": CRON}))
    assert "HTTP 401" in message
    assert "'Token <t>'" in message


async def test_get_job_raw_returns_qoverys_job(client: Client) -> None:
    job = data(await client.call_tool("get-job-id", {"jobId": LIFECYCLE, "raw": True}))
    assert job["raw"]["id"] == LIFECYCLE
    assert job["source"].startswith("git https://github.com/acme/backend.git branch main")
    assert job["schedule"] == "lifecycle on start, delete"


async def test_edit_sends_the_whole_job_with_only_the_change_applied(client: Client, sandbox: Sandbox) -> None:
    before = sandbox.qovery.jobs[CRON]
    edited = data(await client.call_tool("edit-job", {"jobId": CRON, "body": {"cpu": 1000}}))
    get, put = sandbox.qovery.requests
    assert (get.method, put.method, put.path) == ("GET", "PUT", f"/job/{CRON}")
    sent = put.body
    assert sent["cpu"] == 1000
    assert (sent["name"], sent["healthchecks"], sent["description"]) == (
        before["name"],
        before["healthchecks"],
        "Builds the nightly billing report",
    )
    assert sent["schedule"]["cronjob"]["scheduled_at"] == "0 2 * * *"
    assert sent["source"] == {
        "image": {
            "image_name": "acme/nightly-report",
            "tag": "1.4.2",
            "registry_id": before["source"]["image"]["registry_id"],
        }
    }
    assert "id" not in sent
    assert "environment" not in sent
    assert (edited["cpu"], edited["description"]) == (1000, "Builds the nightly billing report")


# What a PUT must carry to leave the git-based LIFECYCLE job as it is: its JobRequest fields, and its source
# rebuilt as a request (the repository's deployed-commit and access fields are answers only, never sent).
LIFECYCLE_PUT: dict[str, object] = {
    "name": "seed-database",
    "cpu": 1000,
    "memory": 1024,
    "gpu": 0,
    "max_nb_restart": 0,
    "max_duration_seconds": 300,
    "auto_preview": True,
    "port": None,
    "healthchecks": {},
    "schedule": {
        "on_start": {"arguments": ["seed", "--if-empty"], "entrypoint": "/app/manage"},
        "on_delete": {"arguments": ["drop-all"], "entrypoint": "/app/manage"},
        "lifecycle_type": "GENERIC",
    },
    "auto_deploy": True,
    "icon_uri": "app://qovery-console/lifecycle-job",
    "source": {
        "docker": {
            "git_repository": {
                "url": "https://github.com/acme/backend.git",
                "name": "acme/backend",
                "owner": "acme",
                "provider": "GITHUB",
                "branch": "main",
                "root_path": "/",
                "git_token_id": None,
            },
            "dockerfile_path": "jobs/seed/Dockerfile",
            "dockerfile_raw": None,
            "docker_target_build_stage": None,
        }
    },
    "annotations_groups": [],
    "labels_groups": [],
}


async def test_edit_of_a_git_job_sends_the_whole_job_rebuilt_from_its_repository(
    client: Client, sandbox: Sandbox
) -> None:
    edited = data(await client.call_tool("edit-job", {"jobId": LIFECYCLE, "body": {"cpu": 500}}))
    (put,) = sandbox.qovery.requests_matching("PUT")
    assert put.path == f"/job/{LIFECYCLE}"
    assert put.body == {**LIFECYCLE_PUT, "cpu": 500}
    assert edited["cpu"] == 500
    assert edited["source"] == "git https://github.com/acme/backend.git branch main (deployed ddd1cee35762)"


async def test_edit_switches_a_git_job_to_an_image(client: Client, sandbox: Sandbox) -> None:
    registry_id = sandbox.qovery.jobs[CRON]["source"]["image"]["registry_id"]
    image = {"image_name": "acme/seed", "tag": "3.1.0", "registry_id": registry_id}
    edited = data(await client.call_tool("edit-job", {"jobId": LIFECYCLE, "body": {"source": {"image": image}}}))
    (put,) = sandbox.qovery.requests_matching("PUT")
    assert put.body == {**LIFECYCLE_PUT, "source": {"image": image}}  # the repository is replaced, not merged
    assert edited["source"] == "image docker.io/acme/seed:3.1.0"


async def test_edit_switches_an_image_job_to_git(client: Client, sandbox: Sandbox) -> None:
    before = sandbox.qovery.jobs[CRON]
    repository = {"url": "https://github.com/acme/report.git", "name": "acme/report", "owner": "acme"}
    git = {"git_repository": {**repository, "provider": "GITHUB", "branch": "main"}, "dockerfile_path": "Dockerfile"}
    edited = data(await client.call_tool("edit-job", {"jobId": CRON, "body": {"source": {"docker": git}}}))
    (put,) = sandbox.qovery.requests_matching("PUT")
    assert put.body == {
        "name": "nightly-report",
        "description": "Builds the nightly billing report",
        "cpu": before["cpu"],
        "memory": before["memory"],
        "gpu": 0,
        "max_nb_restart": 0,
        "max_duration_seconds": 3600,
        "auto_preview": False,
        "port": None,
        "healthchecks": {},
        "schedule": {
            "cronjob": {
                "arguments": ["--date", "yesterday"],
                "entrypoint": "/app/run.sh",
                "timezone": "Etc/UTC",
                "scheduled_at": "0 2 * * *",
            }
        },
        "auto_deploy": False,
        "icon_uri": "app://qovery-console/cron-job",
        "source": {"docker": git},  # the image is replaced, not merged
        "annotations_groups": [],
        "labels_groups": [],
    }
    assert edited["source"].startswith("git https://github.com/acme/report.git branch main")


async def test_edit_merges_nested_changes(client: Client, sandbox: Sandbox) -> None:
    change = {"source": {"image": {"tag": "2.0.0"}}, "schedule": {"cronjob": {"scheduled_at": "30 3 * * *"}}}
    edited = data(await client.call_tool("edit-job", {"jobId": CRON, "body": change}))
    put = sandbox.qovery.requests_matching("PUT")[0].body
    assert put["source"]["image"]["image_name"] == "acme/nightly-report"
    assert put["source"]["image"]["tag"] == "2.0.0"
    assert put["schedule"]["cronjob"]["timezone"] == "Etc/UTC"
    assert edited["schedule"] == "cron '30 3 * * *' Etc/UTC"


async def test_edit_null_resets_a_field_to_qoverys_default(client: Client, sandbox: Sandbox) -> None:
    edited = data(await client.call_tool("edit-job", {"jobId": CRON, "body": {"description": None}}))
    assert "description" not in sandbox.qovery.requests_matching("PUT")[0].body
    assert edited["description"] is None


@pytest.mark.parametrize(
    "body",
    [{}, {"nmae": "typo"}, {"name": None}, "not an object"],
)
async def test_edit_refuses_unknown_or_impossible_changes_before_sending(
    client: Client, sandbox: Sandbox, body: object
) -> None:
    error(await client.call_tool("edit-job", {"jobId": CRON, "body": body}))
    assert sandbox.qovery.requests == []


async def test_edit_accepts_a_body_sent_as_json_text(client: Client) -> None:
    edited = data(await client.call_tool("edit-job", {"jobId": CRON, "body": '{"memory": 1024}'}))
    assert edited["memory"] == 1024


async def test_a_name_conflict_is_a_409_with_its_hint(client: Client) -> None:
    message = error(await client.call_tool("edit-job", {"jobId": CRON, "body": {"name": "seed-database"}}))
    assert "HTTP 409" in message


async def test_delete_answers_204_and_the_job_goes_away(client: Client, sandbox: Sandbox) -> None:
    deleted = data(await client.call_tool("delete-job", {"jobId": CRON}))
    assert deleted == {"jobId": CRON, "action": "delete", "status": None}
    assert sandbox.qovery.requests[0].method == "DELETE"
    # The 204 carries no status; Qovery's deletion then moves on in the background.
    states = [data(await client.call_tool("get-job-status", {"jobId": CRON}))["state"] for _ in range(2)]
    assert states == ["DELETING", "DELETED"]
    message = error(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert "HTTP 404" in message
    assert f"Job {CRON} not found" in message


async def test_commits_are_listed_newest_first_within_the_limit(client: Client, sandbox: Sandbox) -> None:
    listed = data(await client.call_tool("list-last-job-commits", {"jobId": LIFECYCLE, "limit": 2}))
    assert sandbox.qovery.requests[0].path == f"/job/{LIFECYCLE}/commit"
    assert listed["total"] == 3
    assert len(listed["commits"]) == 2
    newest = listed["commits"][0]
    assert len(newest["gitCommitId"]) == 40
    assert newest["createdAt"] > listed["commits"][1]["createdAt"]
    empty = data(await client.call_tool("list-last-job-commits", {"jobId": CRON}))
    assert (empty["total"], empty["commits"]) == (0, [])


async def test_status_is_compact_and_raw_on_request(client: Client) -> None:
    status = data(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert {k: status[k] for k in ("jobId", "state", "deploymentStatus", "action", "actionStatus")} == {
        "jobId": CRON,
        "state": "DEPLOYED",
        "deploymentStatus": "UP_TO_DATE",
        "action": "DEPLOY",
        "actionStatus": "SUCCESS",
    }
    assert status["raw"] is None
    raw = data(await client.call_tool("get-job-status", {"jobId": CRON, "raw": True}))["raw"]
    assert raw["state"] == "DEPLOYED"


async def test_clean_failed_job_returns_what_was_removed(client: Client, sandbox: Sandbox) -> None:
    failed = job_named(sandbox, "cleanup-temp")
    cleaned = data(await client.call_tool("clean-failed-job", {"jobId": failed}))
    assert len(cleaned["cleanedKubernetesJobs"]) == 2
    assert sandbox.qovery.requests[0].path == f"/job/{failed}/cleanFailedJob"


async def test_deploy_an_image_tag_then_follow_it_to_deployed(client: Client, sandbox: Sandbox) -> None:
    deployed = data(await client.call_tool("deploy-job", {"jobId": CRON, "imageTag": "1.4.3"}))
    request = sandbox.qovery.requests[0]
    assert (request.method, request.path, request.query, request.body) == (
        "POST",
        f"/job/{CRON}/deploy",
        {},
        {"image_tag": "1.4.3"},
    )
    assert deployed["status"]["state"] == "DEPLOYMENT_QUEUED"
    assert deployed["status"]["deploymentRequestId"]
    states = [data(await client.call_tool("get-job-status", {"jobId": CRON}))["state"] for _ in range(2)]
    assert states == ["DEPLOYING", "DEPLOYED"]
    assert sandbox.qovery.jobs[CRON]["source"]["image"]["tag"] == "1.4.3"


async def test_deploy_a_commit_with_a_forced_event(client: Client, sandbox: Sandbox) -> None:
    commit = "136b77f8a57026d1f4760edc84dc8999a5334f97"
    data(await client.call_tool("deploy-job", {"jobId": LIFECYCLE, "gitCommitId": commit, "forceEvent": "START"}))
    request = sandbox.qovery.requests[0]
    assert (request.query, request.body) == ({"forceEvent": "START"}, {"git_commit_id": commit})


@pytest.mark.parametrize(
    "arguments",
    [
        {"imageTag": "1.0", "gitCommitId": "136b77f8a57026d1f4760edc84dc8999a5334f97"},
        {"forceEvent": "NOW"},
        {"imageTag": "../../etc"},
        {"gitCommitId": "main; rm -rf /"},
    ],
)
async def test_deploy_refuses_bad_arguments_before_sending(
    client: Client, sandbox: Sandbox, arguments: dict[str, str]
) -> None:
    error(await client.call_tool("deploy-job", {"jobId": CRON, **arguments}))
    assert sandbox.qovery.requests == []


async def test_a_busy_job_refuses_another_deploy_with_a_hint(client: Client) -> None:
    data(await client.call_tool("deploy-job", {"jobId": CRON}))
    message = error(await client.call_tool("redeploy-job", {"jobId": CRON}))
    assert "HTTP 409" in message
    assert "get-job-status" in message


async def test_redeploy_stop_and_uninstall_queue_their_actions(client: Client, sandbox: Sandbox) -> None:
    redeployed = data(await client.call_tool("redeploy-job", {"jobId": LIFECYCLE, "forceEvent": "CRON"}))
    assert redeployed["status"]["state"] == "DEPLOYMENT_QUEUED"
    assert sandbox.qovery.requests[0].query == {"forceEvent": "CRON"}
    stopped = data(await client.call_tool("stop-job", {"jobId": CRON}))
    assert (stopped["action"], stopped["status"]["state"], stopped["status"]["action"]) == (
        "stop",
        "STOP_QUEUED",
        "STOP",
    )
    exporter = job_named(sandbox, "weekly-export")
    uninstalled = data(await client.call_tool("uninstall-job", {"jobId": exporter}))
    assert uninstalled["status"]["state"] == "DELETE_QUEUED"
    assert [r.path.rsplit("/", 1)[1] for r in sandbox.qovery.requests] == ["redeploy", "stop", "uninstall"]


async def test_uninstall_with_nothing_deployed_answers_204_as_success(client: Client, sandbox: Sandbox) -> None:
    never = job_named(sandbox, "backfill-events")
    assert data(await client.call_tool("uninstall-job", {"jobId": never})) == {
        "jobId": never,
        "action": "uninstall",
        "status": None,
    }


async def test_stopping_a_stopped_job_is_a_conflict(client: Client, sandbox: Sandbox) -> None:
    message = error(await client.call_tool("stop-job", {"jobId": job_named(sandbox, "weekly-export")}))
    assert "HTTP 409" in message
    assert "already stopped" in message


async def test_every_request_follows_the_official_openapi_spec(client: Client, sandbox: Sandbox) -> None:
    spec = qovery_spec()  # skips on a machine without ../shared
    failed = job_named(sandbox, "cleanup-temp")
    calls: list[tuple[str, dict[str, object]]] = [
        ("get-job-id", {"jobId": CRON}),
        ("edit-job", {"jobId": CRON, "body": {"cpu": 750, "source": {"image": {"tag": "1.5.0"}}}}),
        ("edit-job", {"jobId": LIFECYCLE, "body": {"schedule": {"on_stop": {"arguments": ["down"]}}}}),
        ("list-last-job-commits", {"jobId": LIFECYCLE}),
        ("get-job-status", {"jobId": CRON}),
        ("clean-failed-job", {"jobId": failed}),
        ("deploy-job", {"jobId": CRON, "imageTag": "1.5.0", "forceEvent": "CRON"}),
        ("redeploy-job", {"jobId": LIFECYCLE, "forceEvent": "START"}),
        ("stop-job", {"jobId": failed}),
        ("uninstall-job", {"jobId": job_named(sandbox, "migrate-db")}),
        ("delete-job", {"jobId": failed}),
    ]
    for tool, arguments in calls:
        data(await client.call_tool(tool, arguments))
    assert len(sandbox.qovery.requests) == len(calls) + 2  # each edit reads the job first
    for request in sandbox.qovery.requests:
        operation = spec.operation(request.method, request.path)
        declared = spec.parameters(request.method, request.path)
        assert set(request.query) <= set(declared), (request.path, request.query)
        for name, value in request.query.items():
            spec.validate(value, declared[name])
        body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if request.body is not None:
            assert body_schema is not None, f"{request.method} {request.path} takes no body"
            spec.validate(request.body, body_schema)


async def test_the_discovery_requests_follow_the_official_openapi_spec(client: Client, sandbox: Sandbox) -> None:
    spec = qovery_spec()  # skips on a machine without ../shared
    data(await client.call_tool("qovery-list-jobs", {"name": "nightly", "environment": "staging"}))
    data(await client.call_tool("qovery-list-deployments", {"jobId": job_named(sandbox, "migrate-db")}))
    templates = [spec.template(request.path) for request in sandbox.qovery.requests]
    assert set(templates) == {
        "/organization", "/organization/{organizationId}/services", "/environment/{environmentId}/job/status",
        "/job/{jobId}/deploymentHistoryV2", "/job/{jobId}", "/environment/{environmentId}/logs",
    }  # fmt: skip
    for request in sandbox.qovery.requests:
        assert (request.method, request.body) == ("GET", None), request.path
        declared = spec.parameters(request.method, request.path)
        assert set(request.query) <= set(declared), (request.path, request.query)
        for name, value in request.query.items():
            # A query carries text; the spec types pageSize as a number, which "5" stands for.
            spec.validate(float(value) if value.isdigit() else value, declared[name])
