"""Simulated Qovery API: the ten job operations (read, full-replacement edit, delete, commits, status, actions) and
the read-only discovery and history operations (organization, projects, environments, services, job statuses of an
environment, a job's deployment history, an environment's deployment logs).

Paths, parameters and answers follow Qovery's OpenAPI spec (github.com/Qovery/qovery-openapi-spec, openapi.yaml);
error bodies follow what Qovery's own clients parse (Qovery/terraform-provider-qovery client/apierrors).
In-progress jobs move one step per status read. QoverySim(extra_services=N) adds N generated services (mostly
jobs, 25 per environment) to the organization, for benchmarks of the discovery operations.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from .credentials import QOVERY_API_KEY, QOVERY_JWT
from .faults import Call, Endpoint, RecordedRequest, Reject, VendorSim, json_object
from .qovery_estate import (
    BACKFILL_EVENTS,
    CLEANUP_TEMP,
    COMMITS,
    DEPLOYED_COMMIT_KEYS,
    DOCKER_HUB,
    ENV_ANALYTICS_PRODUCTION,
    ENV_ANALYTICS_STAGING,
    ENV_PLATFORM_PRODUCTION,
    ICONS,
    MIGRATE_DB,
    NIGHTLY_REPORT,
    NIGHTLY_REPORT_PRODUCTION,
    ORGANIZATION_ID,
    PROJECT_ANALYTICS,
    PROJECT_PLATFORM,
    ROTATE_KEYS,
    SEED_DATABASE,
    WEEKLY_EXPORT,
    Environment,
    PastDeployment,
    estate,
)
from .qovery_history import DEPLOYMENT_SEC, QUEUEING_SEC, Deployment, failure_for, progress

__all__ = [
    "BACKFILL_EVENTS",
    "CLEANUP_TEMP",
    "ENV_ANALYTICS_PRODUCTION",
    "ENV_ANALYTICS_STAGING",
    "ENV_PLATFORM_PRODUCTION",
    "MIGRATE_DB",
    "NIGHTLY_REPORT",
    "NIGHTLY_REPORT_PRODUCTION",
    "ORGANIZATION_ID",
    "PROJECT_ANALYTICS",
    "PROJECT_PLATFORM",
    "QOVERY_API_KEY",
    "QOVERY_JWT",
    "ROTATE_KEYS",
    "SEED_DATABASE",
    "WEEKLY_EXPORT",
    "QoverySim",
]

# API tokens go as "Token <token>", JWTs as "Bearer <jwt>"; an API token sent as Bearer is refused
# (Qovery's API reference introduction; qovery-cli utils/context.go).
_AUTHORIZATIONS = frozenset({f"Token {QOVERY_API_KEY}", f"Bearer {QOVERY_JWT}"})
# Who a deployment history says triggered what the sandbox was asked to do, by the credential used.
_TRIGGERED_BY = {f"Token {QOVERY_API_KEY}": "sandbox-api-token", f"Bearer {QOVERY_JWT}": "Sandbox User"}

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_BUSY = "An operation is already in progress on this job"
_FORCE_EVENTS = ("START", "STOP", "DELETE", "CRON")
_GIT_PROVIDERS = ("GITHUB", "GITLAB", "BITBUCKET")
_HISTORY_PAGE = 20  # deploymentHistoryV2: "Returns the 20 last job deployments" unless pageSize says otherwise

# Status state machine: each status read moves an in-progress job one step (spec: deploy, stop and uninstall answer
# 202 and the job is followed with GET /job/{jobId}/status).
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
# Qovery's 202 example: an accepted action answers without steps or execution_id.
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


class QoverySim(VendorSim):
    """Qovery at the API root.

    `jobs` holds JobResponse dicts and `statuses` Status dicts, both by job id; `history` each job's deployments,
    oldest first. `extra_services=N` adds N generated services to the organization (see qovery_estate.estate).
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, extra_services: int = 0) -> None:
        self._clock = clock
        seeded = estate(extra_services)
        self.organization = seeded.organization()
        self.projects = {project.id: project for project in seeded.projects}
        self.environments = {environment.id: environment for environment in seeded.environments}
        self.services = seeded.services
        self.jobs: dict[str, dict[str, Any]] = {job["id"]: job for job in seeded.jobs}
        self.history: dict[str, list[Deployment]] = {
            job_id: [self._past(job, past) for past in seeded.history.get(job_id, [])]
            for job_id, job in self.jobs.items()
        }
        self.statuses = {job_id: _seed_status(job_id, self.history[job_id]) for job_id in self.jobs}
        self.failed_kubernetes_jobs = {CLEANUP_TEMP: ["cleanup-temp-29163720", "cleanup-temp-29163750"]}
        self._revisions = dict.fromkeys(self.jobs, 0)  # each PUT makes a new configuration revision
        self._deleting: set[str] = set()
        job = r"/job/(?P<job_id>[^/]+)"
        environment = r"/environment/(?P<environment_id>[^/]+)"
        organization = r"/organization/(?P<organization_id>[^/]+)"
        endpoints = [
            Endpoint("GET", job, self._get_job),
            Endpoint("PUT", job, self._edit_job),
            Endpoint("DELETE", job, self._delete_job),
            Endpoint("GET", job + "/commit", self._list_commits),
            Endpoint("GET", job + "/status", self._get_status),
            Endpoint("GET", job + "/deploymentHistoryV2", self._list_deployments),
            Endpoint("POST", job + "/cleanFailedJob", self._clean_failed_job),
            Endpoint("POST", job + "/deploy", self._deploy),
            Endpoint("POST", job + "/redeploy", self._redeploy),
            Endpoint("POST", job + "/stop", self._stop),
            Endpoint("POST", job + "/uninstall", self._uninstall),
            Endpoint("GET", r"/organization", self._list_organizations),
            Endpoint("GET", organization + "/project", self._list_projects),
            Endpoint("GET", organization + "/services", self._list_services),
            Endpoint("GET", r"/project/(?P<project_id>[^/]+)/environment", self._list_environments),
            Endpoint("GET", environment + "/job", self._list_jobs),
            Endpoint("GET", environment + "/job/status", self._list_statuses),
            Endpoint("GET", environment + "/logs", self._list_logs),
        ]
        super().__init__(("",), endpoints)

    def authenticate(self, request: RecordedRequest) -> None:
        if request.headers.get("authorization") not in _AUTHORIZATIONS:
            raise Reject(_error(401, "Access token is missing or invalid"))

    def not_found(self) -> Response:
        return _error(404, "Resource not found")

    # ---- discovery ---------------------------------------------------------------------------------

    def _list_organizations(self, _call: Call) -> Response:
        return JSONResponse({"results": [self.organization]})

    def _list_projects(self, call: Call) -> Response:
        self._organization(call)
        counts = {pid: sum(e.project_id == pid for e in self.environments.values()) for pid in self.projects}
        return JSONResponse({"results": [p.response(counts[p.id]) for p in self.projects.values()]})

    def _list_environments(self, call: Call) -> Response:
        project_id = _checked_id("project", call.params["project_id"])
        if project_id not in self.projects:
            raise Reject(_error(404, f"Project {call.params['project_id']} not found"))
        found = [e.response() for e in self.environments.values() if e.project_id == project_id]
        return JSONResponse({"results": found})

    def _list_jobs(self, call: Call) -> Response:
        environment = self._environment(call)
        jobs = self._jobs_in(environment)
        if call.request.query.get("toUpdate", "").lower() == "true":  # "results that must be updated"
            jobs = [j for j in jobs if self.statuses[j["id"]]["service_deployment_status"] == "OUT_OF_DATE"]
        return JSONResponse({"results": jobs})

    def _list_statuses(self, call: Call) -> Response:
        environment = self._environment(call)
        # Each job's Status as GET /job/{jobId}/status gives it, read (and so moved on) the same way.
        return JSONResponse({"results": [self._read_status(job["id"]) for job in self._jobs_in(environment)]})

    def _list_services(self, call: Call) -> Response:
        self._organization(call)
        query = call.request.query
        wanted = {key: query[key] for key in ("project_id", "environment_id", "cluster_id") if query.get(key)}
        services = [s for s in self._service_list() if all(s[k].lower() == v.lower() for k, v in wanted.items())]
        return JSONResponse({"results": services})

    def _service_list(self) -> list[dict[str, Any]]:
        """Every service as ServiceLightResponse, environment by environment, jobs first."""
        listed: list[dict[str, Any]] = []
        for environment in self.environments.values():
            where = self._where(environment)
            for job in self._jobs_in(environment):
                light = {"id": job["id"], "name": job["name"], "description": job.get("description") or ""}
                listed.append(
                    {**light, "icon_uri": job["icon_uri"], "service_type": "JOB", **where, "job_type": job["job_type"]}
                )
            for service in (s for s in self.services if s.environment_id == environment.id):
                light = {"id": service.id, "name": service.name, "description": service.description}
                icon = {"icon_uri": _icon(service.service_type), "service_type": service.service_type}
                listed.append({**light, **icon, **where})
        return listed

    def _where(self, environment: Environment) -> dict[str, str]:
        return {
            "project_id": environment.project_id,
            "project_name": self.projects[environment.project_id].name,
            "environment_id": environment.id,
            "environment_name": environment.name,
            "cluster_id": environment.cluster_id,
        }

    def _list_deployments(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        raw = call.request.query.get("pageSize")
        try:
            size = _HISTORY_PAGE if raw is None else int(float(raw))
        except ValueError:
            raise Reject(_error(400, f"pageSize must be a number, not '{raw}'")) from None
        if size < 1:
            raise Reject(_error(400, "pageSize must be at least 1"))
        entries = [deployment.entry() for deployment in reversed(self.history[job_id])][:size]
        return JSONResponse({"page": 1, "page_size": size, "results": entries})

    def _list_logs(self, call: Call) -> Response:
        environment = self._environment(call)
        deployments = sorted(
            (d for job in self._jobs_in(environment) for d in self.history[job["id"]]), key=lambda d: d.created_at
        )
        version = call.request.query.get("version")
        # Without a version: the environment's latest deployment.
        chosen = [d for d in deployments if d.execution_id == version] if version else deployments[-1:]
        lines = [line for deployment in chosen for line in deployment.log_lines()]
        return JSONResponse(lines[-1000:])  # "the last 1000 environment deployment logs"

    # ---- the ten job operations ---------------------------------------------------------------------

    def _get_job(self, call: Call) -> Response:
        return JSONResponse(self._job(call))

    def _edit_job(self, call: Call) -> Response:
        job = self._job(call)
        edited = self._replacement(job, _body(call, required=True))
        self.jobs[job["id"]] = edited
        self._revisions[job["id"]] += 1
        status = self.statuses[job["id"]]
        if status["service_deployment_status"] == "UP_TO_DATE":  # running the old configuration until redeployed
            status["service_deployment_status"] = "OUT_OF_DATE"
        return JSONResponse(edited)

    def _delete_job(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        self._queue(call, job_id, "DELETE")
        self._deleting.add(job_id)
        return Response(status_code=204)

    def _list_commits(self, call: Call) -> Response:
        docker = json_object(self._job(call)["source"].get("docker"))
        commits: list[dict[str, Any]] = COMMITS.get(str(json_object(docker.get("git_repository")).get("url")), [])
        query = call.request.query
        if "gitCommitId" in query:
            commits = [c for c in commits if c["git_commit_id"] == query["gitCommitId"]]
        if "startId" in query:
            ids = [c["git_commit_id"] for c in commits]
            commits = commits[ids.index(query["startId"]) + 1 :] if query["startId"] in ids else []
        return JSONResponse({"results": commits})

    def _get_status(self, call: Call) -> Response:
        return JSONResponse(self._read_status(self._job(call)["id"]))

    def _read_status(self, job_id: str) -> dict[str, Any]:
        self._advance(job_id)
        status = self.statuses[job_id]
        body = {k: status[k] for k in _STATUS_KEYS if k in status}
        if status["state"] == "DELETED" and job_id in self._deleting:
            self._forget(job_id)  # a deleted job answers 404 from now on (terraform-provider-qovery waits for it)
        return body

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
        return self._accepted(call, job["id"], "DEPLOY")

    def _redeploy(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        _check_force_event(call)
        self._check_idle(job_id)
        return self._accepted(call, job_id, "DEPLOY")

    def _stop(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        if self.statuses[job_id]["state"] == "STOPPED":
            raise Reject(_error(409, "Job is already stopped"))
        self._check_idle(job_id)
        return self._accepted(call, job_id, "STOP")

    def _uninstall(self, call: Call) -> Response:
        job_id = self._job(call)["id"]
        self._check_idle(job_id)
        if self.statuses[job_id]["service_deployment_status"] == "NEVER_DEPLOYED":
            return Response(status_code=204)  # spec: "No deployment has been triggered"
        return self._accepted(call, job_id, "DELETE")

    # ---- lookups ---------------------------------------------------------------------------------------

    def _job(self, call: Call) -> dict[str, Any]:
        job_id = _checked_id("job", call.params["job_id"])
        job = self.jobs.get(job_id)
        if job is None:
            raise Reject(_error(404, f"Job {call.params['job_id']} not found"))
        return job

    def _organization(self, call: Call) -> None:
        organization_id = _checked_id("organization", call.params["organization_id"])
        if organization_id != ORGANIZATION_ID:
            raise Reject(_error(404, f"Organization {call.params['organization_id']} not found"))

    def _environment(self, call: Call) -> Environment:
        environment = self.environments.get(_checked_id("environment", call.params["environment_id"]))
        if environment is None:
            raise Reject(_error(404, f"Environment {call.params['environment_id']} not found"))
        return environment

    def _jobs_in(self, environment: Environment) -> list[dict[str, Any]]:
        return [job for job in self.jobs.values() if job["environment"]["id"] == environment.id]

    # ---- the state machine --------------------------------------------------------------------------

    def _check_idle(self, job_id: str) -> None:
        if self.statuses[job_id]["state"].endswith(("QUEUED", "ING")):  # *_QUEUED, *ING and EXECUTING
            raise Reject(_error(409, _BUSY))

    def _accepted(self, call: Call, job_id: str, action: str) -> Response:
        status = self._queue(call, job_id, action)
        return JSONResponse({k: status[k] for k in _ACCEPTED_KEYS}, status_code=202)

    def _queue(self, call: Call, job_id: str, action: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        authorization = call.request.headers.get("authorization", "")
        deployment = Deployment(
            copy.deepcopy(job),
            self.environments[job["environment"]["id"]],
            "DEPLOY" if action == "RESTART" else action,
            _QUEUED[action],
            self._now(),
            _TRIGGERED_BY.get(authorization, "sandbox-api-token"),
            "API",
            self._revisions[job_id],
            failure_for(job) if action == "DEPLOY" else None,
            Deployment.request_id_for(job_id, len(self.history[job_id])),
        )
        self.history[job_id].append(deployment)
        status = self.statuses[job_id]
        status.pop("execution_id", None)
        status.update(
            state=deployment.state,
            last_deployment_date=self._iso(),
            is_part_last_deployment=False,
            steps=_steps(deployment.state),
            status_details=_details(action, "QUEUED"),
            deployment_request_id=deployment.request_id,
            deployment_requests_count=1,
        )
        if action == "DEPLOY":
            status["service_deployment_status"] = "OUT_OF_DATE"
        return status

    def _advance(self, job_id: str) -> None:
        status = self.statuses[job_id]
        state = _NEXT_STATE.get(status["state"])
        if state is None:
            return
        deployment = self.history[job_id][-1] if self.history[job_id] else None
        if state == "DEPLOYED" and deployment is not None and deployment.failure is not None:
            state = "DEPLOYMENT_ERROR"
        step = progress(state)
        status.update(state=state, is_part_last_deployment=True, steps=_steps(state))
        status["status_details"] = {**status["status_details"], "status": step}
        if deployment is not None:
            deployment.state, deployment.updated_at = state, self._now()
        if step == "ONGOING":
            if deployment is not None:
                status["execution_id"] = deployment.execution_id
            return
        status.update(deployment_request_id=None, deployment_requests_count=0)
        if state in ("DEPLOYED", "RESTARTED"):
            current = deployment is None or deployment.revision == self._revisions[job_id]
            status["service_deployment_status"] = "UP_TO_DATE" if current else "OUT_OF_DATE"
        elif state == "DELETED":
            status["service_deployment_status"] = "NEVER_DEPLOYED"

    def _forget(self, job_id: str) -> None:
        for table in (self.jobs, self.statuses, self.failed_kubernetes_jobs, self.history, self._revisions):
            table.pop(job_id, None)
        self._deleting.discard(job_id)

    def _past(self, job: dict[str, Any], past: PastDeployment) -> Deployment:
        """A seeded deployment, with the job as it was then (its image tag or its commit at the time)."""
        then = copy.deepcopy(job)
        if "image" in then["source"]:
            then["source"]["image"]["tag"] = past.version
        else:
            then["source"]["docker"]["git_repository"]["deployed_commit_id"] = past.version
        environment = self.environments[job["environment"]["id"]]
        return Deployment.seeded(
            then, environment, past.action, past.state, past.created_at, past.triggered_by, past.origin
        )

    def _replacement(self, job: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """PUT is a full replacement: every field not sent falls back to its default (spec JobRequest)."""
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
            "icon_uri": scalars.get("icon_uri", ICONS[job["job_type"]]),
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

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _iso(self) -> str:
        return self._now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _checked_id(kind: str, value: str) -> str:
    """A path id, lower-cased; anything but a UUID is refused as Qovery refuses it."""
    if not _UUID.fullmatch(value):
        raise Reject(_error(400, f"Invalid {kind} id '{value}': expected a UUID"))
    return value.lower()


def _icon(service_type: str) -> str:
    return ICONS.get(service_type, ICONS["APPLICATION"])


def _seed_status(job_id: str, history: list[Deployment]) -> dict[str, Any]:
    """The Status a job's seeded history leaves it in; READY and NEVER_DEPLOYED without one."""
    status: dict[str, Any] = {
        "id": job_id,
        "state": "READY",
        "service_deployment_status": "NEVER_DEPLOYED",
        "is_part_last_deployment": False,
        "status_details": _details("DEPLOY", "NEVER"),
        "deployment_request_id": None,
        "deployment_requests_count": 0,
    }
    if not history:
        return status
    last = history[-1]
    status.update(
        state=last.state,
        # A failed deployment leaves the previous version running: out of date until a deployment succeeds.
        service_deployment_status="OUT_OF_DATE" if last.progress == "ERROR" else "UP_TO_DATE",
        last_deployment_date=last.entry()["auditing_data"]["created_at"],
        is_part_last_deployment=True,
        steps=_steps(last.state),
        execution_id=last.execution_id,
        status_details=_details(last.action, last.progress),
    )
    return status


def _error(status: int, detail: str) -> Response:
    """The error body Qovery clients parse: status, error and detail (terraform-provider-qovery apierrors)."""
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
    registry_id = image.get("registry_id", DOCKER_HUB["id"])
    if registry_id != DOCKER_HUB["id"]:  # the sandbox organisation has one registry
        raise Reject(_error(400, f"Container registry {registry_id} not found"))
    return {"image_name": name, "tag": tag, "registry_id": registry_id, "registry": dict(DOCKER_HUB)}


def _docker_source(docker: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    repo = json_object(docker.get("git_repository"))
    if (
        any(not isinstance(repo.get(k), str) for k in ("url", "owner", "name"))
        or repo.get("provider") not in _GIT_PROVIDERS
    ):
        raise Reject(_error(400, "source.docker.git_repository needs url, owner, name and provider"))
    previous = json_object(json_object(current.get("docker")).get("git_repository"))
    deployed = {k: previous[k] for k in DEPLOYED_COMMIT_KEYS if k in previous and previous.get("url") == repo["url"]}
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


def _details(action: str, status: str) -> dict[str, str]:
    return {"action": action, "status": status, "sub_action": "NONE"}


def _steps(state: str) -> dict[str, Any]:
    """ServiceStepMetrics: queueing once it is over, then the deployment step once the action has ended."""
    step = progress(state)
    details: list[dict[str, Any]] = []
    if step != "QUEUED":
        details.append({"step_name": "DEPLOYMENT_QUEUEING", "status": "SUCCESS", "duration_sec": QUEUEING_SEC})
    if step in ("SUCCESS", "ERROR"):
        details.append({"step_name": "DEPLOYMENT", "status": step, "duration_sec": DEPLOYMENT_SEC})
        return {
            "total_duration_sec": QUEUEING_SEC + DEPLOYMENT_SEC,
            "total_computing_duration_sec": DEPLOYMENT_SEC,
            "details": details,
        }
    return {"total_duration_sec": None, "total_computing_duration_sec": 0, "details": details}
