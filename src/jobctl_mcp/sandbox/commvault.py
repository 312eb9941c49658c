"""Simulated Commvault Command Center REST API: Login, Job lists and reads, job actions, CreateTask.

Shapes follow /work/shared/vendor/commvault.md (cited as §n); active jobs move one step each time they are read.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from starlette.responses import JSONResponse, Response

from .faults import Call, Endpoint, RecordedRequest, Reject, VendorSim, json_list, json_object

COMMVAULT_USERNAME = "admin"
COMMVAULT_PASSWORD = "sandbox-password"
COMMVAULT_API_KEY = "QSDK sandbox-commvault-token"

_ROOTS = ("/commandcenter/api", "/webconsole/api")  # §1: webconsole/api is the legacy path of the same API
_ONE_YEAR = 31_536_000
_STEP = 25
_OFFLINE_SUBCLIENT = 13
_OFFLINE_REASON = "The database on db01.example.com is offline (sandbox)"
_MEDIA_AGENT_OFFLINE = "Waiting for MediaAgent ma01.example.com to come online"
_CLIENT_UNREACHABLE = "Failed to connect to client db01.example.com"

# §5: active states; every other status is finished.
_ACTIVE = frozenset(
    {"Running", "Waiting", "Pending", "Queued", "Suspended", "Suspend Pending", "Kill Pending", "Interrupt Pending"}
)
_SETTLES = {"Queued": "Running", "Waiting": "Running", "Suspend Pending": "Suspended", "Kill Pending": "Killed"}
# §5 transition table: verb -> (states it is allowed from, resulting state, the word used in refusals).
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
_JOB_TYPE_NUMBERS = {"4": "BACKUP"}  # §5: jobFilter accepts numbers for the same types
_CLIENTS = {7: "fs01.example.com", 8: "db01.example.com", 9: "fs02.example.com"}
_SUBCLIENTS = {12: (7, 5), 13: (8, 6), 14: (9, 7)}  # subclientId -> (clientId, backupsetId)

_ACCESS_DENIED = {  # illustrative text: §2 documents the 401, not its body
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


class _JobSpec(NamedTuple):
    job_id: int
    job_type: str
    level: str | None  # a key of _BACKUP_LEVELS; None for jobs that are not backups
    subclient_id: int | None  # None for admin jobs
    status: str
    percent: int
    started_ago: int
    ended_ago: int | None = None
    reason: str = ""
    visible: bool = True


_SEED_JOBS = (
    _JobSpec(9669, "Backup", "INCREMENTAL", 12, "Running", 42, 615),
    _JobSpec(9670, "Backup", "FULL", 13, "Suspended", 10, 2_400),
    _JobSpec(9671, "Backup", "INCREMENTAL", 14, "Pending", 0, 300, reason=_MEDIA_AGENT_OFFLINE),
    _JobSpec(9612, "Backup", "FULL", 12, "Completed w/ one or more errors", 100, 90_000, 86_400),
    _JobSpec(9600, "Backup", "INCREMENTAL", 13, "Failed", 35, 180_000, 176_400, _CLIENT_UNREACHABLE),
    _JobSpec(9590, "Restore", None, 12, "Completed", 100, 260_000, 259_000),
    _JobSpec(9580, "Backup", "INCREMENTAL", 14, "Killed", 60, 350_000, 349_000),
    _JobSpec(9560, "Data Aging", None, None, "Completed", 100, 400_000, 399_900, visible=False),
)


class CommvaultSim(VendorSim):
    """Commvault under /commandcenter/api and /webconsole/api; `jobs` holds the jobSummary dicts by jobId."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.jobs: dict[int, dict[str, Any]] = {spec.job_id: _summary(spec, self._now()) for spec in _SEED_JOBS}
        self.logins = 0
        self.issued_tokens: list[str] = []  # every token /Login ever gave out, expired or not
        self._tokens: set[str] = set()
        self._offline_jobs: set[int] = set()
        # A job an action just moved keeps its new state for one more read: Commvault takes seconds to act.
        self._holding: set[int] = set()
        self._next_task_id = 1087
        endpoints = [
            Endpoint("POST", r"/Login", self._login, public=True),
            Endpoint("GET", r"/Job", self._list_jobs),
            Endpoint("GET", r"/Job/(?P<job_id>\d+)", self._get_job),
            Endpoint("POST", r"/Job/(?P<job_id>\d+)/action/(?P<verb>kill|pause|resume)", self._act),
            Endpoint("POST", r"/CreateTask", self._create_task),
        ]
        super().__init__(_ROOTS, endpoints, re.IGNORECASE)  # §3: path segments are case-insensitive in practice

    def expire_tokens(self) -> None:
        """Invalidate every token issued by /Login; the API key stays valid."""
        self._tokens.clear()

    def authenticate(self, request: RecordedRequest) -> None:
        token = request.headers.get("authtoken")
        if token != COMMVAULT_API_KEY and token not in self._tokens:
            raise Reject(JSONResponse(_ACCESS_DENIED, status_code=401))

    def _now(self) -> int:
        return int(self._clock())

    def _login(self, call: Call) -> Response:
        body = json_object(call.request.body)
        if body.get("username") != COMMVAULT_USERNAME or _decode_password(body.get("password")) != COMMVAULT_PASSWORD:
            return JSONResponse(_LOGIN_REFUSED)  # §2: a refused login is HTTP 200 with errList
        token = "QSDK " + secrets.token_hex(48)
        self._tokens.add(token)
        self.issued_tokens.append(token)
        self.logins += 1
        return JSONResponse({**_LOGIN_ACCEPTED, "token": token})

    def _list_jobs(self, call: Call) -> Response:
        request = call.request
        filters = _filters(request.query, self._now())
        jobs = [job for _, job in sorted(self.jobs.items(), reverse=True) if all(f(job) for f in filters)]
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
        self._set_status(job, result)
        self._holding.add(job_id)
        return JSONResponse({"errorCode": 0})

    def _create_task(self, call: Call) -> Response:
        task = json_object(json_object(call.request.body).get("taskInfo"))
        associations, sub_tasks = json_list(task.get("associations")), json_list(task.get("subTasks"))
        if not associations or not sub_tasks:
            raise Reject(JSONResponse(_TASK_FAILED, status_code=500))  # §4.1: the docs' wrong-payload answer
        subclient_id = _find_subclient(json_object(associations[0]))
        sub_task = json_object(sub_tasks[0])
        kind = json_object(sub_task.get("subTask"))
        options = json_object(sub_task.get("options"))
        if kind.get("subTaskType") == 2:
            job_id = self._start_backup(subclient_id, options)
        elif (kind.get("subTaskType"), kind.get("operationType")) == (3, 1001):
            job_id = self._start_restore(subclient_id, json_object(options.get("restoreOptions")))
        else:
            raise Reject(JSONResponse(_TASK_FAILED, status_code=500))
        self._next_task_id += 1
        return JSONResponse({"taskId": self._next_task_id - 1, "jobIds": [str(job_id)]})  # §4.1: ids are strings

    def _start_backup(self, subclient_id: int, options: dict[str, Any]) -> int:
        level = json_object(options.get("backupOpts")).get("backupLevel", "INCREMENTAL")
        if not isinstance(level, str) or level.upper() not in _BACKUP_LEVELS:
            raise Reject(_flat_error(f"Invalid backupLevel [{level}]; use one of {', '.join(_BACKUP_LEVELS)}."))
        return self._start(_JobSpec(max(self.jobs) + 1, "Backup", level.upper(), subclient_id, "Running", 0, 0))

    def _start_restore(self, subclient_id: int, restore: dict[str, Any]) -> int:
        client_id = _restore_destination(restore)
        job_id = self._start(_JobSpec(max(self.jobs) + 1, "Restore", None, subclient_id, "Running", 0, 0))
        self.jobs[job_id]["destClientName"] = _CLIENTS[client_id]
        self.jobs[job_id]["destinationClient"] = {"clientName": _CLIENTS[client_id], "clientId": client_id}
        return job_id

    def _start(self, spec: _JobSpec) -> int:
        job = _summary(spec, self._now())
        job.update(sizeOfApplication=0, sizeOfMediaOnDisk=0, percentSavings=0.0, totalNumOfFiles=0)
        self.jobs[spec.job_id] = job
        if spec.subclient_id == _OFFLINE_SUBCLIENT:
            self._offline_jobs.add(spec.job_id)
        return spec.job_id

    def _advance(self, job: dict[str, Any]) -> None:
        if job["jobId"] in self._holding:
            self._holding.discard(job["jobId"])
        elif job["status"] == "Running":
            self._progress(job)
        elif job["status"] in _SETTLES:
            self._set_status(job, _SETTLES[job["status"]])

    def _progress(self, job: dict[str, Any]) -> None:
        percent = min(job["percentComplete"] + _STEP, 100)
        if job["jobId"] in self._offline_jobs and percent >= 50:
            job.update(percentComplete=50, pendingReason=_OFFLINE_REASON)
            self._set_status(job, "Failed")
            return
        job.update(percentComplete=percent, currentPhaseName=_phase(job["jobType"], percent))
        if percent == 100:
            self._set_status(job, "Completed")
        else:
            self._touch(job)

    def _set_status(self, job: dict[str, Any], status: str) -> None:
        job.update(status=status, localizedStatus=status)
        if status not in _ACTIVE:
            job.update(jobEndTime=self._now(), currentPhaseName="")
        self._touch(job)

    def _touch(self, job: dict[str, Any]) -> None:
        now = self._now()
        job.update(lastUpdateTime=now, jobElapsedTime=(job["jobEndTime"] or now) - job["jobStartTime"])


def _summary(spec: _JobSpec, now: int) -> dict[str, Any]:
    """A jobSummary with every field of examples/get_jobs_response.json."""
    entity = _entity(spec.subclient_id)
    level, level_name = _BACKUP_LEVELS[spec.level] if spec.level else (0, "")
    start = now - spec.started_ago
    end = 0 if spec.ended_ago is None else now - spec.ended_ago
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
        "currentPhaseName": _phase(spec.job_type, spec.percent) if spec.status in _ACTIVE else "",
        "pendingReason": spec.reason,
        "sizeOfApplication": 5368709120,
        "sizeOfMediaOnDisk": 1073741824,
        "percentSavings": 80.0,
        "totalNumOfFiles": 48213,
        "totalFailedFiles": 0,
        "totalFailedFolders": 0,
        "jobSubmitErrorCode": 0,
        "isVisible": spec.visible,
        "isAged": False,
        "statusColor": "",
        "backupSetName": entity["backupsetName"],
        "subclientName": entity["subclientName"],
        "destClientName": entity["clientName"],
        "userName": {"userName": COMMVAULT_USERNAME, "userId": 1},
        "subclient": entity,
        "destinationClient": {"clientName": entity["clientName"], "clientId": entity["clientId"]},
        "storagePolicy": {"storagePolicyName": "Server-Plan-Disk", "storagePolicyId": 3},
    }


def _entity(subclient_id: int | None) -> dict[str, Any]:
    if subclient_id is None:
        return dict(_NO_SUBCLIENT)
    client_id, backupset_id = _SUBCLIENTS[subclient_id]
    return {
        "clientName": _CLIENTS[client_id],
        "clientId": client_id,
        "instanceName": "DefaultInstanceName",
        "instanceId": 1,
        "appName": "File System",
        "applicationId": 33,
        "backupsetName": "defaultBackupSet",
        "backupsetId": backupset_id,
        "subclientName": "default",
        "subclientId": subclient_id,
    }


def _phase(job_type: str, percent: int) -> str:
    if job_type == "Restore":
        return "Restore"
    if job_type != "Backup":
        return ""
    return "Scan" if percent < 25 else "Backup" if percent < 75 else "Archive Index"


def _filters(query: dict[str, str], now: int) -> list[Callable[[dict[str, Any]], bool]]:
    """GET /Job query parameters (§4.3) as predicates on a jobSummary."""
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
        return {"BACKUP"}  # §4.3: without jobFilter only backup jobs are listed
    keys = {_type_key(name) for name in job_filter.split(",") if name.strip()}
    return {_JOB_TYPE_NUMBERS.get(key, key) for key in keys} or None  # `jobFilter=` lists every type


def _type_key(name: str) -> str:
    return re.sub(r"[\s_]", "", name).upper()


def _paging(request: RecordedRequest, name: str, default: int) -> int:
    # §4.3: limit/offset are documented as headers, but some clients send them in the query string.
    return max(0, _int(request.query.get(name, request.headers.get(name)), default))


def _int(value: object, default: int) -> int:
    try:
        return int(str(value)) if value is not None else default
    except ValueError:
        return default


def _envelope(total: int, jobs: list[dict[str, Any]]) -> Response:
    body: dict[str, Any] = {"totalRecordsWithoutPaging": total}
    if jobs:  # an empty answer has no "jobs" key at all (examples/get_job_by_id_not_found_response.json)
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
    return JSONResponse({"errorCode": 2, "errorMessage": message})  # §4.4: errors arrive inside HTTP 200


def _refusal(verb: str, message: str) -> Response:
    if verb == "pause":  # §4.4 lists two error shapes; pause answers with the nested one
        return JSONResponse({"errors": [{"errList": [{"errorCode": 2, "errLogMessage": message}]}]})
    return _flat_error(message)


def _find_subclient(association: dict[str, Any]) -> int:
    """The subclientId an association names, by id or by clientName + subclientName (+ backupsetName)."""
    if "subclientId" in association:
        found = [s for s in _SUBCLIENTS if _int(association["subclientId"], -1) == s]
    else:
        found = [s for s in _SUBCLIENTS if _names_match(association, _entity(s))]
    if not found:
        raise Reject(_flat_error("Subclient was not found for the given association."))
    return found[0]


def _names_match(association: dict[str, Any], entity: dict[str, Any]) -> bool:
    keys = [key for key in ("clientName", "backupsetName", "subclientName") if key in association]
    named = {"clientName", "subclientName"} <= set(keys)
    return named and all(str(association[key]).casefold() == entity[key].casefold() for key in keys)


def _restore_destination(restore: dict[str, Any]) -> int:
    """Check a CreateTask restoreOptions (§4.2) and return the destination clientId."""
    if not json_list(json_object(restore.get("fileOption")).get("sourceItem")):
        raise Reject(_flat_error("restoreOptions.fileOption.sourceItem must list at least one path to restore."))
    destination = json_object(restore.get("destination"))
    if not isinstance(destination.get("inPlace"), bool):
        raise Reject(_flat_error("restoreOptions.destination.inPlace must be true or false."))
    client = json_object(destination.get("destClient"))
    client_id = _client_id(client)
    if client_id is None:
        name = client.get("clientName", client.get("clientId"))
        raise Reject(_flat_error(f"Destination client [{name}] was not found."))
    if not destination["inPlace"] and not json_list(destination.get("destPath")):
        raise Reject(_flat_error("restoreOptions.destination.destPath must list a folder for an out-of-place restore."))
    return client_id


def _client_id(client: dict[str, Any]) -> int | None:
    name = str(client.get("clientName", "")).casefold()
    return next((cid for cid, cname in _CLIENTS.items() if client.get("clientId") == cid or cname == name), None)
