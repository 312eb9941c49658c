"""The job board in a real browser: headless Chromium opens a small MCP Apps host page that embeds the app and hands
it results of real tool calls against the sandbox; the app's own refreshes go back to the server through the host.

UPDATE_SCREENSHOTS=1 python -m pytest tests/test_board_browser.py rewrites docs/board.png and docs/board-card.png."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp_types import CallToolResult, TextContent, TextResourceContents

from jobctl_mcp.board import BOARD_URI
from jobctl_mcp.sandbox import Sandbox
from jobctl_mcp.tools import ALL_TOOLS
from tests.browser.chromium import Page, chromium, find_chromium
from tests.browser.host import Scenario, hosting, wire
from tests.cases import settle
from tests.conftest import Sleeps, data, sandbox_server

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium binary: install Debian's chromium package (.ci/run does) or set CHROMIUM to one",
    ),
]

ROOT = Path(__file__).resolve().parents[1]
UPDATE = os.environ.get("UPDATE_SCREENSHOTS") == "1"
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
READ_ONLY = frozenset(spec.name for spec in ALL_TOOLS if spec.hints.read_only)
NIGHTLY_REPORT = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
CLEANUP_TEMP = "0b9e6f2d-3c4a-4e1b-8f7d-2a6c5e9b1d03"
KOLKATA = timezone(timedelta(hours=5, minutes=30))  # no daylight saving: the expected clock time is certain
WAIT = 20.0

# Read the board's DOM from the test's isolated world in the app frame (its DOM, none of its globals).
ROWS = """Object.fromEntries([...document.querySelectorAll("tbody tr")].map((row) => {
  const cell = (label) => row.querySelector(`td[data-label="${label}"]`);
  const bar = row.querySelector('[role="progressbar"]');
  return [row.dataset.job, {
    text: row.textContent, status: cell("Status").textContent, started: cell("Started").textContent,
    name: row.querySelector(".name").textContent,
    progress: bar && Number(bar.getAttribute("aria-valuenow")), label: bar && bar.getAttribute("aria-label"),
    valueText: bar && bar.getAttribute("aria-valuetext"),
  }];
}))"""
CARD = """(() => {
  const card = document.querySelector("article.card");
  const bar = card && card.querySelector('[role="progressbar"]');
  return card && {
    title: card.querySelector("h2").textContent, status: card.querySelector(".badge").textContent,
    text: card.textContent, progress: bar && Number(bar.getAttribute("aria-valuenow")),
    valueText: bar && bar.getAttribute("aria-valuetext"),
    events: [...card.querySelectorAll(".events li")].map((li) => li.lastChild.textContent),
  };
})()"""
LIVE = "document.body.dataset.live"
BACKGROUND = "getComputedStyle(document.body).backgroundColor"


@dataclass
class Board:
    page: Page  # the host page
    app: Page  # the app's frame, seen from the test's own JavaScript world
    scenario: Scenario

    async def read(self, expression: str) -> Any:
        return await self.app.evaluate(expression)

    async def wait_for(self, expression: str) -> Any:
        return await self.app.wait_for(expression, WAIT)

    async def screenshot(self, name: str, width: int, tmp_path: Path, tallest: int = 1000) -> None:
        """Save a PNG of the app at its height: into docs/ with UPDATE_SCREENSHOTS=1, else to tmp_path."""
        height = int(await self.read("Math.ceil(document.documentElement.getBoundingClientRect().height)"))
        png = await self.page.screenshot(width, min(height, tallest))
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        (ROOT / "docs" if UPDATE else tmp_path).joinpath(name).write_bytes(png)


@asynccontextmanager
async def apps_client(sandbox: Sandbox, sleeps: Sleeps) -> AsyncGenerator[Client]:
    async with Client(sandbox_server(sandbox, sleeps), extensions=[APPS]) as client:
        yield client


@asynccontextmanager
async def board(
    client: Client,
    result: CallToolResult | dict[str, Any],
    tool: str,
    arguments: dict[str, Any] | None = None,
    *,
    context: dict[str, Any] | None = None,
    capabilities: dict[str, Any] | None = None,
    width: int = 960,
    time_zone: str | None = None,
    dark: bool = False,
) -> AsyncGenerator[Board]:
    """The app, read from the server as a host reads it, showing `result` in Chromium inside the test host."""
    (content,) = (await client.read_resource(BOARD_URI)).contents
    assert isinstance(content, TextResourceContents)
    tool_info = {"tool": {"name": tool, "inputSchema": {"type": "object"}}}
    scenario = Scenario(
        html=content.text,
        result=wire(result) if isinstance(result, CallToolResult) else result,
        arguments=arguments or {},
        host_context={"toolInfo": tool_info, "locale": "en-GB", **(context or {})},
    )
    if capabilities is not None:
        scenario.host_capabilities = capabilities
    assert CHROMIUM is not None
    async with chromium(CHROMIUM, time_zone=time_zone, dark=dark) as browser, hosting(client, scenario) as url:
        page = await browser.new_page(width, 720)
        await page.goto(url)
        await page.wait_for("window.hostLog.initialized", WAIT)
        shown = Board(page, await page.frame(), scenario)
        await shown.wait_for("document.getElementById('view').childElementCount || document.querySelector('.notice')")
        yield shown
        assert page.exceptions() == [], "the app threw"
        assert await page.evaluate("window.hostLog.protocolVersion") == "2026-01-26"


async def called(scenario: Scenario) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls the app made through the host, once it made one."""
    with anyio.fail_after(WAIT):
        await scenario.first_call.wait()
    return list(scenario.calls)


def local_clock(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(KOLKATA).strftime("%H:%M")


async def test_the_board_shows_each_job_with_its_status_progress_and_local_times(
    sandbox: Sandbox, sleeps: Sleeps, tmp_path: Path
) -> None:
    async with apps_client(sandbox, sleeps) as client:
        arguments = {"jobFilter": "All", "limit": 20}
        result = await client.call_tool("commvault-list-jobs", arguments)
        jobs = data(result)["jobs"]
        async with board(client, result, "commvault-list-jobs", arguments, time_zone="Asia/Kolkata") as shown:
            rows = await shown.read(ROWS)
            assert len(rows) == len(jobs) > 1  # every job the tool listed, one row each
            for job in jobs:
                row = rows[f"commvault:{job['jobId']}"]
                assert f"#{job['jobId']}" in row["text"]
                assert row["status"] == job["status"]
                assert row["progress"] == round(job["percentComplete"])
                assert row["label"] == f"Progress of Commvault job {job['jobId']}"
                assert local_clock(job["startTime"]) in row["started"]  # the viewer's time zone, not UTC
                if job.get("reason"):  # a listed job leaves out its null fields
                    assert job["reason"] in row["text"]
            await shown.screenshot("board.png", 960, tmp_path)

            # Live: the app reads the active jobs again, through the host, with a read-only tool only.
            (name, asked), *_ = await called(shown.scenario)
            assert name in READ_ONLY
            assert name == "commvault-get-job-details"
            # The host saw the call as it went out: the vendor sees its request a moment later.
            await settle(lambda: bool(sandbox.commvault.requests_matching("GET", f"/Job/{asked['jobId']}")))
            running = next(job for job in jobs if job["status"] == "Running")
            before = round(running["percentComplete"])
            await shown.wait_for(f"({ROWS})['commvault:{running['jobId']}'].progress > {before}")
    assert {name for name, _ in shown.scenario.calls} <= READ_ONLY


async def test_a_wait_shows_as_a_card_that_follows_the_job_to_its_end(
    sandbox: Sandbox, sleeps: Sleeps, tmp_path: Path
) -> None:
    async with apps_client(sandbox, sleeps) as client:
        arguments = {"vendor": "commvault", "jobId": 9671, "timeoutSeconds": 1}
        result = await client.call_tool("wait-for-job", arguments)  # 9671 waits for an offline MediaAgent
        waited = data(result)
        assert (waited["finished"], waited["state"]) == (False, "Pending")
        context = {"theme": "dark", "timeZone": "America/New_York"}
        async with board(client, result, "wait-for-job", arguments, context=context, width=640) as shown:
            card = await shown.read(CARD)
            assert card["status"] == "Pending"
            assert card["progress"] == 0
            assert "9671" in card["text"]
            assert waited["commvault"]["reason"] in card["text"]
            assert "Still going after a wait of" in card["text"]
            await shown.screenshot("board-card.png", 640, tmp_path)

            # The MediaAgent comes back: the open card sees the job run and end, then stops reading it.
            sandbox.commvault.jobs[9671].update(status="Running", percentComplete=50, pendingReason="")
            await shown.wait_for(f"{LIVE} === 'ended'")
            card = await shown.read(CARD)
            assert (card["status"], card["progress"]) == ("Completed", 100)
            assert "Still going" not in card["text"]
    calls = shown.scenario.calls
    assert calls
    assert all(call == ("commvault-get-job-details", {"jobId": 9671}) for call in calls)


async def test_a_qovery_deployment_shows_its_step_until_it_is_deployed(sandbox: Sandbox, sleeps: Sleeps) -> None:
    async with apps_client(sandbox, sleeps) as client:
        data(await client.call_tool("deploy-job", {"jobId": NIGHTLY_REPORT}))  # the agent's act, not the app's
        arguments = {"jobId": NIGHTLY_REPORT}
        result = await client.call_tool("get-job-status", arguments)
        assert data(result)["state"] == "DEPLOYING"
        async with board(client, result, "get-job-status", arguments) as shown:
            card = await shown.read(CARD)
            assert card["status"] == "DEPLOYING"
            assert card["valueText"] == "Step 3 of 4: deploying"
            await shown.wait_for(f"{LIVE} === 'ended'")
            card = await shown.read(CARD)
            assert card["status"] == "DEPLOYED"
            assert card["valueText"] == "Step 4 of 4: deployed"
    assert {call for call, _ in shown.scenario.calls} == {"get-job-status"}


EVIL = (
    "<script>parent.postMessage({jsonrpc: '2.0', method: 'pwned'}, '*')</script>"
    "<img src=x onerror=\"parent.postMessage({jsonrpc: '2.0', method: 'pwned'}, '*')\">db01"
)


async def test_a_job_name_holding_markup_is_shown_as_text(sandbox: Sandbox, sleeps: Sleeps) -> None:
    sandbox.commvault.jobs[9612]["subclient"]["clientName"] = EVIL
    async with apps_client(sandbox, sleeps) as client:
        arguments = {"jobCategory": "Finished", "jobFilter": "All"}
        result = await client.call_tool("commvault-list-jobs", arguments)
        assert any(EVIL in job.get("client", "") for job in data(result)["jobs"])
        async with board(client, result, "commvault-list-jobs", arguments) as shown:
            rows = await shown.read(ROWS)
            assert rows["commvault:9612"]["name"] == f"{EVIL} / default"
            assert await shown.read("document.scripts.length") == 1  # the app's own
            assert await shown.read("document.images.length") == 0
            assert await shown.read("document.title") == "jobctl: jobs"
            assert "pwned" not in await shown.page.evaluate("window.hostLog.methods")
            assert await shown.read(LIVE) == "ended"  # finished jobs only: nothing to refresh
    assert shown.scenario.calls == []


async def test_the_board_follows_the_host_theme_and_fits_a_narrow_frame(
    sandbox: Sandbox, sleeps: Sleeps, tmp_path: Path
) -> None:
    async with apps_client(sandbox, sleeps) as client:
        arguments = {"jobCategory": "Finished", "jobFilter": "All"}
        result = await client.call_tool("commvault-list-jobs", arguments)
        async with board(client, result, "commvault-list-jobs", arguments, width=360, dark=True) as shown:
            # No theme from the host: the system's preference decides.
            assert await shown.read("document.documentElement.dataset.theme") == "dark"
            await shown.screenshot("board-narrow.png", 360, tmp_path, tallest=640)
            dark = await shown.read(BACKGROUND)
            await shown.page.evaluate("setHostContext({theme: 'light'})")
            await shown.wait_for(f"{BACKGROUND} !== {dark!r}")
            assert await shown.read("document.documentElement.dataset.theme") == "light"
            # The host's own colours win, but nothing that would load a URL.
            variables = {"--color-background-primary": "rgb(1, 2, 3)", "--color-text-primary": "url(x)"}
            await shown.page.evaluate(f"setHostContext({{styles: {{variables: {variables!r}}}}})")
            await shown.wait_for(f"{BACKGROUND} === 'rgb(1, 2, 3)'")
            assert await shown.read("document.documentElement.style.getPropertyValue('--color-text-primary')") == ""
            # 360 px: rows stack into labelled blocks and nothing scrolls sideways.
            assert await shown.read("document.documentElement.scrollWidth <= window.innerWidth")
            assert await shown.read("getComputedStyle(document.querySelector('tbody td')).display") == "grid"
            assert await shown.read("document.querySelector('thead th').getAttribute('scope')") == "col"


def structured_result(content: dict[str, Any]) -> dict[str, Any]:
    text = TextContent(type="text", text="(the JSON twin)")
    return wire(CallToolResult(content=[text], structured_content=content))


async def test_rows_of_future_qovery_lists_with_unknown_and_missing_fields(sandbox: Sandbox, sleeps: Sleeps) -> None:
    # The shape qovery-list-jobs is expected to return, with a field no version of the board knows, and rows
    # missing what the board would like to have: they must render, and the active one is still refreshed.
    rows = [
        {"id": NIGHTLY_REPORT, "name": "nightly-report", "jobType": "CRON", "project": {"id": "p1", "name": "shop"},
         "environment": "production", "state": "DEPLOYING", "futureField": {"nested": [1, 2]}},
        {"id": CLEANUP_TEMP, "name": "cleanup-temp", "jobType": "CRON", "state": "DEPLOYMENT_ERROR",
         "action": "DEPLOY", "actionStatus": "ERROR"},
        {"id": "not-a-uuid", "name": "odd-one"},
        {"name": "no id at all", "state": "READY"},
        "not even an object",
    ]  # fmt: skip
    sandbox.qovery.statuses[NIGHTLY_REPORT]["state"] = "DEPLOYING"  # so that one read ends it
    async with apps_client(sandbox, sleeps) as client:
        result = structured_result({"total": 4, "jobs": rows, "unexpected": True})
        async with board(client, result, "qovery-list-jobs") as shown:
            shown_rows = list((await shown.read(ROWS)).values())
            assert [row["status"] for row in shown_rows] == ["DEPLOYING", "DEPLOYMENT_ERROR", "UNKNOWN", "READY"]
            assert "shop · production" in shown_rows[0]["text"]
            assert shown_rows[1]["valueText"] == "Step 3 of 4: deploying"
            assert "DEPLOY ended in ERROR" in shown_rows[1]["text"]
            assert await shown.read("document.querySelector('h1').textContent") == "Qovery jobs"
            await shown.wait_for(f"{LIVE} === 'ended'")
            refreshed = next(iter((await shown.read(ROWS)).values()))
            assert (refreshed["name"], refreshed["status"]) == ("nightly-report", "DEPLOYED")
    assert shown.scenario.calls == [("get-job-status", {"jobId": NIGHTLY_REPORT})]


async def test_a_card_shows_the_latest_events_and_a_host_without_tool_calls_gets_no_refresh(
    sandbox: Sandbox, sleeps: Sleeps
) -> None:
    events = [
        {"time": "2026-03-01T10:00:00Z", "message": "Scan started", "level": "info"},
        {"time": "2026-03-01T10:05:00Z", "message": "<b>Backup</b> phase", "level": "info"},
        {"time": "2026-03-01T10:02:00Z", "message": "Media agent slow", "level": "warning"},
    ]
    job = {"jobId": 9669, "status": "Running", "percentComplete": 55, "startTime": "2026-03-01T10:00:00Z"}
    async with apps_client(sandbox, sleeps) as client:
        result = structured_result({**job, "events": events})
        async with board(client, result, "commvault-get-job-details", capabilities={}) as shown:
            card = await shown.read(CARD)
            assert card["events"] == [
                "<b>Backup</b> phase",
                "Media agent slow",
                "Scan started",
            ]
            assert card["progress"] == 55
            assert await shown.read(LIVE) == "off"
            assert "not available in this host" in await shown.read("document.getElementById('live').textContent")
    assert shown.scenario.calls == []
