"""The generic baseline for context cost: fastmcp's OpenAPI-to-MCP converter serving an OpenAPI spec's operations
as tools on stdio. Runs in bench/.venv-fastmcp: python openapi_server.py SPEC.yaml"""

import sys
from pathlib import Path

import yaml
from fastmcp import FastMCP


def main() -> None:
    spec = yaml.safe_load(Path(sys.argv[1]).read_text())
    # fastmcp's default route map makes every operation a tool; listing them sends no request to the API.
    FastMCP.from_openapi(spec, name="openapi").run(show_banner=False)


if __name__ == "__main__":
    main()
