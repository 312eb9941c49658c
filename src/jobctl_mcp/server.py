"""create_server(settings): the MCP server with every tool; its lifespan owns the vendor HTTP clients.
Nothing happens at import time."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import anyio
import httpx2
from mcp.server.context import ServerMiddleware
from mcp.server.mcpserver import MCPServer
from pydantic import SecretStr

from jobctl_mcp import __version__
from jobctl_mcp.approvals import request_state_security
from jobctl_mcp.audit import AuditTrail
from jobctl_mcp.board import ListAppsOnlyToAppsClients, board_app
from jobctl_mcp.client import RetryPolicy
from jobctl_mcp.commvault import CommvaultClient
from jobctl_mcp.config import Settings, is_secret, variable_name
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.policy import RefuseHidden, RequireScopes, select
from jobctl_mcp.qovery import QoveryClient
from jobctl_mcp.spec import VENDORS, Effect, Polling, Vendor
from jobctl_mcp.tools import ALL_TOOLS, Runtime, build_tools, call_effect, register_resources

log = logging.getLogger(__name__)

USER_AGENT = f"jobctl-mcp/{__version__}"

INSTRUCTIONS = (
    "Jobs on two systems: Commvault backup and restore jobs (tools named commvault-*) and Qovery deployment jobs "
    "(the other tools). Tools that start, stop or change jobs act on production at once; read a job before acting "
    "on it and follow it afterwards with the status tools."
)
SANDBOX_NOTE = " SANDBOX MODE: both vendors are simulated with made-up data; nothing real is touched."
DRY_RUN_NOTE = " DRY RUN: tools that would change something return the request they would send, and send nothing."
READ_ONLY_NOTE = " READ-ONLY: only tools that read are served."

Transports = Mapping[str, httpx2.AsyncBaseTransport]


@dataclass
class AppState:
    """The lifespan state the tools read: one client per configured vendor, or what is missing."""

    commvault: CommvaultClient | None = None
    qovery: QoveryClient | None = None
    missing: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    enabled: tuple[Vendor, ...] = VENDORS
    polling: Polling = field(default_factory=Polling)

    @overload
    def client(self, vendor: Literal["commvault"]) -> CommvaultClient: ...
    @overload
    def client(self, vendor: Literal["qovery"]) -> QoveryClient: ...
    @overload
    def client(self, vendor: Vendor) -> CommvaultClient | QoveryClient: ...

    def secrets(self) -> list[str]:
        return [secret for client in (self.commvault, self.qovery) if client is not None for secret in client.secrets()]

    def client(self, vendor: Vendor) -> CommvaultClient | QoveryClient:
        if vendor not in self.enabled:
            raise ConfigError(f"the {vendor} toolset is not enabled on this server (JOBCTL_TOOLSETS)")
        configured = self.commvault if vendor == "commvault" else self.qovery
        if configured is None:
            variables = " and ".join(self.missing.get(vendor, []))
            raise ConfigError(
                f"{vendor.capitalize()} is not configured: set {variables} in the server's environment "
                "(or start the server with --sandbox to try the tools on simulated data)."
            )
        return configured


@asynccontextmanager
async def open_clients(
    settings: Settings,
    transports: Transports | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[AppState]:
    """One client per configured vendor, each over its own pooled httpx2 client, closed on exit."""
    policy = RetryPolicy(
        retries=settings.retries,
        backoff=settings.retry_backoff,
        backoff_max=settings.retry_backoff_max,
        retry_after_max=settings.retry_after_max,
        sleep=sleep,
        max_response_bytes=settings.max_response_bytes,
    )
    async with AsyncExitStack() as stack:
        state = AppState(
            missing={"commvault": settings.commvault_missing(), "qovery": settings.qovery_missing()},
            enabled=settings.toolsets,
            polling=Polling(settings.poll_interval, settings.poll_interval_max, sleep, clock),
        )

        def http(base_url: str, vendor: str, verify: bool | Path = True) -> Callable[[], httpx2.AsyncClient]:
            # Built on a tool's first request, not here: the start and the first tools/list stay as quick as the
            # SDK's own (building a client loads the TLS trust store).
            def build() -> httpx2.AsyncClient:
                client = _http_client(settings, base_url, (transports or {}).get(vendor), verify)
                stack.push_async_callback(client.aclose)
                return client

            return build

        if not state.missing["commvault"] and (root := settings.commvault_api_root):
            state.commvault = CommvaultClient(
                http(root, "commvault", settings.commvault_verify_tls),
                policy,
                api_key=settings.commvault_api_key,
                username=settings.commvault_username,
                password=settings.commvault_password,
                dry_run=settings.dry_run,
            )
        if settings.qovery_api_key is not None:
            state.qovery = QoveryClient(
                http(settings.qovery_base_url, "qovery"),
                policy,
                api_key=settings.qovery_api_key,
                organization_id=settings.qovery_organization_id,
                dry_run=settings.dry_run,
            )
        yield state


def create_server(
    settings: Settings,
    *,
    transports: Transports | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
    sandbox: bool = False,
) -> MCPServer[AppState]:
    """The server for these settings. `transports` replaces the network per vendor (the sandbox, tests).

    Raises ConfigError when the tool lists name tools that do not exist.
    """
    selection = select(ALL_TOOLS, settings)
    runtime = Runtime(
        audit=AuditTrail(settings.audit_log),
        dry_run=settings.dry_run,
        confirm_destructive=settings.confirm_destructive,
        confirm_fallback=settings.confirm_fallback,
        call_timeout=settings.call_timeout,
        disable_destructive=settings.disable_destructive,
    )

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState]:
        async with open_clients(settings, transports, sleep, clock) as state:
            for vendor, variables in state.missing.items():
                if variables:
                    log.warning("%s tools are not configured: set %s", vendor, " and ".join(variables))
            yield state

    middleware: list[ServerMiddleware[Any]] = [RefuseHidden(selection, ALL_TOOLS, runtime.audit)]
    if settings.oauth_issuer is not None and settings.transport == "streamable-http":
        # After the policy: a tool the operator hides is refused with the operator's reason, whatever the scopes.
        needed: dict[Effect, str] = {
            "read": settings.oauth_scope_read,
            "write": settings.oauth_scope_write,
            "destroy": settings.oauth_scope_destroy,
        }
        middleware.append(RequireScopes(selection.served, needed, call_effect))
    notes = (SANDBOX_NOTE, sandbox), (READ_ONLY_NOTE, settings.read_only), (DRY_RUN_NOTE, settings.dry_run)
    # Confirmation state rides in the client's requests; replicas that share JOBCTL_STATE_KEY can all unseal it,
    # each process honours a sealed state once, and only for a short while (approvals.py).
    sealing = request_state_security(settings.state_key.get_secret_value() if settings.state_key else None)
    server = MCPServer(
        name="jobctl-mcp",
        title="jobctl: Commvault and Qovery jobs",
        version=__version__,
        instructions=INSTRUCTIONS + "".join(note for note, applies in notes if applies),
        tools=build_tools(selection.served, runtime),
        middleware=[*middleware, ListAppsOnlyToAppsClients()],
        extensions=[board_app()],  # the job board, for hosts that render MCP Apps
        lifespan=lifespan,
        log_level=settings.log_level,
        request_state_security=sealing,
    )
    register_resources(server, selection.served)
    # MCPServer serves prompts/list and prompts/get, and so advertises prompts, whether or not it has any: with
    # none, a client would be promised prompts and get an internal error for each. Unadvertised, it is told so.
    handlers = server._lowlevel_server._request_handlers  # pyright: ignore[reportPrivateUsage]
    for method in ("prompts/list", "prompts/get"):
        handlers.pop(method, None)
    return server


def _http_client(
    settings: Settings, base_url: str, transport: httpx2.AsyncBaseTransport | None, verify: bool | Path
) -> httpx2.AsyncClient:
    # A private CA bundle is common on premises (COMMVAULT_VERIFY_TLS=/path/to/ca.pem).
    tls: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(verify)) if isinstance(verify, Path) else verify
    return httpx2.AsyncClient(
        base_url=base_url,
        transport=transport,
        verify=tls,
        timeout=httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


def sandboxed(settings: Settings, env: Mapping[str, str]) -> Settings:
    """`settings` with every vendor setting replaced by the sandbox's: no real credential is kept."""
    vendor_fields = {name for name in Settings.model_fields if name.startswith(("commvault_", "qovery_"))}
    cleared = {name: Settings.model_fields[name].default for name in vendor_fields}
    field_of = {variable_name(name): name for name in vendor_fields}
    values = {field_of[k]: SecretStr(v) if is_secret(field_of[k]) else v for k, v in env.items()}
    # Sandbox jobs move on every poll, so a wait there finishes in seconds.
    pacing = {
        "poll_interval": min(settings.poll_interval, 0.25),
        "poll_interval_max": min(settings.poll_interval_max, 1.0),
    }
    return settings.model_copy(update={**cleared, **values, **pacing})
