"""The eighteen tools as an agent lists them: names, the four hints, vendor-named text, documented arguments."""

from __future__ import annotations

import re

import pytest
from mcp import Client

from jobctl_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio

# name: (readOnly, destructive, idempotent), written out by hand from the seeds and the issue. Three differ from
# the seeds, which derived hints from the HTTP verb: kill, in-place restore and uninstall destroy work or data.
EXPECTED_HINTS = {
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
    "wait-for-job": (True, False, True),  # polls only; issue 7
}


async def test_lists_the_eighteen_tools_in_table_order_with_all_four_hints(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert [tool.name for tool in tools] == list(EXPECTED_HINTS)
    for tool in tools:
        hints = tool.annotations
        assert hints is not None, tool.name
        declared = (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint)
        assert declared == EXPECTED_HINTS[tool.name], tool.name
        assert hints.open_world_hint is False, tool.name


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


def test_each_route_placeholder_is_an_argument() -> None:
    for spec in ALL_TOOLS:
        for placeholder in re.findall(r"{(\w+)}", spec.route.path):
            assert placeholder in spec.input.model_fields, spec.name
