"""Commvault's estate, so that agents act on what operators name: clients ("fs01"), the subclients a backup or a
restore needs, and the files a subclient's backups hold. Read-only tools."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from jobctl_mcp.client import Route, Send, json_int, json_list, json_object, json_str
from jobctl_mcp.commvault import CommvaultClient, EntityId, Name, iso_time
from jobctl_mcp.errors import InputError, NotFoundError, VendorAPIError, VendorUnavailableError
from jobctl_mcp.spec import READ, AnySpec, ToolInput, ToolOutput, ToolSpec, VendorText, page_of

# Clients, subclients and browse: Commvault's REST API documentation ("GET Client", "GET Subclient",
# "POST DoBrowse") and the cvpysdk SDK (client.py, subclient.py, backupset.py), which read them as below.
LIST_CLIENTS = Route("GET", "/Client")
LIST_SUBCLIENTS = Route("GET", "/Subclient")
GET_SUBCLIENT = Route("GET", "/Subclient/{subclientId}")
BROWSE = Route("POST", "/DoBrowse", reads_only=True)

# One browse asks for this many entries at most; more are said to exist rather than guessed at.
BROWSE_CAP = 1000


class Client(ToolOutput):
    clientId: int
    name: VendorText = Field(description="Commvault's client name")
    hostName: VendorText | None = None
    displayName: VendorText | None = None
    agents: list[VendorText] = Field(default_factory=list[str], description="Installed agents, e.g. File System")


class ClientList(ToolOutput):
    total: int = Field(description="Clients matching the filter, before paging")
    offset: int
    nextOffset: int | None = Field(description="Offset of the next page; null on the last page")
    clients: list[Client]


class Subclient(ToolOutput):
    subclientId: int
    name: VendorText
    clientId: int
    client: VendorText | None = None
    backupsetId: int | None = None
    backupset: VendorText | None = None
    instanceId: int | None = None
    instance: VendorText | None = None
    appName: VendorText | None = Field(default=None, description="The agent, e.g. File System or SQL Server")
    applicationId: int | None = Field(default=None, description="The agent's id: 29 Linux, 33 Windows file system")
    lastBackupTime: str | None = Field(default=None, description="ISO 8601, UTC; null if never backed up")
    isDefault: bool | None = None


class SubclientList(ToolOutput):
    clientId: int
    client: VendorText | None = None
    total: int
    subclients: list[Subclient]


class BackedUpItem(ToolOutput):
    name: VendorText
    path: VendorText
    isFolder: bool
    size: int | None = Field(default=None, description="Bytes")
    modifiedTime: str | None = Field(default=None, description="ISO 8601, UTC")
    backupTime: str | None = Field(default=None, description="When the backup that holds it ran")
    backupJobId: int | None = None


class BrowseResult(ToolOutput):
    subclientId: int
    path: VendorText
    asOf: str | None = Field(description="The point in time browsed; null for the latest backup")
    total: int = Field(description="Entries at this path, before paging")
    offset: int
    nextOffset: int | None
    items: list[BackedUpItem]
    note: str | None = None


def _client(entry: Any) -> Client | None:
    client = json_object(json_object(entry).get("client"))
    entity = json_object(client.get("clientEntity"))
    client_id, name = json_int(entity.get("clientId")), json_str(entity.get("clientName"))
    if client_id is None or name is None:
        return None
    idas = map(json_object, json_list(client.get("idaList")))
    agents = [json_str(json_object(ida.get("idaEntity")).get("appName")) for ida in idas]
    return Client(
        clientId=client_id,
        name=name,
        hostName=json_str(entity.get("hostName")),
        displayName=json_str(entity.get("displayName")),
        agents=[agent for agent in agents if agent],
    )


def _listing(data: Any, key: str) -> dict[str, Any] | None:
    """A GET Client or GET Subclient answer: `key` holds the list; an empty answer or one without it (cvpysdk: "the
    user might not have privileges") lists nothing, which is no error."""
    if data == {}:
        return {}
    body = json_object(data)
    return body if key in body or "filterQueryCount" in body else None


def read_clients(data: Any) -> list[Client] | None:
    if (body := _listing(data, "clientProperties")) is None:
        return None
    entries = [entry for entry in json_list(body.get("clientProperties")) if not _deleted(entry)]
    return [client for client in map(_client, entries) if client is not None]


def _deleted(entry: Any) -> bool:
    return json_object(json_object(entry).get("clientProps")).get("IsDeletedClient") is True


def _names(client: Client) -> list[str]:
    return [name.lower() for name in (client.name, client.hostName, client.displayName) if name]


class ListClientsInput(ToolInput):
    name: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="Part of the client's name, host name or display name (any case)"
    )
    limit: int = Field(default=50, ge=1, le=500, description="Clients per page")
    offset: int = Field(default=0, ge=0, description="Clients to skip, for the next page")


def parse_clients(data: Any, args: ListClientsInput) -> ClientList | None:
    clients = read_clients(data)
    if clients is None:
        return None
    if args.name:
        wanted = args.name.lower()
        clients = [client for client in clients if any(wanted in name for name in _names(client))]
    page, next_offset = page_of(clients, args.offset, args.limit)
    return ClientList(total=len(clients), offset=args.offset, nextOffset=next_offset, clients=page)


class ListSubclientsInput(ToolInput):
    clientId: EntityId | None = Field(default=None, description="The client's id (or give clientName)")
    clientName: Name | None = Field(
        default=None, description="The client's name, host name or display name, e.g. fs01 (any case)"
    )

    @model_validator(mode="after")
    def _one_client(self) -> Self:
        if (self.clientId is None) == (self.clientName is None):
            raise ValueError("give either clientId or clientName")
        return self


async def resolve_client(client: CommvaultClient, name: str) -> Client:
    """The one client an operator's name means, matched as cvpysdk resolves it: name, then host name, then display
    name, ignoring case; several matches are an error that lists them."""
    clients = await client.call("list clients", LIST_CLIENTS, read_clients, "a client list")
    wanted = name.lower()
    for field in ("name", "hostName", "displayName"):
        found = [c for c in clients if (getattr(c, field) or "").lower() == wanted]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = ", ".join(f"{c.name} (clientId {c.clientId})" for c in found)
            raise InputError(f"{len(found)} clients are called {name!r}: {listed}. Call again with clientId.")
    near = [c.name for c in clients if any(wanted in n for n in _names(c))][:10]
    hint = f"Did you mean {', '.join(near)}?" if near else "List the clients with commvault-list-clients."
    raise NotFoundError("Commvault", f"find client {name!r}", 200, f"no client is called {name!r}", hint)


def _subclient(entry: Any) -> Subclient | None:
    entity = json_object(json_object(entry).get("subClientEntity"))
    common = json_object(json_object(entry).get("commonProperties"))
    subclient_id, client_id = json_int(entity.get("subclientId")), json_int(entity.get("clientId"))
    if subclient_id is None or client_id is None:
        return None
    default = common.get("isDefaultSubclient")
    return Subclient(
        subclientId=subclient_id,
        name=json_str(entity.get("subclientName")) or str(subclient_id),
        clientId=client_id,
        client=json_str(entity.get("clientName")),
        backupsetId=json_int(entity.get("backupsetId")),
        backupset=json_str(entity.get("backupsetName")),
        instanceId=json_int(entity.get("instanceId")),
        instance=json_str(entity.get("instanceName")),
        appName=json_str(entity.get("appName")),
        applicationId=json_int(entity.get("applicationId")),
        lastBackupTime=iso_time(common.get("lastBackupTime")),
        isDefault=default if isinstance(default, bool) else None,
    )


def read_subclients(data: Any) -> list[tuple[Subclient, dict[str, Any]]] | None:
    if (body := _listing(data, "subClientProperties")) is None:
        return None
    entries = [json_object(entry) for entry in json_list(body.get("subClientProperties"))]
    return [(parsed, entry) for entry in entries if (parsed := _subclient(entry)) is not None]


async def list_subclients(client: CommvaultClient, args: ListSubclientsInput) -> SubclientList:
    name = None
    if args.clientId is not None:
        client_id = args.clientId
    else:
        assert args.clientName is not None, "checked by the input model"
        found = await resolve_client(client, args.clientName)
        client_id, name = found.clientId, found.name
    query = Send(params={"clientId": client_id})
    listed = await client.call(
        f"list subclients of client {client_id}", LIST_SUBCLIENTS, read_subclients, _SUBS, send=query
    )
    # The API may answer with every agent's subclients, and cvpysdk filters them itself: keep this client's.
    subclients = [subclient for subclient, _ in listed if subclient.clientId == client_id]
    name = name or next((s.client for s in subclients if s.client), None)
    return SubclientList(clientId=client_id, client=name, total=len(subclients), subclients=subclients)


_SUBS = "a subclient list"
_BROWSED = "a browse answer"


class BrowseInput(ToolInput):
    subclientId: EntityId = Field(description="The subclient whose backups to look in (from commvault-list-subclients)")
    path: Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        default="/",
        description="Folder or file, as backed up: /var/www or C:\\Users; a file's own path shows that file",
    )
    asOf: Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z$")] | None = Field(
        default=None, description="UTC time, e.g. 2026-11-30T08:00Z: the backup as it was then (default: latest)"
    )
    limit: int = Field(default=100, ge=1, le=BROWSE_CAP, description="Entries per page")
    offset: int = Field(default=0, ge=0, description="Entries to skip, for the next page")


async def browse(client: CommvaultClient, args: BrowseInput) -> BrowseResult:
    # DoBrowse wants the whole entity (client, agent, instance, backup set); the subclient's own properties have it.
    path = {"subclientId": args.subclientId}
    listed = await client.call(f"get subclient {args.subclientId}", GET_SUBCLIENT, read_subclients, _SUBS, path=path)
    if not listed:
        raise NotFoundError(
            "Commvault", f"get subclient {args.subclientId}", 200, f"no subclient {args.subclientId}",
            "Find subclient ids with commvault-list-subclients.",
        )  # fmt: skip
    subclient = listed[0][0]
    to_time = _epoch(args.asOf) if args.asOf else 0
    request = Send(json=_browse_request(subclient, args.path, to_time))
    label = f"browse {args.path} in subclient {args.subclientId}"
    items = await client.call(label, BROWSE, lambda data: _browsed(data, label), _BROWSED, send=request)
    page, next_offset = page_of(items, args.offset, args.limit)
    note = None
    if len(items) >= BROWSE_CAP:
        note = f"Commvault listed {BROWSE_CAP} entries or more at this path; browse a deeper path to see all."
    return BrowseResult(
        subclientId=args.subclientId, path=args.path, asOf=args.asOf, total=len(items), offset=args.offset,
        nextOffset=next_offset, items=page, note=note,
    )  # fmt: skip


def _epoch(when: str) -> int:
    return int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp())


def _browse_request(subclient: Subclient, path: str, to_time: int) -> dict[str, Any]:
    """A one-level browse as cvpysdk builds it (backupset.py, _prepare_browse_json)."""
    entity = {
        "clientName": subclient.client, "clientId": subclient.clientId, "applicationId": subclient.applicationId,
        "instanceId": subclient.instanceId, "backupsetId": subclient.backupsetId, "subclientId": subclient.subclientId,
    }  # fmt: skip
    paging = {"pageSize": BROWSE_CAP, "skipNode": 0, "firstNode": 0}
    return {
        "opType": 0,
        "mode": {"mode": 2},
        "paths": [{"path": path}],
        "options": {"showDeletedFiles": False, "restoreIndex": True, "vsDiskBrowse": False, "vsFileBrowse": False},
        "entity": {key: value for key, value in entity.items() if value is not None},
        "timeRange": {"fromTime": 0, "toTime": to_time},
        "advOptions": {"copyPrecedence": 0},
        "queries": [
            {
                "type": 0,
                "queryId": "dataQuery",
                "dataParam": {"sortParam": {"ascending": True, "sortBy": [0]}, "paging": paging},
            }
        ],
    }


_BY_NAME = {"ascending": True, "sortBy": [0]}


def _browsed(data: Any, label: str) -> list[BackedUpItem] | None:
    """The entries of a DoBrowse answer, read as cvpysdk reads them (backupset.py, _process_browse_response)."""
    if data == {}:  # cvpysdk waits and asks again: the index is still being prepared
        raise VendorUnavailableError("Commvault", label, "the browse is not ready yet (an empty answer); try again")
    responses = [json_object(r) for r in json_list(json_object(data).get("browseResponses"))]
    if not responses:
        return None
    result = next((json_object(r.get("browseResult")) for r in responses if "browseResult" in r), None)
    if result is None:
        messages = json_list(responses[0].get("messages"))
        message = json_str(json_object(messages[0] if messages else None).get("errorMessage"))
        if message:
            raise VendorAPIError("Commvault", label, 200, message)
        return []
    if "dataResultSet" not in result:
        # "No data found at the path specified" (cvpysdk): the path is not in this backup.
        raise NotFoundError(
            "Commvault", label, 200, "the path is not in the backup",
            "Browse its parent folder to see what the backup holds, or another asOf time.",
        )  # fmt: skip
    found: Any = result["dataResultSet"]
    entries: list[Any] = [found] if isinstance(found, dict) else json_list(found)
    return [item for item in map(_item, entries) if item is not None]


def _item(entry: Any) -> BackedUpItem | None:
    entry = json_object(entry)
    path, name = json_str(entry.get("path")), json_str(entry.get("displayName")) or json_str(entry.get("name"))
    if path is None or name is None:
        return None
    advanced = json_object(entry.get("advancedData"))
    # cvpysdk: flags.file true (or "1") is a file, anything else a folder.
    is_file = json_object(entry.get("flags")).get("file") in (True, "1", 1)
    return BackedUpItem(
        name=name,
        path=path,
        isFolder=not is_file,
        size=json_int(entry.get("size")),
        modifiedTime=iso_time(entry.get("modificationTime")),
        backupTime=iso_time(advanced.get("backupTime")),
        backupJobId=json_int(advanced.get("backupJobId")),
    )


COMMVAULT_ESTATE_TOOLS: tuple[AnySpec, ...] = (
    ToolSpec(
        name="commvault-list-clients",
        vendor="commvault",
        title="Commvault: list clients",
        description="Commvault: list the clients (servers) Commvault backs up, with id, name, host name and agents. "
        "Filter by part of a name (fs01 finds fs01.example.com). Next: commvault-list-subclients.",
        hints=READ,
        input=ListClientsInput,
        output=ClientList,
        route=LIST_CLIENTS,
        label="list clients",
        expects="a client list",
        parse=parse_clients,
    ),
    ToolSpec(
        name="commvault-list-subclients",
        vendor="commvault",
        title="Commvault: list a client's subclients",
        description="Commvault: list one client's subclients (what gets backed up) with the ids a backup or restore "
        "needs (subclientId, backupsetId, instanceId, applicationId) and the last backup time. Give clientId, or "
        "clientName as operators say it (fs01).",
        hints=READ,
        input=ListSubclientsInput,
        output=SubclientList,
        route=LIST_SUBCLIENTS,
        expects=_SUBS,
        reads=(LIST_CLIENTS,),
        run=list_subclients,
    ),
    ToolSpec(
        name="commvault-browse-backup",
        vendor="commvault",
        title="Commvault: browse a backup",
        description="Commvault: list the files and folders a subclient's backups hold under path (latest backup, or "
        "asOf a time), with size, modified time and backup time; a file's own path shows whether it is backed up. "
        "Use it before commvault-run-restore-job.",
        hints=READ,
        input=BrowseInput,
        output=BrowseResult,
        route=BROWSE,
        expects=_BROWSED,
        reads=(GET_SUBCLIENT,),
        run=browse,
    ),
)
