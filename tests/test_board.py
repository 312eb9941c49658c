"""The job board as an MCP App, over the protocol and as a document: its resource, who sees it listed, tool results
left as they were, and an HTML file that loads nothing, writes no markup from data and stays small."""

from __future__ import annotations

import re
from typing import Any

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import TextResourceContents

from jobctl_mcp.board import BOARD_URI, board_html
from jobctl_mcp.sandbox import Sandbox
from tests.conftest import Sleeps, data, sandbox_server

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
NIGHTLY_REPORT = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
MODES = ["auto", "legacy"]  # the 2026-07-28 protocol, and the handshake era


def client(sandbox: Sandbox, sleeps: Sleeps, *, apps: bool, mode: str = "auto") -> Client:
    return Client(sandbox_server(sandbox, sleeps), mode=mode, extensions=[APPS] if apps else None)


@pytest.mark.parametrize("mode", MODES)
async def test_the_board_is_one_html_document_served_as_an_mcp_app(sandbox: Sandbox, sleeps: Sleeps, mode: str) -> None:
    async with client(sandbox, sleeps, apps=True, mode=mode) as apps:
        read = await apps.read_resource(BOARD_URI)
        listed = {str(resource.uri): resource for resource in (await apps.list_resources()).resources}
    (content,) = read.contents
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == APP_MIME_TYPE == "text/html;profile=mcp-app"
    assert content.text == board_html()
    assert content.text.lower().startswith("<!doctype html>")
    assert listed[BOARD_URI].mime_type == APP_MIME_TYPE


async def test_the_server_advertises_the_apps_extension(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async with client(sandbox, sleeps, apps=False) as plain:
        extensions = plain.server_capabilities.extensions or {}
    assert EXTENSION_ID in extensions


@pytest.mark.parametrize("mode", MODES)
async def test_only_clients_that_negotiated_apps_see_the_board_listed(
    sandbox: Sandbox, sleeps: Sleeps, mode: str
) -> None:
    async with client(sandbox, sleeps, apps=False, mode=mode) as plain:
        plain_list = [str(resource.uri) for resource in (await plain.list_resources()).resources]
        # Not listed, but not secret either: a plain client that asks for it by name gets it.
        read_anyway = await plain.read_resource(BOARD_URI)
    async with client(sandbox, sleeps, apps=True, mode=mode) as apps:
        apps_list = [str(resource.uri) for resource in (await apps.list_resources()).resources]
    assert BOARD_URI not in plain_list
    assert apps_list == [*plain_list, BOARD_URI]
    assert read_anyway.contents[0].mime_type == APP_MIME_TYPE


async def test_a_client_that_lists_the_mime_type_elsewhere_is_still_plain(sandbox: Sandbox, sleeps: Sleeps) -> None:
    # The SDK counts a client as an Apps client only if it names the app MIME type under the extension.
    half = advertise(EXTENSION_ID, {"mimeTypes": ["text/html"]})
    async with Client(sandbox_server(sandbox, sleeps), extensions=[half]) as unsure:
        listed = [str(resource.uri) for resource in (await unsure.list_resources()).resources]
    assert BOARD_URI not in listed


# Calls on jobs that have ended, so that both clients read the same thing (active sandbox jobs move on each read).
ENDED_JOB_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("commvault-list-jobs", {"jobCategory": "Finished", "jobFilter": "All"}),
    ("commvault-get-job-details", {"jobId": 9600}),
    ("get-job-status", {"jobId": NIGHTLY_REPORT}),
    ("wait-for-job", {"vendor": "commvault", "jobId": 9612, "timeoutSeconds": 5}),
    ("wait-for-job", {"vendor": "qovery", "jobId": NIGHTLY_REPORT, "timeoutSeconds": 5}),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("tool", "arguments"), ENDED_JOB_CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ENDED_JOB_CALLS)]
)
async def test_tool_results_are_the_same_with_or_without_apps(
    sandbox: Sandbox, sleeps: Sleeps, mode: str, tool: str, arguments: dict[str, Any]
) -> None:
    async with client(sandbox, sleeps, apps=False, mode=mode) as plain:
        without = await plain.call_tool(tool, arguments)
    async with client(sandbox, sleeps, apps=True, mode=mode) as apps:
        with_apps = await apps.call_tool(tool, arguments)
    data(without)  # the text twin alone still carries the whole result
    dumped = [result.model_dump(exclude={"meta"}) for result in (without, with_apps)]
    assert dumped[0] == dumped[1]
    assert "ui" not in (without.meta or {})
    assert "ui" not in (with_apps.meta or {})


# ---- the document itself ----

HTML = board_html()
SCRIPT = "\n".join(re.findall(r"<script>(.*?)</script>", HTML, re.DOTALL))
STYLE = "\n".join(re.findall(r"<style>(.*?)</style>", HTML, re.DOTALL))


def test_the_board_is_under_60_kb() -> None:
    assert len(HTML.encode()) < 60 * 1024


def test_the_board_names_no_external_url() -> None:
    assert "http://" not in HTML
    assert "https://" not in HTML
    assert not re.search(r"""\b(?:src|href|action|srcset|poster)\s*=\s*["']?\s*//""", HTML, re.IGNORECASE)
    assert not re.search(r"""url\(|@import|@font-face""", STYLE, re.IGNORECASE)
    # Nothing that could fetch at run time either: the only way out is postMessage to the host.
    for loader in ("fetch(", "XMLHttpRequest", "WebSocket", "EventSource", "sendBeacon", "import(", "<link", "<img"):
        assert loader not in HTML, loader


def test_the_board_never_turns_text_into_markup() -> None:
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in SCRIPT, sink


def test_only_one_place_sends_tools_call() -> None:
    assert SCRIPT.count('"tools/call"') == 1
    sender = SCRIPT[SCRIPT.index("function callTool") :]
    assert sender.index("READ_ONLY_TOOLS.includes(name)") < sender.index('"tools/call"')


def test_one_document_with_inline_style_and_script() -> None:
    assert HTML.count("<script") == HTML.count("<script>") == 1
    assert HTML.count("<style>") == 1
    assert 'role: "progressbar"' in SCRIPT
    assert '"aria-valuenow"' in SCRIPT
