"""The tools as an agent lists them: the checked-in tools/list snapshot, the seed tools' hints (the one hand table),
vendor-named text and documented arguments.

After a deliberate change of a tool's text or schema, regenerate the snapshot and review its diff:
    UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_tool_table.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from jobctl_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).with_name("tools.snapshot.json")

# The seventeen seed tools: (readOnly, destructive, idempotent), written out by hand from the seeds, because this
# contract must never change silently. Three differ from the seeds, which derived hints from the HTTP verb: kill,
# in-place restore and uninstall destroy work or data.
SEED_HINTS = {
    "commvault-run-backup-job": (False, False, False),
    "commvault-list-jobs": (True, False, True),
    "commvault-get-job-details": (True, False, True),
    "commvault-kill-running-job": (False, True, False),
    "commvault-resume-suspended-job": (False, False, False),
    "commvault-suspend-running-job": (False, False, False),
    "commvault-run-restore-job": (False, True, False),
    "get-job-id": (True, False, True),
    "edit-job": (False, False, True),
    "delete-job": (False, True, True),
    "list-last-job-commits": (True, False, True),
    "get-job-status": (True, False, True),
    "clean-failed-job": (False, False, False),
    "deploy-job": (False, False, False),
    "redeploy-job": (False, False, False),
    "stop-job": (False, False, False),
    "uninstall-job": (False, True, False),
}


def listing(tools: list[Any]) -> list[dict[str, Any]]:
    """What an agent reads of tools/list, in table order, as stable JSON."""
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


def drift(snapshot: list[dict[str, Any]], served: list[dict[str, Any]]) -> str:
    """A readable diff, tool by tool, of what changed between the snapshot and what the server lists."""
    before = {tool["name"]: tool for tool in snapshot}
    after = {tool["name"]: tool for tool in served}
    parts: list[str] = []
    if list(before) != list(after):
        parts.append(f"tools or their order changed: {list(before)} -> {list(after)}")
    for name in dict.fromkeys([*before, *after]):
        old, new = (json.dumps(d.get(name), indent=2, sort_keys=True).splitlines() for d in (before, after))
        if old != new:
            parts.append(f"--- {name}\n" + "\n".join(difflib.unified_diff(old, new, "snapshot", "served", lineterm="")))
    return "\n".join(parts)


async def test_tools_list_matches_the_snapshot(client: Client) -> None:
    served = listing((await client.list_tools()).tools)
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(served, indent=2, ensure_ascii=False) + "\n")
    snapshot = json.loads(SNAPSHOT.read_text())
    assert served == snapshot, "tools/list drifted from tests/tools.snapshot.json:\n" + drift(snapshot, served)


def test_a_changed_word_shows_in_the_diff_naming_the_tool() -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    changed = json.loads(json.dumps(snapshot))
    changed[3]["inputSchema"]["properties"]["jobId"]["description"] += " now"
    report = drift(snapshot, changed)
    assert report.startswith(f"--- {snapshot[3]['name']}\n"), report
    assert "now" in report


async def test_lists_the_rows_in_table_order_and_the_seed_tools_keep_their_hints(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert [tool.name for tool in tools] == [spec.name for spec in ALL_TOOLS]
    hints = {tool.name: tool.annotations for tool in tools}
    for name, expected in SEED_HINTS.items():
        declared = hints[name]
        assert declared is not None, name
        assert (declared.read_only_hint, declared.destructive_hint, declared.idempotent_hint) == expected, name
    for tool in tools:
        assert tool.annotations is not None, tool.name
        assert tool.annotations.open_world_hint is False, tool.name


async def test_titles_and_descriptions_name_the_vendor(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        vendor = "Commvault/Qovery" if tool.name == "wait-for-job" else "Qovery"
        vendor = "Commvault" if tool.name.startswith("commvault-") else vendor
        assert (tool.title or "").startswith(f"{vendor}: "), tool.name
        assert (tool.description or "").startswith(f"{vendor}: "), tool.name


async def test_every_argument_is_typed_described_and_closed(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        schema = tool.input_schema
        assert schema["additionalProperties"] is False, tool.name
        for name, prop in schema["properties"].items():
            assert {"type", "enum", "anyOf"} & prop.keys(), (tool.name, name)
            assert prop.get("description"), (tool.name, name)
        assert (tool.output_schema or {}).get("type") == "object", tool.name


async def test_job_ids_are_typed_per_vendor(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        job_id = tool.input_schema["properties"].get("jobId")
        if job_id is None or tool.name == "wait-for-job":  # takes either, checked against its vendor argument
            continue
        if tool.name.startswith("commvault-"):
            assert job_id["type"] == "integer", tool.name
        else:
            assert (job_id["type"], job_id["format"]) == ("string", "uuid"), tool.name
        assert "jobId" in tool.input_schema["required"], tool.name


def test_what_the_model_reads_of_tools_list_stays_within_16_kb() -> None:
    read = [
        {key: tool.get(key) for key in ("name", "description", "inputSchema")}
        for tool in json.loads(SNAPSHOT.read_text())
    ]
    assert len(json.dumps(read, separators=(",", ":"), ensure_ascii=False).encode()) <= 16_000
