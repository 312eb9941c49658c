"""Commvault: the client (Authtoken, POST /Login with one re-login on 401, errors inside HTTP 200 answers),
compact job models, and the seven Commvault tools."""

from __future__ import annotations

import base64
import logging
import platform
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

import anyio
from pydantic import BeforeValidator, Field, SecretStr, field_serializer, model_validator

from jobctl_mcp.client import (
    HttpClient,
    RetryPolicy,
    Route,
    Send,
    VendorClient,
    json_int,
    json_list,
    json_number,
    json_object,
    json_str,
    plain_text,
    vendor_message,
)
from jobctl_mcp.errors import AuthError, JobctlError, NotFoundError, VendorAPIError, VendorError, sentences
from jobctl_mcp.spec import READ, Advice, AnySpec, Hints, ToolInput, ToolOutput, ToolSpec, VendorText, whole_number

log = logging.getLogger(__name__)
T = TypeVar("T")

LOGIN = Route("POST", "/Login")
CREATE_TASK = Route("POST", "/CreateTask")
LIST_JOBS = Route("GET", "/Job")
GET_JOB = Route("GET", "/Job/{jobId}")
KILL = Route("POST", "/Job/{jobId}/action/kill")
# There is no /action/suspend: Commvault suspends with /action/pause (Commvault's REST API documentation,
# "POST Job Suspend"; cvpysdk services.py, SUSPEND_JOB).
PAUSE = Route("POST", "/Job/{jobId}/action/pause")
RESUME = Route("POST", "/Job/{jobId}/action/resume")
# Why a job waits or failed, who started and stopped it (cvpysdk job.py: _get_job_details, get_events).
JOB_DETAILS = Route("POST", "/JobDetails", reads_only=True)
EVENTS = Route("GET", "/Events")

# How Commvault refuses an id it does not know, inside a 200 ("Job ID [1234] is not valid.").
_NO_SUCH_JOB = re.compile(r"\bjob ?id \[?\d*\]? ?is not valid\b", re.IGNORECASE)
_TOKEN_PREFIXES = ("QSDK ", "SAML ", "Bearer ")
_NARROW = "To ask for less, narrow the query with lookupTime, jobFilter or clientId, or a smaller limit."
_TAG = re.compile(r"<[^>]+>")
_IMMEDIATE = {"initiatedFrom": 2, "taskType": 1, "policyType": 0, "taskFlags": {"disabled": False}}
_BACKUP, _RESTORE = 2, 3  # subTaskType values (Commvault's backup task XML template; cvpysdk subclient.py)


def body_error(data: Any, depth: int = 0) -> str | None:
    """The failure Commvault reported inside a 2xx answer, if any: in the shapes cvpysdk job.py accepts
    (errors[].errList[], errorCode with errorMessage) and the Login and JobDetails ones (errList, error.errList)."""
    body = json_object(data)
    code = json_int(body.get("errorCode"))
    if code is not None and code != 0:
        return vendor_message(body) or f"error code {code}"
    for key in ("errList", "errorList", "errors"):
        if body.get(key):
            return vendor_message(body[key]) or f"{key} was not empty"
    nested = body.get("error")
    return body_error(nested, depth + 1) if isinstance(nested, dict) and depth < 3 else None


def iso_time(seconds: Any) -> str | None:
    # Commvault times are Unix seconds; 0 means "not yet".
    value = json_number(seconds)
    if value is None or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):  # beyond the year 9999: not a time
        return None


def _text(value: Any) -> str | None:
    # Pending and failure reasons often carry HTML markup from the CommCell console.
    return plain_text(_TAG.sub(" ", value)) or None if isinstance(value, str) else None


class Job(ToolOutput):
    """A compact Commvault job summary."""

    jobId: int
    status: VendorText
    jobType: VendorText | None = None
    client: VendorText | None = None
    clientId: int | None = None
    subclient: VendorText | None = None
    subclientId: int | None = None
    backupLevel: VendorText | None = None
    percentComplete: float | None = None
    startTime: str | None = Field(default=None, description="ISO 8601, UTC")
    endTime: str | None = Field(default=None, description="ISO 8601, UTC; null while the job is active")
    phase: VendorText | None = None
    reason: VendorText | None = Field(default=None, description="Why the job waits or failed, as Commvault says")
    failedFiles: int | None = Field(default=None, description="Items a job completed with errors could not copy")
    failedFolders: int | None = None

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Self:
        """The summary of a jobSummary whose jobId was checked (see _job_page); other fields are read defensively."""
        source = json_object(summary.get("subclient"))
        return cls(
            jobId=json_int(summary.get("jobId")) or 0,
            status=json_str(summary.get("status")) or json_str(summary.get("localizedStatus")) or "Unknown",
            jobType=json_str(summary.get("jobType")) or json_str(summary.get("localizedOperationName")),
            client=json_str(source.get("clientName")) or json_str(summary.get("destClientName")),
            clientId=json_int(source.get("clientId")),
            subclient=json_str(source.get("subclientName")) or json_str(summary.get("subclientName")),
            subclientId=json_int(source.get("subclientId")),
            backupLevel=json_str(summary.get("backupLevelName")),
            percentComplete=json_number(summary.get("percentComplete")),
            startTime=iso_time(summary.get("jobStartTime")),
            endTime=iso_time(summary.get("jobEndTime")),
            phase=_text(summary.get("currentPhaseName")),
            reason=_reason(summary),
            # Zero failed items says nothing an agent needs: only a job that completed with errors shows them.
            failedFiles=json_int(summary.get("totalFailedFiles")) or None,
            failedFolders=json_int(summary.get("totalFailedFolders")) or None,
        )


# A job is finished when its status holds one of these words, as cvpysdk decides (job.py, is_finished).
FINISHED = re.compile(r"completed|killed|committed|failed", re.IGNORECASE)
FAILED = re.compile(r"killed|failed", re.IGNORECASE)


def _reason(summary: dict[str, Any]) -> str | None:
    # Commvault keeps pendingReason on some finished jobs: once a job has ended, a reason to wait is stale;
    # a failed job's reason is why it failed.
    status = json_str(summary.get("status")) or ""
    if FINISHED.search(status) and not re.search("failed", status, re.IGNORECASE):
        return None
    return _text(summary.get("pendingReason"))


class Event(ToolOutput):
    time: str | None = Field(default=None, description="ISO 8601, UTC")
    severity: str
    description: VendorText


class JobDetails(Job):
    startedBy: VendorText | None = None
    stoppedBy: VendorText | None = Field(default=None, description="Who suspended or killed the job, and when")
    events: list[Event] = Field(
        default_factory=list[Event], description="The job's latest events, errors and warnings first"
    )
    raw: dict[str, Any] | None = Field(default=None, description="Commvault's full jobSummary, when raw=true")


class JobList(ToolOutput):
    total: int = Field(description="Jobs matching the filters, before paging")
    offset: int
    nextOffset: int | None = Field(description="Offset of the next page; null on the last page")
    jobs: list[Job] = Field(description="Each job without its null fields")
    note: str | None = Field(default=None, description="Set when Commvault sent more than a page: how to ask for less")

    @field_serializer("jobs")
    def _without_nulls(self, jobs: list[Job]) -> list[dict[str, Any]]:
        # A page of jobs is what an agent reads most; a sixth of it was fields that were null.
        return [job.model_dump(mode="json", exclude_none=True) for job in jobs]


class JobAction(ToolOutput):
    jobId: int
    action: Literal["kill", "suspend", "resume"]
    status: str | None = Field(description="The job's status read right after the request; null if unreadable")


class TaskStarted(ToolOutput):
    taskId: int
    jobIds: list[int] = Field(description="Jobs the task started; follow them with commvault-get-job-details")


class BackupStarted(TaskStarted):
    note: str | None = Field(default=None, description="Set when another backup of the subclient is active")


class CommvaultClient(VendorClient):
    vendor = "Commvault"
    too_large_hints: ClassVar[Mapping[Route, str]] = {LIST_JOBS: _NARROW}

    def __init__(
        self,
        http: HttpClient,
        policy: RetryPolicy,
        *,
        api_key: SecretStr | None = None,
        username: str | None = None,
        password: SecretStr | None = None,
        dry_run: bool = False,
    ) -> None:
        super().__init__(http, policy, dry_run=dry_run)
        self._token = _with_prefix(api_key.get_secret_value()) if api_key else None
        self._login = (username, password) if api_key is None and username and password else None
        self._login_lock = anyio.Lock()
        self._logins: int = 0
        self._login_failure: JobctlError | None = None

    async def auth_headers(self) -> dict[str, str]:
        if self._token is None:
            before = self._logins
            async with self._login_lock:
                if self._token is None:
                    if self._logins != before and self._login_failure is not None:
                        # A login tried while this request waited for it failed: requests sent together share its
                        # answer, so that a wrong password costs one refused login (Commvault locks accounts).
                        raise self._login_failure
                    self._logins += 1
                    try:
                        self._token = await self._log_in()
                    except JobctlError as exc:
                        self._login_failure = exc
                        raise
                    self._login_failure = None
        return {"Authtoken": self._token}

    async def reauthenticate(self, rejected: Mapping[str, str]) -> bool:
        if self._login is None:
            return False  # an API key cannot be renewed here
        async with self._login_lock:
            # Another call may have logged in again already; only drop the token that was refused.
            if self._token == rejected.get("Authtoken"):
                self._token = None
        return True

    def secrets(self) -> list[str]:
        values = [self._token, self._token.partition(" ")[2]] if self._token else []
        if self._login is not None:
            password = self._login[1].get_secret_value()
            values += [password, base64.b64encode(password.encode()).decode()]
        return [value for value in values if value]

    def hint(self, status: int) -> str:
        if status == 401:
            if self._login:
                return "The session was refused after a fresh login: check COMMVAULT_USERNAME's rights."
            return "The Authtoken was refused (expired or invalid): set a fresh COMMVAULT_API_KEY."
        if status == 404:
            return "Check the id."
        return super().hint(status)

    async def _log_in(self) -> str:
        assert self._login is not None, "no API key and no login configured"
        username, password = self._login
        body = {
            "mode": 4,
            "username": username,
            "password": base64.b64encode(password.get_secret_value().encode()).decode(),
            "deviceId": f"jobctl-mcp@{platform.node()}",
            "clientType": 30,
        }
        # A login creates a session and nothing else: resending it after a timeout is harmless.
        data = json_object(
            await self.request("login", LOGIN, json=body, idempotent=True, authenticate=False, changes_state=False)
        )
        token = data.get("token")
        if not isinstance(token, str) or not token:
            reason = vendor_message(data.get("errList")) or "no token in the answer"
            if data.get("isAccountLocked") is True:
                reason += f" (account locked for {json_int(data.get('remainingLockTime')) or '?'}s)"
            hint = "Check COMMVAULT_USERNAME and COMMVAULT_PASSWORD."
            raise AuthError(self.vendor, "login", 200, self.scrub(reason), hint)
        log.info("Commvault: logged in as %s", username)
        return _with_prefix(token)

    def error_inside(self, operation: str, route: Route, data: Any) -> VendorError | None:  # noqa: ARG002
        # Commvault reports many refusals inside HTTP 200 answers (its REST API documentation; cvpysdk job.py).
        if (error := body_error(data)) is not None:
            # An action on a job that does not exist is refused this way too: that is a missing job, not a state.
            kind = NotFoundError if _NO_SUCH_JOB.search(error) else VendorAPIError
            return kind(self.vendor, operation, 200, self.scrub(error))
        return None

    async def get_job(self, job_id: int) -> JobDetails:
        """One job's summary, with Commvault's own jobSummary as `raw`."""
        return await self.call(
            f"get job {job_id}", GET_JOB, lambda data: read_job(data, job_id), JOB_LIST, path={"jobId": job_id}
        )


JOB_LIST = "a job list"


def _with_prefix(token: str) -> str:
    # Commvault tokens carry their scheme ("QSDK ..."); a bare one is a QSDK token (cvpysdk does the same).
    return token if token.startswith(_TOKEN_PREFIXES) else f"QSDK {token}"


def _job_page(data: Any) -> tuple[int, list[dict[str, Any]], int] | None:
    """The total, the visible job summaries and how many hidden ones a GET /Job answer holds; None if `data` is
    not one (Commvault's REST API documentation, "GET Job"; cvpysdk job.py).

    An unknown job id answers {"totalRecordsWithoutPaging": 0} with no "jobs" at all.
    """
    body = json_object(data)
    if "totalRecordsWithoutPaging" not in body and "jobs" not in body:
        return None
    total, entries = json_int(body.get("totalRecordsWithoutPaging", 0)), body.get("jobs", [])
    if total is None or not isinstance(entries, list):
        return None
    summaries = [json_object(json_object(entry).get("jobSummary")) for entry in entries]  # pyright: ignore[reportUnknownVariableType]
    # isVisible false marks internal jobs the CommCell console hides too; a summary without a job id is no job.
    jobs = [s for s in summaries if json_int(s.get("jobId"))]
    visible = [s for s in jobs if s.get("isVisible", True) is not False]
    return total, visible, len(jobs) - len(visible)


# ---- tool inputs -------------------------------------------------------------------------------

EntityId = Annotated[int, BeforeValidator(whole_number), Field(gt=0)]
JobId = Annotated[EntityId, Field(description="Commvault job id, an integer")]
Name = Annotated[str, Field(min_length=1, max_length=256)]


class JobIdInput(ToolInput):
    jobId: JobId


class JobDetailsInput(JobIdInput):
    raw: bool = Field(default=False, description="Also return Commvault's full jobSummary")


class ListJobsInput(ToolInput):
    clientId: EntityId | None = Field(default=None, description="Only jobs of this client")
    jobFilter: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_, ]{1,200}$",
        description="Job types, comma-separated (Backup, Restore, ...); 'All' for every type. "
        "Omitted: backup jobs only, as Commvault does",
    )
    jobCategory: Literal["Active", "Finished", "All"] = Field(default="All", description="Active, Finished or All jobs")
    lookupTime: int | None = Field(
        default=None, ge=1, le=87600, description="Hours back to look for finished jobs (Commvault's default: a year)"
    )
    limit: int = Field(default=20, ge=1, le=500, description="Jobs per page")
    offset: int = Field(default=0, ge=0, description="Jobs to skip, for the next page")


_BACKUP_OPERATION = 2  # operationType of a backup; a restore is 1001 (cvpysdk instance.py)
_RESTORE_OPERATION = 1001
_TASK_SHAPE = "body must be a CreateTask request: {'taskInfo': {'associations': [...], 'subTasks': [...]}}"


def _key(node: dict[str, Any], name: str) -> Any:
    """The value under `name` in a body, matched as Commvault matches keys: without regard to case. Two spellings of
    one key would let the check read one and the vendor act on the other, so they are refused."""
    found = [key for key in node if key.lower() == name.lower()]
    if len(found) > 1:
        raise ValueError(f"body spells {name!r} more than once ({', '.join(map(repr, found))})")
    return node[found[0]] if found else None


def _code(value: Any) -> int | None:
    """A type code as Commvault reads it: 2, 2.0 and "2" are all 2."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else json_int(value.strip() if isinstance(value, str) else None)


def _mentions(node: Any, word: str) -> bool:
    """Whether any key in `node`, at any depth, holds `word` (without regard to case)."""
    if isinstance(node, dict):
        items: dict[Any, Any] = node  # pyright: ignore[reportUnknownVariableType]
        return any(word in str(key).lower() or _mentions(value, word) for key, value in items.items())
    if isinstance(node, list):
        return any(_mentions(item, word) for item in node)  # pyright: ignore[reportUnknownVariableType]
    return False


def _subtasks(body: dict[str, Any]) -> list[dict[str, Any]]:
    subtasks = _key(json_object(_key(body, "taskInfo")), "subTasks")
    if not isinstance(subtasks, list) or not subtasks or not all(isinstance(s, dict) for s in subtasks):  # pyright: ignore[reportUnknownVariableType]
        raise ValueError(_TASK_SHAPE)
    return subtasks  # pyright: ignore[reportUnknownVariableType]


def _kind(subtask: dict[str, Any]) -> tuple[int | None, int | None, Any]:
    """A subtask's (subTaskType, operationType, options)."""
    head = json_object(_key(subtask, "subTask"))
    return _code(_key(head, "subTaskType")), _code(_key(head, "operationType")), _key(subtask, "options")


def _backup_body(body: dict[str, Any]) -> dict[str, Any]:
    """`body` if every subtask in it is positively a backup (an allow-list: anything else is refused)."""
    for subtask in _subtasks(body):
        sub_task_type, operation, _ = _kind(subtask)
        if sub_task_type != _BACKUP or operation not in (None, _BACKUP_OPERATION):
            raise ValueError(f"body must only hold backup subtasks (subTask.subTaskType {_BACKUP}, operationType 2)")
    if _mentions(body, "restore"):
        raise ValueError("body must be a backup request: it carries restore options")
    return body


@dataclass(frozen=True)
class RestorePlan:
    """What a restore will do, as a human must see it before approving: read from the arguments or the body."""

    paths: tuple[str, ...]
    source: str
    in_place: bool
    destination_path: str | None
    destination_client: str
    overwrite: bool

    def question(self) -> str:
        shown = ", ".join(plain_text(path, 120) for path in self.paths[:3])
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        paths = f"{len(self.paths)} path(s) ({shown}{more})"
        source = plain_text(self.source, 200)
        overwrite = ", overwriting existing files" if self.overwrite else ""
        if self.in_place:
            return f"Restore {paths} from Commvault {source} in place{overwrite}?"
        where = f"{plain_text(self.destination_path or '', 200)} on {plain_text(self.destination_client, 120)}"
        return f"Restore {paths} from Commvault {source} into {where}{overwrite}?"


def _restore_plan(body: dict[str, Any]) -> RestorePlan:
    """The plan a restore body carries; refused when its paths, destination, in-place or overwrite choices cannot
    be read, because a human cannot approve what they are not shown."""
    subtasks = _subtasks(body)
    if len(subtasks) != 1:
        raise ValueError("body must hold exactly one restore subtask")
    sub_task_type, operation, options = _kind(subtasks[0])
    if sub_task_type != _RESTORE or operation != _RESTORE_OPERATION:
        raise ValueError(f"body must only hold restore subtasks (subTask.subTaskType {_RESTORE}, operationType 1001)")
    restore = json_object(_key(json_object(options), "restoreOptions"))
    paths = _key(json_object(_key(restore, "fileOption")), "sourceItem")
    destination = json_object(_key(restore, "destination"))
    in_place, target = _key(destination, "inPlace"), json_object(_key(destination, "destClient"))
    folders = _key(destination, "destPath")
    client = _key(target, "clientName") or _key(target, "clientId")
    unreadable = "body must show what it restores: options.restoreOptions with fileOption.sourceItem (paths), "
    unreadable += "destination.inPlace, destination.destClient and, unless in place, destination.destPath"
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):  # pyright: ignore[reportUnknownVariableType]
        raise ValueError(unreadable)
    if not isinstance(in_place, bool) or not isinstance(client, str | int) or isinstance(client, bool):
        raise ValueError(unreadable)
    folders = json_list(folders)
    if not in_place and not (len(folders) == 1 and isinstance(folders[0], str)):
        raise ValueError(unreadable)
    associations = json_list(_key(json_object(_key(body, "taskInfo")), "associations"))
    association = json_object(associations[0]) if associations else {}
    source = [f"{k} {_key(association, k)}" for k in ("clientName", "clientId", "subclientId") if _key(association, k)]
    return RestorePlan(
        paths=tuple(paths),  # pyright: ignore[reportUnknownArgumentType]
        source=", ".join(source) or "(source as given in the body)",
        in_place=in_place,
        destination_path=None if in_place else str(folders[0]),
        destination_client=f"client {client}",
        # Any overwrite option set anywhere counts: the human is told the worst the body may do.
        overwrite=_overwrites(restore),
    )


def _overwrites(node: Any) -> bool:
    if isinstance(node, dict):
        items: dict[Any, Any] = node  # pyright: ignore[reportUnknownVariableType]
        return any(
            ("overwrite" in str(key).lower() and value not in (False, None, 0, "", "false")) or _overwrites(value)
            for key, value in items.items()
        )
    if isinstance(node, list):
        return any(_overwrites(item) for item in node)  # pyright: ignore[reportUnknownVariableType]
    return False


class RunBackupInput(ToolInput):
    subclientId: EntityId | None = Field(default=None, description="The subclient to back up (use this or body)")
    backupLevel: Literal["Full", "Incremental", "Differential", "Synthetic_full"] = Field(
        default="Incremental", description="What to back up: everything, or what changed since the last backup"
    )
    clientName: Name | None = Field(default=None, description="The subclient's client, to help Commvault resolve it")
    backupsetName: Name | None = Field(default=None, description="The subclient's backup set")
    body: dict[str, Any] | None = Field(
        default=None,
        description="A full CreateTask backup request {'taskInfo': ...}, sent as given (instead of subclientId)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.body is None) == (self.subclientId is None):
            raise ValueError("give either subclientId or body")
        if self.body is not None:
            _backup_body(self.body)
        return self

    def task(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        association = {"subclientId": self.subclientId, "_type_": "SUBCLIENT_ENTITY"}
        association |= {k: v for k, v in (("clientName", self.clientName), ("backupsetName", self.backupsetName)) if v}
        options: dict[str, Any] = {"backupLevel": self.backupLevel.upper()}
        if self.backupLevel == "Synthetic_full":
            options |= {"runIncrementalBackup": False, "incLevel": "BEFORE_SYNTH"}
        subtask = {"subTaskType": _BACKUP, "operationType": 2}
        return _task_info(association, subtask, {"backupOpts": options, "commonOpts": _COMMON_OPTS})


class RunRestoreInput(ToolInput):
    clientId: EntityId | None = Field(
        default=None, description="Source client id (with subclientId and paths, or use body)"
    )
    clientName: Name | None = Field(default=None, description="Source client name")
    subclientId: EntityId | None = Field(default=None, description="Source subclient id")
    backupsetId: EntityId | None = Field(default=None, description="Source backup set id")
    instanceId: EntityId | None = Field(default=None, description="Source instance id")
    applicationId: int = Field(default=33, description="33 Windows file system, 29 Unix/Linux file system")
    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] | None = Field(
        default=None, min_length=1, max_length=1000, description="Files or folders to restore, as backed up"
    )
    destinationClient: Name | None = Field(default=None, description="Client to restore to; default: the source client")
    inPlace: bool = Field(
        default=False, description="Restore to the original paths (overwrites there when overwrite=true)"
    )
    destinationPath: Annotated[str, Field(min_length=1, max_length=4096)] | None = Field(
        default=None, description="Folder to restore into, when not in place"
    )
    overwrite: bool = Field(default=False, description="Overwrite existing files unconditionally")
    body: dict[str, Any] | None = Field(default=None, description="A full CreateTask restore request, sent as given")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        typed = self.clientId is not None or self.subclientId is not None or self.paths is not None
        if self.body is not None:
            if typed:
                raise ValueError("give either body or clientId, subclientId and paths, not both")
            _restore_plan(self.body)
            return self
        if self.clientId is None or self.subclientId is None or not self.paths:
            raise ValueError("give clientId, subclientId and paths (or a full body)")
        if self.inPlace == (self.destinationPath is not None):
            raise ValueError("give either inPlace=true or a destinationPath")
        return self

    def plan(self) -> RestorePlan:
        """What this restore will do, for the human who approves it."""
        if self.body is not None:
            return _restore_plan(self.body)
        return RestorePlan(
            paths=tuple(self.paths or ()),
            source=f"client {self.clientName or self.clientId}, subclient {self.subclientId}",
            in_place=self.inPlace,
            destination_path=self.destinationPath,
            destination_client=self.destinationClient or self.clientName or f"client {self.clientId}",
            overwrite=self.overwrite,
        )

    def task(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        ids = {"clientId": self.clientId, "clientName": self.clientName, "subclientId": self.subclientId}
        ids |= {"backupsetId": self.backupsetId, "instanceId": self.instanceId}
        association = {k: v for k, v in ids.items() if v is not None}
        association |= {"applicationId": self.applicationId, "_type_": "SUBCLIENT_ENTITY"}
        source = {"clientName": self.clientName} if self.clientName else {"clientId": self.clientId}
        target = {"clientName": self.destinationClient} if self.destinationClient else source
        destination: dict[str, Any] = {"inPlace": self.inPlace, "destClient": target}
        if self.destinationPath is not None:
            destination["destPath"] = [self.destinationPath]
        restore = {
            "browseOption": {"backupset": source, "timeRange": {}},
            "commonOptions": {"unconditionalOverwrite": self.overwrite, "restoreACLs": True},
            "destination": destination,
            "fileOption": {"sourceItem": list(self.paths or []), "browseFilters": []},
        }
        subtask = {"subTaskType": _RESTORE, "operationType": 1001}
        return _task_info(association, subtask, {"restoreOptions": restore, "commonOpts": _COMMON_OPTS})


_COMMON_OPTS = {"jobDescription": "Started by jobctl-mcp"}


def _task_info(association: dict[str, Any], subtask: dict[str, int], options: dict[str, Any]) -> dict[str, Any]:
    step = {"subTaskOperation": 1, "subTask": subtask, "options": options}
    return {"taskInfo": {"associations": [association], "task": _IMMEDIATE, "subTasks": [step]}}


# ---- tools -------------------------------------------------------------------------------------


def parse_task(data: Any, _: ToolInput) -> TaskStarted | None:
    task_id = json_int(json_object(data).get("taskId"))
    if task_id is None:
        return None
    # jobIds arrive as strings (the CreateTask examples of Commvault's API documentation); scheduled tasks return
    # only a taskId (cvpysdk subclient.py, _process_backup_response).
    job_ids = [j for j in map(json_int, json_list(json_object(data).get("jobIds"))) if j is not None]
    return TaskStarted(taskId=task_id, jobIds=job_ids)


async def run_backup(client: CommvaultClient, args: RunBackupInput) -> BackupStarted:
    started = await client.call(
        "run backup", CREATE_TASK, lambda data: parse_task(data, args), _STARTED, send=Send(json=args.task())
    )
    # Commvault runs one backup of a subclient at a time: a second one queues behind the first. The agent is
    # told which job is ahead, so that its operator can tell a duplicate from a backup that is merely late.
    # The backup has started whatever these reads say: a failure costs the note, not the answer.
    try:
        note = await _already_active(client, started.jobIds)
    except JobctlError as exc:
        log.warning(
            "Commvault: backup task %s started, but its subclient's jobs could not be read: %s", started.taskId, exc
        )
        note = None
    return BackupStarted(**started.model_dump(), note=note)


async def _already_active(client: CommvaultClient, started: list[int]) -> str | None:
    if not started:
        return None
    # One list of the active backups shows the new job's subclient and the jobs ahead of it (a read of the job
    # itself would do no more, and a simulated job moves on at each read).
    query = ListJobsInput(jobFilter="Backup", jobCategory="Active", limit=100)
    listed = await client.call(
        "list active backups", LIST_JOBS, lambda data: parse_job_list(data, query), JOB_LIST,
        send=list_jobs_request(query),
    )  # fmt: skip
    job = next((job for job in listed.jobs if job.jobId == started[0]), None)  # a subclient's backup is one job
    if job is None or job.subclientId is None:
        return None
    ahead = sorted(
        other.jobId for other in listed.jobs if other.subclientId == job.subclientId and other.jobId < job.jobId
    )
    if not ahead:
        return None
    where = f"subclient {job.subclient or job.subclientId}" + (f" of {job.client}" if job.client else "")
    return sentences(
        f"Another job of the same {where} is active: job {', '.join(map(str, ahead))}",
        f"Job {job.jobId} is {job.status} (commvault-get-job-details says why)",
    )


def list_jobs_request(args: ListJobsInput) -> Send:
    query: dict[str, str | int] = {"jobCategory": args.jobCategory}
    if args.clientId is not None:
        query["clientId"] = args.clientId
    if args.jobFilter is not None:
        # An empty jobFilter asks for every job type; without one Commvault lists backups only.
        query["jobFilter"] = "" if args.jobFilter.strip().lower() == "all" else args.jobFilter
    if args.lookupTime is not None:
        query["completedJobLookupTime"] = args.lookupTime * 3600  # Commvault wants seconds
    # The docs list limit and offset as headers, the official MCP server sends query parameters: send both.
    paging = {"limit": str(args.limit), "offset": str(args.offset)}
    return Send(params={**query, **paging}, headers=paging)


def parse_job_list(data: Any, args: ListJobsInput) -> JobList | None:
    if (page := _job_page(data)) is None:
        return None
    total, summaries, hidden = page
    limit, offset, note = args.limit, args.offset, None
    if len(summaries) + hidden > limit:
        # More than a page: the vendor ignored the paging (limit and offset travel together), so page here,
        # and never hand the agent more than it asked for.
        total = len(summaries)
        summaries = summaries[offset : offset + limit]
        note = f"Commvault ignored the paging and sent all {total} jobs at once; this page was cut from them. "
        note += _NARROW
    elif hidden:
        # The vendor counts and pages internal jobs the console hides; this page holds fewer than it said.
        total -= hidden
        note = (
            f"Commvault counted {hidden} internal job(s) on this page that its console hides; they are left out. "
            "Other pages may hold more, so the total may still count some."
        )
    total = max(total, offset + len(summaries))
    jobs = [Job.from_summary(s) for s in summaries]
    more = offset + limit < total
    return JobList(total=total, offset=offset, nextOffset=offset + limit if more else None, jobs=jobs, note=note)


def read_job(data: Any, job_id: int) -> JobDetails | None:
    if (page := _job_page(data)) is None:
        return None
    _, summaries, _ = page
    if not summaries:
        if json_list(json_object(data).get("jobs")):
            return None  # entries, none of them readable as a job: an answer this reader cannot use, not a missing job
        # Commvault answers an unknown id with an empty list (cvpysdk job.py retries it for a job just started).
        raise NotFoundError(
            "Commvault",
            f"get job {job_id}",
            200,
            f"no job {job_id}",
            "A job started seconds ago may not be listed yet.",
        )
    return JobDetails.from_summary(summaries[0]).model_copy(update={"raw": summaries[0]})


async def get_job_details(client: CommvaultClient, args: JobDetailsInput) -> JobDetails:
    # The three reads go out together, so that against a distant CommServe the call waits one round trip, not three.
    summary: list[JobDetails | JobctlError] = []
    details: list[dict[str, Any] | JobctlError] = []
    events: list[list[Event] | JobctlError] = []
    async with anyio.create_task_group() as group:
        group.start_soon(_settle, summary, partial(client.get_job, args.jobId))
        group.start_soon(_settle, details, partial(
            client.call, f"get details of job {args.jobId}", JOB_DETAILS, _job_detail, "job details",
            send=Send(json={"jobId": args.jobId}),
        ))  # fmt: skip
        group.start_soon(_settle, events, partial(
            client.call, f"get events of job {args.jobId}", EVENTS, _events, "an event list",
            send=Send(params={"jobId": args.jobId}),
        ))  # fmt: skip
    if isinstance(job := summary[0], JobctlError):
        raise job
    why: dict[str, Any] = {"raw": job.raw if args.raw else None}
    # Who started it and why it waits come from the job's details, who stopped it from its events: both only add
    # to the summary, so a failure to read them costs the agent those fields, not the answer.
    detail, listed = details[0], events[0]
    if isinstance(detail, JobctlError) or isinstance(listed, JobctlError):
        failed = detail if isinstance(detail, JobctlError) else listed
        log.warning("Commvault: job %s read, but not its details or events: %s", args.jobId, failed)
        return job.model_copy(update=why)
    delay = _text(json_object(detail.get("progressInfo")).get("reasonForJobDelay"))
    if delay and (job.reason is None) and (not FINISHED.search(job.status) or FAILED.search(job.status)):
        why["reason"] = delay
    why["startedBy"] = json_str(json_object(detail.get("generalInfo")).get("jobStartedBy"))
    why["stoppedBy"] = _stopped_by([*(e.description for e in listed), delay or ""], listed, job)
    why["events"] = listed[:MAX_EVENTS]
    return job.model_copy(update=why)


async def _settle(into: list[T | JobctlError], read: Callable[[], Awaitable[T]]) -> None:
    """`read`'s answer, or the error it raised, appended to `into`: one failed read does not cancel the others."""
    try:
        into.append(await read())
    except JobctlError as exc:
        into.append(exc)


MAX_EVENTS = 10
_SEVERITY = {9: "Critical", 6: "Major", 3: "Minor", 0: "Information"}
_STOPPED = re.compile(r"\b(killed|suspended|paused)\b.*?\bby\b(?: user)? \[?([^\]\s,]+)", re.IGNORECASE)


def _job_detail(data: Any) -> dict[str, Any] | None:
    detail = json_object(json_object(json_object(data).get("job")).get("jobDetail"))
    return detail or None


def _events(data: Any) -> list[Event] | None:
    body = json_object(data)
    if data is not None and not isinstance(data, dict):
        return None
    # No commservEvents ({}): the job has no events, which is no error (cvpysdk raises, we report none).
    raw = [json_object(event) for event in json_list(body.get("commservEvents"))]
    ordered = sorted(raw, key=lambda e: (json_int(e.get("severity")) or 0, json_int(e.get("timeSource")) or 0))
    return [
        Event(
            time=iso_time(event.get("timeSource")),
            severity=_SEVERITY.get(json_int(event.get("severity")) or 0, "Information"),
            description=_text(event.get("description")) or "",
        )
        for event in reversed(ordered)
        if _text(event.get("description"))
    ]


def _stopped_by(texts: list[str], events: list[Event], job: Job) -> str | None:
    for text, event in zip(texts, [*events, None], strict=False):
        if found := _STOPPED.search(text):
            when = (event.time if event else None) or job.endTime
            return f"{found.group(1).lower()} by {found.group(2)}" + (f" at {when}" if when else "")
    return None


def _action(route: Route, action: Literal["kill", "suspend", "resume"]) -> Any:
    async def act(client: CommvaultClient, args: JobIdInput) -> JobAction:
        # Any 2xx answer without an error inside is a success, even an empty one (as cvpysdk job.py decides).
        await client.call(f"{action} job {args.jobId}", route, lambda _: True, "", path={"jobId": args.jobId})
        # Commvault only records the request; re-read so the agent sees where the job went.
        # The action succeeded whatever happens here, so a failed read must not look like a failure.
        try:
            status = (await client.get_job(args.jobId)).status
        except JobctlError as exc:
            log.warning(
                "Commvault: %s of job %s accepted, but the job could not be re-read: %s", action, args.jobId, exc
            )
            status = None
        return JobAction(jobId=args.jobId, action=action, status=status)

    return act


async def kill_question(client: CommvaultClient, args: JobIdInput) -> str:
    job = await client.get_job(args.jobId)
    what = " ".join(plain_text(part, 40) for part in (job.jobType, "job") if part)
    where = "/".join(plain_text(part, 120) for part in (job.client, job.subclient) if part)
    return (
        f"Kill Commvault {what} {job.jobId}{f' of {where}' if where else ''}, now {plain_text(job.status, 60)}? "
        "A killed job cannot be resumed."
    )


async def restore_question(client: CommvaultClient, args: RunRestoreInput) -> str:  # noqa: ARG001 (no job yet)
    return args.plan().question()


_STARTED = "a started task (no taskId)"
_FIND_JOBS = Advice(not_found="Find job ids with commvault-list-jobs.")


def _refused_unless(rule: str) -> Advice:
    return Advice(not_found=_FIND_JOBS.not_found, refused=f"Read the job with commvault-get-job-details: {rule}")


_WRITE = Hints(read_only=False, destructive=False, idempotent=False)
_DESTRUCTIVE = Hints(read_only=False, destructive=True, idempotent=False)

COMMVAULT_TOOLS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="commvault-run-backup-job",
        vendor="commvault",
        title="Commvault: run a backup job",
        description="Commvault: start a backup of one subclient now. Give subclientId (from "
        "commvault-list-subclients; backupLevel defaults to Incremental) or a full CreateTask backup request as "
        "body. Returns taskId and jobIds; follow a job with commvault-get-job-details. Each call starts another "
        "backup.",
        hints=_WRITE,
        input=RunBackupInput,
        output=BackupStarted,
        route=CREATE_TASK,
        label="run backup",
        expects=_STARTED,
        reads=(LIST_JOBS,),
        run=run_backup,
        advice=Advice(refused="Check the subclient and client ids or names."),
    ),
    ToolSpec(
        name="commvault-list-jobs",
        vendor="commvault",
        title="Commvault: list jobs",
        description="Commvault: list jobs, newest first, as compact summaries with the total count. Filter by "
        "clientId, job types (jobFilter; omitted = backup jobs only), jobCategory (Active, Finished, All) and "
        "lookupTime (hours back for finished jobs); page with limit and offset.",
        hints=READ,
        input=ListJobsInput,
        output=JobList,
        route=LIST_JOBS,
        label="list jobs",
        expects=JOB_LIST,
        send=list_jobs_request,
        parse=parse_job_list,
        board=True,
    ),
    ToolSpec(
        name="commvault-get-job-details",
        vendor="commvault",
        title="Commvault: get job details",
        description="Commvault: read one job's status, progress, phase, times, why it waits or failed, who "
        "started or stopped it, and its latest events. raw=true adds Commvault's full job summary.",
        hints=READ,
        input=JobDetailsInput,
        output=JobDetails,
        route=GET_JOB,
        expects=JOB_LIST,
        reads=(JOB_DETAILS, EVENTS),
        run=get_job_details,
        advice=_FIND_JOBS,
        board=True,
    ),
    ToolSpec(
        name="commvault-kill-running-job",
        vendor="commvault",
        title="Commvault: kill a running job",
        description="Commvault: kill an active job (Running, Waiting, Pending, Queued or Suspended). It ends as "
        "Killed and cannot be resumed; a killed backup must be started again. Returns the job's status read right "
        "after the request (usually Kill Pending).",
        hints=_DESTRUCTIVE,
        input=JobIdInput,
        output=JobAction,
        route=KILL,
        reads=(GET_JOB,),
        run=_action(KILL, "kill"),
        advice=_refused_unless("only active jobs can be killed."),
        question=kill_question,
    ),
    ToolSpec(
        name="commvault-resume-suspended-job",
        vendor="commvault",
        title="Commvault: resume a suspended job",
        description="Commvault: resume a Suspended job. Returns the job's status read right after the request.",
        hints=_WRITE,
        input=JobIdInput,
        output=JobAction,
        route=RESUME,
        reads=(GET_JOB,),
        run=_action(RESUME, "resume"),
        advice=_refused_unless("only Suspended jobs can be resumed."),
    ),
    ToolSpec(
        name="commvault-suspend-running-job",
        vendor="commvault",
        title="Commvault: suspend a running job",
        description="Commvault: suspend (pause) an active job; resume it later with commvault-resume-suspended-job. "
        "Returns the job's status read right after the request (usually Suspend Pending).",
        hints=_WRITE,
        input=JobIdInput,
        output=JobAction,
        route=PAUSE,
        reads=(GET_JOB,),
        run=_action(PAUSE, "suspend"),
        advice=_refused_unless("only active, preemptible jobs can be suspended."),
    ),
    ToolSpec(
        name="commvault-run-restore-job",
        vendor="commvault",
        title="Commvault: run a restore job",
        description="Commvault: restore files from a file-system backup, into destinationPath (on destinationClient, "
        "default the source client) or in place (inPlace=true, which overwrites data when overwrite=true). Give "
        "clientId, subclientId and paths (ids from commvault-list-subclients, paths from commvault-browse-backup), or "
        "a full CreateTask restore request as body. Returns taskId and jobIds.",
        hints=_DESTRUCTIVE,
        input=RunRestoreInput,
        output=TaskStarted,
        route=CREATE_TASK,
        label="run restore",
        expects=_STARTED,
        send=lambda args: Send(json=args.task()),
        parse=parse_task,
        question=restore_question,
        advice=Advice(refused="Check the subclient and client ids or names."),
    ),
)
