"""Serve an ASGI app over real HTTP on loopback, in a background thread, for end-to-end tests and users."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

_START_TIMEOUT = 10.0
_POLL = 0.01


@contextmanager
def serving(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Generator[str]:
    """Run `app` with uvicorn on host:port (0 = a free port) and yield its base URL, e.g. "http://127.0.0.1:41234"."""
    with loopback_server(app, host, port) as server:
        yield server.url


@dataclass(frozen=True)
class LoopbackServer:
    """A running loopback server: its base URL, and the connections its clients hold open."""

    url: str
    _server: uvicorn.Server

    def open_connections(self) -> int:
        """Connections open right now, idle keep-alive ones included."""
        return len(self._server.server_state.connections)


@contextmanager
def loopback_server(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Generator[LoopbackServer]:
    """Like serving(), yielding the running server itself, for tests that count its connections."""
    # log_config=None: leave the process's logging alone; warnings still reach stderr, nothing goes to stdout.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"sandbox-{host}:{port}", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        yield LoopbackServer(f"http://{host}:{bound_port}", server)
    finally:
        server.should_exit = True
        thread.join(_START_TIMEOUT)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped while starting (is the port already in use?)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sandbox server did not start within {_START_TIMEOUT:.0f}s")
        time.sleep(_POLL)
