"""The installed command end to end: over stdio with --sandbox, and over streamable HTTP on loopback with the
simulated vendors served on loopback too, so every hop is a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from jobctl_mcp import __version__
from jobctl_mcp.sandbox import COMMVAULT_PASSWORD, COMMVAULT_USERNAME, QOVERY_API_KEY, Sandbox
from jobctl_mcp.sandbox.loopback import serving
from tests.conftest import data

COMMAND = str(Path(sys.executable).with_name("jobctl-mcp"))
CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any vendor or server setting, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("COMMVAULT_", "QOVERY_", "JOBCTL_"))}
    return {**kept, **extra}


async def call_both_vendors(client: Client) -> None:
    assert len((await client.list_tools()).tools) == 17
    job = data(await client.call_tool("commvault-get-job-details", {"jobId": 9669}))
    assert (job["jobId"], job["status"]) == (9669, "Running")
    status = data(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert status["state"] == "DEPLOYED"


@pytest.mark.anyio
async def test_the_console_script_serves_the_sandbox_over_stdio(tmp_path: Path) -> None:
    # A working directory without .env, as a desktop host would start it.
    params = StdioServerParameters(command=COMMAND, args=["--sandbox"], env=clean_env(), cwd=tmp_path)
    with anyio.fail_after(30):
        async with Client(params) as client:
            assert client.server_info is None or client.server_info.name == "jobctl-mcp"
            await call_both_vendors(client)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_http_server(env: dict[str, str], cwd: Path) -> Generator[str]:
    port = free_port()
    args = [COMMAND, "--transport", "streamable-http", "--port", str(port)]
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the server did not listen within 20 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


@pytest.mark.anyio
async def test_streamable_http_on_loopback_against_vendors_on_loopback(tmp_path: Path) -> None:
    sandbox = Sandbox()
    with serving(sandbox.commvault.app) as commvault, serving(sandbox.qovery.app) as qovery:
        env = clean_env(
            COMMVAULT_BASE_URL=f"{commvault}/commandcenter/api",
            COMMVAULT_USERNAME=COMMVAULT_USERNAME,
            COMMVAULT_PASSWORD=COMMVAULT_PASSWORD,
            QOVERY_BASE_URL=qovery,
            QOVERY_API_KEY=QOVERY_API_KEY,
        )
        with running_http_server(env, tmp_path) as url:
            with anyio.fail_after(30):
                async with Client(url) as client:
                    await call_both_vendors(client)
    assert [r.path for r in sandbox.commvault.requests] == ["/Login", "/Job/9669"]
    assert sandbox.qovery.requests[0].headers["authorization"] == f"Token {QOVERY_API_KEY}"


def test_version_and_help_answer_without_serving() -> None:
    version = subprocess.run([COMMAND, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"jobctl-mcp {__version__}"
    usage = subprocess.run([COMMAND, "--help"], capture_output=True, text=True, check=True)
    assert "--sandbox" in usage.stdout
    assert "--transport" in usage.stdout


def test_python_dash_m_is_the_same_command() -> None:
    version = subprocess.run([sys.executable, "-m", "jobctl_mcp", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"jobctl-mcp {__version__}"


def test_an_invalid_setting_stops_the_server_with_one_message(tmp_path: Path) -> None:
    env = clean_env(COMMVAULT_BASE_URL="cs.example.com", QOVERY_API_KEY="qov_secret_value")
    failed = subprocess.run([COMMAND], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert failed.returncode != 0
    assert failed.stdout == ""
    assert (
        "invalid configuration: COMMVAULT_BASE_URL: Value error, must start with https:// or http://" in failed.stderr
    )
    assert "qov_secret_value" not in failed.stderr


def test_an_unknown_tool_name_stops_the_command_with_the_valid_names(tmp_path: Path) -> None:
    env = clean_env(JOBCTL_EXCLUDE_TOOLS="kill-everything")
    failed = subprocess.run([COMMAND, "--sandbox"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert failed.returncode != 0
    assert failed.stdout == ""
    assert "unknown tool names in JOBCTL_TOOLS or JOBCTL_EXCLUDE_TOOLS: kill-everything" in failed.stderr
    assert "Valid names: commvault-run-backup-job" in failed.stderr
