"""The job board: one MCP App (`ui://jobctl/jobs`) that shows the jobs a tool returned, live while it is open.
The tools that return jobs point at it from their rows; clients without MCP Apps see no difference in results."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import ListResourcesResult

from jobctl_mcp.client import json_list, json_object

BOARD_URI = "ui://jobctl/jobs"


@cache
def board_html() -> str:
    """The app, one self-contained HTML document shipped inside the package."""
    return files("jobctl_mcp").joinpath("board.html").read_text(encoding="utf-8")


def board_meta() -> dict[str, Any]:
    """A tool's `_meta` that links it to the board: the shape `Apps.tool(resource_uri=...)` stamps."""
    return {"ui": {"resourceUri": BOARD_URI}}


def board_app() -> Apps:
    """The MCP Apps extension with the board as its one `ui://` resource (served as text/html;profile=mcp-app)."""
    apps = Apps()
    apps.add_html_resource(
        BOARD_URI,
        board_html(),
        name="jobctl-jobs",
        title="Job board",
        description="Commvault and Qovery jobs as a live board: status, progress, times and reasons.",
        # No csp: the board loads nothing from anywhere, so the host's strictest default policy fits it.
        prefers_border=True,
    )
    return apps


class ListAppsOnlyToAppsClients:
    """Server middleware: `resources/list` shows `ui://` resources only to clients that negotiated MCP Apps.

    A plain client could not render them; reading one by URI still works for anyone who asks.
    """

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "resources/list" or client_supports_apps(ctx):
            return result
        # Middleware sees the result in its wire form; a typed one is handled too, should the SDK pass that on.
        if isinstance(result, ListResourcesResult):
            return result.model_copy(update={"resources": [r for r in result.resources if not _is_app(str(r.uri))]})
        if isinstance(result, dict):
            listed = json_list(result.get("resources"))
            return {**result, "resources": [r for r in listed if not _is_app(json_object(r).get("uri"))]}
        return result


def _is_app(uri: object) -> bool:
    return isinstance(uri, str) and uri.startswith("ui://")
