"""Benchmark 5, context cost: the bytes an agent's context pays for the tool list and for a 100-job list answer,
against a generic OpenAPI-to-MCP conversion of the same operations and against the vendor's raw JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx2
from mcp import Client
from mcp_types import CallToolResult, TextContent, Tool

from converter import Converter
from jobctl_mcp.qovery import QOVERY_TOOLS
from memory import call_tool
from processes import Vendors
from report import Figure, Row, Value

JOBS = 100
LIST_TARGET = 1 / 3
BACKUP_SUBCLIENT = 12  # the sandbox's subclient whose backups succeed


def size(value: Any) -> int:
    """Bytes of `value` as compact JSON, as it travels."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def listing(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


def undocumented(tools: Sequence[Tool]) -> tuple[list[str], int]:
    """The arguments (tool.argument) that have no description, and how many arguments there are."""
    missing: list[str] = []
    count = 0
    for tool in tools:
        properties: dict[str, Any] = tool.input_schema.get("properties", {})
        count += len(properties)
        missing += [f"{tool.name}.{name}" for name, schema in properties.items() if "description" not in schema]
    return missing, count


def list_figure(tools: Sequence[Tool]) -> tuple[Figure, bool]:
    """The list's size, and whether every argument is documented."""
    missing, count = undocumented(tools)
    names = f": {', '.join(missing)}" if missing else ""
    note = f"{len(missing)} of {count} arguments undocumented{names}"
    return Figure(size({"tools": listing(tools)}), "B", note), not missing


def tool_list_rows(tools: Sequence[Tool], generic: list[Tool] | str, converter: Converter | str) -> list[Row]:
    qovery_names = {spec.name for spec in QOVERY_TOOLS}
    ours, all_documented = list_figure(tools)
    qovery, qovery_documented = list_figure([tool for tool in tools if tool.name in qovery_names])
    baseline: Value = generic if isinstance(generic, str) else list_figure(generic)[0]
    named = f"fastmcp {converter.version} from_openapi" if isinstance(converter, Converter) else "fastmcp from_openapi"
    smaller = isinstance(baseline, Figure) and qovery.value < baseline.value
    return [
        Row(
            "5 context",
            f"tools/list, all {len(tools)} tools",
            ours,
            "generic converter",
            "n/a: there is no Commvault OpenAPI spec to convert",
            "every argument documented",
            all_documented,
        ),
        Row(
            "5 context",
            f"tools/list, the {len(qovery_names)} Qovery tools",
            qovery,
            f"{named}, Qovery spec subset",
            baseline,
            "smaller, every argument documented",
            smaller and qovery_documented,
        ),
    ]


async def ensure_jobs(client: Client) -> None:
    """At least JOBS backup jobs on the simulated Commvault, started through the server's own tool."""
    listed = await client.call_tool("commvault-list-jobs", {"limit": 1})
    total = int((listed.structured_content or {})["total"])
    for _ in range(JOBS - total):
        await call_tool(client, "commvault-run-backup-job", {"subclientId": BACKUP_SUBCLIENT})


async def raw_jobs(vendors: Vendors, http: httpx2.AsyncClient, token: str) -> int:
    """Bytes of the vendor's answer to the request commvault-list-jobs sends for limit=100."""
    paging = {"limit": str(JOBS), "offset": "0"}
    answer = await http.get(
        f"{vendors.commvault_api}/Job",
        params={"jobCategory": "All", **paging},
        headers={"Authtoken": token, **paging},
    )
    answer.raise_for_status()
    if len(answer.json()["jobs"]) != JOBS:
        raise RuntimeError(f"the vendor listed {len(answer.json()['jobs'])} jobs, not {JOBS}")
    return len(answer.content)


def text_bytes(result: CallToolResult) -> int:
    return sum(len(block.text.encode()) for block in result.content if isinstance(block, TextContent))


async def list_answer_rows(client: Client, vendors: Vendors, http: httpx2.AsyncClient, token: str) -> list[Row]:
    await ensure_jobs(client)
    raw = Figure(await raw_jobs(vendors, http, token), "B")
    result = await client.call_tool("commvault-list-jobs", {"limit": JOBS})
    if result.is_error or len((result.structured_content or {}).get("jobs", [])) != JOBS:
        raise RuntimeError(f"commvault-list-jobs did not list {JOBS} jobs: {result.content}")
    raw_name = f"raw vendor JSON, GET /Job?limit={JOBS}"
    figure = f"commvault-list-jobs, {JOBS} jobs"
    text = Figure(text_bytes(result), "B")
    return [
        Row(
            "5 context", f"{figure}: text content", text, raw_name, raw, "< 0.33x", text.value < LIST_TARGET * raw.value
        ),
        Row("5 context", f"{figure}: structuredContent", Figure(size(result.structured_content), "B"), raw_name, raw),
        Row(
            "5 context",
            f"{figure}: whole result (both)",
            Figure(len(result.model_dump_json(by_alias=True, exclude_none=True).encode()), "B"),
            raw_name,
            raw,
        ),
    ]
