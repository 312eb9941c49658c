"""The tools that return jobs link the job board, and the board calls back only the read-only ones: both lists come
from the rows' `board` flag, so a new job tool is linked, and allowed to be called, only by saying so in its row."""

from __future__ import annotations

import json
import re

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from jobctl_mcp.board import BOARD_URI, board_html
from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.tools import ALL_TOOLS
from tests.conftest import Sleeps, sandbox_server

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
BOARD_ROWS = [spec for spec in ALL_TOOLS if spec.board]


def app_allow_list() -> list[str]:
    """READ_ONLY_TOOLS as board.html writes it."""
    found = re.search(r"const READ_ONLY_TOOLS = Object\.freeze\((\[.*?\])\);", board_html(), re.DOTALL)
    assert found, "board.html no longer declares READ_ONLY_TOOLS"
    return json.loads(found.group(1))


def test_the_rows_flag_the_tools_the_issue_names() -> None:
    # The one hand-written list here: what issue 15 asked for. Future Qovery list tools join by their rows.
    named = {"commvault-list-jobs", "commvault-get-job-details", "get-job-status", "wait-for-job"}
    assert named <= {spec.name for spec in BOARD_ROWS}


async def test_each_board_tool_links_the_board_and_no_other_tool_does(client: Client) -> None:
    flagged = {spec.name for spec in BOARD_ROWS}
    for tool in (await client.list_tools()).tools:
        linked = (tool.meta or {}).get("ui")
        assert linked == ({"resourceUri": BOARD_URI} if tool.name in flagged else None), tool.name


async def test_the_linked_resource_is_the_app(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async with Client(sandbox_server(sandbox, sleeps), extensions=[APPS]) as apps:
        uris = {(tool.meta or {}).get("ui", {}).get("resourceUri") for tool in (await apps.list_tools()).tools}
        for uri in uris - {None}:
            assert (await apps.read_resource(uri)).contents[0].mime_type == APP_MIME_TYPE


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_client_gets_the_same_tool_list(sandbox: Sandbox, sleeps: Sleeps, mode: str) -> None:
    # A tool list must not vary by client: a plain one sees the links too, and ignores _meta it does not know.
    async with Client(sandbox_server(sandbox, sleeps), mode=mode) as plain:
        without = (await plain.list_tools()).tools
    async with Client(sandbox_server(sandbox, sleeps), mode=mode, extensions=[APPS]) as apps:
        with_apps = (await apps.list_tools()).tools
    assert without == with_apps


def test_the_app_calls_exactly_the_read_only_board_tools() -> None:
    allowed = app_allow_list()
    assert len(allowed) == len(set(allowed))
    expected = {spec.name for spec in BOARD_ROWS if spec.hints.read_only}
    assert set(allowed) == expected, "update READ_ONLY_TOOLS in board.html, and check the board reads those results"
