"""The test host page, served on loopback inside the test's own event loop: it hands the app one real tool result,
and each tools/call the app sends goes through the SDK client to the real server and is recorded."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from mcp import Client
from mcp_types import CallToolResult
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

HOST_PAGE = Path(__file__).with_name("host.html")


def wire(result: CallToolResult) -> dict[str, Any]:
    """A tool result as the host receives it from the server, camelCase keys and all."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass
class Scenario:
    """What the host hands the app, and what the app asked of the server."""

    html: str
    result: dict[str, Any]
    arguments: dict[str, Any] = field(default_factory=dict[str, Any])
    host_context: dict[str, Any] = field(default_factory=dict[str, Any])
    host_capabilities: dict[str, Any] = field(default_factory=lambda: {"serverTools": {}})
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list[tuple[str, dict[str, Any]]])
    first_call: anyio.Event = field(default_factory=anyio.Event)


@asynccontextmanager
async def hosting(client: Client, scenario: Scenario) -> AsyncGenerator[str]:
    """Serve the host page for `scenario` on 127.0.0.1; yields its URL."""

    async def page(_: Request) -> Response:
        return HTMLResponse(HOST_PAGE.read_text(encoding="utf-8"))

    async def hand_over(_: Request) -> Response:
        return JSONResponse(
            {
                "html": scenario.html,
                "result": scenario.result,
                "arguments": scenario.arguments,
                "hostContext": scenario.host_context,
                "hostCapabilities": scenario.host_capabilities,
            }
        )

    async def call_tool(request: Request) -> Response:
        params = await request.json()
        name, arguments = str(params["name"]), dict(params.get("arguments") or {})
        scenario.calls.append((name, arguments))
        scenario.first_call.set()
        return JSONResponse(wire(await client.call_tool(name, arguments)))

    routes = [Route("/", page), Route("/scenario", hand_over), Route("/tools/call", call_tool, methods=["POST"])]
    config = uvicorn.Config(
        Starlette(routes=routes), host="127.0.0.1", port=0, log_config=None, log_level="warning",
        access_log=False, ws="none", lifespan="off",
    )  # fmt: skip
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
                await anyio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            server.should_exit = True
