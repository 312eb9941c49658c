"""The jobctl-mcp command: parse arguments, build the settings once, serve over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import anyio
from pydantic import ValidationError

from jobctl_mcp import __version__
from jobctl_mcp.config import Settings
from jobctl_mcp.errors import ConfigError

log = logging.getLogger("jobctl_mcp")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jobctl-mcp",
        description="MCP server for Commvault backup/restore jobs and Qovery deployment jobs. Vendor credentials "
        "come from the environment or a .env file (see .env.example); --sandbox needs none.",
    )
    parser.add_argument("--version", action="version", version=f"jobctl-mcp {__version__}")
    parser.add_argument(
        "--sandbox", action="store_true", help="serve against built-in simulated vendors (no credentials, no network)"
    )
    parser.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio", help="default: stdio")
    parser.add_argument("--host", default="127.0.0.1", help="streamable-http bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="streamable-http port (default: 8000)")
    parser.add_argument("--read-only", action="store_true", help="serve only the tools that read (JOBCTL_READ_ONLY)")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="overrides JOBCTL_LOG_LEVEL")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        sys.exit(f"jobctl-mcp: invalid configuration: {problems}")
    if args.log_level:
        settings = settings.model_copy(update={"log_level": args.log_level})
    if args.read_only:
        settings = settings.model_copy(update={"read_only": True})
    # stdout carries the stdio protocol: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per vendor request is debugging detail
    try:
        anyio.run(serve, settings, args)
    except ConfigError as exc:
        sys.exit(f"jobctl-mcp: {exc}")


async def serve(settings: Settings, args: argparse.Namespace) -> None:
    # Imported here so that --help and --version answer without loading the MCP SDK.
    from jobctl_mcp.server import create_server, sandboxed

    if args.sandbox:
        from jobctl_mcp.sandbox import Sandbox

        sandbox = Sandbox()
        server = create_server(sandboxed(settings, sandbox.env()), transports=sandbox.transports(), sandbox=True)
    else:
        server = create_server(settings)
    mode = " (sandbox)" if args.sandbox else ""
    if args.transport == "stdio":
        log.info("jobctl-mcp %s serving on stdio%s", __version__, mode)
        await server.run_stdio_async()
    else:
        log.info("jobctl-mcp %s serving on http://%s:%s/mcp%s", __version__, args.host, args.port, mode)
        await server.run_streamable_http_async(host=args.host, port=args.port)
