"""The simulated Qovery organization: projects, environments, jobs and other services, and each job's past deployments.

Shapes follow Qovery's OpenAPI spec (github.com/Qovery/qovery-openapi-spec, openapi.yaml): JobResponse, Project,
Environment, ServiceLightResponse. `estate(extra_services=N)` adds N generated services for benchmarks.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

ORGANIZATION_ID = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
ORGANIZATION_NAME = "Acme"

PROJECT_ANALYTICS = "9d3b7e21-4c5a-4f8e-b1d2-6a7c8e9f0a13"
PROJECT_PLATFORM = "2b8e4f6a-1d3c-4e5b-9a7f-8c0d2e4f6a25"
ENV_ANALYTICS_STAGING = "3f1d2b9a-8e47-4c5d-a2a1-6b0e9d7c4f20"
ENV_ANALYTICS_PRODUCTION = "6a2c9e4b-7d1f-4a3e-8b5c-0e2f4a6c8d31"
ENV_PLATFORM_PRODUCTION = "8e4a1c7d-2b5f-4d9e-a3c6-1f7b9d2e4a47"
CLUSTER_PRODUCTION = "4c7e2a9f-6b1d-4e8a-9c3f-5d2b8e1a7c59"
CLUSTER_STAGING = "0d5f8b2e-9a4c-4b7d-8e1a-3c6f9b2d5e68"

# Jobs. nightly-report exists twice: NIGHTLY_REPORT in analytics/staging, NIGHTLY_REPORT_PRODUCTION in production.
NIGHTLY_REPORT = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
SEED_DATABASE = "a41e7d3c-2f9b-4b61-8d0e-5c7a9f1b2e34"
CLEANUP_TEMP = "0b9e6f2d-3c4a-4e1b-8f7d-2a6c5e9b1d03"
BACKFILL_EVENTS = "f6a2c8e4-1b9d-4f3a-8c7e-2d4b6f8a1c93"
NIGHTLY_REPORT_PRODUCTION = "e3b9d5f1-7a2c-4d8e-b6f4-9c1a3e5d7b72"
WEEKLY_EXPORT = "c8d4f1a9-6b2e-4f7c-9e3a-1d5b7c9e2f84"
MIGRATE_DB = "5e2c8a71-9d3f-4b6e-a0c4-7f1b3d5e9a62"
ROTATE_KEYS = "b4d8f2a6-3e9c-4a1d-9f5b-7c3e1a9d5f06"

# Services that are not jobs, so that filtering the organization's services by service_type matters.
DASHBOARD_STAGING = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f51"
WAREHOUSE_STAGING = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f52"
DASHBOARD_PRODUCTION = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f53"
WAREHOUSE_PRODUCTION = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f54"
PLATFORM_API = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f55"
PLATFORM_POSTGRES = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f56"
PLATFORM_REDIS = "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f57"

OWNER = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DOCKER_HUB: dict[str, str] = {
    "id": "b2a6e1f0-4c3d-4e8b-9f7a-1d2c3b4a5e6f",
    "name": "Docker Hub",
    "url": "https://docker.io",
    "kind": "DOCKER_HUB",
}
ICONS = {
    "CRON": "app://qovery-console/cron-job",
    "LIFECYCLE": "app://qovery-console/lifecycle-job",
    "APPLICATION": "app://qovery-console/application",
    "DATABASE": "app://qovery-console/database",
    "CONTAINER": "app://qovery-console/container",
}
BACKEND_REPO = "https://github.com/acme/backend.git"
PLATFORM_REPO = "https://github.com/acme/platform.git"
BROKEN_MIGRATION_COMMIT = "e5a1c9d4b7f20863a1c5e9d3b7f1a4c8e2d6b0f9"
MISSING_IMAGE = ("acme/cleanup-temp", "0.9.1")  # never pushed: deploying it fails at the image mirroring step
_NAMESPACE = uuid.UUID("6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f")  # ids of the generated benchmark services


def _commit(sha: str, at: str, message: str, author: str, tag: str, repo: str) -> dict[str, str]:
    avatars = {"Jane Doe": "1234567", "John Smith": "7654321"}
    page = repo.removesuffix(".git")
    return {
        "created_at": at,
        "git_commit_id": sha,
        "tag": tag,
        "message": message,
        "author_name": author,
        "author_avatar_url": f"https://avatars.githubusercontent.com/u/{avatars[author]}?v=4",
        "commit_page_url": f"{page}/commit/{sha}",
    }


COMMITS: dict[str, list[dict[str, str]]] = {  # by repository URL, newest first (Qovery's Commit schema)
    BACKEND_REPO: [
        _commit(
            "ddd1cee35762e9b4bb95633c22193393ca3bb384",
            "2025-06-18T13:58:02Z",
            "fix(report): handle empty invoices (#212)",
            "Jane Doe",
            "",
            BACKEND_REPO,
        ),
        _commit(
            "136b77f8a57026d1f4760edc84dc8999a5334f97",
            "2025-06-17T09:41:37Z",
            "chore: bump dependencies",
            "John Smith",
            "v2.1.1",
            BACKEND_REPO,
        ),
        _commit(
            "4f9a2c1e7b3d5a6c8e0f1b2d3c4e5f6a7b8c9d0e",
            "2025-06-16T17:22:10Z",
            "feat(seed): add demo tenants",
            "Jane Doe",
            "",
            BACKEND_REPO,
        ),
    ],
    PLATFORM_REPO: [
        _commit(
            BROKEN_MIGRATION_COMMIT,
            "2025-06-19T08:51:30Z",
            "feat(orders): backfill discount codes (#318)",
            "John Smith",
            "",
            PLATFORM_REPO,
        ),
        _commit(
            "b7d2e4f6a8c0135792468ace0bdf13579bdf2468",
            "2025-06-12T15:20:11Z",
            "fix(migrations): index orders.created_at (#311)",
            "Jane Doe",
            "v3.4.0",
            PLATFORM_REPO,
        ),
        _commit(
            "a1c3e5f7092b4d6f8a0c2e4f6a8b0d2f4e6a8c0b",
            "2025-06-05T10:02:45Z",
            "feat(billing): add invoices.currency (#304)",
            "John Smith",
            "v3.3.0",
            PLATFORM_REPO,
        ),
    ],
}


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    description: str
    created_at: str

    def response(self, environments: int) -> dict[str, Any]:
        """A Project (spec Project)."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "name": self.name,
            "description": self.description,
            "associated_environments_count": environments,
            "organization": {"id": ORGANIZATION_ID},
        }


@dataclass(frozen=True)
class Environment:
    id: str
    name: str
    mode: str  # EnvironmentModeEnum
    project_id: str
    cluster_id: str
    created_at: str

    @property
    def cluster_name(self) -> str:
        return "acme-production" if self.cluster_id == CLUSTER_PRODUCTION else "acme-staging"

    def response(self) -> dict[str, Any]:
        """An Environment (spec Environment)."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "name": self.name,
            "organization": {"id": ORGANIZATION_ID},
            "project": {"id": self.project_id},
            "last_updated_by": OWNER,
            "cloud_provider": {"provider": "aws", "cluster": "eu-west-3"},
            "mode": self.mode,
            "cluster_id": self.cluster_id,
            "cluster_name": self.cluster_name,
            "expires_at": None,
        }


@dataclass(frozen=True)
class Service:
    """A service that is not a job: only what the organization's service list shows of it."""

    id: str
    name: str
    description: str
    service_type: str  # ServiceTypeEnum
    environment_id: str


@dataclass(frozen=True)
class PastDeployment:
    """One entry of a job's seeded deployment history, oldest first; `version` is an image tag or a commit id."""

    action: str  # DEPLOY or STOP
    state: str  # the StateEnum it ended in
    created_at: str
    triggered_by: str
    origin: str  # OrganizationEventOrigin
    version: str


@dataclass
class Estate:
    projects: list[Project]
    environments: list[Environment]
    services: list[Service]
    jobs: list[dict[str, Any]]  # JobResponse dicts
    history: dict[str, list[PastDeployment]] = field(default_factory=dict[str, list[PastDeployment]])

    def organization(self) -> dict[str, Any]:
        """The one organization (spec Organization)."""
        return {
            "id": ORGANIZATION_ID,
            "created_at": "2024-11-02T10:00:00Z",
            "updated_at": "2025-05-14T08:30:00Z",
            "name": ORGANIZATION_NAME,
            "description": "Acme's data and platform services",
            "plan": "TEAM",
            "website_url": "https://www.example.com",
            "repository": None,
            "logo_url": None,
            "icon_url": None,
            "admin_emails": ["ops@example.com"],
            "owner": OWNER,
            "billing_deployment_restriction": None,
            "organization_plan": {"plan": "TEAM", "audit_logs_retention_in_days": 30},
        }


_PROJECTS = [
    Project(PROJECT_ANALYTICS, "analytics", "Reports, exports and the data warehouse", "2024-11-02T10:12:00Z"),
    Project(PROJECT_PLATFORM, "platform", "The public API and its database", "2024-11-05T14:40:00Z"),
]
_ENVIRONMENTS = [
    Environment(
        ENV_ANALYTICS_STAGING, "staging", "STAGING", PROJECT_ANALYTICS, CLUSTER_STAGING, "2024-11-02T10:20:00Z"
    ),
    Environment(
        ENV_ANALYTICS_PRODUCTION,
        "production",
        "PRODUCTION",
        PROJECT_ANALYTICS,
        CLUSTER_PRODUCTION,
        "2024-11-03T09:00:00Z",
    ),
    Environment(
        ENV_PLATFORM_PRODUCTION,
        "production",
        "PRODUCTION",
        PROJECT_PLATFORM,
        CLUSTER_PRODUCTION,
        "2024-11-05T15:00:00Z",
    ),
]
_SERVICES = [
    Service(DASHBOARD_STAGING, "dashboard", "The analytics dashboard", "APPLICATION", ENV_ANALYTICS_STAGING),
    Service(WAREHOUSE_STAGING, "warehouse", "PostgreSQL 16", "DATABASE", ENV_ANALYTICS_STAGING),
    Service(DASHBOARD_PRODUCTION, "dashboard", "The analytics dashboard", "APPLICATION", ENV_ANALYTICS_PRODUCTION),
    Service(WAREHOUSE_PRODUCTION, "warehouse", "PostgreSQL 16", "DATABASE", ENV_ANALYTICS_PRODUCTION),
    Service(PLATFORM_API, "api", "The public REST API", "APPLICATION", ENV_PLATFORM_PRODUCTION),
    Service(PLATFORM_POSTGRES, "postgres", "PostgreSQL 16", "DATABASE", ENV_PLATFORM_PRODUCTION),
    Service(PLATFORM_REDIS, "redis", "Redis 7 cache", "CONTAINER", ENV_PLATFORM_PRODUCTION),
]

_CRON_JOB: dict[str, Any] = {  # Qovery's documented CronJobResponse
    "id": NIGHTLY_REPORT,
    "created_at": "2025-03-04T09:12:45.118374Z",
    "updated_at": "2025-06-18T14:03:27.552901Z",
    "environment": {"id": ENV_ANALYTICS_STAGING},
    "maximum_cpu": 16000,
    "maximum_memory": 16384,
    "maximum_gpu": 0,
    "name": "nightly-report",
    "description": "Builds the nightly billing report",
    "cpu": 500,
    "memory": 512,
    "gpu": 0,
    "max_nb_restart": 0,
    "max_duration_seconds": 3600,
    "auto_preview": False,
    "port": None,
    "source": {
        "image": {
            "image_name": "acme/nightly-report",
            "tag": "1.4.2",
            "registry_id": DOCKER_HUB["id"],
            "registry": DOCKER_HUB,
        }
    },
    "healthchecks": {},
    "auto_deploy": False,
    "icon_uri": ICONS["CRON"],
    "service_type": "JOB",
    "job_type": "CRON",
    "schedule": {
        "cronjob": {
            "arguments": ["--date", "yesterday"],
            "entrypoint": "/app/run.sh",
            "timezone": "Etc/UTC",
            "scheduled_at": "0 2 * * *",
        }
    },
    "annotations_groups": [],
    "labels_groups": [],
}
GIT_REPOSITORY: dict[str, Any] = {
    "has_access": True,
    "provider": "GITHUB",
    "owner": "acme",
    "url": BACKEND_REPO,
    "name": "acme/backend",
    "branch": "main",
    "root_path": "/",
    "deployed_commit_id": "ddd1cee35762e9b4bb95633c22193393ca3bb384",
    "deployed_commit_date": "2025-05-30T08:20:58.120044Z",
    "deployed_commit_contributor": "TAGS_NOT_IMPLEMENTED",
    "deployed_commit_tag": "TAGS_NOT_IMPLEMENTED",
    "git_token_id": None,
    "git_token_name": None,
}
DEPLOYED_COMMIT_KEYS = (
    "deployed_commit_id",
    "deployed_commit_date",
    "deployed_commit_contributor",
    "deployed_commit_tag",
)
_LIFECYCLE_JOB: dict[str, Any] = {  # Qovery's documented LifecycleJobResponse
    **{k: v for k, v in _CRON_JOB.items() if k != "description"},
    "id": SEED_DATABASE,
    "created_at": "2025-01-22T16:40:02.004512Z",
    "updated_at": "2025-05-30T08:21:11.730118Z",
    "name": "seed-database",
    "cpu": 1000,
    "memory": 1024,
    "max_duration_seconds": 300,
    "auto_preview": True,
    "source": {
        "docker": {
            "git_repository": GIT_REPOSITORY,
            "dockerfile_path": "jobs/seed/Dockerfile",
            "dockerfile_raw": None,
            "docker_target_build_stage": None,
        }
    },
    "auto_deploy": True,
    "icon_uri": ICONS["LIFECYCLE"],
    "job_type": "LIFECYCLE",
    "schedule": {
        "on_start": {"arguments": ["seed", "--if-empty"], "entrypoint": "/app/manage"},
        "on_delete": {"arguments": ["drop-all"], "entrypoint": "/app/manage"},
        "lifecycle_type": "GENERIC",
    },
}


def _image(name: str, tag: str) -> dict[str, Any]:
    return {"image": {"image_name": name, "tag": tag, "registry_id": DOCKER_HUB["id"], "registry": DOCKER_HUB}}


def _cron(job_id: str, name: str, description: str, image: str, tag: str, when: str, **extra: Any) -> dict[str, Any]:
    return {
        **_CRON_JOB,
        "id": job_id,
        "name": name,
        "description": description,
        "source": _image(image, tag),
        "schedule": {"cronjob": {"arguments": [], "timezone": "Etc/UTC", "scheduled_at": when}},
        **extra,
    }


def _seed_jobs() -> list[dict[str, Any]]:
    never_deployed = {k: v for k, v in GIT_REPOSITORY.items() if k not in DEPLOYED_COMMIT_KEYS}
    platform_repo = {
        **GIT_REPOSITORY,
        "url": PLATFORM_REPO,
        "name": "acme/platform",
        "deployed_commit_id": BROKEN_MIGRATION_COMMIT,
        "deployed_commit_date": "2025-06-19T08:51:30Z",
    }
    production = {"environment": {"id": ENV_ANALYTICS_PRODUCTION}}
    jobs = [
        _CRON_JOB,
        _LIFECYCLE_JOB,
        _cron(
            CLEANUP_TEMP,
            "cleanup-temp",
            "Removes temporary files older than a day",
            *MISSING_IMAGE,
            "*/30 * * * *",
            updated_at="2025-06-18T13:19:48.201144Z",
        ),
        {
            **_LIFECYCLE_JOB,
            "id": BACKFILL_EVENTS,
            "created_at": "2025-06-17T11:05:19.402211Z",
            "updated_at": "2025-06-17T11:05:19.402211Z",
            "name": "backfill-events",
            "description": "Replays last month's click events into the warehouse",
            "auto_preview": False,
            "auto_deploy": False,
            "source": {
                "docker": {**_LIFECYCLE_JOB["source"]["docker"], "git_repository": never_deployed}
                | {"dockerfile_path": "jobs/backfill/Dockerfile"}
            },
            "schedule": {"on_start": {"arguments": ["backfill", "--days", "30"], "entrypoint": "/app/manage"}},
        },
        {
            **_CRON_JOB,
            **production,
            "id": NIGHTLY_REPORT_PRODUCTION,
            "created_at": "2025-03-04T09:40:12.881920Z",
            "updated_at": "2025-06-12T08:01:57.104823Z",
            "source": _image("acme/nightly-report", "1.4.1"),
        },
        _cron(
            WEEKLY_EXPORT,
            "weekly-export",
            "Exports the week's orders to the data warehouse",
            "acme/weekly-export",
            "2.0.0",
            "0 3 * * 1",
            **production,
            updated_at="2025-06-16T09:58:40.330187Z",
        ),
        {
            **_LIFECYCLE_JOB,
            "environment": {"id": ENV_PLATFORM_PRODUCTION},
            "id": MIGRATE_DB,
            "created_at": "2025-02-11T10:30:00.120934Z",
            "updated_at": "2025-06-19T09:12:30.640128Z",
            "name": "migrate-db",
            "description": "Applies the platform database migrations before the API starts",
            "auto_preview": False,
            "auto_deploy": False,
            "source": {
                "docker": {
                    **_LIFECYCLE_JOB["source"]["docker"],
                    "git_repository": platform_repo,
                    "dockerfile_path": "jobs/migrate/Dockerfile",
                }
            },
            "schedule": {
                "on_start": {"arguments": ["migrate"], "entrypoint": "/app/manage"},
                "lifecycle_type": "GENERIC",
            },
        },
        _cron(
            ROTATE_KEYS,
            "rotate-keys",
            "Rotates the API signing keys",
            "acme/rotate-keys",
            "1.2.0",
            "0 4 1 * *",
            environment={"id": ENV_PLATFORM_PRODUCTION},
            updated_at="2025-06-01T07:59:02.550112Z",
        ),
    ]
    return copy.deepcopy(jobs)


_CI, _JANE, _JOHN = "ci-deployer", "Jane Doe", "John Smith"
_HISTORY: dict[str, list[PastDeployment]] = {
    NIGHTLY_REPORT: [
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-02T09:14:03.118Z", _JANE, "CONSOLE", "1.4.0"),
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-11T16:40:22.507Z", _CI, "API", "1.4.1"),
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-18T14:05:40.310Z", _JANE, "CONSOLE", "1.4.2"),
    ],
    SEED_DATABASE: [
        PastDeployment(
            "DEPLOY", "DEPLOYED", "2025-06-16T17:30:02.771Z", _JANE, "GIT", COMMITS[BACKEND_REPO][2]["git_commit_id"]
        ),
        PastDeployment(
            "DEPLOY", "DEPLOYED", "2025-06-18T14:00:12.093Z", _JANE, "GIT", COMMITS[BACKEND_REPO][0]["git_commit_id"]
        ),
    ],
    CLEANUP_TEMP: [
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-10T10:31:44.260Z", _JANE, "CONSOLE", "0.9.0"),
        PastDeployment("DEPLOY", "DEPLOYMENT_ERROR", "2025-06-18T13:20:05.842Z", _CI, "API", "0.9.1"),
    ],
    NIGHTLY_REPORT_PRODUCTION: [
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-03T08:00:41.901Z", _CI, "API", "1.4.0"),
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-12T08:02:11.430Z", _CI, "API", "1.4.1"),
    ],
    WEEKLY_EXPORT: [
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-09T07:12:55.018Z", _CI, "API", "1.9.3"),
        PastDeployment("DEPLOY", "DEPLOYED", "2025-06-16T10:00:03.664Z", _JOHN, "CONSOLE", "2.0.0"),
        PastDeployment("STOP", "STOPPED", "2025-06-17T07:45:31.297Z", _JOHN, "CONSOLE", "2.0.0"),
    ],
    MIGRATE_DB: [
        PastDeployment(
            "DEPLOY",
            "DEPLOYED",
            "2025-06-05T10:20:17.455Z",
            _JOHN,
            "CONSOLE",
            COMMITS[PLATFORM_REPO][2]["git_commit_id"],
        ),
        PastDeployment(
            "DEPLOY", "DEPLOYED", "2025-06-12T15:41:09.812Z", _CI, "API", COMMITS[PLATFORM_REPO][1]["git_commit_id"]
        ),
        PastDeployment(
            "DEPLOY", "DEPLOYMENT_ERROR", "2025-06-19T09:12:44.206Z", _JOHN, "CONSOLE", BROKEN_MIGRATION_COMMIT
        ),
    ],
    ROTATE_KEYS: [PastDeployment("DEPLOY", "DEPLOYED", "2025-06-01T08:00:05.377Z", _CI, "API", "1.2.0")],
}


def estate(extra_services: int = 0) -> Estate:
    """A fresh copy of the seeded organization, plus `extra_services` generated ones (see _generated)."""
    seeded = Estate(list(_PROJECTS), list(_ENVIRONMENTS), list(_SERVICES), _seed_jobs(), dict(_HISTORY))
    if extra_services > 0:
        _generated(seeded, extra_services)
    return seeded


_PER_ENVIRONMENT = 25
_ENVIRONMENTS_PER_PROJECT = 4


def _generated(estate: Estate, count: int) -> None:
    """`count` more services for benchmarks: 25 per environment, four environments per project; of each 25, one
    application, one database, the rest deployed cron jobs. Ids are fixed (uuid5), so runs compare."""
    for index in range(count):
        env_index, slot = divmod(index, _PER_ENVIRONMENT)
        project_index = env_index // _ENVIRONMENTS_PER_PROJECT
        if slot == 0 and env_index % _ENVIRONMENTS_PER_PROJECT == 0:
            estate.projects.append(
                Project(_id("project", project_index), f"bench-{project_index:03d}", "", "2025-01-01T00:00:00Z")
            )
        environment_id = _id("environment", env_index)
        if slot == 0:
            mode = "PRODUCTION" if env_index % 2 else "STAGING"
            cluster = CLUSTER_PRODUCTION if env_index % 2 else CLUSTER_STAGING
            name = f"{mode.lower()}-{env_index:03d}"
            project_id = _id("project", project_index)
            estate.environments.append(
                Environment(environment_id, name, mode, project_id, cluster, "2025-01-01T00:00:00Z")
            )
        service_id = _id("service", index)
        if slot in (1, 2):
            kind = "APPLICATION" if slot == 1 else "DATABASE"
            estate.services.append(Service(service_id, f"svc-{index:04d}", "", kind, environment_id))
            continue
        tag = f"1.{index % 7}.{index % 3}"
        job = _cron(
            service_id, f"job-{index:04d}", "Generated for benchmarks", f"acme/job-{index:04d}", tag, "0 1 * * *"
        )
        job.update(environment={"id": environment_id}, created_at="2025-01-01T00:00:00Z")
        estate.jobs.append(copy.deepcopy(job))
        estate.history[service_id] = [PastDeployment("DEPLOY", "DEPLOYED", "2025-06-01T00:00:00.000Z", _CI, "API", tag)]


def _id(kind: str, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}-{index}"))
