"""The simulated CommCell: clients, their subclients, the seeded job history and the files its backups hold.

Field names follow what Commvault's Python SDK reads (github.com/Commvault/cvpysdk: client.py, subclient.py,
backupset.py, job.py) and Commvault's REST API documentation (GET Client, GET Subclient, POST DoBrowse).
Times are seconds before the simulator's clock, so the history is always recent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

COMMCELL_ID = 2
STORAGE_POLICY = {"storagePolicyName": "Server-Plan-Disk", "storagePolicyId": 3}
LINUX_FS, WINDOWS_FS, SQL_SERVER = 29, 33, 81  # applicationId (cvpysdk constants.py AppIDAType; sqlinstance.py)

# Why jobs wait or fail, in the words Commvault's Job Controller uses for such reasons.
MEDIA_AGENT_WAIT = "The MediaAgent [ma01.example.com] is not available; the job will resume when it comes online."
MEDIA_AGENT_FAILED = (
    "Failed to mount the disk media in library [DiskLib01] on MediaAgent [ma01.example.com]: "
    "the MediaAgent is not reachable."
)
CLIENT_UNREACHABLE = (
    "Failed to connect to the client [db01.example.com] on port [8400]: "
    "the Commvault Communications Service (CVD) did not respond."
)
VSS_FAILED = (
    "Failed to create a VSS snapshot of volume [D:] on client [win-app01]: there is not enough space for the "
    "shadow copy storage area (VSS error 0x8004231F)."
)


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    host: str
    display: str
    guid: str
    windows: bool
    os_name: str
    os_version: str
    agents: tuple[tuple[str, int], ...]  # (appName, applicationId) of each installed agent

    def entity(self) -> dict[str, Any]:
        return {
            "_type_": 3,
            "clientId": self.id,
            "clientName": self.name,
            "hostName": self.host,
            "displayName": self.display,
            "clientGUID": self.guid,
        }

    def reference(self) -> dict[str, Any]:
        """The clientEntity an event carries."""
        return {"clientId": self.id, "clientName": self.name, "displayName": self.display}

    def properties(self, *, full: bool) -> dict[str, Any]:
        """One clientProperties entry: as GET /Client lists it, or with everything GET /Client/{id} adds."""
        ida = [
            {"idaEntity": {"appName": app, "applicationId": app_id, "clientId": self.id, "clientName": self.name}}
            for app, app_id in self.agents
        ]
        client: dict[str, Any] = {
            "clientEntity": self.entity(),
            "osInfo": {
                "Type": "Windows" if self.windows else "Unix",
                "SubType": "Server" if self.windows else "Linux",
                "Version": self.os_version,
                "OsDisplayInfo": {"ProcessorType": "WinX64" if self.windows else "x86_64", "OSName": self.os_name},
            },
            "versionInfo": {
                "version": "ServicePack:40.0",
                "UpdateStatus": 0,
                "GalaxyRelease": {"ReleaseString": "11.40"},
            },
            "idaList": ida,
        }
        props: dict[str, Any] = {
            "IsDeletedClient": False,
            "isInfrastructure": False,
            "networkReadiness": {"status": "ONLINE"},
        }
        if full:
            install = "C:\\Program Files\\Commvault\\ContentStore" if self.windows else "/opt/commvault"
            separator = "\\" if self.windows else "/"
            client.update(
                cvdPort=8400,
                TimeZone={"TimeZoneName": "(UTC) Coordinated Universal Time"},
                installDirectory=install,
                jobResulsDir={"path": f"{install}{separator}JobResults"},  # sic: the key is spelled so
            )
            activities = [{"activityType": kind, "enableActivityType": True} for kind in (1, 2, 16)]
            props.update(
                EnableSnapBackups=False,
                activityControl={
                    "EnableDataRecovery": True,
                    "EnableDataManagement": True,
                    "EnableOnlineContentIndex": False,
                },
                clientActivityControl={"activityControlOptions": activities},
            )
        return {"client": client, "clientProps": props}


@dataclass(frozen=True)
class Subclient:
    id: int
    client_id: int
    app_name: str
    application_id: int
    instance_name: str
    instance_id: int
    backupset_id: int
    name: str
    content: tuple[str, ...] = ()
    backupset_name: str = "defaultBackupSet"

    @property
    def file_system(self) -> bool:
        return self.application_id in (LINUX_FS, WINDOWS_FS)

    @property
    def windows(self) -> bool:
        return self.application_id == WINDOWS_FS or CLIENTS[self.client_id].windows

    def entity(self) -> dict[str, Any]:
        """The subclient entity of a jobSummary (and of JobDetails' generalInfo)."""
        return {
            "clientName": CLIENTS[self.client_id].name,
            "clientId": self.client_id,
            "instanceName": self.instance_name,
            "instanceId": self.instance_id,
            "appName": self.app_name,
            "applicationId": self.application_id,
            "backupsetName": self.backupset_name,
            "backupsetId": self.backupset_id,
            "subclientName": self.name,
            "subclientId": self.id,
        }

    def properties(self, last_backup: int, next_backup: int) -> dict[str, Any]:
        """One subClientProperties entry (GET /Subclient); lastBackupTime 0 means never backed up."""
        properties: dict[str, Any] = {
            "subClientEntity": {**self.entity(), "commCellId": COMMCELL_ID, "_type_": "SUBCLIENT_ENTITY"},
            "commonProperties": {
                "isDefaultSubclient": self.name == "default",
                "enableBackup": True,
                "lastBackupTime": last_backup,
                "nextBackupTime": next_backup,
                "storageDevice": {"dataBackupStoragePolicy": dict(STORAGE_POLICY)},
            },
        }
        if self.content:
            properties["content"] = [{"path": path} for path in self.content]
        return properties


def _fs(subclient_id: int, client_id: int, backupset_id: int, name: str, *content: str) -> Subclient:
    app_id = WINDOWS_FS if CLIENTS[client_id].windows else LINUX_FS
    return Subclient(
        subclient_id, client_id, "File System", app_id, "DefaultInstanceName", 1, backupset_id, name, content
    )


CLIENTS = {
    client.id: client
    for client in (
        Client(
            7,
            "fs01.example.com",
            "fs01.example.com",
            "fs01",
            "DC46466F-FDC7-57B1-A98D-AA34D71EABA2",
            False,
            "Ubuntu 22.04.4 LTS",
            "5.15",
            (("File System", LINUX_FS),),
        ),
        Client(
            8,
            "db01.example.com",
            "db01.example.com",
            "db01",
            "2A0B62C6-28A1-5B7B-B213-603E4C512FFD",
            True,
            "Windows Server 2022 Datacenter",
            "10.0",
            (("File System", WINDOWS_FS), ("SQL Server", SQL_SERVER)),
        ),
        Client(
            9,
            "fs02.example.com",
            "fs02.example.com",
            "fs02",
            "7E1C3B90-5A2D-5F4E-8C61-0B9D2A7F3E15",
            False,
            "Red Hat Enterprise Linux 9.4",
            "5.14",
            (("File System", LINUX_FS),),
        ),
        Client(
            10,
            "win-app01",
            "win-app01.corp.example.com",
            "Billing App Server",
            "F3A9D1C7-64B2-5E08-9D3F-2C7B1E5A8D46",
            True,
            "Windows Server 2019 Standard",
            "10.0",
            (("File System", WINDOWS_FS),),
        ),
    )
}
SUBCLIENTS = {
    subclient.id: subclient
    for subclient in (
        _fs(12, 7, 5, "default", "/etc", "/home", "/var/www"),
        Subclient(13, 8, "SQL Server", SQL_SERVER, "MSSQLSERVER", 3, 6, "default"),
        _fs(14, 9, 7, "default", "/srv", "/home"),
        _fs(15, 8, 8, "default", "C:\\SQLBackups", "C:\\Scripts"),
        _fs(16, 7, 5, "logs", "/var/log"),
        _fs(17, 10, 9, "default", "C:\\BillingApp", "D:\\Shares"),
        _fs(18, 9, 7, "projects", "/data/projects"),
        Subclient(19, 8, "SQL Server", SQL_SERVER, "MSSQLSERVER", 3, 6, "ReportingDBs"),
    )
}
# New backups of these subclients fail this way, at this phase (a problem of the client that persists).
BACKUP_FAILURES = {17: ("Scan", VSS_FAILED)}
# Restores onto these clients fail for want of space on the destination volume.
FULL_DISK_CLIENTS = frozenset({10})


class JobSpec(NamedTuple):
    job_id: int
    job_type: str
    level: str | None  # FULL, INCREMENTAL, DIFFERENTIAL or SYNTHETIC_FULL; None for jobs that are not backups
    subclient_id: int | None  # None for admin jobs
    status: str
    percent: int
    started_ago: int
    ended_ago: int | None = None
    reason: str = ""
    visible: bool = True
    user: str = "admin"
    started_from: str = "Scheduled"
    files: int = 48213
    failed_files: int = 0
    failed_folders: int = 0


_HOUR, _DAY = 3600, 86400
SEED_JOBS = (
    JobSpec(9520, "Backup", "FULL", 12, "Completed", 100, 8 * _DAY, 8 * _DAY - 7200, files=51022),
    JobSpec(9530, "Backup", "FULL", 14, "Completed", 100, 7 * _DAY, 7 * _DAY - 4800, files=20311),
    JobSpec(9540, "Backup", "FULL", 15, "Completed", 100, 6 * _DAY + 43200, 6 * _DAY + 40000, files=1840),
    JobSpec(9545, "Backup", "FULL", 13, "Completed", 100, 6 * _DAY, 6 * _DAY - 3600, files=12),
    JobSpec(9550, "Backup", "FULL", 17, "Completed", 100, 5 * _DAY + 43200, 5 * _DAY + 39600, files=96120),
    JobSpec(9555, "Backup", "FULL", 18, "Completed", 100, 5 * _DAY, 5 * _DAY - 3600, files=7730),
    JobSpec(9560, "Data Aging", None, None, "Completed", 100, 400_000, 399_900, visible=False),
    JobSpec(9580, "Backup", "INCREMENTAL", 14, "Killed", 60, 350_000, 349_000, user="jsmith"),
    JobSpec(9590, "Restore", None, 12, "Completed", 100, 260_000, 259_000, user="jsmith", started_from="Interactive"),
    JobSpec(9600, "Backup", "INCREMENTAL", 13, "Failed", 35, 180_000, 176_400, CLIENT_UNREACHABLE, files=12),
    JobSpec(9605, "Backup", "INCREMENTAL", 12, "Completed", 100, 140_000, 139_000, files=37),
    JobSpec(9608, "Backup", "INCREMENTAL", 13, "Completed", 100, 110_000, 108_000, files=12),
    JobSpec(9612, "Backup", "FULL", 12, "Completed w/ one or more errors", 100, 90_000, 86_400, failed_files=2),
    JobSpec(9620, "Backup", "INCREMENTAL", 15, "Completed", 100, 80_000, 79_000, files=3),
    JobSpec(
        9630,
        "Backup",
        "INCREMENTAL",
        17,
        "Completed w/ one or more errors",
        100,
        70_000,
        68_000,
        files=812,
        failed_files=14,
        failed_folders=1,
    ),
    JobSpec(9640, "Backup", "INCREMENTAL", 18, "Completed", 100, 12 * _HOUR, 12 * _HOUR - 1200, files=64),
    JobSpec(9650, "Backup", "INCREMENTAL", 17, "Failed", 5, 10 * _HOUR, 10 * _HOUR - 300, VSS_FAILED, files=0),
    JobSpec(9660, "Backup", "INCREMENTAL", 14, "Failed", 30, 6 * _HOUR, 6 * _HOUR - 600, MEDIA_AGENT_FAILED, files=0),
    JobSpec(9669, "Backup", "INCREMENTAL", 12, "Running", 42, 615),
    JobSpec(9670, "Backup", "FULL", 13, "Suspended", 10, 2_400, files=12),
    JobSpec(9671, "Backup", "INCREMENTAL", 14, "Pending", 0, 300, reason=MEDIA_AGENT_WAIT),
    JobSpec(9672, "Backup", "INCREMENTAL", 15, "Running", 40, 1_200, files=5),
    JobSpec(9673, "Backup", "FULL", 19, "Running", 15, 900, files=4),
)


class BackedUpFile(NamedTuple):
    """A file and each version of it the backups hold: (backup job id, size in bytes, modified seconds ago)."""

    path: str
    versions: tuple[tuple[int, int, int], ...]


def _same(size: int, modified_ago: int, *jobs: int) -> tuple[tuple[int, int, int], ...]:
    return tuple((job, size, modified_ago) for job in jobs)


BACKED_UP_FILES: dict[int, tuple[BackedUpFile, ...]] = {  # by subclient id
    12: (
        BackedUpFile("/etc/hosts", _same(221, 40 * _DAY, 9520, 9612)),
        BackedUpFile("/etc/passwd", _same(2873, 35 * _DAY, 9520, 9612)),
        BackedUpFile("/etc/nginx/nginx.conf", ((9520, 2380, 12 * _DAY), *_same(2412, 150_000, 9605, 9612))),
        BackedUpFile("/etc/nginx/sites-enabled/default", _same(1024, 30 * _DAY, 9520, 9612)),
        BackedUpFile("/var/www/index.html", ((9520, 5120, 9 * _DAY), (9612, 5233, 100_000))),
        BackedUpFile("/var/www/assets/app.js", _same(48211, 9 * _DAY, 9520, 9612)),
        BackedUpFile("/var/www/assets/style.css", _same(9123, 9 * _DAY, 9520, 9612)),
        BackedUpFile("/home/alice/.bashrc", _same(3771, 60 * _DAY, 9520, 9612)),
        BackedUpFile("/home/alice/notes.txt", _same(1834, 145_000, 9605, 9612)),
        # Locked by its owner during job 9612 (one of its two failed files): only 9520 holds it.
        BackedUpFile("/home/bob/report-q3.pdf", _same(482133, 20 * _DAY, 9520)),
    ),
    14: (
        BackedUpFile("/srv/exports/orders-2025-06.csv", _same(1_204_882, 8 * _DAY, 9530)),
        BackedUpFile("/srv/exports/customers.csv", _same(88_310, 9 * _DAY, 9530)),
        BackedUpFile("/home/deploy/.ssh/authorized_keys", _same(742, 90 * _DAY, 9530)),
    ),
    15: (
        BackedUpFile("C:\\SQLBackups\\Billing_full.bak", ((9540, 2_147_483_648, 6 * _DAY + 50000),)),
        BackedUpFile("C:\\SQLBackups\\Billing_diff.bak", ((9620, 104_857_600, 82_000),)),
        BackedUpFile("C:\\Scripts\\maintenance.ps1", _same(4_096, 30 * _DAY, 9540)),
    ),
    17: (
        BackedUpFile("C:\\BillingApp\\config\\app.config", _same(12_288, 45 * _DAY, 9550)),
        BackedUpFile("C:\\BillingApp\\bin\\Billing.exe", _same(3_407_872, 45 * _DAY, 9550)),
        BackedUpFile("D:\\Shares\\Finance\\budget-2025.xlsx", ((9550, 220_410, 6 * _DAY), (9630, 231_902, 71_000))),
    ),
    18: (
        BackedUpFile("/data/projects/atlas/README.md", _same(6_120, 40 * _DAY, 9555)),
        BackedUpFile("/data/projects/atlas/plan.xlsx", ((9555, 45_200, 6 * _DAY), (9640, 47_981, 13 * _HOUR))),
    ),
}
