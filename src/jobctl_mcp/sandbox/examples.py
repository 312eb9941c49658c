"""One valid call of every tool against the sandbox's estate: for trying the tools by hand (MCP Inspector) and
for tests that run one fault or one hostile argument against every tool. A new tool adds its call here."""

from __future__ import annotations

from typing import Any

from .qovery import CLEANUP_TEMP, NIGHTLY_REPORT, SEED_DATABASE
from .qovery_estate import MIGRATE_DB

EXAMPLES: dict[str, tuple[dict[str, Any], ...]] = {
    "commvault-run-backup-job": ({"subclientId": 12},),
    "commvault-list-jobs": ({},),
    "commvault-get-job-details": ({"jobId": 9612},),
    "commvault-kill-running-job": ({"jobId": 9669},),
    "commvault-resume-suspended-job": ({"jobId": 9670},),
    "commvault-suspend-running-job": ({"jobId": 9669},),
    "commvault-run-restore-job": (
        {"clientId": 7, "subclientId": 12, "paths": ["/var/www"], "destinationPath": "/restore"},
    ),
    "commvault-list-clients": ({"name": "fs"},),
    "commvault-list-subclients": ({"clientName": "fs01"},),
    "commvault-browse-backup": ({"subclientId": 12, "path": "/var/www"},),
    "get-job-id": ({"jobId": NIGHTLY_REPORT},),
    "edit-job": ({"jobId": NIGHTLY_REPORT, "body": {"cpu": 750}},),
    "delete-job": ({"jobId": NIGHTLY_REPORT},),
    "list-last-job-commits": ({"jobId": SEED_DATABASE},),
    "get-job-status": ({"jobId": NIGHTLY_REPORT},),
    "clean-failed-job": ({"jobId": CLEANUP_TEMP},),
    "deploy-job": ({"jobId": NIGHTLY_REPORT},),
    "redeploy-job": ({"jobId": NIGHTLY_REPORT},),
    "stop-job": ({"jobId": NIGHTLY_REPORT},),
    "uninstall-job": ({"jobId": NIGHTLY_REPORT},),
    "qovery-list-jobs": ({"name": "nightly-report", "environment": "staging"},),
    "qovery-list-deployments": ({"jobId": MIGRATE_DB},),
    "wait-for-job": (
        {"vendor": "commvault", "jobId": 9612, "timeoutSeconds": 60},
        {"vendor": "qovery", "jobId": NIGHTLY_REPORT, "timeoutSeconds": 60},
    ),
}
