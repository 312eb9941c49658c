"""`jobctl-mcp config <host>`: a ready-to-paste entry for an MCP host (Claude Desktop, Cursor, VS Code) that starts
the server with uvx. The variables the user has set appear as placeholders, never with their values."""

from __future__ import annotations

import shutil
from typing import Any, Literal

from jobctl_mcp.config import Settings, is_secret, variable_name

Host = Literal["claude-desktop", "cursor", "vscode"]

WHERE = {
    "claude-desktop": "claude_desktop_config.json: ~/Library/Application Support/Claude/ on macOS, "
    "%APPDATA%\\Claude\\ on Windows; restart Claude Desktop fully afterwards",
    "cursor": "~/.cursor/mcp.json (every project) or .cursor/mcp.json (this project)",
    "vscode": ".vscode/mcp.json in the workspace; VS Code asks for the secret values when it starts the server",
}


def entry(host: Host, settings: Settings, sandbox: bool = False) -> dict[str, Any]:
    """The host's configuration entry for jobctl-mcp, run by uvx (its absolute path when it is on PATH)."""
    command = shutil.which("uvx") or "uvx"  # hosts often start servers with a minimal PATH
    args = ["jobctl-mcp", *(["--sandbox"] if sandbox else [])]
    fields = sorted(settings.model_fields_set, key=list(Settings.model_fields).index)
    if host != "vscode":
        env = {variable_name(f): f"<your {variable_name(f)}>" for f in fields}
        return {"mcpServers": {"jobctl": {"command": command, "args": args} | ({"env": env} if env else {})}}
    # VS Code prompts for inputs and keeps them out of the file: secrets go there.
    inputs = [
        {"type": "promptString", "id": variable_name(f), "description": variable_name(f), "password": True}
        for f in fields
        if is_secret(f)
    ]
    env = {
        variable_name(f): f"${{input:{variable_name(f)}}}" if is_secret(f) else f"<your {variable_name(f)}>"
        for f in fields
    }
    server = {"type": "stdio", "command": command, "args": args} | ({"env": env} if env else {})
    return ({"inputs": inputs} if inputs else {}) | {"servers": {"jobctl": server}}
