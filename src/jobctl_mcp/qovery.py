"""Qovery: the client (Token or Bearer from the token's form), compact job models, the read-merge-write
edit that Qovery's full-replacement PUT needs, and the ten Qovery job tools."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self, TypeGuard
from uuid import UUID

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from jobctl_mcp.client import (
    HttpClient,
    RetryPolicy,
    Route,
    Send,
    VendorClient,
    json_int,
    json_list,
    json_object,
    json_str,
    plain_text,
    vendor_message,
)
from jobctl_mcp.errors import VendorError
from jobctl_mcp.spec import READ, Advice, AnySpec, Hints, ToolInput, ToolOutput, ToolSpec, VendorText

GET_JOB = Route("GET", "/job/{jobId}")
EDIT_JOB = Route("PUT", "/job/{jobId}")
DELETE_JOB = Route("DELETE", "/job/{jobId}")
LIST_COMMITS = Route("GET", "/job/{jobId}/commit")
GET_STATUS = Route("GET", "/job/{jobId}/status")
CLEAN_FAILED = Route("POST", "/job/{jobId}/cleanFailedJob")
DEPLOY = Route("POST", "/job/{jobId}/deploy")
REDEPLOY = Route("POST", "/job/{jobId}/redeploy")
STOP = Route("POST", "/job/{jobId}/stop")
UNINSTALL = Route("POST", "/job/{jobId}/uninstall")
# Not a tool: the cheapest read any token can make, so that `jobctl-mcp check` proves the credentials.
ORGANIZATIONS = Route("GET", "/organization")

# JobRequest, the PUT body (Qovery's OpenAPI spec); `source` and the groups are rebuilt separately.
_PLAIN_FIELDS = (
    "name", "description", "cpu", "memory", "gpu", "ephemeral_storage_in_gib", "max_nb_restart",
    "max_duration_seconds", "auto_preview", "port", "cpu_architecture", "healthchecks", "schedule",
    "auto_deploy", "icon_uri",
)  # fmt: skip
EDITABLE_FIELDS = frozenset({*_PLAIN_FIELDS, "source", "annotations_groups", "labels_groups"})


def authorization(token: str) -> str:
    """The Authorization header for a Qovery token: API tokens use 'Token', JWTs use 'Bearer' (as qovery-cli's
    utils/context.go decides)."""
    scheme, _, rest = token.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and rest.strip():
        return f"{scheme.capitalize()} {rest.strip()}"
    return f"Bearer {token.strip()}" if _is_jwt(token.strip()) else f"Token {token.strip()}"


def _is_jwt(token: str) -> bool:
    # The CLI's rule: a JWT's first segment decodes to JSON; an API token (qov_...) does not.
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header


class JobStatus(ToolOutput):
    """A compact Qovery job status."""

    jobId: str
    state: VendorText = Field(
        description="e.g. DEPLOYMENT_QUEUED, DEPLOYING, DEPLOYED, STOPPED, or one ending in ERROR"
    )
    deploymentStatus: VendorText | None = Field(default=None, description="NEVER_DEPLOYED, OUT_OF_DATE or UP_TO_DATE")
    action: VendorText | None = Field(
        default=None, description="The current or last action: DEPLOY, DELETE, RESTART, STOP"
    )
    actionStatus: VendorText | None = Field(default=None, description="QUEUED, ONGOING, SUCCESS, ERROR, CANCELED, ...")
    lastDeploymentDate: str | None = None
    deploymentRequestId: str | None = None

    @classmethod
    def from_vendor(cls, status: dict[str, Any]) -> Self:
        details = json_object(status.get("status_details"))
        return cls(
            jobId=json_str(status.get("id")) or "unknown",
            state=json_str(status.get("state")) or "UNKNOWN",
            deploymentStatus=json_str(status.get("service_deployment_status")),
            action=json_str(details.get("action")),
            actionStatus=json_str(details.get("status")),
            lastDeploymentDate=json_str(status.get("last_deployment_date")),
            deploymentRequestId=json_str(status.get("deployment_request_id")),
        )


class JobStatusDetails(JobStatus):
    raw: dict[str, Any] | None = Field(default=None, description="Qovery's full Status, when raw=true")


class Job(ToolOutput):
    """A compact Qovery job."""

    id: str
    name: VendorText
    jobType: VendorText | None = Field(default=None, description="CRON or LIFECYCLE")
    description: VendorText | None = None
    environmentId: str | None = None
    source: VendorText | None = Field(default=None, description="The image or git repository the job runs")
    schedule: VendorText | None = Field(default=None, description="Cron schedule, or the lifecycle events it runs on")
    cpu: int | None = Field(default=None, description="Millicores")
    memory: int | None = Field(default=None, description="MB")
    maxDurationSeconds: int | None = None
    maxNbRestart: int | None = None
    autoDeploy: bool | None = None
    updatedAt: str | None = None
    raw: dict[str, Any] | None = Field(default=None, description="Qovery's full job, when raw=true")

    @classmethod
    def from_vendor(cls, job: dict[str, Any]) -> Self:
        """The summary of a job that passed _is_job; other fields are read defensively."""
        auto_deploy = job.get("auto_deploy")
        return cls(
            id=str(job.get("id")),
            name=str(job.get("name")),
            jobType=json_str(job.get("job_type")),
            description=json_str(job.get("description")),
            environmentId=json_str(json_object(job.get("environment")).get("id")),
            source=_describe_source(json_object(job.get("source"))),
            schedule=_describe_schedule(json_object(job.get("schedule"))),
            cpu=json_int(job.get("cpu")),
            memory=json_int(job.get("memory")),
            maxDurationSeconds=json_int(job.get("max_duration_seconds")),
            maxNbRestart=json_int(job.get("max_nb_restart")),
            autoDeploy=auto_deploy if isinstance(auto_deploy, bool) else None,
            updatedAt=json_str(job.get("updated_at")),
        )


def _describe_source(source: dict[str, Any]) -> str | None:
    """The job's source in one line, from the text fields that are text; None when what names it is unreadable."""
    if image := json_object(source.get("image")):
        if (name := json_str(image.get("image_name"))) is None:
            return None
        registry = (json_str(json_object(image.get("registry")).get("url")) or "").removeprefix("https://").rstrip("/")
        tag = json_str(image.get("tag"))
        return f"image {registry + '/' if registry else ''}{name}" + (f":{tag}" if tag else "")
    if repo := json_object(json_object(source.get("docker")).get("git_repository")):
        if (url := json_str(repo.get("url"))) is None:
            return None
        deployed = json_str(repo.get("deployed_commit_id"))
        at = f" (deployed {deployed[:12]})" if deployed else ""
        return f"git {url} branch {json_str(repo.get('branch')) or 'default'}{at}"
    return None


_LIFECYCLE = ("on_start", "on_stop", "on_delete")


def _describe_schedule(schedule: dict[str, Any]) -> str | None:
    if cron := json_object(schedule.get("cronjob")):
        if (expression := json_str(cron.get("scheduled_at"))) is None:
            return None
        return f"cron '{expression}' {json_str(cron.get('timezone')) or 'Etc/UTC'}"
    # Each lifecycle event the job runs on is an object (its entrypoint and arguments), possibly empty.
    events = [event.removeprefix("on_") for event in _LIFECYCLE if isinstance(schedule.get(event), dict)]
    return f"lifecycle on {', '.join(events)}" if events else None


class EditedJob(Job):
    note: str = Field(description="When the change takes effect")


class Commit(ToolOutput):
    gitCommitId: str
    createdAt: str | None = None
    author: VendorText | None = None
    message: VendorText | None = None
    tag: VendorText | None = None


class CommitList(ToolOutput):
    jobId: str
    total: int = Field(description="Commits Qovery returned (at most its last 100)")
    commits: list[Commit]


class CleanedJobs(ToolOutput):
    jobId: str
    cleanedKubernetesJobs: list[VendorText]


class JobAction(ToolOutput):
    jobId: str
    action: Literal["deploy", "redeploy", "stop", "uninstall", "delete"]
    status: JobStatus | None = Field(
        description="Qovery's status right after the request; null when it answered with no body (delete, or "
        "an uninstall with nothing deployed)"
    )


class Deployment(JobAction):
    note: str | None = Field(default=None, description="Set when a version was given: where it is kept")


class QoveryClient(VendorClient):
    vendor = "Qovery"
    hints: ClassVar[Mapping[int, str]] = {
        401: "Qovery refused the token: check QOVERY_API_KEY (API tokens go as 'Token <t>', JWTs as 'Bearer <t>').",
        403: "The token lacks permission for this job, or the job does not exist (Qovery answers 403 for both).",
        404: "Check the job id, a Qovery job UUID.",
        409: "Another operation is running on this job or it is already in that state.",
    }

    def __init__(
        self,
        http: HttpClient,
        policy: RetryPolicy,
        *,
        api_key: SecretStr,
        organization_id: str | None = None,
        dry_run: bool = False,
    ) -> None:
        super().__init__(http, policy, dry_run=dry_run)
        self._api_key = api_key
        # QOVERY_ORGANIZATION_ID, or every organization the token sees, asked once: they seldom change.
        self._organization_ids = [organization_id] if organization_id else None

    async def auth_headers(self) -> dict[str, str]:
        return {"Authorization": authorization(self._api_key.get_secret_value())}

    def secrets(self) -> list[str]:
        token = self._api_key.get_secret_value().strip()
        return [token, authorization(token).partition(" ")[2]]

    def error_inside(self, operation: str, route: Route, data: Any) -> VendorError | None:
        # Qovery reports errors with their HTTP status; one inside a 2xx answer means something in between
        # (a proxy, a gateway) answered, so the answer cannot be trusted either way.
        if (reported := _error_inside(data)) is not None:
            return self.unusable(operation, route, f"the answer reports an error: {reported}")
        return None

    async def get_job(self, job_id: UUID) -> dict[str, Any]:
        return await self.call(f"get job {job_id}", GET_JOB, _job_or_none, _A_JOB, path={"jobId": job_id})

    async def get_status(self, job_id: UUID) -> dict[str, Any]:
        label = f"get status of job {job_id}"
        return await self.call(label, GET_STATUS, _status_or_none, _A_STATUS, path={"jobId": job_id})

    async def edit_job(self, job_id: UUID, change: dict[str, Any]) -> dict[str, Any]:
        # PUT replaces the whole job (Qovery's OpenAPI spec, editJob): send the current job with the change merged in.
        request = Send(json=merge(job_request(await self.get_job(job_id)), change))
        label = f"edit job {job_id}"
        return await self.call(label, EDIT_JOB, _job_or_none, _EDITED, path={"jobId": job_id}, send=request)

    async def organizations(self) -> list[dict[str, Any]]:
        """The organizations the token sees (id, name, ...)."""
        return await self.call("list organizations", ORGANIZATIONS, _organizations, "an organization list")

    async def organization_ids(self) -> list[str]:
        if self._organization_ids is None:
            self._organization_ids = [str(org["id"]) for org in await self.organizations()]
        return self._organization_ids


_A_JOB = "a job"
_A_STATUS = "a job status"
_EDITED = "the edited job"


def _organizations(data: Any) -> list[dict[str, Any]] | None:
    results = json_object(data).get("results")
    if not isinstance(results, list):
        return None
    organizations = [json_object(org) for org in results]  # pyright: ignore[reportUnknownVariableType]
    return [org for org in organizations if json_str(org.get("id"))]


def _job_or_none(data: Any) -> dict[str, Any] | None:
    return data if _is_job(data) else None


def _status_or_none(data: Any) -> dict[str, Any] | None:
    return data if _is_status(data) else None


def _is_job(data: Any) -> TypeGuard[dict[str, Any]]:
    job = json_object(data)
    return bool(job) and isinstance(job.get("name"), str) and isinstance(job.get("id"), str)


def _is_status(data: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(json_object(data).get("state"), str)


def _error_inside(data: Any) -> str | None:
    """The message of a Qovery error object ({"status": 4xx or 5xx, "error", "detail"}) found in an answer."""
    status = json_int(json_object(data).get("status"))
    if status is None or status < 400:
        return None
    return vendor_message(data) or f"status {status}"


def job_request(job: dict[str, Any]) -> dict[str, Any]:
    """The PUT body that would leave `job` (a JobResponse) as it is."""
    request = {key: job[key] for key in _PLAIN_FIELDS if key in job}
    if source := _source_request(json_object(job.get("source"))):
        request["source"] = source
    for key in ("annotations_groups", "labels_groups"):
        if key in job:
            request[key] = [{"id": json_object(group).get("id")} for group in json_list(job[key])]
    return request


def _source_request(source: dict[str, Any]) -> dict[str, Any] | None:
    if image := json_object(source.get("image")):
        registry_id = image.get("registry_id") or json_object(image.get("registry")).get("id")
        return {"image": {"image_name": image.get("image_name"), "tag": image.get("tag"), "registry_id": registry_id}}
    if docker := json_object(source.get("docker")):
        repo = json_object(docker.get("git_repository"))
        wanted = ("url", "name", "owner", "provider", "branch", "root_path", "git_token_id")
        request = {key: docker.get(key) for key in ("dockerfile_path", "dockerfile_raw", "docker_target_build_stage")}
        return {"docker": {"git_repository": {k: repo[k] for k in wanted if k in repo}, **request}}
    return None


def merge(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`change` laid over `current`: objects merge key by key, other values replace, null removes."""
    merged = dict(current)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        elif key == "source" and isinstance(value, dict) and value.keys() - json_object(current.get(key)).keys():
            merged[key] = value  # image and docker are alternatives: switching kind replaces the source
        elif isinstance(value, dict) and isinstance(current.get(key), dict):
            merged[key] = merge(current[key], value)  # pyright: ignore[reportUnknownArgumentType]
        else:
            merged[key] = value
    return merged


# ---- tool inputs -------------------------------------------------------------------------------


def _job_uuid(value: object) -> object:
    # pydantic's own UUID errors quote the offending character, a newline included: refuse in one clean line.
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            raise ValueError(
                "not a Qovery job id: expected a UUID such as 00000000-0000-4000-8000-000000000000"
            ) from None
    return value


JobId = Annotated[UUID, BeforeValidator(_job_uuid), Field(description="Qovery job id, a UUID")]
ForceEvent = Literal["START", "STOP", "DELETE", "CRON"]


class JobIdInput(ToolInput):
    jobId: JobId


class RawInput(JobIdInput):
    raw: bool = Field(default=False, description="Also return Qovery's full object")


class CommitsInput(JobIdInput):
    limit: int = Field(default=10, ge=1, le=100, description="Commits to return, newest first")


class EditJobInput(JobIdInput):
    body: dict[str, Any] = Field(
        min_length=1,
        description="Only the fields to change, with Qovery JobRequest names, e.g. {'cpu': 1000} or "
        "{'schedule': {'cronjob': {'scheduled_at': '0 3 * * *'}}}; null resets a field to Qovery's default",
    )

    @model_validator(mode="after")
    def _known_fields(self) -> Self:
        if unknown := sorted(self.body.keys() - EDITABLE_FIELDS):
            raise ValueError(f"unknown job fields {unknown}; editable: {', '.join(sorted(EDITABLE_FIELDS))}")
        for key in ("name", "healthchecks"):
            if key in self.body and self.body[key] is None:
                raise ValueError(f"{key} is required by Qovery and cannot be reset")
        return self


class RedeployInput(JobIdInput):
    forceEvent: ForceEvent | None = Field(
        default=None,
        description="Also run this event once now: START, STOP or DELETE runs a lifecycle job's command for it; "
        "CRON runs a cron job now",
    )


class DeployInput(RedeployInput):
    imageTag: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Image tag to deploy (image-based jobs)",
    )
    gitCommitId: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{7,64}$",
        description="Commit to deploy (git-based jobs); see list-last-job-commits",
    )

    @model_validator(mode="after")
    def _one_version(self) -> Self:
        if self.imageTag is not None and self.gitCommitId is not None:
            raise ValueError("give at most one of imageTag and gitCommitId")
        return self


# ---- tools -------------------------------------------------------------------------------------


def parse_job(data: Any, args: RawInput) -> Job | None:
    if not _is_job(data):
        return None
    return Job.from_vendor(data).model_copy(update={"raw": data if args.raw else None})


async def edit_job(client: QoveryClient, args: EditJobInput) -> EditedJob:
    edited = Job.from_vendor(await client.edit_job(args.jobId, args.body))
    # Qovery marks the job OUT_OF_DATE: the running version keeps the old configuration until a deployment.
    return EditedJob(**edited.model_dump(), note=_NEXT_DEPLOYMENT)


_NEXT_DEPLOYMENT = "Saved. It applies at the next deployment: call redeploy-job to apply it now."


def parse_commits(data: Any, args: CommitsInput) -> CommitList | None:
    results = json_object(data).get("results")
    if not isinstance(results, list):
        return None
    # A commit without its id cannot be deployed: it is no commit to show.
    commits = [c for c in map(json_object, results) if json_str(c.get("git_commit_id"))]  # pyright: ignore[reportUnknownArgumentType]
    shown = [
        Commit(
            gitCommitId=str(c["git_commit_id"]),
            createdAt=json_str(c.get("created_at")),
            author=json_str(c.get("author_name")),
            message=json_str(c.get("message")),
            tag=json_str(c.get("tag")),
        )
        for c in commits[: args.limit]
    ]
    return CommitList(jobId=str(args.jobId), total=len(commits), commits=shown)


def parse_status(data: Any, args: RawInput) -> JobStatusDetails | None:
    if not _is_status(data):
        return None
    return JobStatusDetails.from_vendor(data).model_copy(update={"raw": data if args.raw else None})


def parse_cleaned(data: Any, args: JobIdInput) -> CleanedJobs | None:
    if data is None:  # an empty 2xx answer: nothing was left to clean
        return CleanedJobs(jobId=str(args.jobId), cleanedKubernetesJobs=[])
    names = json_object(data).get("clean_kubernetes_jobs")
    if not isinstance(names, list):
        return None
    cleaned: list[str] = [name for name in names if json_str(name)]  # pyright: ignore[reportUnknownVariableType]
    return CleanedJobs(jobId=str(args.jobId), cleanedKubernetesJobs=cleaned)


def _acted(action: Literal["deploy", "redeploy", "stop", "uninstall", "delete"]) -> Any:
    """deploy, redeploy, stop or uninstall answer 202 with a Status, or 204 when nothing was triggered;
    delete answers 204, and whatever a 2xx answer holds, the job is being deleted."""

    def parse(data: Any, args: JobIdInput) -> JobAction | None:
        if data is None or action == "delete":
            return JobAction(jobId=str(args.jobId), action=action, status=None)
        return (
            JobAction(jobId=str(args.jobId), action=action, status=JobStatus.from_vendor(data))
            if _is_status(data)
            else None
        )

    return parse


def parse_deploy(data: Any, args: DeployInput) -> Deployment | None:
    if (deployed := _acted("deploy")(data, args)) is None:
        return None
    version = f"imageTag {args.imageTag}" if args.imageTag else f"gitCommitId {args.gitCommitId}"
    # Qovery writes the version into the job's source: every later deployment (redeploy-job too) runs it.
    note = f"{version} is saved into the job's configuration." if args.imageTag or args.gitCommitId else None
    return Deployment(**deployed.model_dump(), note=note)


def _force_event(args: RedeployInput) -> dict[str, str | int] | None:
    return {"forceEvent": args.forceEvent} if args.forceEvent else None


def deploy_request(args: DeployInput) -> Send:
    version = {"image_tag": args.imageTag, "git_commit_id": args.gitCommitId}
    body = {key: value for key, value in version.items() if value is not None} or None
    return Send(params=_force_event(args), json=body)


async def _describe(client: QoveryClient, job_id: UUID) -> str:
    # The name is the agent's to set (edit-job) just before asking to delete: it is shown cleaned and bounded.
    job = await client.get_job(job_id)
    state = plain_text(str((await client.get_status(job_id)).get("state", "state unknown")), 60)
    kind, name = plain_text(str(job.get("job_type", "")), 20).lower(), plain_text(str(job.get("name")), 120)
    return f"Qovery {kind} job {name} ({job_id}, now {state})"


async def delete_question(client: QoveryClient, args: JobIdInput) -> str:
    return f"Delete {await _describe(client, args.jobId)} with its configuration? This cannot be undone."


async def uninstall_question(client: QoveryClient, args: JobIdInput) -> str:
    return f"Uninstall {await _describe(client, args.jobId)} from its cluster? Its configuration is kept."


def forces_delete(args: RedeployInput) -> bool:
    """forceEvent DELETE runs a lifecycle job's delete command now: that call is destructive, whatever the tool."""
    return args.forceEvent == "DELETE"


async def force_delete_question(client: QoveryClient, args: RedeployInput) -> str:
    return f"Run the DELETE event of {await _describe(client, args.jobId)} now? Its delete command runs."


_FIND_JOBS = Advice(not_found="Find job ids by name with qovery-list-jobs.")
_BUSY = Advice(
    not_found=_FIND_JOBS.not_found,
    refused="Another operation is running on this job or it is already in that state: read get-job-status first.",
)
_WRITE = Hints(read_only=False, destructive=False, idempotent=False)

QOVERY_TOOLS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="get-job-id",
        vendor="qovery",
        title="Qovery: get a job by id",
        description="Qovery: read one job's configuration by id (find ids with qovery-list-jobs): type, image or "
        "git repository, schedule and resources. raw=true adds Qovery's full job. Its state: get-job-status.",
        hints=READ,
        route=GET_JOB,
        input=RawInput,
        output=Job,
        label="get job {jobId}",
        expects=_A_JOB,
        parse=parse_job,
        advice=_FIND_JOBS,
    ),
    ToolSpec(
        name="edit-job",
        vendor="qovery",
        title="Qovery: edit a job",
        description="Qovery: change a job's configuration. Put only the fields to change in body; the server reads "
        "the current job, merges the change and sends the whole job, because Qovery's PUT replaces everything "
        "(a concurrent edit between the read and the write is overwritten). Takes effect at the next deployment "
        "(redeploy-job).",
        hints=Hints(read_only=False, destructive=False, idempotent=True),
        route=EDIT_JOB,
        input=EditJobInput,
        output=EditedJob,
        expects=_EDITED,
        reads=(GET_JOB,),
        run=edit_job,
        advice=_FIND_JOBS,
    ),
    ToolSpec(
        name="delete-job",
        vendor="qovery",
        title="Qovery: delete a job",
        description="Qovery: delete a job, its configuration and its deployed resources. Irreversible. Qovery "
        "deletes in the background: get-job-status shows DELETING, then answers not found.",
        hints=Hints(read_only=False, destructive=True, idempotent=True),
        route=DELETE_JOB,
        input=JobIdInput,
        output=JobAction,
        label="delete job {jobId}",
        expects="an answer",
        parse=_acted("delete"),
        advice=_FIND_JOBS,
        question=delete_question,
    ),
    ToolSpec(
        name="list-last-job-commits",
        vendor="qovery",
        title="Qovery: list a job's last commits",
        description="Qovery: list the latest commits of a git-based job's repository, newest first, to choose a "
        "gitCommitId for deploy-job. Image-based jobs have none.",
        hints=READ,
        route=LIST_COMMITS,
        input=CommitsInput,
        output=CommitList,
        label="list commits of job {jobId}",
        expects="a commit list",
        parse=parse_commits,
        advice=_FIND_JOBS,
    ),
    ToolSpec(
        name="get-job-status",
        vendor="qovery",
        title="Qovery: get a job's status",
        description="Qovery: read a job's deployment state (DEPLOYMENT_QUEUED, DEPLOYING, DEPLOYED, STOPPED, states "
        "ending in ERROR, ...) with its current action and that action's status. raw=true adds Qovery's full status.",
        hints=READ,
        route=GET_STATUS,
        input=RawInput,
        output=JobStatusDetails,
        label="get status of job {jobId}",
        expects=_A_STATUS,
        parse=parse_status,
        advice=_FIND_JOBS,
        board=True,
    ),
    ToolSpec(
        name="clean-failed-job",
        vendor="qovery",
        title="Qovery: clean a failed job",
        description="Qovery: remove the failed Kubernetes job runs this job left behind. Returns the names removed.",
        hints=_WRITE,
        route=CLEAN_FAILED,
        input=JobIdInput,
        output=CleanedJobs,
        label="clean failed runs of job {jobId}",
        expects="a list of cleaned runs",
        parse=parse_cleaned,
        advice=_FIND_JOBS,
    ),
    ToolSpec(
        name="deploy-job",
        vendor="qovery",
        title="Qovery: deploy a job",
        description="Qovery: deploy a job, optionally at imageTag (image-based jobs) or gitCommitId (git-based "
        "jobs), saved into the job's configuration, and with forceEvent to run that event now. Returns the queued "
        "status; follow it with get-job-status. Refused while another operation runs on the job.",
        hints=_WRITE,
        route=DEPLOY,
        input=DeployInput,
        output=Deployment,
        label="deploy job {jobId}",
        expects=_A_STATUS,
        send=deploy_request,
        parse=parse_deploy,
        advice=Advice(_BUSY.not_found, _BUSY.refused, (("image_tag", "imageTag"), ("git_commit_id", "gitCommitId"))),
        destructive_when=forces_delete,
        question=force_delete_question,
    ),
    ToolSpec(
        name="redeploy-job",
        vendor="qovery",
        title="Qovery: redeploy a job",
        description="Qovery: redeploy a job at its current version, optionally with forceEvent to run that event "
        "now. Returns the queued status; follow it with get-job-status.",
        hints=_WRITE,
        route=REDEPLOY,
        input=RedeployInput,
        output=JobAction,
        label="redeploy job {jobId}",
        expects=_A_STATUS,
        send=lambda args: Send(params=_force_event(args)),
        parse=_acted("redeploy"),
        advice=_BUSY,
        destructive_when=forces_delete,
        question=force_delete_question,
    ),
    ToolSpec(
        name="stop-job",
        vendor="qovery",
        title="Qovery: stop a job",
        description="Qovery: stop a deployed job. Returns the queued status; follow it with get-job-status.",
        hints=_WRITE,
        route=STOP,
        input=JobIdInput,
        output=JobAction,
        label="stop job {jobId}",
        expects=_A_STATUS,
        parse=_acted("stop"),
        advice=_BUSY,
    ),
    ToolSpec(
        name="uninstall-job",
        vendor="qovery",
        title="Qovery: uninstall a job",
        description="Qovery: remove a job's deployed resources from the cluster, keeping its configuration. Returns "
        "the queued status, or none when nothing was deployed.",
        hints=Hints(read_only=False, destructive=True, idempotent=False),
        route=UNINSTALL,
        input=JobIdInput,
        output=JobAction,
        label="uninstall job {jobId}",
        expects=_A_STATUS,
        send=lambda _: Send(json={}),
        parse=_acted("uninstall"),
        advice=_BUSY,
        question=uninstall_question,
    ),
)
