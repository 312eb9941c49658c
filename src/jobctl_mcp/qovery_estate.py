"""Qovery jobs found by what operators call them (name, project, environment), with their states, and a job's
recent deployments with the log lines that say why one failed. Read-only tools."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from jobctl_mcp.client import Route, Send, json_object, json_str, plain_text
from jobctl_mcp.qovery import GET_JOB, ORGANIZATIONS, JobId, QoveryClient
from jobctl_mcp.spec import READ, Advice, AnySpec, ToolInput, ToolOutput, ToolSpec, VendorText, page_of

# The official Qovery OpenAPI spec: listServicesByOrganizationId, getEnvironmentJobStatus,
# listJobDeploymentHistoryV2, listEnvironmentLogs.
SERVICES = Route("GET", "/organization/{organizationId}/services")
JOB_STATES = Route("GET", "/environment/{environmentId}/job/status")
DEPLOYMENTS = Route("GET", "/job/{jobId}/deploymentHistoryV2")
LOGS = Route("GET", "/environment/{environmentId}/logs")

_SERVICE_LIST = "a service list"
_DEPLOYMENT_LIST = "a deployment list"

Text = Annotated[str, Field(min_length=1, max_length=256)]


class Place(ToolOutput):
    id: str
    name: VendorText


class ListedJob(ToolOutput):
    id: str
    name: VendorText
    jobType: VendorText | None = Field(default=None, description="CRON or LIFECYCLE")
    project: Place
    environment: Place
    state: VendorText | None = Field(default=None, description="Deployment state, e.g. DEPLOYED, STOPPED, ...ERROR")
    deploymentStatus: VendorText | None = Field(
        default=None, description="UP_TO_DATE, or OUT_OF_DATE when its configuration changed since it was deployed"
    )


class JobList(ToolOutput):
    total: int = Field(description="Jobs matching the filters, before paging")
    offset: int
    nextOffset: int | None = Field(description="Offset of the next page; null on the last page")
    jobs: list[ListedJob]


class ListJobsInput(ToolInput):
    name: Text | None = Field(default=None, description="Part of the job's name, any case; an exact match comes first")
    project: Text | None = Field(default=None, description="Project name or id")
    environment: Text | None = Field(default=None, description="Environment name (e.g. production) or id")
    limit: int = Field(default=20, ge=1, le=100, description="Jobs per page")
    offset: int = Field(default=0, ge=0, description="Jobs to skip, for the next page")


def _is(wanted: str | None, place: Place) -> bool:
    return wanted is None or wanted.lower() in (place.id.lower(), place.name.lower())


def _listed(service: dict[str, Any]) -> ListedJob | None:
    values = {key: json_str(service.get(key)) for key in _SERVICE_KEYS}
    if service.get("service_type") != "JOB" or any(value is None for value in values.values()):
        return None
    return ListedJob(
        id=str(values["id"]),
        name=str(values["name"]),
        jobType=json_str(service.get("job_type")),
        project=Place(id=str(values["project_id"]), name=str(values["project_name"])),
        environment=Place(id=str(values["environment_id"]), name=str(values["environment_name"])),
    )


_SERVICE_KEYS = ("id", "name", "project_id", "project_name", "environment_id", "environment_name")


def _services(data: Any) -> list[ListedJob] | None:
    results = json_object(data).get("results")
    if not isinstance(results, list):
        return None
    return [job for job in map(_listed, map(json_object, results)) if job is not None]  # pyright: ignore[reportUnknownArgumentType]


def _states(data: Any) -> dict[str, dict[str, Any]] | None:
    results = json_object(data).get("results")
    if not isinstance(results, list):
        return None
    statuses = [json_object(status) for status in results]  # pyright: ignore[reportUnknownVariableType]
    return {str(status["id"]): status for status in statuses if json_str(status.get("id"))}


async def list_jobs(client: QoveryClient, args: ListJobsInput) -> JobList:
    jobs: list[ListedJob] = []
    for organization in await client.organization_ids():
        label = f"list services of organization {organization}"
        path = {"organizationId": organization}
        jobs += await client.call(label, SERVICES, _services, _SERVICE_LIST, path=path)
    wanted = args.name.lower() if args.name else None
    jobs = [
        job
        for job in jobs
        if (wanted is None or wanted in job.name.lower()) and _is(args.project, job.project)
        and _is(args.environment, job.environment)
    ]  # fmt: skip
    # An exact name first: "nightly-report" before "nightly-report-v2". Then by where the jobs live.
    jobs.sort(key=lambda job: (job.name.lower() != wanted, job.name.lower(), job.project.name, job.environment.name))
    page, next_offset = page_of(jobs, args.offset, args.limit)
    states: dict[str, dict[str, Any]] = {}
    # Only the environments of the jobs shown: one request each, whatever the organization's size.
    for environment in dict.fromkeys(job.environment.id for job in page):
        label = f"get job states of environment {environment}"
        path = {"environmentId": environment}
        states |= await client.call(label, JOB_STATES, _states, "a list of job states", path=path)
    shown = [
        job.model_copy(
            update={
                "state": json_str(states.get(job.id, {}).get("state")),
                "deploymentStatus": json_str(states.get(job.id, {}).get("service_deployment_status")),
            }
        )
        for job in page
    ]
    return JobList(total=len(jobs), offset=args.offset, nextOffset=next_offset, jobs=shown)


class Deployment(ToolOutput):
    id: str | None = Field(description="The deployment's execution id")
    status: VendorText = Field(description="e.g. DEPLOYED, or a state ending in ERROR")
    triggeredBy: VendorText | None = None
    origin: VendorText | None = None
    version: VendorText | None = Field(default=None, description="Image tag or commit deployed")
    startedAt: str | None = None
    durationSeconds: float | None = None


class LogLine(ToolOutput):
    time: str | None = None
    step: VendorText | None = None
    message: VendorText
    error: bool = False


class DeploymentLog(ToolOutput):
    deploymentId: str
    lines: list[LogLine] = Field(description="Error lines first, then the last lines of the deployment")


class DeploymentList(ToolOutput):
    jobId: str
    deployments: list[Deployment] = Field(description="Newest first")
    log: DeploymentLog | None = Field(
        description="The log of deploymentId, or of the newest failed deployment shown; null when there is none"
    )


class ListDeploymentsInput(ToolInput):
    jobId: JobId
    limit: int = Field(default=5, ge=1, le=20, description="Deployments to return, newest first")
    deploymentId: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = Field(
        default=None, description="Show this deployment's log (an id from this list); default: the newest failed one"
    )
    logLines: int = Field(default=20, ge=1, le=200, description="Log lines to return at most")


def _deployment(entry: dict[str, Any]) -> Deployment | None:
    status = json_str(entry.get("status"))
    if status is None:
        return None
    identifier, audit = json_object(entry.get("identifier")), json_object(entry.get("auditing_data"))
    details = json_object(entry.get("details"))
    commit = json_str(json_object(details.get("commit")).get("git_commit_id"))
    created, updated = json_str(audit.get("created_at")), json_str(audit.get("updated_at"))
    return Deployment(
        id=json_str(identifier.get("execution_id")),
        status=status,
        triggeredBy=json_str(audit.get("triggered_by")),
        origin=json_str(audit.get("origin")),
        version=json_str(details.get("tag")) or (commit[:12] if commit else None),
        startedAt=created,
        durationSeconds=_seconds_between(created, updated),
    )


def _seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        began, ended = datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))
        return round((ended - began).total_seconds(), 1)
    except (TypeError, ValueError):
        return None


def _deployments(data: Any) -> list[Deployment] | None:
    results = json_object(data).get("results")
    if not isinstance(results, list):
        return None
    return [d for d in map(_deployment, map(json_object, results)) if d is not None]  # pyright: ignore[reportUnknownArgumentType]


def _log_lines(data: Any, job_id: str, deployment: str, most: int) -> list[LogLine] | None:
    if not isinstance(data, list):
        return None
    lines: list[LogLine] = []
    for entry in map(json_object, data):  # pyright: ignore[reportUnknownArgumentType]
        details = json_object(entry.get("details"))
        if json_object(details.get("transmitter")).get("id") != job_id:
            continue
        if details.get("execution_id") not in (None, deployment):
            continue
        error = json_object(entry.get("error"))
        text = json_str(error.get("user_log_message")) or json_str(
            json_object(entry.get("message")).get("safe_message")
        )
        if text is None:
            continue
        hint = json_str(error.get("hint_message"))
        lines.append(
            LogLine(
                time=json_str(entry.get("timestamp")),
                step=json_str(json_object(details.get("stage")).get("step")),
                message=plain_text(f"{text} ({hint})" if hint else text, 500),
                error=bool(error),
            )
        )
    errors = [line for line in lines if line.error]
    rest = [line for line in lines if not line.error]
    return (errors + rest[-most:])[:most] if errors else rest[-most:]


async def list_deployments(client: QoveryClient, args: ListDeploymentsInput) -> DeploymentList:
    job_id = str(args.jobId)
    send = Send(params={"pageSize": args.limit})
    label = f"list deployments of job {job_id}"
    deployments = (
        await client.call(label, DEPLOYMENTS, _deployments, "a deployment list", path={"jobId": job_id}, send=send)
    )[: args.limit]
    chosen = args.deploymentId or next(
        (d.id for d in deployments if d.id and (d.status.endswith("ERROR") or d.status == "CANCELED")), None
    )
    log = None
    if chosen is not None:
        environment = json_str(json_object((await client.get_job(args.jobId)).get("environment")).get("id"))
        if environment is not None:
            label = f"read the log of deployment {chosen}"
            path, query = {"environmentId": environment}, Send(params={"version": chosen})

            def lines(data: Any) -> list[LogLine] | None:
                return _log_lines(data, job_id, chosen, args.logLines)

            log = DeploymentLog(
                deploymentId=chosen, lines=await client.call(label, LOGS, lines, "a log", path=path, send=query)
            )
    return DeploymentList(jobId=job_id, deployments=deployments, log=log)


_FIND = Advice(not_found="Find job ids by name with qovery-list-jobs.")

QOVERY_ESTATE_TOOLS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="qovery-list-jobs",
        vendor="qovery",
        title="Qovery: find jobs",
        description="Qovery: find jobs by name, project and environment, with their jobId and deployment state. "
        "Start here to turn a job's name into its jobId; a name found in several environments is listed once "
        "for each: ask which is meant.",
        hints=READ,
        input=ListJobsInput,
        output=JobList,
        route=SERVICES,
        expects=_SERVICE_LIST,
        reads=(ORGANIZATIONS, JOB_STATES),
        run=list_jobs,
        board=True,
    ),
    ToolSpec(
        name="qovery-list-deployments",
        vendor="qovery",
        title="Qovery: list a job's deployments",
        description="Qovery: a job's recent deployments (status, who or what triggered it, version, start, duration) "
        "and the log of the newest failed one, or of deploymentId, error lines first: why a deployment failed.",
        hints=READ,
        input=ListDeploymentsInput,
        output=DeploymentList,
        route=DEPLOYMENTS,
        expects=_DEPLOYMENT_LIST,
        reads=(GET_JOB, LOGS),
        run=list_deployments,
        advice=_FIND,
        board=True,
    ),
)
