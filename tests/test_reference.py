"""Generated reference: the README's tool and settings tables and server.json's variables come from the code.
These tests fail when a file is stale; `UPDATE_REFERENCE=1 python -m pytest tests/test_reference.py` rewrites it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from jobctl_mcp import __version__
from jobctl_mcp.config import Settings, is_secret, variable_name
from jobctl_mcp.tools import ALL_TOOLS

ROOT = Path(__file__).resolve().parents[1]
UPDATE = os.environ.get("UPDATE_REFERENCE") == "1"


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def tools_table() -> str:
    lines = [
        "| tool | vendor | readOnly | destructive | idempotent | what it does | arguments (**required**) |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in ALL_TOOLS:
        purpose = spec.description.split(": ", 1)[1].split(". ")[0].rstrip(".") + "."
        purpose = purpose[0].upper() + purpose[1:]
        fields = spec.input.model_fields
        arguments = ", ".join(f"**`{n}`**" if f.is_required() else f"`{n}`" for n, f in fields.items())
        vendor = spec.vendor.capitalize() if spec.vendor else "both"
        hints = f"{yes(spec.hints.read_only)} | {yes(spec.hints.destructive)} | {yes(spec.hints.idempotent)}"
        lines.append(f"| `{spec.name}` | {vendor} | {hints} | {purpose} | {arguments} |")
    return "\n".join(lines)


def shown_default(field: str) -> str:
    if is_secret(field):
        return ""
    default = Settings.model_fields[field].default
    if default is None:
        return ""
    if isinstance(default, bool):
        return yes(default).replace("yes", "true").replace("no", "false")
    if isinstance(default, tuple):
        return ",".join(str(item) for item in default)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return str(default)


def settings_table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for field, info in Settings.model_fields.items():
        secret = " (a secret: never logged or shown)" if is_secret(field) else ""
        default = shown_default(field)
        lines.append(f"| `{variable_name(field)}` | {f'`{default}`' if default else ''} | {info.description}{secret} |")
    return "\n".join(lines)


def server_variables() -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = []
    for field, info in Settings.model_fields.items():
        variable: dict[str, Any] = {"name": variable_name(field), "description": info.description}
        variable |= {"isRequired": False, "isSecret": is_secret(field)}
        if default := shown_default(field):
            variable["default"] = default
        variables.append(variable)
    return variables


def current(path: Path, generated: str, marker: str) -> None:
    """Compare (or, with UPDATE_REFERENCE=1, rewrite) the part of `path` between the marker comments."""
    text = path.read_text()
    pattern = re.compile(rf"(<!-- BEGIN GENERATED: {marker} -->\n).*?(<!-- END GENERATED: {marker} -->)", re.DOTALL)
    assert pattern.search(text), f"{path.name} has no GENERATED: {marker} section"
    expected = pattern.sub(lambda match: match.group(1) + generated + "\n" + match.group(2), text)
    if UPDATE:
        path.write_text(expected)
        return
    assert text == expected, f"{path.name} is stale: run UPDATE_REFERENCE=1 python -m pytest {__file__}"


def test_readme_tool_table_is_generated_from_the_tool_rows() -> None:
    current(ROOT / "README.md", tools_table(), "tools")


def test_readme_settings_table_is_generated_from_the_settings_class() -> None:
    current(ROOT / "README.md", settings_table(), "settings")


def test_server_json_matches_the_package_and_the_settings() -> None:
    path = ROOT / "server.json"
    manifest = json.loads(path.read_text())
    if UPDATE:
        manifest["version"] = manifest["packages"][0]["version"] = __version__
        manifest["packages"][0]["environmentVariables"] = server_variables()
        path.write_text(json.dumps(manifest, indent=2) + "\n")
    # The registry schema's required fields and limits (server.schema.json, 2025-12-11).
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", manifest["name"])
    assert 1 <= len(manifest["description"]) <= 100
    assert manifest["version"] == __version__
    (package,) = manifest["packages"]
    assert {k: package[k] for k in ("registryType", "identifier", "version", "runtimeHint", "transport")} == {
        "registryType": "pypi",
        "identifier": "jobctl-mcp",
        "version": __version__,
        "runtimeHint": "uvx",
        "transport": {"type": "stdio"},
    }
    assert package["environmentVariables"] == server_variables()
    assert {"COMMVAULT_API_KEY", "QOVERY_API_KEY", "JOBCTL_HTTP_TOKEN"} <= {
        v["name"] for v in package["environmentVariables"] if v["isSecret"]
    }
    # The registry proves PyPI ownership with this marker in the README the package publishes.
    assert f"<!-- mcp-name: {manifest['name']} -->" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("marker", ["tools", "settings"])
def test_generated_sections_are_not_edited_by_hand(marker: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.count(f"<!-- BEGIN GENERATED: {marker} -->") == 1


def test_the_development_tree_names_every_module() -> None:
    readme = (ROOT / "README.md").read_text()
    tree = readme[readme.index("## Development") :]
    package = ROOT / "src" / "jobctl_mcp"
    modules = [path.name for path in package.glob("*.py") if path.name != "__init__.py"]
    missing = [name for name in modules if f"  {name} " not in tree]
    assert not missing, f"the README's development tree does not name {missing}"
