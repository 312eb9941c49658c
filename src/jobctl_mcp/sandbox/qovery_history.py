"""A simulated job's deployments: the entries of GET /job/{jobId}/deploymentHistoryV2 and the lines of
GET /environment/{environmentId}/logs, in the shapes of Qovery's OpenAPI spec (DeploymentHistoryService,
EnvironmentLogs) and of the events Qovery's engine writes (github.com/Qovery/engine, src/events/io)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .qovery_estate import BROKEN_MIGRATION_COMMIT, COMMITS, MISSING_IMAGE, ORGANIZATION_ID, Environment

QUEUEING_SEC, DEPLOYMENT_SEC = 13, 52
_STAGE_NAME = "JOB DEFAULT"  # the deployment stage Qovery puts jobs in unless told otherwise
_NAMESPACE = uuid.UUID("0e3b8c51-77d4-4f0a-9b2e-6c1d5a8f3e90")
_DOCS = "https://hub.qovery.com/docs/using-qovery/troubleshoot/"


@dataclass(frozen=True)
class Failure:
    """Why a deployment fails, as the engine reports it: an error tag, a message for the user, and a hint."""

    tag: str
    user_log_message: str
    hint_message: str
    underlying: str
    output: tuple[str, ...] = ()  # what the job printed before it failed


def failure_for(job: dict[str, Any]) -> Failure | None:
    """The failure a deployment of `job` as it is configured now runs into, if any."""
    image = job["source"].get("image")
    if image is not None and (image["image_name"], image["tag"]) == MISSING_IMAGE:
        reference = f"{image['image_name']}:{image['tag']}"
        return Failure(
            tag="CONTAINER_REGISTRY_IMAGE_DOESNT_EXIST",
            user_log_message=(
                f"Image `{reference}` doesn't exist in the container registry `{image['registry']['name']}`: "
                "the registry answered `manifest unknown`."
            ),
            hint_message="Push the image with this tag to the registry, or deploy the job with a tag that exists.",
            underlying=f"failed to mirror image docker.io/{reference}: manifest unknown: manifest unknown",
        )
    docker = job["source"].get("docker")
    if docker is not None and docker["git_repository"].get("deployed_commit_id") == BROKEN_MIGRATION_COMMIT:
        return Failure(
            tag="JOB_FAILURE",
            user_log_message=(
                f"Job {job['name']} failed: its on_start command `/app/manage migrate` exited with code 1. "
                'Migration orders.0043_backfill_discount_codes failed: column "discount_code" of relation "orders" '
                "does not exist."
            ),
            hint_message=(
                "The job's output above says why it stopped. Migration 0043 reads orders.discount_code before any "
                "migration adds it: add the column first, or deploy the previous commit."
            ),
            underlying="Job failed to complete after 1 attempt: container exited with code 1",
            output=(
                "Operations to perform:",
                "  Apply all migrations: billing, orders",
                "Running migrations:",
                "  Applying orders.0043_backfill_discount_codes...",
                "Traceback (most recent call last):",
                'psycopg2.errors.UndefinedColumn: column "discount_code" of relation "orders" does not exist',
                'LINE 1: UPDATE "orders" SET "discount_code" = NULL WHERE "orders"."promo_id" IS NULL',
            ),
        )
    return None


@dataclass
class Deployment:
    """One deploy, stop or uninstall of a job: its history entry, and the log lines the engine wrote for it."""

    job: dict[str, Any]  # the job as it was when the deployment was requested
    environment: Environment
    action: str  # ServiceActionEnum: DEPLOY, STOP or DELETE
    state: str  # StateEnum: where it is now
    created_at: datetime
    triggered_by: str
    origin: str
    revision: int  # the job's configuration revision it deploys
    failure: Failure | None = None
    request_id: str = ""  # set from the job and its deployment count (request_id_for), so that runs compare
    updated_at: datetime | None = None

    @classmethod
    def seeded(
        cls, job: dict[str, Any], environment: Environment, action: str, state: str, at: str, who: str, origin: str
    ) -> Deployment:
        """A past deployment, finished; its ids are derived from the job and the time, so they never change."""
        created = datetime.fromisoformat(at)
        failure = failure_for(job) if state.endswith("_ERROR") else None
        request_id = str(uuid.uuid5(_NAMESPACE, f"{job['id']}/{at}"))
        finished = created + timedelta(seconds=QUEUEING_SEC + DEPLOYMENT_SEC)
        return cls(
            copy.deepcopy(job), environment, action, state, created, who, origin, 0, failure, request_id, finished
        )

    @staticmethod
    def request_id_for(job_id: str, number: int) -> str:
        """The id of the job's `number`th deployment requested through the API: fixed, so that runs compare."""
        return str(uuid.uuid5(_NAMESPACE, f"{job_id}/request/{number}"))

    @property
    def execution_id(self) -> str:
        # The form Qovery's Status examples show: the deployment request, the attempt, the request's Unix time.
        return f"{self.request_id}-1-{int(self.created_at.timestamp())}"

    @property
    def progress(self) -> str:
        return progress(self.state)

    @property
    def finished(self) -> bool:
        return self.progress in ("SUCCESS", "ERROR")

    def entry(self) -> dict[str, Any]:
        """A DeploymentHistoryService."""
        entry: dict[str, Any] = {
            "identifier": {
                "name": self.job["name"],
                "service_id": self.job["id"],
                "service_type": "JOB",
                "execution_id": self.execution_id,
            },
            "status": self.state,
            "auditing_data": {
                "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at or self.created_at),
                "triggered_by": self.triggered_by,
                "origin": self.origin,
            },
            "details": self._details(),
            "status_details": {"action": self.action, "status": self.progress, "sub_action": "NONE"},
            "icon_uri": self.job["icon_uri"],
        }
        if self.finished and self.updated_at is not None:
            seconds = int((self.updated_at - self.created_at).total_seconds())
            entry["total_duration"] = f"PT{seconds // 60}M{seconds % 60}S"
        return entry

    def _details(self) -> dict[str, Any]:
        """JobDeploymentHistoryDetails."""
        schedule = self.job["schedule"]
        details: dict[str, Any] = {"job_type": self.job["job_type"]}
        if "cronjob" in schedule:
            cron = schedule["cronjob"]
            details["schedule"] = {"cron_job": {"arguments": list[str](), **cron}}
        else:
            no_arguments: list[str] = []
            events = {k: {"arguments": no_arguments, **v} for k, v in schedule.items() if k.startswith("on_")}
            details["schedule"] = {**events, **{k: v for k, v in schedule.items() if k == "lifecycle_type"}}
        image = self.job["source"].get("image")
        if image is not None:
            return {"image_name": image["image_name"], "tag": image["tag"], **details, "build_pod_name": None}
        repository = self.job["source"]["docker"]["git_repository"]
        sha = str(repository.get("deployed_commit_id", ""))
        commit = next((c for c in COMMITS.get(repository["url"], []) if c["git_commit_id"] == sha), None)
        return {
            "image_name": self.job["name"],
            "tag": sha,
            **details,
            "commit": commit
            or {"git_commit_id": sha, "created_at": iso(self.created_at), "author_name": "", "message": "", "tag": ""},
            "build_pod_name": f"build-{self.execution_id}-0",
        }

    def log_lines(self) -> list[dict[str, Any]]:
        """EnvironmentLogs lines written so far: none while queued, the first steps while it runs, all once ended."""
        if self.progress == "QUEUED":
            return []
        lines = self._start_lines()
        if self.finished:
            lines += self._end_lines()
        return [self._line(i, *line) for i, line in enumerate(lines)]

    def _start_lines(self) -> list[tuple[str, str, str]]:
        """(transmitter kind, step, text) of the lines written when the deployment starts."""
        name, env = self.job["name"], self.environment.name
        lines = [("Environment", "LoadConfiguration", f"Loading the configuration of environment {env}")]
        if self.action == "STOP":
            return [*lines, ("Job", "Pause", f"Stopping job {name}")]
        if self.action == "DELETE":
            return [*lines, ("Job", "Delete", f"Deleting job {name} and its resources")]
        image = self.job["source"].get("image")
        if image is not None:
            reference = f"{image['image_name']}:{image['tag']}"
            return [
                *lines,
                ("Job", "Deploy", f"Deploying job {name} from image docker.io/{reference}"),
                ("Job", "Deploy", f"Mirroring image {reference} from {image['registry']['name']} to the cluster"),
            ]
        docker = self.job["source"]["docker"]
        repository = docker["git_repository"]
        sha = str(repository.get("deployed_commit_id", ""))[:7]
        return [
            *lines,
            ("Job", "Build", f"Cloning {repository['url']} at commit {sha} (branch {repository['branch']})"),
            ("Job", "Build", f"Building the image from {docker.get('dockerfile_path') or 'Dockerfile'}"),
            ("Job", "Built", f"Image {name}:{sha} built and pushed to the cluster's registry"),
            ("Job", "Deploy", f"Deploying job {name}"),
        ]

    def _end_lines(self) -> list[tuple[str, str, str]]:
        name, env = self.job["name"], self.environment.name
        if self.action == "STOP":
            return [("Job", "Paused", f"Job {name} stopped"), ("Environment", "Paused", f"Environment {env} stopped")]
        if self.action == "DELETE":
            return [("Job", "Deleted", f"Job {name} deleted"), ("Environment", "Deleted", f"Environment {env} updated")]
        schedule = self.job["schedule"]
        if "cronjob" in schedule:
            cron = schedule["cronjob"]
            run = [("Job", "Deploy", f"CronJob {name} installed: `{cron['scheduled_at']}` ({cron['timezone']})")]
        else:
            start = schedule.get("on_start", {})
            command = " ".join([start.get("entrypoint", ""), *start.get("arguments", [])]).strip()
            run = [("Job", "JobOutput", f"Running on_start command `{command}`")]
        if self.failure is None:
            if "cronjob" not in schedule:
                run.append(("Job", "JobOutput", f"Job {name} exited with code 0"))
            done = [
                ("Job", "Deployed", f"Job {name} deployed"),
                ("Environment", "Deployed", f"Environment {env} deployed"),
            ]
            return run + done
        if self.failure.tag == "CONTAINER_REGISTRY_IMAGE_DOESNT_EXIST":
            run = []  # the image never reached the cluster: nothing ran
        output = [("Job", "JobOutput", text) for text in self.failure.output]
        closing = ("Environment", "DeployedError", f"Deployment of environment {env} failed")
        return [*run, *output, ("Job", "DeployedError", ""), closing]

    def _line(self, index: int, kind: str, step: str, text: str) -> dict[str, Any]:
        env = self.environment
        transmitter = (
            {"type": "Environment", "id": env.id, "name": env.name}
            if kind == "Environment"
            else {"type": "Job", "id": self.job["id"], "name": self.job["name"]}
        )
        line: dict[str, Any] = {
            "type": "info",
            "timestamp": iso(self.created_at + timedelta(seconds=QUEUEING_SEC + index)),
            "details": {
                "organization_id": ORGANIZATION_ID,
                "cluster_id": env.cluster_id,
                "execution_id": self.execution_id,
                "transmitter": transmitter,
                "stage": {"step": step, "id": str(uuid.uuid5(_NAMESPACE, env.id)), "name": _STAGE_NAME},
            },
            "message": {"safe_message": text},
        }
        if step == "DeployedError" and kind == "Job" and self.failure is not None:
            failure = self.failure
            line.update(
                type="error",
                message=None,
                error={
                    "tag": failure.tag,
                    "user_log_message": failure.user_log_message,
                    "link": _DOCS,
                    "hint_message": failure.hint_message,
                    "underlying_error": {"message": failure.underlying, "full_details": failure.underlying},
                },
            )
        return line


def progress(state: str) -> str:
    """status_details.status for a state."""
    if state.endswith("QUEUED"):
        return "QUEUED"
    if state.endswith("ING"):
        return "ONGOING"
    return "ERROR" if state.endswith("_ERROR") else "SUCCESS"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
