"""Simulated Qovery API for the ten job operations: read, full-replacement edit, delete, commits, status and actions.

Shapes follow /work/shared/vendor/qovery.md (cited as §n) and its openapi-jobs.yaml.
In-progress jobs move one step per status read.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from .faults import Call, Endpoint, RecordedRequest, Reject, VendorSim, json_object

QOVERY_API_KEY = "qov_sandbox_token"
QOVERY_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJzYW5kYm94LXVzZXIiLCJpc3MiOiJodHRwczovL2F1dGgucW92ZXJ5LnNhbmRib3gvIiwiYXVkIjoiaHR0cHM6Ly9hcGkucW92ZXJ5"
    "LmNvbSIsImlhdCI6MTc1MDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ"
    ".c2FuZGJveC1zaWduYXR1cmUtbm90LXZlcmlmaWVkISE"
)
# §3: API tokens go as "Token <token>", JWTs as "Bearer <jwt>"; an API token sent as Bearer is refused.
_AUTHORIZATIONS = frozenset({f"Token {QOVERY_API_KEY}", f"Bearer {QOVERY_JWT}"})

NIGHTLY_REPORT = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
SEED_DATABASE = "a41e7d3c-2f9b-4b61-8d0e-5c7a9f1b2e34"
CLEANUP_TEMP = "0b9e6f2d-3c4a-4e1b-8f7d-2a6c5e9b1d03"
MIGRATE_DB = "5e2c8a71-9d3f-4b6e-a0c4-7f1b3d5e9a62"
WEEKLY_EXPORT = "c8d4f1a9-6b2e-4f7c-9e3a-1d5b7c9e2f84"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_BUSY = "An operation is already in progress on this job"
_FORCE_EVENTS = ("START", "STOP", "DELETE", "CRON")
_GIT_PROVIDERS = ("GITHUB", "GITLAB", "BITBUCKET")
_ICONS = {"CRON": "app://qovery-console/cron-job", "LIFECYCLE": "app://qovery-console/lifecycle-job"}
_DOCKER_HUB = {
    "id": "b2a6e1f0-4c3d-4e8b-9f7a-1d2c3b4a5e6f",
    "name": "Docker Hub",
    "url": "https://docker.io",
    "kind": "DOCKER_HUB",
}
_REPO_URL = "https://github.com/acme/backend.git"
_DEPLOYED_AT = "2025-06-18T14:05:40.310Z"
_QUEUEING_SEC, _DEPLOYMENT_SEC = 13, 52

# Status state machine: each status read moves an in-progress job one step (§4 "Async operations").
_QUEUED = {"DEPLOY": "DEPLOYMENT_QUEUED", "STOP": "STOP_QUEUED", "DELETE": "DELETE_QUEUED", "RESTART": "RESTART_QUEUED"}
_NEXT_STATE = {
    "DEPLOYMENT_QUEUED": "DEPLOYING",
    "DEPLOYING": "DEPLOYED",
    "STOP_QUEUED": "STOPPING",
    "STOPPING": "STOPPED",
    "DELETE_QUEUED": "DELETING",
    "DELETING": "DELETED",
    "RESTART_QUEUED": "RESTARTING",
    "RESTARTING": "RESTARTED",
}
_FAILING_NEXT_STATE = {**_NEXT_STATE, "DEPLOYING": "DEPLOYMENT_ERROR"}
_SETTLED_SERVICE_STATUS = {"DEPLOYED": "UP_TO_DATE", "RESTARTED": "UP_TO_DATE", "DELETED": "NEVER_DEPLOYED"}
_STATUS_KEYS = (
    "id",
    "state",
    "service_deployment_status",
    "last_deployment_date",
    "is_part_last_deployment",
    "steps",
    "execution_id",
    "status_details",
    "deployment_request_id",
    "deployment_requests_count",
)
# examples/deploy-response-202.json: an accepted action answers without steps or execution_id.
_ACCEPTED_KEYS = tuple(k for k in _STATUS_KEYS if k not in ("steps", "execution_id"))

_OMIT = object()
# JobRequest scalar fields (spec JobRequest): type, and what a full replacement falls back to when not sent.
_FIELDS: tuple[tuple[str, type, object], ...] = (
    ("name", str, _OMIT),
    ("description", str, _OMIT),
    ("cpu", int, 500),
    ("memory", int, 512),
    ("gpu", int, 0),
    ("ephemeral_storage_in_gib", int, _OMIT),
    ("cpu_architecture", str, _OMIT),
    ("max_nb_restart", int, 0),
    ("max_duration_seconds", int, _OMIT),
    ("auto_preview", bool, False),
    ("port", int, None),
    ("auto_deploy", bool, _OMIT),
    ("icon_uri", str, _OMIT),
)
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean"}


_COMMITS: dict[str, list[dict[str, Any]]] = {  # by repository URL, newest first (examples/commits.json)
    _REPO_URL: [
        {
            "created_at": "2025-06-18T13:58:02Z",
            "git_commit_id": "ddd1cee35762e9b4bb95633c22193393ca3bb384",
            "tag": "",
            "message": "fix(report): handle empty invoices (#212)",
            "author_name": "Jane Doe",
            "author_avatar_url": "https://avatars.githubusercontent.com/u/1234567?v=4",
            "commit_page_url": "https://github.com/acme/backend/commit/ddd1cee35762e9b4bb95633c22193393ca3bb384",
        },
        {
            "created_at": "2025-06-17T09:41:37Z",
            "git_commit_id": "136b77f8a57026d1f4760edc84dc8999a5334f97",
            "tag": "v2.1.1",
            "message": "chore: bump dependencies",
            "author_name": "John Smith",
            "author_avatar_url": "https://avatars.githubusercontent.com/u/7654321?v=4",
            "commit_page_url": "https://github.com/acme/backend/commit/136b77f8a57026d1f4760edc84dc8999a5334f97",
        },
        {
            "created_at": "2025-06-16T17:22:10Z",
            "git_commit_id": "4f9a2c1e7b3d5a6c8e0f1b2d3c4e5f6a7b8c9d0e",
            "tag": "",
            "message": "feat(seed): add demo tenants",
            "author_name": "Jane Doe",
            "author_avatar_url": "https://avatars.githubusercontent.com/u/1234567?v=4",
            "commit_page_url": "https://github.com/acme/backend/commit/4f9a2c1e7b3d5a6c8e0f1b2d3c4e5f6a7b8c9d0e",
        },
    ]
}

_CRON_JOB: dict[str, Any] = {  # examples/job-cron.json
    "id": NIGHTLY_REPORT,
    "created_at": "2025-03-04T09:12:45.118374Z",
    "updated_at": "2025-06-18T14:03:27.552901Z",
    "environment": {"id": "3f1d2b9a-8e47-4c5d-a2a1-6b0e9d7c4f20"},
    "maximum_cpu": 16000,
    "maximum_memory": 16384,
    "maximum_gpu": 0,
    "name": "nightly-report",
    "description": "Builds the nightly billing report",
    "cpu": 500,
    "memory": 512,
    "gpu": 0,
    "max_nb_restart": 0,
    "max_duration_seconds": 3600,
    "auto_preview": False,
    "port": None,
    "source": {
        "image": {
            "image_name": "acme/nightly-report",
            "tag": "1.4.2",
            "registry_id": _DOCKER_HUB["id"],
            "registry": _DOCKER_HUB,
        }
    },
    "healthchecks": {},
    "auto_deploy": False,
    "icon_uri": _ICONS["CRON"],
    "service_type": "JOB",
    "job_type": "CRON",
    "schedule": {
        "cronjob": {
            "arguments": ["--date", "yesterday"],
            "entrypoint": "/app/run.sh",
            "timezone": "Etc/UTC",
            "scheduled_at": "0 2 * * *",
        }
    },
    "annotations_groups": [],
    "labels_groups": [],
}
_GIT_REPOSITORY: dict[str, Any] = {
    "has_access": True,
    "provider": "GITHUB",
    "owner": "acme",
    "url": _REPO_URL,
    "name": "acme/backend",
    "branch": "main",
    "root_path": "/",
    "deployed_commit_id": "ddd1cee35762e9b4bb95633c22193393ca3bb384",
    "deployed_commit_date": "2025-05-30T08:20:58.120044Z",
    "deployed_commit_contributor": "TAGS_NOT_IMPLEMENTED",
    "deployed_commit_tag": "TAGS_NOT_IMPLEMENTED",
    "git_token_id": None,
    "git_token_name": None,
}
_DEPLOYED_COMMIT_KEYS = (
    "deployed_commit_id",
    "deployed_commit_date",
    "deployed_commit_contributor",
    "deployed_commit_tag",
)
_LIFECYCLE_JOB: dict[str, Any] = {  # examples/job-lifecycle.json
    **_CRON_JOB,
    "id": SEED_DATABASE,
    "created_at": "2025-01-22T16:40:02.004512Z",
    "updated_at": "2025-05-30T08:21:11.730118Z",
    "name": "seed-database",
    "cpu": 1000,
    "memory": 1024,
    "max_duration_seconds": 300,
    "auto_preview": True,
    "source": {
        "docker": {
            "git_repository": _GIT_REPOSITORY,
            "dockerfile_path": "jobs/seed/Dockerfile",
            "dockerfile_raw": None,
            "docker_target_build_stage": None,
        }
    },
    "auto_deploy": True,
    "icon_uri": _ICONS["LIFECYCLE"],
    "job_type": "LIFECYCLE",
    "schedule": {
        "on_start": {"arguments": ["seed", "--if-empty"], "entrypoint": "/app/manage"},
        "on_delete": {"arguments": ["drop-all"], "entrypoint": "/app/manage"},
        "lifecycle_type": "GENERIC",
    },
}
del _LIFECYCLE_JOB["description"]


def _seed_jobs() -> list[dict[str, Any]]:
    cleanup: dict[str, Any] = {
        **_CRON_JOB,
        "id": CLEANUP_TEMP,
        "name": "cleanup-temp",
        "description": "Removes temporary files older than a day",
        "source": {"image": {**_CRON_JOB["source"]["image"], "image_name": "acme/cleanup-temp", "tag": "0.9.1"}},
        "schedule": {"cronjob": {"arguments": [], "timezone": "Etc/UTC", "scheduled_at": "*/30 * * * *"}},
    }
    export: dict[str, Any] = {
        **cleanup,
        "id": WEEKLY_EXPORT,
        "name": "weekly-export",
        "description": "Exports the week's orders to the data warehouse",
        "source": {"image": {**_CRON_JOB["source"]["image"], "image_name": "acme/weekly-export", "tag": "2.0.0"}},
        "schedule": {"cronjob": {"arguments": ["--week", "last"], "timezone": "Etc/UTC", "scheduled_at": "0 3 * * 1"}},
    }
    never_deployed = {k: v for k, v in _GIT_REPOSITORY.items() if k not in _DEPLOYED_COMMIT_KEYS}
    migrate = {
        **_LIFECYCLE_JOB,
        "id": MIGRATE_DB,
        "name": "migrate-db",
        "source": {
            "docker": {
                **_LIFECYCLE_JOB["source"]["docker"],
                "git_repository": never_deployed,
                "dockerfile_path": "jobs/migrate/Dockerfile",
            }
        },
        "auto_deploy": False,
        "schedule": {"on_start": {"arguments": ["migrate"], "entrypoint": "/app/manage"}, "lifecycle_type": "GENERIC"},
    }
    return copy.deepcopy([_CRON_JOB, _LIFECYCLE_JOB, cleanup, migrate, export])


_SEED_STATES = {  # job id -> (state, status_details.action, service_deployment_status)
    NIGHTLY_REPORT: ("DEPLOYED", "DEPLOY", "UP_TO_DATE"),
    SEED_DATABASE: ("DEPLOYED", "DEPLOY", "UP_TO_DATE"),
    CLEANUP_TEMP: ("DEPLOYMENT_ERROR", "DEPLOY", "OUT_OF_DATE"),
    MIGRATE_DB: ("READY", "DEPLOY", "NEVER_DEPLOYED"),
    WEEKLY_EXPORT: ("STOPPED", "STOP", "UP_TO_DATE"),
}


_ORGANIZATION_ID = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"


class QoverySim(VendorSim):
    """Qovery at the API root; `jobs` holds JobResponse dicts and `statuses` Status dicts, both by job id."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.jobs: dict[str, dict[str, Any]] = {job["id"]: job for job in _seed_jobs()}
        self.statuses = {job_id: _seed_status(job_id, *seed) for job_id, seed in _SEED_STATES.items()}
        self.failed_kubernetes_jobs = {CLEANUP_TEMP: ["cleanup-temp-29163720", "cleanup-temp-29163750"]}
        self._failing_deploys = {CLEANUP_TEMP}
        self._deleting: set[str] = set()
        job = r"/job/(?P<job_id>[^/]+)"
        endpoints = [
            Endpoint("GET", job, self._get_job),
            Endpoint("PUT", job, self._edit_job),
            Endpoint("DELETE", job, self._delete_job),
            Endpoint("GET", job + "/commit", self._list_commits),
            Endpoint("GET", job + "/status", self._get_status),
            Endpoint("POST", job + "/cleanFailedJob", self._clean_failed_job),
            Endpoint("POST", job + "/deploy", self._deploy),
            Endpoint("POST", job + "/redeploy", self._redeploy),
            Endpoint("POST", job + "/stop", self._stop),
            Endpoint("POST", job + "/uninstall", self._uninstall),
            # Outside the ten job operations: the cheapest read a token can make, used by `jobctl-mcp check`.
            Endpoint("GET", r"/organization", self._list_organizations),
        ]
        super().__init__(("",), endpoints)

    def _list_organizations(self, _call: Call) -> Response:
        organization = {"id": _ORGANIZATION_ID, "created_at": "2024-11-02T10:00:00Z", "name": "Acme", "plan": "TEAM"}
        return JSONResponse({"results": [organization]})

    def authenticate(self, request: RecordedRequest) -> None:
        if request.headers.get("authorization") not in _AUTHORIZATIONS:
            raise Reject(_error(401, "Access token is missing or invalid"))

    def not_found(self) -> Response:
        return _error(404, "Resource not found")

    def _get_job(self, call: Call) -> Response:
        return JSONResponse(self._job(call))

    def _edit_job(self, call: Call) -> Response:
        job = self._job(call)
        edited = self._replacement(job, _body(call, required=True))
        self.jobs[job["id"]] = edited
        return JSONResponse(edited)

    def _delete_job(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        self._queue(job_id, "DELETE")
        self._deleting.add(job_id)
        return Response(status_code=204)

    def _list_commits(self, call: Call) -> Response:
        docker = json_object(self._job(call)["source"].get("docker"))
        commits: list[dict[str, Any]] = _COMMITS.get(str(json_object(docker.get("git_repository")).get("url")), [])
        query = call.request.query
        if "gitCommitId" in query:
            commits = [c for c in commits if c["git_commit_id"] == query["gitCommitId"]]
        if "startId" in query:
            ids = [c["git_commit_id"] for c in commits]
            commits = commits[ids.index(query["startId"]) + 1 :] if query["startId"] in ids else []
        return JSONResponse({"results": commits})

    def _get_status(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        self._advance(job_id)
        status = self.statuses[job_id]
        body = {k: status[k] for k in _STATUS_KEYS if k in status}
        if status["state"] == "DELETED" and job_id in self._deleting:
            self._forget(job_id)  # §4: a deleted job answers 404 from now on
        return JSONResponse(body)

    def _clean_failed_job(self, call: Call) -> Response:
        names = self.failed_kubernetes_jobs.pop(self._job(call)["id"], [])
        return JSONResponse({"clean_kubernetes_jobs": names})

    def _deploy(self, call: Call) -> Response:
        job = self._job(call)
        _check_force_event(call)
        request = _body(call, required=False)
        tag, commit = _deploy_target(job, request)
        self._check_idle(job["id"])
        if tag is not None:
            job["source"]["image"]["tag"] = tag
        if commit is not None:
            job["source"]["docker"]["git_repository"]["deployed_commit_id"] = commit
        return self._accepted(job["id"], "DEPLOY")

    def _redeploy(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        _check_force_event(call)
        self._check_idle(job_id)
        return self._accepted(job_id, "DEPLOY")

    def _stop(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        if self.statuses[job_id]["state"] == "STOPPED":
            raise Reject(_error(409, "Job is already stopped"))
        self._check_idle(job_id)
        return self._accepted(job_id, "STOP")

    def _uninstall(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        self._check_idle(job_id)
        if self.statuses[job_id]["service_deployment_status"] == "NEVER_DEPLOYED":
            return Response(status_code=204)  # spec: "No deployment has been triggered"
        return self._accepted(job_id, "DELETE")

    def _job(self, call: Call) -> dict[str, Any]:
        job_id = call.params["job_id"]
        if not _UUID.fullmatch(job_id):
            raise Reject(_error(400, f"Invalid job id '{job_id}': expected a UUID"))
        job = self.jobs.get(job_id.lower())
        if job is None:
            raise Reject(_error(404, f"Job {job_id} not found"))
        return job

    def _check_idle(self, job_id: str) -> None:
        if self.statuses[job_id]["state"].endswith(("QUEUED", "ING")):  # *_QUEUED, *ING and EXECUTING
            raise Reject(_error(409, _BUSY))

    def _accepted(self, job_id: str, action: str) -> Response:
        status = self._queue(job_id, action)
        return JSONResponse({k: status[k] for k in _ACCEPTED_KEYS}, status_code=202)

    def _queue(self, job_id: str, action: str) -> dict[str, Any]:
        status = self.statuses[job_id]
        state = _QUEUED[action]
        status.pop("execution_id", None)
        status.update(
            state=state,
            last_deployment_date=self._iso(),
            is_part_last_deployment=False,
            steps=_steps(state),
            status_details=_details(action, "QUEUED"),
            deployment_request_id=str(uuid.uuid4()),
            deployment_requests_count=1,
        )
        if action == "DEPLOY":
            status["service_deployment_status"] = "OUT_OF_DATE"
        return status

    def _advance(self, job_id: str) -> None:
        status = self.statuses[job_id]
        transitions = _FAILING_NEXT_STATE if job_id in self._failing_deploys else _NEXT_STATE
        state = transitions.get(status["state"])
        if state is None:
            return
        progress = _progress(state)
        status.update(state=state, is_part_last_deployment=True, steps=_steps(state))
        status["status_details"] = {**status["status_details"], "status": progress}
        if progress == "ONGOING":
            status["execution_id"] = f"{status['deployment_request_id']}-1-{int(self._clock())}"
            return
        status.update(deployment_request_id=None, deployment_requests_count=0)
        status["service_deployment_status"] = _SETTLED_SERVICE_STATUS.get(state, status["service_deployment_status"])

    def _forget(self, job_id: str) -> None:
        for table in (self.jobs, self.statuses, self.failed_kubernetes_jobs):
            table.pop(job_id, None)
        self._deleting.discard(job_id)

    def _replacement(self, job: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """PUT is a full replacement: every field not sent falls back to its default (qovery.md §1 JobRequest)."""
        for required in ("name", "healthchecks"):
            if body.get(required) is None:
                raise Reject(_error(400, f"{required} is required"))
        if not isinstance(body["healthchecks"], dict):
            raise Reject(_error(400, "healthchecks must be an object"))
        scalars = _scalars(body)
        if self._name_taken(job, scalars["name"]):
            raise Reject(_error(409, f"Job name '{scalars['name']}' is already taken in this environment"))
        kept = ("environment", "maximum_cpu", "maximum_memory", "maximum_gpu")
        return {
            "id": job["id"],
            "created_at": job["created_at"],
            "updated_at": self._iso(),
            **{k: job[k] for k in kept},
            **scalars,
            "source": _source(job["source"], body.get("source")),
            "healthchecks": body["healthchecks"],
            "icon_uri": scalars.get("icon_uri", _ICONS[job["job_type"]]),
            "service_type": "JOB",
            "job_type": job["job_type"],
            "schedule": _schedule(job["job_type"], json_object(body.get("schedule"))),
            "annotations_groups": [],
            "labels_groups": [],
        }

    def _name_taken(self, job: dict[str, Any], name: str) -> bool:
        return any(
            other["id"] != job["id"]
            and other["environment"]["id"] == job["environment"]["id"]
            and other["name"].casefold() == name.casefold()
            for other in self.jobs.values()
        )

    def _iso(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _error(status: int, detail: str) -> Response:
    """The error body Qovery clients parse (§4; examples/error-404.json)."""
    return JSONResponse({"status": status, "error": HTTPStatus(status).phrase, "detail": detail}, status_code=status)


def _body(call: Call, *, required: bool) -> dict[str, Any]:
    body = call.request.body
    if body is None and not (required or call.request.raw_body.strip()):
        return {}
    if not isinstance(body, dict):
        raise Reject(_error(400, "The request body must be a JSON object"))
    return json_object(call.request.body)


def _check_force_event(call: Call) -> None:
    event = call.request.query.get("forceEvent")
    if event is not None and event not in _FORCE_EVENTS:
        raise Reject(_error(400, f"forceEvent must be one of {', '.join(_FORCE_EVENTS)}, not '{event}'"))


def _deploy_target(job: dict[str, Any], request: dict[str, Any]) -> tuple[str | None, str | None]:
    """The image tag or git commit a JobDeployRequest asks for; at most one, matching the job's source."""
    tag, commit = request.get("image_tag"), request.get("git_commit_id")
    if any(value is not None and not isinstance(value, str) for value in (tag, commit)):
        raise Reject(_error(400, "image_tag and git_commit_id must be strings"))
    if tag is not None and commit is not None:
        raise Reject(_error(400, "Set image_tag or git_commit_id, not both"))
    if tag is not None and "image" not in job["source"]:
        raise Reject(_error(400, f"Job {job['name']} is built from a git repository: use git_commit_id, not image_tag"))
    if commit is not None and "docker" not in job["source"]:
        raise Reject(_error(400, f"Job {job['name']} runs a container image: use image_tag, not git_commit_id"))
    return tag, commit


def _scalars(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, kind, default in _FIELDS:
        value = body.get(key)
        if value is not None and not isinstance(value, kind):
            raise Reject(_error(400, f"{key} must be {_TYPE_NAMES[kind]}"))
        value = default if value is None else value
        if value is not _OMIT:
            fields[key] = value
    return fields


def _source(current: dict[str, Any], sent: object) -> dict[str, Any]:
    if sent is None:
        return current
    source = json_object(sent)
    kinds = [k for k in ("image", "docker") if source.get(k) is not None]
    if len(kinds) != 1:
        raise Reject(_error(400, "source must contain exactly one of image or docker"))
    if kinds == ["image"]:
        return {"image": _image_source(json_object(source["image"]))}
    return {"docker": _docker_source(json_object(source["docker"]), current)}


def _image_source(image: dict[str, Any]) -> dict[str, Any]:
    name, tag = image.get("image_name"), image.get("tag")
    if not isinstance(name, str) or not isinstance(tag, str):
        raise Reject(_error(400, "source.image needs image_name and tag"))
    registry_id = image.get("registry_id", _DOCKER_HUB["id"])
    if registry_id != _DOCKER_HUB["id"]:  # the sandbox organisation has one registry
        raise Reject(_error(400, f"Container registry {registry_id} not found"))
    return {"image_name": name, "tag": tag, "registry_id": registry_id, "registry": dict(_DOCKER_HUB)}


def _docker_source(docker: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    repo = json_object(docker.get("git_repository"))
    if (
        any(not isinstance(repo.get(k), str) for k in ("url", "owner", "name"))
        or repo.get("provider") not in _GIT_PROVIDERS
    ):
        raise Reject(_error(400, "source.docker.git_repository needs url, owner, name and provider"))
    previous = json_object(json_object(current.get("docker")).get("git_repository"))
    deployed = {k: previous[k] for k in _DEPLOYED_COMMIT_KEYS if k in previous and previous.get("url") == repo["url"]}
    git_repository = {
        "has_access": True,
        **{k: repo[k] for k in ("provider", "owner", "url", "name")},
        "branch": repo.get("branch") or "main",
        "root_path": repo.get("root_path") or "/",
        **deployed,
        "git_token_id": repo.get("git_token_id"),
        "git_token_name": None,
    }
    build = ("dockerfile_path", "dockerfile_raw", "docker_target_build_stage")
    return {"git_repository": git_repository, **{k: docker.get(k) for k in build}}


def _schedule(job_type: str, schedule: dict[str, Any]) -> dict[str, Any]:
    """The schedule as sent, checked against the job type (spec JobRequest.schedule)."""
    if job_type == "CRON":
        cron = json_object(schedule.get("cronjob"))
        if not isinstance(cron.get("scheduled_at"), str):
            raise Reject(_error(400, "schedule.cronjob.scheduled_at is required for a CRON job"))
        command = {k: cron[k] for k in ("arguments", "entrypoint") if k in cron}
        return {
            "cronjob": {**command, "timezone": cron.get("timezone") or "Etc/UTC", "scheduled_at": cron["scheduled_at"]}
        }
    if schedule.get("cronjob") is not None:
        raise Reject(_error(400, "schedule.cronjob can only be set on a CRON job"))
    events = {k: schedule[k] for k in ("on_start", "on_stop", "on_delete") if schedule.get(k) is not None}
    if not events:
        raise Reject(_error(400, "A LIFECYCLE job needs at least one of schedule.on_start, on_stop or on_delete"))
    lifecycle_type = schedule.get("lifecycle_type")
    return {**events, "lifecycle_type": lifecycle_type} if lifecycle_type else events


def _progress(state: str) -> str:
    """status_details.status for a state."""
    if state.endswith("QUEUED"):
        return "QUEUED"
    if state.endswith("ING"):
        return "ONGOING"
    return "ERROR" if state.endswith("_ERROR") else "SUCCESS"


def _details(action: str, status: str) -> dict[str, str]:
    return {"action": action, "status": status, "sub_action": "NONE"}


def _steps(state: str) -> dict[str, Any]:
    """ServiceStepMetrics: queueing once it is over, then the deployment step once the action has ended."""
    progress = _progress(state)
    details: list[dict[str, Any]] = []
    if progress != "QUEUED":
        details.append({"step_name": "DEPLOYMENT_QUEUEING", "status": "SUCCESS", "duration_sec": _QUEUEING_SEC})
    if progress in ("SUCCESS", "ERROR"):
        details.append({"step_name": "DEPLOYMENT", "status": progress, "duration_sec": _DEPLOYMENT_SEC})
        return {
            "total_duration_sec": _QUEUEING_SEC + _DEPLOYMENT_SEC,
            "total_computing_duration_sec": _DEPLOYMENT_SEC,
            "details": details,
        }
    return {"total_duration_sec": None, "total_computing_duration_sec": 0, "details": details}


def _seed_status(job_id: str, state: str, action: str, service_status: str) -> dict[str, Any]:
    status: dict[str, Any] = {
        "id": job_id,
        "state": state,
        "service_deployment_status": service_status,
        "is_part_last_deployment": False,
        "status_details": _details(action, "NEVER"),
        "deployment_request_id": None,
        "deployment_requests_count": 0,
    }
    if service_status != "NEVER_DEPLOYED":
        status.update(
            last_deployment_date=_DEPLOYED_AT,
            is_part_last_deployment=True,
            steps=_steps(state),
            execution_id=f"{job_id}-1-1750255467",
            status_details=_details(action, _progress(state)),
        )
    return status
