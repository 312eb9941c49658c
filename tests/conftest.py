"""Fixtures: a fresh sandbox per test, the real server wired to it through httpx2, the SDK's in-memory client."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult

from jobctl_mcp.config import Settings
from jobctl_mcp.sandbox import COMMVAULT_API_KEY, COMMVAULT_PASSWORD, QOVERY_API_KEY, QOVERY_JWT, Sandbox
from jobctl_mcp.server import AppState, create_server, sandboxed

# Every setting a test relies on is given here, so the machine's environment and any .env cannot leak in.
BASE_SETTINGS: dict[str, Any] = {
    "_env_file": None,
    "retries": 2,
    "retry_backoff": 0.5,
    "retry_backoff_max": 8.0,
    "retry_after_max": 30.0,
    "connect_timeout": 5.0,
    "read_timeout": 30.0,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_settings_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith(("COMMVAULT_", "QOVERY_", "JOBCTL_")):
            monkeypatch.delenv(name)


class Sleeps(list[float]):
    """Records the pauses the server asked for (retries, polling) without waiting: time is virtual."""

    now = 0.0

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def isolated_settings(**values: Any) -> Settings:
    """Settings from `values` and the test defaults only (no .env file; the environment is cleared above)."""
    return Settings(**{**BASE_SETTINGS, **values})


def sandbox_server(
    sandbox: Sandbox, sleeps: Sleeps, env: dict[str, str] | None = None, **settings: Any
) -> MCPServer[AppState]:
    """The server against `sandbox`; `env` overrides its vendor variables (an API key wins over a login)."""
    base = isolated_settings(**settings)
    vendors = sandboxed(base, {**sandbox.env(), **(env or {})})
    return create_server(vendors, transports=sandbox.transports(), sleep=sleeps, clock=sleeps.clock, sandbox=True)


@pytest.fixture
async def client(sandbox: Sandbox, sleeps: Sleeps) -> AsyncGenerator[Client]:
    async with Client(sandbox_server(sandbox, sleeps)) as connected:
        yield connected


@pytest.fixture
def connect(sandbox: Sandbox, sleeps: Sleeps) -> Callable[..., Client]:
    """A client for a server built with other settings, e.g. connect(retries=0, env={"QOVERY_API_KEY": ...})."""

    def make(env: dict[str, str] | None = None, **settings: Any) -> Client:
        return Client(sandbox_server(sandbox, sleeps, env, **settings))

    return make


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful call, checked against its text twin."""
    assert not result.is_error, text(result)
    structured: dict[str, Any] = json.loads(text(result))
    assert structured == result.structured_content
    return structured


def text(result: CallToolResult) -> str:
    first = result.content[0]
    assert first.type == "text"
    return first.text


def error(result: CallToolResult) -> str:
    """The one-line message of a failed call."""
    assert result.is_error, result.structured_content
    message = text(result)
    assert "\n" not in message, message
    return message


# Credentials the tests configure: no log line, error or tool output may ever show one.
KNOWN_SECRETS = (
    COMMVAULT_PASSWORD,
    base64.b64encode(COMMVAULT_PASSWORD.encode()).decode(),  # what /Login receives: reversible
    COMMVAULT_API_KEY.removeprefix("QSDK "),
    QOVERY_API_KEY,
    QOVERY_JWT,
)


@pytest.fixture
def transcript() -> list[str]:
    """Every text a test's agent received (tests.cases.Agent keeps them); scanned for secrets after the test."""
    return []


@pytest.fixture(autouse=True)
def _no_secret_is_ever_shown(
    caplog: pytest.LogCaptureFixture, sandbox: Sandbox, transcript: list[str]
) -> Generator[None]:
    """Every test logs at DEBUG, and nothing it logged (nor any text its agent received) holds a credential."""
    caplog.set_level(logging.DEBUG)
    yield
    secrets = [*KNOWN_SECRETS, *(token.removeprefix("QSDK ") for token in sandbox.commvault.issued_tokens)]
    formatter = logging.Formatter()
    texts = [formatter.format(record) for phase in ("setup", "call") for record in caplog.get_records(phase)]
    leaks = {secret[:6] + "…" for secret in secrets for text in [*texts, *transcript] if secret in text}
    assert not leaks, f"credentials shown in logs or tool output: {sorted(leaks)}"
