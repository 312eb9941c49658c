"""The jobctl-mcp command: parse arguments, build the settings once, then serve (stdio or streamable HTTP) or
check the vendor configuration."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from jobctl_mcp import __version__
from jobctl_mcp.errors import ConfigError

if TYPE_CHECKING:
    from jobctl_mcp.config import Settings

log = logging.getLogger("jobctl_mcp")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jobctl-mcp",
        description="MCP server for Commvault backup/restore jobs and Qovery deployment jobs. Vendor credentials "
        "come from the environment, or from a .env file or secrets directory you name (see .env.example); "
        "--sandbox needs none.",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("serve", "check", "config"),
        default="serve",
        help="serve (the default); check: report the configuration and prove each vendor's credentials; "
        "config HOST: print a ready-to-paste entry for an MCP host",
    )
    parser.add_argument(
        "target", nargs="?", choices=("claude-desktop", "cursor", "vscode"), help="the MCP host, with config"
    )
    parser.add_argument("--version", action="version", version=f"jobctl-mcp {__version__}")
    parser.add_argument(
        "--sandbox", action="store_true", help="serve against built-in simulated vendors (no credentials, no network)"
    )
    parser.add_argument("--transport", choices=("stdio", "streamable-http"), help="default: stdio (JOBCTL_TRANSPORT)")
    parser.add_argument("--host", help="streamable-http bind address (default: 127.0.0.1, JOBCTL_HOST)")
    parser.add_argument("--port", type=int, help="streamable-http port (default: 8000, JOBCTL_PORT)")
    parser.add_argument("--stateless", action="store_true", help="no HTTP sessions, for replicas (JOBCTL_STATELESS)")
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve HTTP beyond loopback without a token (only behind something that authenticates)",
    )
    parser.add_argument("--read-only", action="store_true", help="serve only the tools that read (JOBCTL_READ_ONLY)")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="overrides JOBCTL_LOG_LEVEL")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=_named("JOBCTL_ENV_FILE"),
        help="read settings from this .env file too; the environment wins (JOBCTL_ENV_FILE; none by default: a .env "
        "in the working directory is not read)",
    )
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        default=_named("JOBCTL_SECRETS_DIR"),
        help="read settings from files named like the variables in this directory, e.g. a mounted Kubernetes "
        "Secret; the environment and the .env file win (JOBCTL_SECRETS_DIR)",
    )
    return parser.parse_args(argv)


def _named(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value) if value else None


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings from the environment and the files the operator named, then the command line's, which win.

    Raises ConfigError."""
    # Imported here, under main's paused collector (see main): pydantic-settings and the settings model are the
    # heaviest imports before the MCP SDK's.
    from jobctl_mcp.config import from_environment

    settings = from_environment(args.env_file, args.secrets_dir)
    given = {"transport": args.transport, "host": args.host, "port": args.port, "log_level": args.log_level}
    updates: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    updates |= {flag: True for flag in ("stateless", "read_only") if getattr(args, flag)}
    return settings.model_copy(update=updates)


def main(argv: Sequence[str] | None = None) -> None:
    # A start allocates tens of thousands of long-lived objects (modules, models, schemas) and next to no garbage:
    # the cyclic collector, which would walk them again and again, waits until the server is built (`_started`).
    gc.disable()
    try:
        _main(argv)
    finally:
        gc.enable()


def _started() -> None:
    """The server is built: what exists now lives as long as the process, so the collector need never walk it."""
    gc.freeze()
    gc.enable()


def _main(argv: Sequence[str] | None) -> None:
    args = parse_args(argv)
    try:
        settings = load_settings(args)
    except ConfigError as exc:
        sys.exit(f"jobctl-mcp: {exc}")
    if args.command == "config":
        sys.exit(print_host_entry(args, settings))
    # stdout carries the stdio protocol: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per vendor request is debugging detail
    try:
        if args.command == "check":
            sys.exit(anyio.run(check, settings, args.sandbox))
        from jobctl_mcp import telemetry

        exporting = telemetry.start(settings)
        try:
            anyio.run(serve, settings, args)
        finally:
            if exporting is not None:
                exporting.shutdown()  # sends the spans and metrics still buffered
    except ConfigError as exc:
        sys.exit(f"jobctl-mcp: {exc}")


def print_host_entry(args: argparse.Namespace, settings: Settings) -> int:
    from jobctl_mcp.hosts import WHERE, entry

    if args.target is None:
        sys.stderr.write("jobctl-mcp config: name the MCP host: claude-desktop, cursor or vscode\n")
        return 2
    sys.stdout.write(json.dumps(entry(args.target, settings, args.sandbox), indent=2) + "\n")
    sys.stderr.write(f"Paste it into {WHERE[args.target]}. Replace each <placeholder> with its value.\n")
    return 0


async def check(settings: Settings, sandbox: bool) -> int:
    from jobctl_mcp.check import check_vendors, healthy

    settings, transports = _vendors(settings, sandbox)
    results = await check_vendors(settings, transports)
    sys.stdout.write("".join(result.line() + "\n" for result in results))
    issuer_ok = True
    if settings.oauth_issuer is not None:
        from jobctl_mcp.oauth import check_issuer

        issuer_ok, detail = await check_issuer(settings)
        sys.stdout.write(f"oauth issuer: {'ok' if issuer_ok else 'failed'} - {detail}\n")
    return 0 if healthy(results) and issuer_ok else 1


async def serve(settings: Settings, args: argparse.Namespace) -> None:
    # Imported here so that --help and --version answer without loading the MCP SDK.
    from jobctl_mcp.server import create_server

    if settings.transport == "streamable-http":
        from jobctl_mcp.endpoint import refuse_exposure

        refuse_exposure(settings, args.allow_unauthenticated)
    settings, transports = _vendors(settings, args.sandbox)
    server = create_server(settings, transports=transports, sandbox=args.sandbox)
    _started()
    mode = " (sandbox)" if args.sandbox else ""
    if settings.transport == "stdio":
        if settings.oauth_issuer is not None:
            log.warning("JOBCTL_OAUTH_ISSUER protects the HTTP endpoint only: stdio serves the client that started it")
        log.info("jobctl-mcp %s serving on stdio%s", __version__, mode)
        if sys.stdin.isatty():  # a human typed the command: a host would have connected a pipe
            log.warning(at_a_terminal(args.sandbox))
        await server.run_stdio_async()
        return
    from jobctl_mcp.endpoint import MCP_PATH, http_app, serve_http

    app = http_app(server, settings, transports)
    log.info("jobctl-mcp %s serving on http://%s:%s%s%s", __version__, settings.host, settings.port, MCP_PATH, mode)
    await serve_http(app, settings)


def at_a_terminal(sandbox: bool) -> str:
    """What a human who typed the command is told: the server waits for a client, and how to give it one."""
    flag = " --sandbox" if sandbox else ""
    return (
        "This is an MCP server: it waits for an MCP client on stdin/stdout, not for typed input (Ctrl+C quits). "
        "Next steps:\n"
        f"  try it in the MCP Inspector: npx @modelcontextprotocol/inspector jobctl-mcp{flag}\n"
        f"  add it to Claude Desktop:    jobctl-mcp config claude-desktop{flag}"
    )


def _vendors(settings: Settings, sandbox: bool) -> tuple[Settings, Any]:
    """The settings and transports that reach the vendors: the real ones, or the built-in sandbox."""
    if not sandbox:
        return settings, None
    from jobctl_mcp.sandbox import Sandbox, on_demand
    from jobctl_mcp.server import sandboxed

    return sandboxed(settings, Sandbox.env()), on_demand()
