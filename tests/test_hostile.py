"""Hostile input and hostile vendor text: arguments nested too deep, an audit trail that cannot be written, and
vendor strings full of newlines, invisible Unicode and sheer length, in every field of every answer."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from jobctl_mcp.client import _CONTROL, _INVISIBLE, plain_text  # pyright: ignore[reportPrivateUsage]
from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.sandbox.faults import Fault
from tests.cases import CRON, Agent
from tests.conftest import data, error

pytestmark = pytest.mark.anyio


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def task(sub_task_type: int, options: dict[str, Any]) -> dict[str, Any]:
    """A CreateTask request whose options nest as deep as `options` does."""
    return {"taskInfo": {"subTasks": [{"subTask": {"subTaskType": sub_task_type}, "options": options}]}}


# The SDK's client serializes at most ~120 levels; a raw JSON-RPC client can send far deeper (300 seen).
@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("commvault-run-backup-job", {"body": task(2, nested(100))}),
        ("commvault-run-restore-job", {"body": task(3, nested(100))}),
        ("edit-job", {"jobId": CRON, "body": {"healthchecks": nested(100)}}),
    ],
)
async def test_arguments_nested_too_deep_are_refused_before_any_request(
    connect: Callable[..., Client], sandbox: Sandbox, tmp_path: Path, tool: str, arguments: dict[str, Any]
) -> None:
    trail = tmp_path / "audit.jsonl"
    async with connect(audit_log=str(trail)) as client:
        message = error(await client.call_tool(tool, arguments))
    assert "nests more than 32 levels deep" in message
    assert sandbox.commvault.requests == sandbox.qovery.requests == []
    assert '"outcome":"error"' in trail.read_text()  # the refusal is audited, its argument elided where too deep


async def test_arguments_as_deep_as_allowed_still_reach_validation(client: Client, sandbox: Sandbox) -> None:
    message = error(await client.call_tool("commvault-run-backup-job", {"body": {"taskInfo": nested(31)}}))
    assert "nests more than" not in message
    assert "CreateTask" in message
    assert sandbox.commvault.requests == []


async def test_a_write_whose_audit_line_cannot_be_written_still_reports_its_outcome(
    connect: Callable[..., Client], sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The audit file is a directory: every append fails. The backup ran, so the agent must be told it did.
    async with connect(audit_log=str(tmp_path)) as client:
        started = data(await client.call_tool("commvault-run-backup-job", {"subclientId": 12}))
        refused = error(await client.call_tool("commvault-kill-running-job", {"jobId": 1}))
    assert started["jobIds"]
    assert len(sandbox.commvault.requests_matching("POST", "^/CreateTask$")) == 1
    assert "Commvault" in refused
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and r.name == "jobctl_mcp.audit"]
    assert len(failures) == 2
    assert "the ok line of commvault-run-backup-job could not be written" in failures[0]


# Newlines, a right-to-left override, a zero-width space, tag characters, an isolate, and 30 KB.
HOSTILE = "a\nb\u202ec\u200bd\U000e0041\U000e007fe\u2066f\ufeff" + "x" * 30_000
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]")


def every_string(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        items: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return [found for key, item in items.items() for found in every_string(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for item in value for found in every_string(item, path)]  # pyright: ignore[reportUnknownVariableType]
    return []


def assert_clean(result: dict[str, Any], *, hostile_fields: int) -> None:
    strings = every_string(result)
    assert sum(1 for _, text in strings if text.startswith("a b")) >= hostile_fields, strings
    for where, text in strings:
        assert not _UNSEEN.search(text), (where, text[:40])
        assert len(text) <= 1000, where


QOVERY_JOB = {
    "id": HOSTILE,
    "name": HOSTILE,
    "job_type": HOSTILE,
    "description": HOSTILE,
    "environment": {"id": HOSTILE},
    "updated_at": HOSTILE,
    "source": {"image": {"image_name": HOSTILE, "tag": HOSTILE}},
}
QOVERY_STATUS = {
    "id": HOSTILE,
    "state": HOSTILE,
    "service_deployment_status": HOSTILE,
    "last_deployment_date": HOSTILE,
    "deployment_request_id": HOSTILE,
    "status_details": {"action": HOSTILE, "status": HOSTILE},
}
COMMIT = {"git_commit_id": HOSTILE, "created_at": HOSTILE, "author_name": HOSTILE, "message": HOSTILE, "tag": HOSTILE}
COMMVAULT_JOB = {
    "jobId": 9612,
    "status": HOSTILE,
    "jobType": HOSTILE,
    "subclient": {"clientName": HOSTILE, "subclientName": HOSTILE, "clientId": 7, "subclientId": 12},
    "backupLevelName": HOSTILE,
    "currentPhaseName": HOSTILE,
    "pendingReason": HOSTILE,
}


@pytest.mark.parametrize(
    ("tool", "arguments", "vendor", "answer", "fields"),
    [
        ("get-job-id", {"jobId": CRON}, "qovery", QOVERY_JOB, 6),
        ("get-job-status", {"jobId": CRON}, "qovery", QOVERY_STATUS, 7),
        ("deploy-job", {"jobId": CRON}, "qovery", QOVERY_STATUS, 7),
        ("list-last-job-commits", {"jobId": CRON}, "qovery", {"results": [COMMIT]}, 5),
        (
            "commvault-list-jobs",
            {},
            "commvault",
            {"totalRecordsWithoutPaging": 1, "jobs": [{"jobSummary": COMMVAULT_JOB}]},
            7,
        ),
    ],
)
async def test_every_string_of_a_vendor_answer_is_cleaned_and_bounded(
    client: Client,
    sandbox: Sandbox,
    transcript: list[str],
    tool: str,
    arguments: dict[str, Any],
    vendor: str,
    answer: dict[str, Any],
    fields: int,
) -> None:
    sim = sandbox.qovery if vendor == "qovery" else sandbox.commvault
    sim.faults.add(Fault("response", path="^/(job|Job)", status=200, body=answer, times=5))
    result = data(await Agent(client, transcript).call(tool, arguments))
    assert_clean(result, hostile_fields=fields)


async def test_a_raw_object_keeps_its_lines_but_loses_invisible_characters(client: Client, sandbox: Sandbox) -> None:
    job = {"id": CRON, "name": "nightly", "description": HOSTILE[:100]}
    sandbox.qovery.faults.add(Fault("response", path="^/job", status=200, body=job))
    raw = data(await client.call_tool("get-job-id", {"jobId": CRON, "raw": True}))["raw"]
    assert raw["description"] == "a\nbcdef" + "x" * (100 - 13)


def test_text_that_looks_plain_to_the_quick_check_has_nothing_to_clean() -> None:
    # plain_text and shown skip their regular expressions for printable text: that is sound only while every
    # character they remove or replace is unprintable.
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    found = (match.group() for pattern in (_CONTROL, _INVISIBLE) for match in pattern.finditer(everything))
    removed = {character for run in found for character in run}
    assert len(removed) > 200
    assert not any(character.isprintable() for character in removed)
    samples = ["fs01", "a  b", " lead", "trail ", "x" * 301, "tab\there", "nb\u00a0sp", "rtl\u202eexe", "ok text"]
    for sample in samples:
        assert plain_text(sample) == " ".join(_CONTROL.sub(" ", _INVISIBLE.sub("", sample)).split())[:299] + (
            "…" if len(sample) > 300 else ""
        )
