"""`jobctl-mcp config <host>`: ready-to-paste entries that show which variables are set, never their values."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.commands import COMMAND, clean_env

SECRET = "qov_this_value_must_not_be_printed"


def config(host: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "config", host], env=clean_env(**env), cwd=tmp_path, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("host", ["claude-desktop", "cursor"])
def test_claude_desktop_and_cursor_entries_run_uvx_with_placeholders(tmp_path: Path, host: str) -> None:
    printed = config(host, tmp_path, QOVERY_API_KEY=SECRET, JOBCTL_READ_ONLY="true")
    assert printed.returncode == 0, printed.stderr
    server = json.loads(printed.stdout)["mcpServers"]["jobctl"]
    assert Path(server["command"]).name == "uvx"
    assert server["args"] == ["jobctl-mcp"]
    assert server["env"] == {"QOVERY_API_KEY": "<your QOVERY_API_KEY>", "JOBCTL_READ_ONLY": "<your JOBCTL_READ_ONLY>"}
    assert SECRET not in printed.stdout + printed.stderr
    assert "Paste it into" in printed.stderr


def test_vscode_entry_asks_for_secrets_instead_of_storing_them(tmp_path: Path) -> None:
    printed = config("vscode", tmp_path, QOVERY_API_KEY=SECRET, COMMVAULT_BASE_URL="https://cs.example.com/api")
    entry = json.loads(printed.stdout)
    assert entry["inputs"] == [
        {"type": "promptString", "id": "QOVERY_API_KEY", "description": "QOVERY_API_KEY", "password": True}
    ]
    server = entry["servers"]["jobctl"]
    assert server["type"] == "stdio"
    assert server["env"] == {
        "COMMVAULT_BASE_URL": "<your COMMVAULT_BASE_URL>",
        "QOVERY_API_KEY": "${input:QOVERY_API_KEY}",
    }
    assert SECRET not in printed.stdout


def test_nothing_set_gives_an_entry_without_env(tmp_path: Path) -> None:
    server = json.loads(config("claude-desktop", tmp_path).stdout)["mcpServers"]["jobctl"]
    assert "env" not in server


def test_config_needs_a_host(tmp_path: Path) -> None:
    printed = subprocess.run([COMMAND, "config"], env=clean_env(), cwd=tmp_path, capture_output=True, text=True)
    assert printed.returncode == 2
    assert "name the MCP host: claude-desktop, cursor or vscode" in printed.stderr
