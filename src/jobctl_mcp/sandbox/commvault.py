"""Simulated Commvault Command Center REST API: Login, job lists, reads and actions, CreateTask (backup, restore),
clients, subclients, DoBrowse, JobDetails and Events.

Shapes follow Commvault's REST API documentation (documentation.commvault.com: GET Job, POST Job Details, GET Events,
GET Client, GET Subclient, POST Browse; api.commvault.com) and what its Python SDK reads (github.com/Commvault/cvpysdk:
job.py, client.py, subclient.py, backupset.py). Errors arrive inside HTTP 200 answers, as the SDK expects.
Only GET /Job/{jobId} moves an active job on, one step per read; other reads see it as it is.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

from . import commvault_browse
from .commvault_estate import (
    BACKUP_FAILURES,
    CLIENTS,
    FULL_DISK_CLIENTS,
    SEED_JOBS,
    STORAGE_POLICY,
    SUBCLIENTS,
    Client,
    JobSpec,
    Subclient,
)
from .credentials import COMMVAULT_API_KEY, COMMVAULT_PASSWORD, COMMVAULT_USERNAME
from .faults import Call, Endpoint, RecordedRequest, Reject, VendorSim, json_list, json_object

# webconsole/api is the legacy path of the same API (Commvault docs: "Available Web Services for REST API").
_ROOTS = ("/commandcenter/api", "/webconsole/api")
_ONE_YEAR = 31_536_000
_STEP = 25
_NIGHTLY_AT = 22 * 3600  # the plan's daily backup window opens at 22:00 UTC

# Active states (Commvault docs: Job Controller); every other status is finished.
_ACTIVE = frozenset(
    {"Running", "Waiting", "Pending", "Queued", "Suspended", "Suspend Pending", "Kill Pending", "Interrupt Pending"}
)
# A backup that ended this way holds data: it counts for lastBackupTime and its files can be browsed.
_SUCCEEDED = frozenset({"Completed", "Completed w/ one or more errors", "Completed w/ one or more warnings"})
_SETTLES = {"Waiting": "Running", "Suspend Pending": "Suspended", "Kill Pending": "Killed"}
# verb -> (states it is allowed from, resulting state, the word used in refusals) (Commvault docs: killing,
# suspending and resuming jobs).
_ACTIONS = {
    "kill": (frozenset({"Running", "Suspended", "Pending", "Queued", "Waiting"}), "Kill Pending", "kill"),
    "pause": (frozenset({"Running", "Waiting", "Pending", "Queued"}), "Suspend Pending", "suspend"),
    "resume": (frozenset({"Suspended"}), "Running", "resume"),
}
_BACKUP_LEVELS = {
    "FULL": (1, "Full"),
    "INCREMENTAL": (2, "Incremental"),
    "DIFFERENTIAL": (4, "Differential"),
    "SYNTHETIC_FULL": (8, "Synthetic Full"),
}
_JOB_TYPE_NUMBERS = {"4": "BACKUP"}  # jobFilter accepts numbers for the same types (docs: jobFilter values)

_ACCESS_DENIED = {  # illustrative text: the docs give the 401, not its body
    "errorCode": 401,
    "errorMessage": "Access denied: the Authtoken is missing, invalid or expired",
}
_LOGIN_ACCEPTED: dict[str, Any] = {
    "aliasName": "1",
    "userGUID": "4C1C8327-233F-46F5-910B-E873FB00A1B2",
    "loginAttempts": 0,
    "remainingLockTime": 0,
    "smtpAddress": "admin@example.com",
    "userName": COMMVAULT_USERNAME,
    "providerType": 1,
    "ccn": 0,
    "token": "",
    "capability": 4328650366975,
    "forcePasswordChange": False,
    "isAccountLocked": False,
    "ownerOrganization": {"GUID": "", "providerId": 0, "providerDomainName": "Commcell"},
    "errList": [],
}
_LOGIN_REFUSED = {
    "loginAttempts": 1,
    "remainingLockTime": 0,
    "isAccountLocked": False,
    "errList": [{"errLogMessage": "Invalid Username or Password", "errorCode": 0}],
}
_NO_SUBCLIENT = {  # admin jobs (Data Aging) belong to no subclient: same keys, empty values
    "clientName": "",
    "clientId": 0,
    "instanceName": "",
    "instanceId": 0,
    "appName": "",
    "applicationId": 0,
    "backupsetName": "",
    "backupsetId": 0,
    "subclientName": "",
    "subclientId": 0,
}
_TASK_FAILED = {"errorMessage": "Failed to run task.", "errorCode": 587203993}
_USER_IDS = {"admin": 1, "jsmith": 5}

# Job events (GET Events): eventCode is (19 << 24) + n for eventCodeString "19:n", as Commvault's published
# examples pair them (318767226 is 19:122).
_FAILED_MESSAGE = 122  # "Received failed message for job [N], phase [P]." (api.commvault.com SP40 example)
_REASON, _JOB_FAILED = 107, 108
_FAILED_ITEMS, _ENDED_WITH_ERRORS = 857, 1916
_KILLED, _SUSPENDED, _RESUMED, _QUEUED, _WAITING = 1101, 1102, 1103, 1104, 1105
_INFO, _MINOR, _MAJOR = 0, 3, 6  # severities; 9 is critical
_ACTION_EVENTS = {
    "kill": (_KILLED, "killed", _MINOR),
    "pause": (_SUSPENDED, "suspended", _INFO),
    "resume": (_RESUMED, "resumed", _INFO),
}


@dataclass
class _Failure:
    """How a job that runs into a lasting problem fails: when, in which phase, why, and on which client."""

    at_percent: int  # the read that would reach this percentage fails the job instead
    shown_percent: int
    phase: str
    reason: str
    client_id: int


@dataclass
class _Job:
    """What the CommCell knows of a job besides its jobSummary: who started it, how, and how it will fail."""

    started_by: str
    started_from: str
    task_id: int | None = None
    failure: _Failure | None = None
    actor: str = COMMVAULT_USERNAME  # who last killed, suspended or resumed it


class CommvaultSim(VendorSim):
    """Commvault under /commandcenter/api and /webconsole/api.

    `jobs` holds jobSummary dicts by jobId; `events` each job's events, oldest first.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        now = self._now()
        self.jobs: dict[int, dict[str, Any]] = {spec.job_id: _summary(spec, now) for spec in SEED_JOBS}
        self.events: dict[int, list[dict[str, Any]]] = {}
        self._info = {spec.job_id: _Job(spec.user, spec.started_from, actor=spec.user) for spec in SEED_JOBS}
        for spec in SEED_JOBS:
            self._seed_events(spec)
        self.logins = 0
        self.issued_tokens: list[str] = []  # every token /Login ever gave out, expired or not
        self._tokens: dict[str, str] = {}  # live session token -> user name
        # A job an action just moved keeps its new state for one more read: Commvault takes seconds to act.
        self._holding: set[int] = set()
        self._next_task_id = 1087
        self._browses = 0
        endpoints = [
            Endpoint("POST", r"/Login", self._login, public=True),
            Endpoint("GET", r"/Job", self._list_jobs),
            Endpoint("GET", r"/Job/(?P<job_id>\d+)", self._get_job),
            Endpoint("POST", r"/Job/(?P<job_id>\d+)/action/(?P<verb>kill|pause|resume)", self._act),
            Endpoint("POST", r"/CreateTask", self._create_task),
            Endpoint("POST", r"/JobDetails", self._job_details),
            Endpoint("GET", r"/Events", self._list_events),
            Endpoint("GET", r"/Client", self._list_clients),
            Endpoint("GET", r"/Client/(?P<client_id>\d+)", self._get_client),
            Endpoint("GET", r"/Subclient", self._list_subclients),
            Endpoint("GET", r"/Subclient/(?P<subclient_id>\d+)", self._get_subclient),
            Endpoint("POST", r"/DoBrowse", self._browse),
        ]
        super().__init__(_ROOTS, endpoints, re.IGNORECASE)  # path segments are case-insensitive in practice

    def expire_tokens(self) -> None:
        """Invalidate every token issued by /Login; the API key stays valid."""
        self._tokens.clear()

    def authenticate(self, request: RecordedRequest) -> None:
        token = request.headers.get("authtoken")
        if token != COMMVAULT_API_KEY and token not in self._tokens:
            raise Reject(JSONResponse(_ACCESS_DENIED, status_code=401))

    def _user(self, request: RecordedRequest) -> str:
        return self._tokens.get(request.headers.get("authtoken", ""), COMMVAULT_USERNAME)

    def _now(self) -> int:
        return int(self._clock())

    def _login(self, call: Call) -> Response:
        body = json_object(call.request.body)
        if body.get("username") != COMMVAULT_USERNAME or _decode_password(body.get("password")) != COMMVAULT_PASSWORD:
            return JSONResponse(_LOGIN_REFUSED)  # a refused login is HTTP 200 with errList (cvpysdk cvpysdk.py)
        token = "QSDK " + secrets.token_hex(48)
        self._tokens[token] = COMMVAULT_USERNAME
        self.issued_tokens.append(token)
        self.logins += 1
        return JSONResponse({**_LOGIN_ACCEPTED, "token": token})

    # ---- jobs --------------------------------------------------------------------------------------

    def _list_jobs(self, call: Call) -> Response:
        request = call.request
        filters = _filters(request.query, self._now())
        # Jobs marked isVisible false are internal: they are neither listed nor counted, so that the total is
        # exactly what the pages hold (cvpysdk job.py skips such entries too).
        jobs = [
            job
            for _, job in sorted(self.jobs.items(), reverse=True)
            if job["isVisible"] and all(f(job) for f in filters)
        ]
        offset, limit = _paging(request, "offset", 0), _paging(request, "limit", 100)
        return _envelope(len(jobs), jobs[offset : offset + limit])

    def _get_job(self, call: Call) -> Response:
        job = self.jobs.get(int(call.params["job_id"]))
        if job is None:
            return _envelope(0, [])
        self._advance(job)
        return _envelope(1, [job])

    def _act(self, call: Call) -> Response:
        job_id = int(call.params["job_id"])
        job = self.jobs.get(job_id)
        if job is None:
            return _flat_error(f"Job ID [{job_id}] is not valid.")
        verb = call.params["verb"].lower()
        allowed, result, wording = _ACTIONS[verb]
        if job["status"] not in allowed:
            return _refusal(verb, f"Cannot {wording} job [{job_id}]: the job is in state [{job['status']}].")
        user = self._user(call.request)
        self._info[job_id].actor = user
        number, past, severity = _ACTION_EVENTS[verb]
        self._event(job, number, severity, "JobManager", f"Job [{job_id}] was {past} by user [{user}].")
        self._set_status(job, result)
        self._holding.add(job_id)
        return JSONResponse({"errorCode": 0})

    def _job_details(self, call: Call) -> Response:
        raw = json_object(call.request.body).get("jobId")
        job_id = _int(raw, -1) if not isinstance(raw, bool) else -1
        job = self.jobs.get(job_id)
        if job is None:  # errors come inside HTTP 200 (cvpysdk job.py _get_job_details)
            message = "jobId is required." if raw is None else f"Job ID [{raw}] is not valid."
            return JSONResponse({"error": {"errList": [{"errorCode": 2, "errLogMessage": message}]}})
        return JSONResponse({"job": {"jobDetail": _job_detail(job, self._info[job_id])}})

    def _list_events(self, call: Call) -> Response:
        query = call.request.query
        if "jobId" in query:
            found = list(self.events.get(_int(query["jobId"], -1), []))
        else:
            found = [event for events in self.events.values() for event in events]
            if "clientId" in query:
                found = [e for e in found if str(e["clientEntity"]["clientId"]) == query["clientId"]]
        low, high = _int(query.get("fromTime"), 0), _int(query.get("toTime"), 0)
        hidden = {
            severity
            for name, severity in (("showInfo", 0), ("showMinor", 3), ("showMajor", 6), ("showCritical", 9))
            if query.get(name, "").lower() == "false"
        }
        found = [
            e
            for e in found
            if e["severity"] not in hidden and e["timeSource"] >= low and (not high or e["timeSource"] <= high)
        ]
        if not found:
            return JSONResponse({})  # no commservEvents key: cvpysdk reports "No records found for this Job"
        return JSONResponse({"commservEvents": sorted(found, key=lambda e: (e["timeSource"], e["id"]), reverse=True)})

    # ---- clients and subclients -----------------------------------------------------------------------

    def _list_clients(self, _call: Call) -> Response:
        clients = [client.properties(full=False) for client in CLIENTS.values()]
        return JSONResponse({"filterQueryCount": len(clients), "clientProperties": clients})

    def _get_client(self, call: Call) -> Response:
        client = CLIENTS.get(int(call.params["client_id"]))
        if client is None:
            return _flat_error(f"Client [{call.params['client_id']}] was not found.")
        return JSONResponse({"clientProperties": [client.properties(full=True)]})

    def _list_subclients(self, call: Call) -> Response:
        query = call.request.query
        if "clientId" in query:
            client = CLIENTS.get(_int(query["clientId"], -1))
            asked = query["clientId"]
        elif "clientName" in query:
            asked = query["clientName"]
            client = next((c for c in CLIENTS.values() if c.name.casefold() == asked.casefold()), None)
        else:
            return _flat_error("Provide a clientId or a clientName to list subclients.")
        if client is None:
            return _flat_error(f"Client [{asked}] was not found.")
        # Every agent's subclients: cvpysdk filters by agent itself ("the API call returns the subclients for all
        # Agents", subclient.py).
        listed = [self._subclient(s) for s in SUBCLIENTS.values() if s.client_id == client.id]
        return JSONResponse({"filterQueryCount": len(listed), "subClientProperties": listed})

    def _get_subclient(self, call: Call) -> Response:
        subclient = SUBCLIENTS.get(int(call.params["subclient_id"]))
        if subclient is None:
            return _flat_error(f"Subclient [{call.params['subclient_id']}] was not found.")
        return JSONResponse({"subClientProperties": [self._subclient(subclient)]})

    def _subclient(self, subclient: Subclient) -> dict[str, Any]:
        now = self._now()
        backups = self._backup_times(subclient)
        next_backup = now - now % 86400 + _NIGHTLY_AT
        return subclient.properties(
            max(backups.values(), default=0), next_backup + (86400 if next_backup <= now else 0)
        )

    def _backup_times(self, subclient: Subclient) -> dict[int, int]:
        """The backup jobs of `subclient` that hold data, with their start time (the data's point in time)."""
        return {
            job_id: job["jobStartTime"]
            for job_id, job in self.jobs.items()
            if job["jobType"] == "Backup" and job["subclient"]["subclientId"] == subclient.id
            if job["status"] in _SUCCEEDED
        }

    def _browse(self, call: Call) -> Response:
        self._browses += 1
        now = self._now()
        session = f"{now}-{self._browses}"

        def versions(subclient: Subclient) -> list[commvault_browse.Version]:
            return commvault_browse.backed_up(subclient, self._backup_times(subclient), now)

        return JSONResponse(commvault_browse.run(json_object(call.request.body), versions, session))

    # ---- CreateTask --------------------------------------------------------------------------------------

    def _create_task(self, call: Call) -> Response:
        task = json_object(json_object(call.request.body).get("taskInfo"))
        associations, sub_tasks = json_list(task.get("associations")), json_list(task.get("subTasks"))
        if not associations or not sub_tasks:
            raise Reject(JSONResponse(_TASK_FAILED, status_code=500))  # the docs' "wrong payload" answer
        subclient = SUBCLIENTS[_find_subclient(json_object(associations[0]))]
        sub_task = json_object(sub_tasks[0])
        kind = json_object(sub_task.get("subTask"))
        options = json_object(sub_task.get("options"))
        user = self._user(call.request)
        if kind.get("subTaskType") == 2:
            job_id = self._start_backup(subclient, options, user)
        elif (kind.get("subTaskType"), kind.get("operationType")) == (3, 1001):
            job_id = self._start_restore(subclient, json_object(options.get("restoreOptions")), user)
        else:
            raise Reject(JSONResponse(_TASK_FAILED, status_code=500))
        self._next_task_id += 1
        self._info[job_id].task_id = self._next_task_id - 1
        return JSONResponse({"taskId": self._next_task_id - 1, "jobIds": [str(job_id)]})  # jobIds are strings

    def _start_backup(self, subclient: Subclient, options: dict[str, Any], user: str) -> int:
        level = json_object(options.get("backupOpts")).get("backupLevel", "INCREMENTAL")
        if not isinstance(level, str) or level.upper() not in _BACKUP_LEVELS:
            raise Reject(_flat_error(f"Invalid backupLevel [{level}]; use one of {', '.join(_BACKUP_LEVELS)}."))
        spec = JobSpec(max(self.jobs) + 1, "Backup", level.upper(), subclient.id, "Running", 0, 0, user=user)
        failure = None
        if subclient.id in BACKUP_FAILURES:
            phase, reason = BACKUP_FAILURES[subclient.id]
            failure = _Failure(_STEP, 5, phase, reason, subclient.client_id)
        job = self._start(spec, failure)
        if (blocker := self._blocker(job)) is not None:
            # One backup of a subclient at a time: the new job waits for the one ahead of it.
            reason = _queued_reason(blocker, subclient)
            job.update(status="Queued", localizedStatus="Queued", pendingReason=reason, currentPhaseName="")
            self._event(job, _QUEUED, _INFO, "JobManager", f"Job [{spec.job_id}] is queued. {reason}")
        return spec.job_id

    def _start_restore(self, subclient: Subclient, restore: dict[str, Any], user: str) -> int:
        client_id, path = _restore_destination(restore)
        spec = JobSpec(max(self.jobs) + 1, "Restore", None, subclient.id, "Running", 0, 0, user=user)
        failure = None
        if client_id in FULL_DISK_CLIENTS:
            name = CLIENTS[client_id].name
            reason = f"Insufficient disk space on client [{name}] to restore to [{path}]."
            failure = _Failure(50, 50, "Restore", reason, client_id)
        job = self._start(spec, failure)
        destination = CLIENTS[client_id].name
        job.update(destClientName=destination, destinationClient={"clientName": destination, "clientId": client_id})
        return spec.job_id

    def _start(self, spec: JobSpec, failure: _Failure | None) -> dict[str, Any]:
        job = _summary(spec, self._now())
        job.update(sizeOfApplication=0, sizeOfMediaOnDisk=0, percentSavings=0.0, totalNumOfFiles=0)
        self.jobs[spec.job_id] = job
        self._info[spec.job_id] = _Job(spec.user, "Interactive", failure=failure, actor=spec.user)
        return job

    # ---- the state machine ------------------------------------------------------------------------------

    def _advance(self, job: dict[str, Any]) -> None:
        if job["jobId"] in self._holding:
            self._holding.discard(job["jobId"])
        elif job["status"] == "Running":
            self._progress(job)
        elif job["status"] == "Queued":
            blocker = self._blocker(job)
            if blocker is None:
                self._set_status(job, "Running")
            else:
                job["pendingReason"] = _queued_reason(blocker, SUBCLIENTS[job["subclient"]["subclientId"]])
        elif job["status"] in _SETTLES:
            self._set_status(job, _SETTLES[job["status"]])

    def _blocker(self, job: dict[str, Any]) -> int | None:
        """The active backup of the same subclient that `job` (a backup) waits for, if any."""
        if job["jobType"] != "Backup":
            return None
        ahead = [
            other["jobId"]
            for other in self.jobs.values()
            if other["jobType"] == "Backup"
            and other["jobId"] < job["jobId"]
            and other["subclient"]["subclientId"] == job["subclient"]["subclientId"]
            and other["status"] in _ACTIVE
        ]
        return max(ahead, default=None)

    def _progress(self, job: dict[str, Any]) -> None:
        percent = min(job["percentComplete"] + _STEP, 100)
        failure = self._info[job["jobId"]].failure
        if failure is not None and percent >= failure.at_percent:
            self._fail(job, failure)
            return
        job.update(percentComplete=percent, currentPhaseName=_phase(job["jobType"], percent))
        if percent == 100:
            self._set_status(job, "Completed")
        else:
            self._touch(job)

    def _fail(self, job: dict[str, Any], failure: _Failure) -> None:
        job.update(percentComplete=failure.shown_percent, pendingReason=failure.reason)
        self._set_status(job, "Failed")
        self._failure_events(job, failure.phase, failure.reason, CLIENTS[failure.client_id], self._now())

    def _set_status(self, job: dict[str, Any], status: str) -> None:
        job.update(status=status, localizedStatus=status)
        actor = self._info[job["jobId"]].actor
        if status == "Killed":  # the words of Commvault's own job details for a killed job
            job["pendingReason"] = f"The job has been killed by user [{actor}]."
        elif status == "Suspended":
            job["pendingReason"] = f"The job has been suspended by user [{actor}]."
        elif status == "Running" or (status not in _ACTIVE and status != "Failed"):
            job["pendingReason"] = ""  # nothing to wait for any more; a failure keeps its reason
        if status not in _ACTIVE:
            job.update(jobEndTime=self._now(), currentPhaseName="")
        self._touch(job)

    def _touch(self, job: dict[str, Any]) -> None:
        now = self._now()
        job.update(lastUpdateTime=now, jobElapsedTime=(job["jobEndTime"] or now) - job["jobStartTime"])

    # ---- events -----------------------------------------------------------------------------------------

    def _event(
        self,
        job: dict[str, Any],
        number: int,
        severity: int,
        subsystem: str,
        description: str,
        at: int | None = None,
        client: Client | None = None,
    ) -> None:
        events = self.events.setdefault(job["jobId"], [])
        where = client or CLIENTS.get(job["subclient"]["clientId"])
        events.append(
            {
                "severity": severity,
                "eventCode": str((19 << 24) + number),
                "jobId": job["jobId"],
                "acknowledge": 0,
                "eventCodeString": f"19:{number}",
                "subsystem": subsystem,
                "description": description,
                "id": job["jobId"] * 100 + len(events) + 1,
                "timeSource": self._now() if at is None else at,
                "type": 0,
                "clientEntity": where.reference() if where else {"clientId": 0, "clientName": "", "displayName": ""},
            }
        )

    def _failure_events(self, job: dict[str, Any], phase: str, reason: str, client: Client, at: int) -> None:
        kind = job["jobType"]
        subsystem = "clRestore" if kind == "Restore" else "clBackup"
        job_id = job["jobId"]
        self._event(job, _REASON, _MAJOR, subsystem, reason, at - 30, client)
        message = f"Received failed message for job [{job_id}], phase [{phase}]."
        self._event(job, _FAILED_MESSAGE, _MINOR, "JobManager", message, at - 15, client)
        self._event(job, _JOB_FAILED, _MAJOR, "JobManager", f"{kind} job [{job_id}] failed.", at, client)

    def _seed_events(self, spec: JobSpec) -> None:
        """The events a seeded job's history left: why it failed, waits, who killed or suspended it."""
        job = self.jobs[spec.job_id]
        end = job["jobEndTime"]
        if spec.status == "Failed":
            client = CLIENTS[job["subclient"]["clientId"]]
            self._failure_events(job, _phase(spec.job_type, spec.percent), spec.reason, client, end)
        elif spec.status == "Completed w/ one or more errors":
            items = (
                f"Failed to back up [{spec.failed_files}] files and [{spec.failed_folders}] folders of subclient "
                f"[{job['subclientName']}] on client [{job['subclient']['clientName']}]: they were locked by another "
                "process or access was denied."
            )
            self._event(job, _FAILED_ITEMS, _MINOR, "clBackup", items, end - 60)
            ended = f"Backup job [{spec.job_id}] completed with one or more errors."
            self._event(job, _ENDED_WITH_ERRORS, _MINOR, "JobManager", ended, end)
        elif spec.status == "Killed":
            killed = f"Job [{spec.job_id}] was killed by user [{spec.user}]."
            self._event(job, _KILLED, _MINOR, "JobManager", killed, end)
            job["pendingReason"] = f"The job has been killed by user [{spec.user}]."
        elif spec.status == "Suspended":
            suspended = f"Job [{spec.job_id}] was suspended by user [{spec.user}]."
            self._event(job, _SUSPENDED, _INFO, "JobManager", suspended, job["jobStartTime"] + 600)
            job["pendingReason"] = f"The job has been suspended by user [{spec.user}]."
        elif spec.status == "Pending" and spec.reason:
            waiting = f"Job [{spec.job_id}] is pending. {spec.reason}"
            self._event(job, _WAITING, _MINOR, "JobManager", waiting, job["jobStartTime"] + 20)


def _summary(spec: JobSpec, now: int) -> dict[str, Any]:
    """A jobSummary with every field of GET /Job's documented answer."""
    entity = _entity(spec.subclient_id)
    level, level_name = _BACKUP_LEVELS[spec.level] if spec.level else (0, "")
    start = now - spec.started_ago
    end = 0 if spec.ended_ago is None else now - spec.ended_ago
    waiting = spec.status in ("Pending", "Queued", "Waiting", "Suspended")
    return {
        "jobId": spec.job_id,
        "status": spec.status,
        "localizedStatus": spec.status,
        "jobType": spec.job_type,
        "localizedOperationName": spec.job_type,
        "backupLevel": level,
        "backupLevelName": level_name,
        "appTypeName": entity["appName"],
        "percentComplete": spec.percent,
        "jobStartTime": start,
        "jobEndTime": end,
        "lastUpdateTime": end or now,
        "jobElapsedTime": (end or now) - start,
        "currentPhaseName": _phase(spec.job_type, spec.percent) if spec.status in _ACTIVE and not waiting else "",
        "pendingReason": spec.reason,
        "sizeOfApplication": 5368709120,
        "sizeOfMediaOnDisk": 1073741824,
        "percentSavings": 80.0,
        "totalNumOfFiles": spec.files,
        "totalFailedFiles": spec.failed_files,
        "totalFailedFolders": spec.failed_folders,
        "jobSubmitErrorCode": 0,
        "isVisible": spec.visible,
        "isAged": False,
        "statusColor": "",
        "backupSetName": entity["backupsetName"],
        "subclientName": entity["subclientName"],
        "destClientName": entity["clientName"],
        "userName": {"userName": spec.user, "userId": _USER_IDS.get(spec.user, 1)},
        "subclient": entity,
        "destinationClient": {"clientName": entity["clientName"], "clientId": entity["clientId"]},
        "storagePolicy": dict(STORAGE_POLICY),
    }


def _job_detail(job: dict[str, Any], info: _Job) -> dict[str, Any]:
    """POST JobDetails' jobDetail for a job: generalInfo, progressInfo and detailInfo (cvpysdk job.py)."""
    general: dict[str, Any] = {
        "jobId": job["jobId"],
        "jobStartedFrom": info.started_from,
        "jobStartedBy": info.started_by,
        "startTime": job["jobStartTime"],
        "priority": 166,
        "operationType": job["jobType"],
        "backupType": job["backupLevelName"],
        "subclient": job["subclient"],
        "destinationClient": job["destinationClient"],
        "totalNumOfFiles": job["totalNumOfFiles"],
    }
    if info.task_id is not None:
        general["taskData"] = {"taskId": info.task_id, "subtaskId": info.task_id + 1, "taskName": ""}
    size, on_disk, files = job["sizeOfApplication"], job["sizeOfMediaOnDisk"], job["totalNumOfFiles"]
    elapsed = max(job["jobElapsedTime"], 1)
    return {
        "generalInfo": general,
        "progressInfo": {
            "state": job["status"],
            "reasonForJobDelay": job["pendingReason"],
            "numOfFilesTransferred": files * job["percentComplete"] // 100,
        },
        "detailInfo": {
            "startTime": job["jobStartTime"],
            "endTime": job["jobEndTime"],
            "sizeOfApplication": str(size),
            "sizeOfMediaOnDisk": on_disk,
            "unCompressedBytes": size,
            "compressedBytes": on_disk,
            "dataWritten": str(on_disk),
            "savingsPercent": f"{job['percentSavings']:.2f}",
            "transferTime": str(elapsed),
            "throughPut": f"{size / elapsed / 2**30 * 3600:.2f}",  # GB per hour
            "numOfObjects": files,
            "skippedItems": job["totalFailedFiles"] + job["totalFailedFolders"],
        },
    }


def _entity(subclient_id: int | None) -> dict[str, Any]:
    return dict(_NO_SUBCLIENT) if subclient_id is None else SUBCLIENTS[subclient_id].entity()


def _queued_reason(blocker: int, subclient: Subclient) -> str:
    client = CLIENTS[subclient.client_id].name
    return (
        f"Another backup job [{blocker}] is in progress for subclient [{subclient.name}] of client [{client}]; "
        "this job is queued until it completes."
    )


def _phase(job_type: str, percent: int) -> str:
    if job_type == "Restore":
        return "Restore"
    if job_type != "Backup":
        return ""
    return "Scan" if percent < 25 else "Backup" if percent < 75 else "Archive Index"


def _filters(query: dict[str, str], now: int) -> list[Callable[[dict[str, Any]], bool]]:
    """GET /Job query parameters (docs: GET Job) as predicates on a jobSummary."""
    lookup = _int(query.get("completedJobLookupTime"), _ONE_YEAR)
    category = query.get("jobCategory", "All").lower()
    types = _job_types(query.get("jobFilter"))
    client_id = query.get("clientId")
    return [
        lambda job: job["status"] in _ACTIVE or job["jobEndTime"] >= now - lookup,
        lambda job: category not in ("active", "finished") or (job["status"] in _ACTIVE) == (category == "active"),
        lambda job: types is None or _type_key(job["jobType"]) in types,
        lambda job: client_id is None or str(job["subclient"]["clientId"]) == client_id,
    ]


def _job_types(job_filter: str | None) -> set[str] | None:
    if job_filter is None:
        return {"BACKUP"}  # without jobFilter only backup jobs are listed (docs: GET Job)
    keys = {_type_key(name) for name in job_filter.split(",") if name.strip()}
    return {_JOB_TYPE_NUMBERS.get(key, key) for key in keys} or None  # `jobFilter=` lists every type


def _type_key(name: str) -> str:
    return re.sub(r"[\s_]", "", name).upper()


def _paging(request: RecordedRequest, name: str, default: int) -> int:
    # The docs list limit/offset as headers; Commvault's own MCP server sends them in the query string.
    return max(0, _int(request.query.get(name, request.headers.get(name)), default))


def _int(value: object, default: int) -> int:
    try:
        return int(str(value)) if value is not None else default
    except ValueError:
        return default


def _envelope(total: int, jobs: list[dict[str, Any]]) -> Response:
    body: dict[str, Any] = {"totalRecordsWithoutPaging": total}
    if jobs:  # an empty answer has no "jobs" key at all, as for an unknown job id
        body["jobs"] = [{"jobSummary": job} for job in jobs]
    return JSONResponse(body)


def _decode_password(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except ValueError:
        return None


def _flat_error(message: str) -> Response:
    return JSONResponse({"errorCode": 2, "errorMessage": message})  # errors arrive inside HTTP 200


def _refusal(verb: str, message: str) -> Response:
    if verb == "pause":  # cvpysdk job.py reads two error shapes; pause answers with the nested one
        return JSONResponse({"errors": [{"errList": [{"errorCode": 2, "errLogMessage": message}]}]})
    return _flat_error(message)


def _find_subclient(association: dict[str, Any]) -> int:
    """The subclientId an association names, by id or by clientName + subclientName (+ backupsetName)."""
    if "subclientId" in association:
        found = [s for s in SUBCLIENTS if _int(association["subclientId"], -1) == s]
    else:
        found = [s for s in SUBCLIENTS if _names_match(association, _entity(s))]
    if not found:
        raise Reject(_flat_error("Subclient was not found for the given association."))
    return found[0]


def _names_match(association: dict[str, Any], entity: dict[str, Any]) -> bool:
    keys = [key for key in ("clientName", "backupsetName", "subclientName") if key in association]
    named = {"clientName", "subclientName"} <= set(keys)
    return named and all(str(association[key]).casefold() == entity[key].casefold() for key in keys)


def _restore_destination(restore: dict[str, Any]) -> tuple[int, str]:
    """Check a CreateTask restoreOptions (cvpysdk instance.py _restore_json) and return where it restores to."""
    sources = json_list(json_object(restore.get("fileOption")).get("sourceItem"))
    if not sources:
        raise Reject(_flat_error("restoreOptions.fileOption.sourceItem must list at least one path to restore."))
    destination = json_object(restore.get("destination"))
    if not isinstance(destination.get("inPlace"), bool):
        raise Reject(_flat_error("restoreOptions.destination.inPlace must be true or false."))
    client = json_object(destination.get("destClient"))
    client_id = _client_id(client)
    if client_id is None:
        name = client.get("clientName", client.get("clientId"))
        raise Reject(_flat_error(f"Destination client [{name}] was not found."))
    paths = json_list(destination.get("destPath"))
    if not destination["inPlace"] and not paths:
        raise Reject(_flat_error("restoreOptions.destination.destPath must list a folder for an out-of-place restore."))
    return client_id, str(paths[0] if paths and not destination["inPlace"] else sources[0])


def _client_id(client: dict[str, Any]) -> int | None:
    name = str(client.get("clientName", "")).casefold()
    return next((c.id for c in CLIENTS.values() if client.get("clientId") == c.id or c.name.casefold() == name), None)
