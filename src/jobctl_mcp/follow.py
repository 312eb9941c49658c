"""Following a job to its end: the wait-for-job tool (one call instead of an agent's polling loop, with progress
for the human) and the job resources that clients can attach to a conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BeforeValidator, Field, field_validator, model_validator

from jobctl_mcp import commvault, qovery
from jobctl_mcp.client import json_list, json_object
from jobctl_mcp.commvault import CommvaultClient, Job
from jobctl_mcp.errors import NotFoundError
from jobctl_mcp.qovery import JobStatus, QoveryClient
from jobctl_mcp.spec import READ, ToolInput, ToolOutput, ToolSpec, Vendors, report_progress, whole_number

# Finished means the status contains one of these words (as cvpysdk job.py decides).
_COMMVAULT_FINISHED = re.compile(r"completed|killed|committed|failed", re.IGNORECASE)
_COMMVAULT_FAILED = re.compile(r"killed|failed", re.IGNORECASE)
# qovery-cli (utils/qovery.go, WatchJob) stops on these states and fails on any state ending in ERROR.
_QOVERY_FINISHED = frozenset({"DEPLOYED", "STOPPED", "DELETED", "CANCELED", "RESTARTED"})


class WaitInput(ToolInput):
    vendor: Literal["commvault", "qovery"] = Field(description="Whose job: commvault or qovery")
    jobId: Annotated[int, BeforeValidator(whole_number), Field(gt=0)] | UUID = Field(
        description="A Commvault job id (integer) or a Qovery job id (UUID)"
    )
    timeoutSeconds: int = Field(default=300, ge=1, le=1800, description="How long to wait at most")

    def waits(self) -> float:
        return self.timeoutSeconds

    @field_validator("jobId", mode="before")
    @classmethod
    def _one_line_refusal(cls, value: object) -> object:
        # pydantic's own UUID errors quote the offending character, a newline included: refuse in one clean line.
        if isinstance(value, str) and not value.isdigit():
            try:
                return UUID(value)
            except ValueError:
                raise ValueError("give a Commvault job id (an integer) or a Qovery job id (a UUID)") from None
        return value

    @model_validator(mode="after")
    def _id_fits_vendor(self) -> Self:
        if self.vendor == "commvault" and not (isinstance(self.jobId, int) and self.jobId > 0):
            raise ValueError("a Commvault jobId is a positive integer")
        if self.vendor == "qovery" and not isinstance(self.jobId, UUID):
            raise ValueError("a Qovery jobId is a UUID")
        return self


class WaitResult(ToolOutput):
    vendor: str
    jobId: int | str = Field(description="As the vendor's tools give it: a Commvault integer, a Qovery UUID")
    finished: bool = Field(description="false: the job was still running when the wait ended; call again")
    succeeded: bool | None = Field(description="null while the job runs")
    state: str = Field(description="Commvault's status or Qovery's state when the wait ended")
    waitedSeconds: float
    polls: int
    note: str | None = None
    commvault: Job | None = Field(default=None, description="The last Commvault job summary")
    qovery: JobStatus | None = Field(default=None, description="The last Qovery job status")


@dataclass(frozen=True)
class Observation:
    state: str
    finished: bool
    succeeded: bool | None
    progress: float  # Commvault's percentComplete; Qovery has none
    message: str
    commvault: Job | None = None
    qovery: JobStatus | None = None
    note: str | None = None


async def observe_commvault(client: CommvaultClient, job_id: int) -> Observation:
    job = (await client.get_job(job_id)).model_copy(update={"raw": None})
    finished = bool(_COMMVAULT_FINISHED.search(job.status))
    succeeded = (not _COMMVAULT_FAILED.search(job.status)) if finished else None
    percent = job.percentComplete or 0.0
    message = " ".join(part for part in (job.status, f"{percent:g}%", job.phase) if part)
    return Observation(job.status, finished, succeeded, percent, message, commvault=Job(**job.model_dump()))


async def observe_qovery(client: QoveryClient, job_id: UUID, seen_before: bool) -> Observation:
    try:
        raw = await client.get_status(job_id)
    except NotFoundError:
        if not seen_before:
            raise
        # Qovery deletes in the background and then forgets the job: its status answers 404 (as Qovery's Terraform
        # provider waits for).
        return Observation("DELETED", True, True, 0.0, "DELETED", note="The job no longer exists: it was deleted.")
    status = JobStatus.from_vendor(raw)
    finished = status.state in _QOVERY_FINISHED or status.state.endswith("ERROR")
    succeeded = (status.state != "CANCELED" and not status.state.endswith("ERROR")) if finished else None
    steps = json_list(json_object(raw.get("steps")).get("details"))
    step = json_object(steps[-1]).get("step_name") if steps else None
    message = f"{status.state} ({step})" if step else status.state
    return Observation(status.state, finished, succeeded, 0.0, message, qovery=status)


async def wait_for_job(jobs: Vendors, args: WaitInput) -> WaitResult:
    polling = jobs.polling
    started = polling.clock()
    interval, polls, shown, changes, last_message = polling.first, 0, -1.0, 0, ""
    while True:
        if isinstance(args.jobId, int):
            seen = await observe_commvault(jobs.client("commvault"), args.jobId)
        else:
            seen = await observe_qovery(jobs.client("qovery"), args.jobId, seen_before=polls > 0)
        polls += 1
        if seen.message != last_message:
            changes, last_message = changes + 1, seen.message
        # Qovery has no percentage: its progress counts the states the job went through.
        progress = seen.progress if args.vendor == "commvault" else float(changes)
        if progress > shown:  # progress notifications must strictly increase
            await report_progress.get()(progress, 100.0 if args.vendor == "commvault" else None, seen.message)
            shown = progress
        waited = polling.clock() - started
        remaining = args.timeoutSeconds - waited
        if seen.finished or remaining <= 0:
            return _result(args, seen, waited, polls)
        await polling.sleep(min(interval, remaining))
        interval = min(interval * 2, polling.longest)


def _result(args: WaitInput, seen: Observation, waited: float, polls: int) -> WaitResult:
    note = seen.note
    if not seen.finished:
        note = f"Still {seen.state} after {waited:.0f} s; call wait-for-job again to keep waiting."
    return WaitResult(
        vendor=args.vendor,
        jobId=args.jobId if isinstance(args.jobId, int) else str(args.jobId),
        finished=seen.finished,
        succeeded=seen.succeeded,
        state=seen.state,
        waitedSeconds=round(waited, 1),
        polls=polls,
        note=note,
        commvault=seen.commvault,
        qovery=seen.qovery,
    )


WAIT_FOR_JOB = ToolSpec(
    name="wait-for-job",
    vendor=None,
    title="Commvault/Qovery: wait for a job to end",
    description="Commvault/Qovery: follow one job until it ends and return its last summary; use it after "
    "starting a backup, restore or deployment. Reaching timeoutSeconds is not an error: the result says the job "
    "still runs, and you may call again.",
    hints=READ,
    input=WaitInput,
    reads=(commvault.GET_JOB, qovery.GET_STATUS),
    output=WaitResult,
    run=wait_for_job,
    board=True,
)
