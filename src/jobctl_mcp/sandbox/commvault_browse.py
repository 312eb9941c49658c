"""POST /DoBrowse on the simulated CommCell: the request as cvpysdk's Backupset._prepare_browse_json builds it, the
answer as its _process_browse_response reads it (backupset.py), and browseResult.totalItemsFound as its Azure AD
backupset reads it (backupsets/aadbackupset.py).

A file's versions carry the start time of the backup job that captured them; a time range keeps the versions
backed up within it, and the latest of those is what a browse shows.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .commvault_estate import BACKED_UP_FILES, CLIENTS, COMMCELL_ID, SUBCLIENTS, Subclient
from .faults import json_list, json_object

_BROWSE, _FIND, _ALL_VERSIONS = 0, 1, 2  # opType numbers the SDK sends (backupset.py _prepare_browse_json)
_DEFAULT_PAGE = 100_000  # the SDK's page size


class BrowseError(Exception):
    """A request the CommCell refuses: answered as browseResponses[0].messages[0]."""


@dataclass(frozen=True)
class Version:
    """One backed-up version of a file; times are Unix seconds."""

    path: str
    job_id: int
    backup_time: int
    size: int
    modified: int
    subclient: Subclient


@dataclass(frozen=True)
class Browse:
    """What one DoBrowse request asks: where, what kind of listing, which backups, which page."""

    subclients: tuple[Subclient, ...]
    path: str
    op_type: int
    from_time: int
    to_time: int
    skip: int
    page_size: int
    names: tuple[str, ...]  # whereClause FileName patterns (find)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Browse:
        subclients = _entity(json_object(body.get("entity")))
        windows = subclients[0].windows
        paths = [json_object(p).get("path") for p in json_list(body.get("paths"))]
        raw = paths[0] if paths and isinstance(paths[0], str) else "\\"
        time_range = json_object(body.get("timeRange"))
        query = json_object(json_list(body.get("queries"))[0]) if json_list(body.get("queries")) else {}
        paging = json_object(json_object(query.get("dataParam")).get("paging"))
        names: list[str] = []
        for clause in json_list(query.get("whereClause")):
            criteria = json_object(json_object(clause).get("criteria"))
            if criteria.get("field") == "FileName":
                names += [str(v) for v in json_list(criteria.get("values"))]
        return cls(
            subclients=subclients,
            path=normalize(raw, windows=windows),
            op_type=_number(body.get("opType"), _BROWSE),
            from_time=_number(time_range.get("fromTime"), 0),
            to_time=_number(time_range.get("toTime"), 0),
            skip=max(0, _number(paging.get("skipNode"), 0)),
            page_size=_number(paging.get("pageSize"), 0) or _DEFAULT_PAGE,
            names=tuple(names),
        )

    @property
    def windows(self) -> bool:
        return self.subclients[0].windows

    def items(self, versions: list[Version]) -> list[dict[str, Any]] | None:
        """Every item the browse finds (before paging), or None when nothing was backed up at the path."""
        if self.op_type == _ALL_VERSIONS:
            found = [v for v in versions if self._same(v.path, self.path)]
            return [_item(v, v.path, file=True) for v in sorted(found, key=lambda v: -v.backup_time)] or None
        latest = _latest(versions)
        if self.op_type == _FIND:
            return self._find(latest)
        if self.op_type != _BROWSE:
            raise BrowseError(f"Browse operation type [{self.op_type}] is not supported for a File System backup.")
        exact = [v for v in latest if self._same(v.path, self.path)]
        if exact:  # browsing a file's own path answers that file
            return [_item(exact[0], exact[0].path, file=True)]
        children: dict[str, list[Version]] = {}
        for version in latest:
            child = self._child(version.path)
            if child is not None:
                children.setdefault(child, []).append(version)
        if not children:
            return None
        return [_folder_or_file(path, found) for path, found in sorted(children.items(), key=lambda kv: kv[0].lower())]

    def _find(self, latest: list[Version]) -> list[dict[str, Any]] | None:
        """Files at any depth below the path's folder part (e.g. /home of /home/**/*), matching the path's own
        last pattern (e.g. *.conf) and any of the FileName patterns of the whereClause."""
        root = self._root_of(self.path)
        last = _name(self.path, self._separator)
        wildcard = last if any(c in last for c in "*?[") and last not in ("*", "**") else None
        found = [
            v
            for v in latest
            if (root == self._separator or self._under(v.path, root) or self._same(v.path, root))
            and (wildcard is None or self._match(_name(v.path, self._separator), wildcard))
            and (not self.names or any(self._match(_name(v.path, self._separator), n) for n in self.names))
        ]
        return [_item(v, v.path, file=True) for v in sorted(found, key=lambda v: v.path.lower())] or None

    @property
    def _separator(self) -> str:
        return "\\" if self.windows else "/"

    def _root_of(self, path: str) -> str:
        parts = path.split(self._separator)
        wild = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
        return self._separator.join(parts[:wild]) or self._separator

    def _same(self, a: str, b: str) -> bool:
        return a.lower() == b.lower() if self.windows else a == b

    def _match(self, name: str, pattern: str) -> bool:
        return fnmatch.fnmatch(name.lower(), pattern.lower()) if self.windows else fnmatch.fnmatchcase(name, pattern)

    def _under(self, path: str, folder: str) -> bool:
        prefix = folder.rstrip(self._separator) + self._separator
        return path.lower().startswith(prefix.lower()) if self.windows else path.startswith(prefix)

    def _child(self, path: str) -> str | None:
        """The entry directly below the browsed folder that leads to `path`, if `path` is below it."""
        if self.path in ("", self._separator):  # the root: "/" on Unix, the drives on Windows
            first = path.lstrip(self._separator).split(self._separator)[0]
            return first if self.windows else "/" + first
        if not self._under(path, self.path):
            return None
        rest = path[len(self.path) + 1 :]
        return self.path + self._separator + rest.split(self._separator)[0]


def run(body: dict[str, Any], versions_of: Callable[[Subclient], list[Version]], session: str) -> dict[str, Any]:
    """The DoBrowse answer for `body`."""
    try:
        browse = Browse.parse(body)
        versions = [
            v
            for subclient in browse.subclients
            for v in versions_of(subclient)
            if browse.from_time <= v.backup_time and (browse.to_time == 0 or v.backup_time <= browse.to_time)
        ]
        items = browse.items(versions)
    except BrowseError as error:
        return {"browseResponses": [{"respType": 3, "messages": [{"errorCode": 2, "errorMessage": str(error)}]}]}
    result: dict[str, Any] = {"queryId": "dataQuery"}
    if items is not None:  # without dataResultSet: "No data found at the path specified" (the SDK's reading)
        result["totalItemsFound"] = len(items)
        result["dataResultSet"] = items[browse.skip : browse.skip + browse.page_size]
    answer = {"respType": 0, "workerId": "1", "session": {"sessionId": session}, "browseResult": result}
    return {"browseResponses": [answer]}


def backed_up(subclient: Subclient, backup_times: dict[int, int], now: int) -> list[Version]:
    """The versions a subclient's finished backups hold; `backup_times` maps each such job to its start time."""
    return [
        Version(f.path, job, backup_times[job], size, now - modified_ago, subclient)
        for f in BACKED_UP_FILES.get(subclient.id, ())
        for job, size, modified_ago in f.versions
        if job in backup_times
    ]


def normalize(path: str, *, windows: bool) -> str:
    """A path as the backups record it: C:\\dir\\file on Windows (a leading \\ or / separators accepted), /dir/file
    on Unix; no trailing separator; "" or the separator alone is the root."""
    if windows:
        cleaned = path.replace("/", "\\").strip("\\")
        return cleaned[0].upper() + cleaned[1:] if len(cleaned) > 1 and cleaned[1] == ":" else cleaned or "\\"
    parts = [part for part in path.split("/") if part]
    return "/" + "/".join(parts)


def _entity(entity: dict[str, Any]) -> tuple[Subclient, ...]:
    """The subclients an entity names: one by subclientId, or a whole backup set when subclientId is 0."""
    subclient_id = _number(entity.get("subclientId"), 0)
    client_id = _number(entity.get("clientId"), 0)
    if subclient_id:
        subclient = SUBCLIENTS.get(subclient_id)
        if subclient is None or (client_id and subclient.client_id != client_id):
            raise BrowseError(f"Subclient [{subclient_id}] was not found on client [{client_id or '?'}].")
        found: tuple[Subclient, ...] = (subclient,)
    else:
        backupset_id = _number(entity.get("backupsetId"), 0)
        found = tuple(s for s in SUBCLIENTS.values() if s.backupset_id == backupset_id and s.client_id == client_id)
        if not found:
            client = CLIENTS.get(client_id)
            where = client.name if client else client_id
            raise BrowseError(f"Backup set [{backupset_id}] was not found on client [{where}].")
    if not found[0].file_system:
        app = found[0].app_name
        raise BrowseError(
            f"Browse of [{app}] backups is not supported by this request; browse a File System subclient."
        )
    return found


def _latest(versions: list[Version]) -> list[Version]:
    newest: dict[str, Version] = {}
    for version in versions:
        key = version.path.lower() if version.subclient.windows else version.path
        if key not in newest or version.backup_time > newest[key].backup_time:
            newest[key] = version
    return list(newest.values())


def _folder_or_file(path: str, versions: list[Version]) -> dict[str, Any]:
    """A browse entry for `path`: the file itself, or a folder summing what is below it."""
    if len(versions) == 1 and versions[0].path == path:
        return _item(versions[0], path, file=True)
    newest = max(versions, key=lambda v: v.backup_time)
    size, modified = sum(v.size for v in versions), max(v.modified for v in versions)
    return _item(Version(path, newest.job_id, newest.backup_time, size, modified, newest.subclient), path, file=False)


def _item(version: Version, path: str, *, file: bool) -> dict[str, Any]:
    """One dataResultSet entry: a file, or a folder (flags.directory; the SDK takes anything but a file as one)."""
    separator = "\\" if version.subclient.windows else "/"
    name = _name(path, separator)
    flags: dict[str, Any] = {"isPseudo": False, "isFake": False, "snap": False}
    flags["file" if file else "directory"] = True
    return {
        "path": path,
        "displayName": name,
        "name": name,
        "size": version.size,
        "modificationTime": version.modified,
        "flags": flags,
        "advancedData": {
            "backupJobId": version.job_id,
            "backupTime": version.backup_time,
            "referenceTime": version.backup_time,
            "subclient": {
                "subclientId": version.subclient.id,
                "applicationId": version.subclient.application_id,
                "_type_": 7,
            },
            "sourceCommServer": {"_type_": 1, "commCellId": COMMCELL_ID},
        },
    }


def _name(path: str, separator: str) -> str:
    return path.rstrip(separator).rsplit(separator, 1)[-1] or path


def _number(value: object, default: int) -> int:
    try:
        return int(str(value)) if value is not None and not isinstance(value, bool) else default
    except ValueError:
        return default
