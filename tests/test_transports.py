"""The installed command end to end: over stdio with --sandbox, and over streamable HTTP on loopback with the
simulated vendors served on loopback too, so every hop is a real socket."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from jobctl_mcp import __version__
from jobctl_mcp.sandbox import QOVERY_API_KEY, Sandbox, sandbox_env
from jobctl_mcp.sandbox.loopback import serving
from jobctl_mcp.tools import ALL_TOOLS
from tests.commands import COMMAND, clean_env, running_http_server
from tests.conftest import data

CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"


async def call_both_vendors(client: Client) -> None:
    assert len((await client.list_tools()).tools) == len(ALL_TOOLS)
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


@pytest.mark.anyio
async def test_streamable_http_on_loopback_against_vendors_on_loopback(tmp_path: Path) -> None:
    sandbox = Sandbox()
    with serving(sandbox.commvault.app) as commvault, serving(sandbox.qovery.app) as qovery:
        env = clean_env(**sandbox_env(f"{commvault}/commandcenter/api", qovery))
        with running_http_server(env, tmp_path) as url:
            with anyio.fail_after(30):
                async with Client(url) as client:
                    await call_both_vendors(client)
    # One login, then the job's three reads, sent together (in any order).
    first, *reads = [r.path for r in sandbox.commvault.requests]
    assert (first, sorted(reads)) == ("/Login", ["/Events", "/Job/9669", "/JobDetails"])
    assert sandbox.qovery.requests[0].headers["authorization"] == f"Token {QOVERY_API_KEY}"


# The command, saying whether the cyclic collector runs and how many objects the start put out of its reach: as it
# begins to serve (REPORT_WHEN=serving), or at exit.
_COLLECTOR_REPORT = """
import atexit, gc, os, sys
from mcp.server.mcpserver import MCPServer

def report():
    sys.stderr.write(f"COLLECTOR {gc.isenabled()} {gc.get_freeze_count()}\\n")

serve = MCPServer.run_stdio_async
async def reporting(self):
    report()
    await serve(self)

if os.environ.get("REPORT_WHEN") == "serving":
    MCPServer.run_stdio_async = reporting
else:
    atexit.register(report)
from jobctl_mcp.cli import main
main(sys.argv[1:])
"""


@pytest.mark.anyio
async def test_the_collector_paused_for_the_start_runs_again_once_the_server_is_built(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    args = ["-c", _COLLECTOR_REPORT, "--sandbox"]
    params = StdioServerParameters(command=sys.executable, args=args, env={"REPORT_WHEN": "serving"}, cwd=tmp_path)
    with anyio.fail_after(30), log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await call_both_vendors(client)
    enabled, frozen = log.read_text().split("COLLECTOR ")[1].split()[:2]
    assert enabled == "True"
    assert int(frozen) > 10_000  # the modules, models and schemas of the start


def test_a_command_that_never_serves_leaves_the_collector_running() -> None:
    version = subprocess.run([sys.executable, "-c", _COLLECTOR_REPORT, "--version"], capture_output=True, text=True)
    assert "COLLECTOR True 0" in version.stderr


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


def test_check_proves_each_configured_vendor(tmp_path: Path) -> None:
    checked = subprocess.run(
        [COMMAND, "check", "--sandbox"], env=clean_env(), cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == [
        "commvault: ok - GET /Job answered (21 backup jobs visible)",
        "qovery: ok - GET /organization answered (Acme)",
    ]


def test_check_says_what_is_missing_and_fails(tmp_path: Path) -> None:
    env = clean_env(QOVERY_API_KEY="qov_x", QOVERY_BASE_URL="http://127.0.0.1:1")
    checked = subprocess.run([COMMAND, "check"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1
    commvault, qovery = checked.stdout.splitlines()
    assert commvault == (
        "commvault: not configured - set COMMVAULT_BASE_URL (or COMMVAULT_WEBSERVER) "
        "and COMMVAULT_API_KEY (or COMMVAULT_USERNAME and COMMVAULT_PASSWORD)"
    )
    assert qovery.startswith("qovery: failed - Qovery list organizations failed: no answer after 3 attempts")
    assert "qov_x" not in checked.stdout + checked.stderr
