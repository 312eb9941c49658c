"""The streamable HTTP endpoint as it can go to production: a bearer token (rotatable through a file), Host and
Origin checks against DNS rebinding, a body cap, health probes, and stateless mode for replicas."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from jobctl_mcp import __version__
from jobctl_mcp.check import check_vendors, healthy
from jobctl_mcp.config import Settings
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.server import AppState, Transports

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_exposure(settings: Settings, allow_unauthenticated: bool) -> None:
    """Binding beyond this machine without a token is refused unless the operator insists."""
    if is_loopback(settings.host) or settings.http_token or settings.http_token_file or allow_unauthenticated:
        return
    raise ConfigError(
        f"refusing to serve {settings.host}:{settings.port} without authentication: set JOBCTL_HTTP_TOKEN or "
        "JOBCTL_HTTP_TOKEN_FILE, bind 127.0.0.1, or pass --allow-unauthenticated if something in front of the "
        "server authenticates every request"
    )


class TokenSource:
    """The bearer token every request must carry: fixed, or read from a file again whenever the file changes."""

    def __init__(self, token: SecretStr | None, path: Path | None) -> None:
        if token is not None and path is not None:
            raise ConfigError("set JOBCTL_HTTP_TOKEN or JOBCTL_HTTP_TOKEN_FILE, not both")
        self._fixed = token.get_secret_value().encode() if token else None
        self._path = path
        self._seen: tuple[int, int] | None = None
        self._from_file: bytes | None = None

    def current(self) -> bytes | None:
        if self._path is None:
            return self._fixed
        try:
            stat = self._path.stat()
            if (stat.st_mtime_ns, stat.st_size) != self._seen:
                self._from_file = self._path.read_bytes().strip() or None
                self._seen = (stat.st_mtime_ns, stat.st_size)
        except OSError as exc:
            # No readable token means no request gets in: failing closed is the only safe answer.
            log.error("cannot read JOBCTL_HTTP_TOKEN_FILE: %s", exc.strerror)
            return None
        return self._from_file

    def accepts(self, authorization: str | None) -> bool:
        expected = self.current()
        scheme, _, presented = (authorization or "").partition(" ")
        # compare_digest takes the same time wherever the first difference is.
        return (
            bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), expected or b"")
        )


def _matches(value: str, allowed: tuple[str, ...]) -> bool:
    return "*" in allowed or any(
        value == pattern or (pattern.endswith(":*") and value.startswith(pattern[:-1])) for pattern in allowed
    )


class Guard:
    """ASGI middleware in front of everything: Host, Origin and bearer token, in that order."""

    def __init__(
        self, app: ASGIApp, tokens: TokenSource | None, hosts: tuple[str, ...], origins: tuple[str, ...]
    ) -> None:
        self._app = app
        self._tokens = tokens
        self._hosts = hosts
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        await (refusal or self._app)(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        path: str = scope["path"]
        # Orchestrators probe a pod by its address, so the two probes that reach no vendor skip the Host check (they
        # never send an Origin). Every other route, /readyz?check=vendors included, is what a DNS-rebinding page
        # would aim at: it gets the same Host and Origin checks as /mcp.
        public = path == "/healthz" or (path == "/readyz" and not scope.get("query_string"))
        if not public and not _matches(headers.get("host", ""), self._hosts):
            return PlainTextResponse("Invalid Host header", status_code=421)
        origin = headers.get("origin")
        if origin and not _matches(origin, self._origins):
            return PlainTextResponse("Invalid Origin header", status_code=403)
        if self._tokens is not None and not public and not self._tokens.accepts(headers.get("authorization")):
            return JSONResponse(
                {"error": "unauthorized"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="jobctl-mcp"'},
            )
        return None


def http_app(server: MCPServer[AppState], settings: Settings, transports: Transports | None = None) -> ASGIApp:
    """The whole HTTP application: /mcp, /healthz and /readyz behind the guard."""

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        return JSONResponse({"status": "ok", "version": __version__})

    @server.custom_route("/readyz", methods=["GET"])
    async def readyz(request: Request) -> Response:  # pyright: ignore[reportUnusedFunction]
        if request.query_params.get("check") == "vendors":
            results = await check_vendors(settings, transports)
            ready = healthy(results)
            vendors = {r.vendor: {"state": r.state, "detail": r.detail} for r in results}
        else:
            configured = {"commvault": settings.commvault_missing(), "qovery": settings.qovery_missing()}
            ready = any(not missing for missing in configured.values())
            vendors = {v: {"state": "not configured" if m else "configured"} for v, m in configured.items()}
        body = {"status": "ready" if ready else "not ready", "vendors": vendors}
        return JSONResponse(body, status_code=200 if ready else 503)

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=settings.stateless,
        max_request_body_size=settings.max_body_bytes,
        # The guard checks Host and Origin for every route, the SDK's own check would cover /mcp alone.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    hosts = (*_LOOPBACK, *(f"{name}:*" for name in _LOOPBACK), *settings.allowed_hosts)
    origins = tuple(
        f"{scheme}://{name}{port}" for scheme in ("http", "https") for name in _LOOPBACK for port in ("", ":*")
    )
    has_token = settings.http_token is not None or settings.http_token_file is not None
    tokens = TokenSource(settings.http_token, settings.http_token_file) if has_token else None
    return Guard(app, tokens, hosts, (*origins, *settings.allowed_origins))


async def serve_http(app: ASGIApp, settings: Settings) -> None:
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()
