"""The streamable HTTP endpoint as it can go to production: a shared bearer token (rotatable through a file) or
OAuth access tokens with per-tool scopes, Host and Origin checks against DNS rebinding, a body cap, health probes,
and stateless mode for replicas."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
import h11
import uvicorn
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from jobctl_mcp import __version__
from jobctl_mcp.check import check_vendors, healthy
from jobctl_mcp.client import json_object
from jobctl_mcp.config import Settings, key_problem
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.server import AppState, Transports
from jobctl_mcp.spec import AnySpec

if TYPE_CHECKING:
    from jobctl_mcp.oauth import JwtVerifier, Scopes

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
    """Binding beyond this machine without a token or an issuer is refused unless the operator insists."""
    authenticated = settings.http_token or settings.http_token_file or settings.oauth_issuer
    if is_loopback(settings.host) or authenticated or allow_unauthenticated:
        return
    raise ConfigError(
        f"refusing to serve {settings.host}:{settings.port} without authentication: set JOBCTL_HTTP_TOKEN, "
        "JOBCTL_HTTP_TOKEN_FILE or JOBCTL_OAUTH_ISSUER, bind 127.0.0.1, or pass --allow-unauthenticated if "
        "something in front of the server authenticates every request"
    )


TOKEN_RECHECK_SECONDS = 1.0  # the token file is read at most this often; a rotation shows within this time
TOKEN_READ_TIMEOUT = 2.0  # a token file slower than this (a FIFO, a hung network file system) lets nobody in
_TOKEN_FILE_MAX_BYTES = 4096
_MAX_STUCK_READS = 3


class TokenSource:
    """The bearer token every request must carry: fixed, or read from a file.

    The file is read again at most every `recheck` seconds and its content compared, so a rotation is seen even
    when it keeps the size and mtime (`cp -p`, `touch -r`). Reads happen in a thread of their own with a timeout:
    a file that blocks holds that thread, never the event loop, and no request gets in until it answers."""

    def __init__(
        self,
        token: SecretStr | None,
        path: Path | None,
        *,
        recheck: float = TOKEN_RECHECK_SECONDS,
        read_timeout: float = TOKEN_READ_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if token is not None and path is not None:
            raise ConfigError("set JOBCTL_HTTP_TOKEN or JOBCTL_HTTP_TOKEN_FILE, not both")
        self._fixed = token.get_secret_value().encode() if token else None
        self._path = path
        self._recheck = recheck
        self._read_timeout = read_timeout
        self._clock = clock
        self._reading: _FileRead | None = None
        self._stuck: list[_FileRead] = []
        self._read_at = clock()
        self._reported: str | None = None
        self._from_file = self._first_read(path) if path is not None else None

    def _first_read(self, path: Path) -> bytes:
        """At startup a token file that cannot be used stops the server, in one line."""
        reading = _FileRead(path)
        if not reading.done.wait(self._read_timeout):
            raise ConfigError(f"JOBCTL_HTTP_TOKEN_FILE {path} gave no answer within {self._read_timeout:g} s")
        token, problem = reading.outcome()
        if token is None:
            raise ConfigError(f"JOBCTL_HTTP_TOKEN_FILE {path}: {problem}")
        return token

    async def current(self) -> bytes | None:
        if self._path is None:
            return self._fixed
        reading = self._reading or self._read_if_due(self._path)
        if reading is None:
            return self._from_file
        left = max(reading.started + self._read_timeout - time.monotonic(), 0)
        # The wait happens in a worker thread that gives up after `left` seconds: no thread is held longer.
        finished = reading.done.is_set() or await anyio.to_thread.run_sync(reading.done.wait, left)
        if self._reading is reading:  # the first waiter back settles the read
            self._reading = None
            if finished:
                self._take(*reading.outcome())
            else:
                # Left to end on its own; the next recheck reads afresh, since the file may have been replaced.
                self._stuck.append(reading)
                self._take(None, f"gave no answer within {self._read_timeout:g} s (a FIFO or a hung file system?)")
        return self._from_file if finished else None

    def _read_if_due(self, path: Path) -> _FileRead | None:
        # A few reads stuck at once at most, so a hung file system cannot pile up threads.
        self._stuck = [read for read in self._stuck if not read.done.is_set()]
        if self._clock() - self._read_at < self._recheck or len(self._stuck) >= _MAX_STUCK_READS:
            return None
        self._read_at = self._clock()
        self._reading = _FileRead(path)
        return self._reading

    def _take(self, token: bytes | None, problem: str) -> None:
        # No usable token means no request gets in: failing closed is the only safe answer.
        if token is None:
            self._report(problem)
        elif self._from_file is not None and token != self._from_file:
            log.info("JOBCTL_HTTP_TOKEN_FILE changed: the new token is in effect")
        elif self._from_file is None:
            log.info("JOBCTL_HTTP_TOKEN_FILE is usable again")
        self._from_file = token
        self._reported = None if token is not None else self._reported

    def _report(self, problem: str) -> None:
        if problem != self._reported:  # once per new problem, not once per request
            log.error("JOBCTL_HTTP_TOKEN_FILE %s: every request is refused until it is fixed", problem)
            self._reported = problem

    async def accepts(self, authorization: str | None) -> bool:
        expected = await self.current()
        scheme, _, presented = (authorization or "").partition(" ")
        # compare_digest takes the same time wherever the first difference is.
        return (
            bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), expected or b"")
        )


class _FileRead:
    """One read of the token file in a daemon thread: it may block forever (a FIFO with no writer, a hung network
    file system) without holding the event loop or keeping the process from exiting."""

    def __init__(self, path: Path) -> None:
        self.started = time.monotonic()
        self.done = threading.Event()
        self._content: bytes | None = None
        self._error = ""
        threading.Thread(target=self._read, args=(path,), name="jobctl-token-file", daemon=True).start()

    def _read(self, path: Path) -> None:
        try:
            with path.open("rb") as file:
                self._content = file.read(_TOKEN_FILE_MAX_BYTES + 1)
        except OSError as exc:
            self._error = f"cannot be read: {exc.strerror}"
        finally:
            self.done.set()

    def outcome(self) -> tuple[bytes | None, str]:
        """The token, or None and why it cannot be used."""
        if self._content is None:
            return None, self._error
        if len(self._content) > _TOKEN_FILE_MAX_BYTES:
            return None, f"is larger than {_TOKEN_FILE_MAX_BYTES} bytes"
        token = self._content.strip()
        if not token:
            return None, "is empty"
        if problem := key_problem(token.decode(errors="replace")):
            return None, f"holds a token that {problem}"
        return token, ""


def _matches(value: str, allowed: tuple[str, ...]) -> bool:
    return "*" in allowed or any(
        value == pattern or (pattern.endswith(":*") and value.startswith(pattern[:-1])) for pattern in allowed
    )


WELL_KNOWN = "/.well-known/"


class Guard:
    """ASGI middleware in front of everything: Host, Origin, then the shared bearer token or an access token."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: TokenSource | None,
        hosts: tuple[str, ...],
        origins: tuple[str, ...],
        oauth: OAuthGate | None = None,
    ) -> None:
        self._app = app
        self._tokens = tokens
        self._hosts = hosts
        self._origins = origins
        self._oauth = oauth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refusal = await self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
        elif self._oauth is not None and not _is_open(scope):
            await self._oauth(scope, receive, send)
        else:
            await self._app(scope, receive, send)

    async def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        # Orchestrators probe a pod by its address, so the two probes that reach no vendor skip the Host check (they
        # never send an Origin). Every other route, /readyz?check=vendors included, is what a DNS-rebinding page
        # would aim at: it gets the same Host and Origin checks as /mcp.
        public = _is_probe(scope)
        if not public and not _matches(headers.get("host", ""), self._hosts):
            return PlainTextResponse("Invalid Host header", status_code=421)
        origin = headers.get("origin")
        if origin and not _matches(origin, self._origins):
            return PlainTextResponse("Invalid Origin header", status_code=403)
        if self._tokens is not None and not public and not await self._tokens.accepts(headers.get("authorization")):
            return JSONResponse(
                {"error": "unauthorized"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="jobctl-mcp"'},
            )
        return None


def _is_probe(scope: Scope) -> bool:
    path: str = scope["path"]
    return path == "/healthz" or (path == "/readyz" and not scope.get("query_string"))


def _is_open(scope: Scope) -> bool:
    """Routes anyone may read without a token: the probes, and the metadata a client reads to get one."""
    return _is_probe(scope) or (scope["path"].startswith(WELL_KNOWN) and scope["method"] in ("GET", "HEAD"))


class OAuthGate:
    """The endpoint as an OAuth resource server: a bearer access token on every request, checked by the verifier;
    on a tool call or resource read, the scope the row's class needs (403 with a scope challenge, so that a client
    can step up, when the token lacks it). The caller is handed on the way the SDK's auth middleware hands it on."""

    def __init__(
        self, app: ASGIApp, verifier: JwtVerifier, scopes: Scopes, served: tuple[AnySpec, ...], settings: Settings
    ) -> None:
        from jobctl_mcp.oauth import metadata_url

        self._app = app
        self._verifier = verifier
        self._scopes = scopes
        self._served = {spec.name: spec for spec in served}
        self._metadata = metadata_url(settings)
        self._max_body = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from jobctl_mcp.oauth import IssuerUnavailableError, TokenRefusedError

        if "access_token" in parse_qs(scope.get("query_string", b"").decode("latin-1")):
            log.warning("refused a request with an access token in its query string: send it as a bearer header")
            await self._challenge(401, "invalid_request", "send the access token in the Authorization header")(
                scope, receive, send
            )
            return
        scheme, _, token = (Headers(scope=scope).get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._challenge(401)(scope, receive, send)  # RFC 6750 §3.1: no error code when none was sent
            return
        try:
            access = await self._verifier.verify(token.strip())
        except TokenRefusedError as exc:
            log.warning("refused an access token: %s", exc)
            await self._challenge(401, "invalid_token", "the access token is not valid")(scope, receive, send)
            return
        except IssuerUnavailableError as exc:
            log.error("cannot check access tokens: %s", exc)
            answer = JSONResponse({"error": "temporarily_unavailable"}, status_code=503, headers={"Retry-After": "5"})
            await answer(scope, receive, send)
            return
        user = AuthenticatedUser(access)
        scope["user"], scope["auth"] = user, AuthCredentials(access.scopes)
        if scope["method"] == "POST" and scope["path"] == MCP_PATH:
            body = await _whole_body(receive, self._max_body)
            if body is None:
                await PlainTextResponse("Request body too large", status_code=413)(scope, receive, send)
                return
            if missing := self._missing_scope(body, set(access.scopes)):
                needed, what = missing
                log.warning(
                    "refused %s to sub=%s client=%s: it needs the scope %s", what, access.subject, access.client_id,
                    needed,
                )  # fmt: skip
                description = f"{what} needs the scope {needed}"
                await self._challenge(403, "insufficient_scope", description, needed)(scope, receive, send)
                return
            receive = _replay(body, receive)
        # As the SDK's AuthContextMiddleware does: the tools, the audit and sealed request state read the caller here.
        reset = auth_context_var.set(user)
        try:
            await self._app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    def _missing_scope(self, body: bytes, granted: set[str]) -> tuple[str, str] | None:
        """The scope a message in `body` needs and `granted` lacks, and what needs it; None when nothing does."""
        from jobctl_mcp.tools import call_effect

        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the SDK answers a parse error; nothing runs
        messages: list[Any] = parsed if isinstance(parsed, list) else [parsed]  # pyright: ignore[reportUnknownVariableType]
        for message in map(json_object, messages):
            params = json_object(message.get("params"))
            name = params.get("name")
            if message.get("method") == "tools/call" and isinstance(name, str) and (spec := self._served.get(name)):
                needed, what = self._scopes.needed(call_effect(spec, json_object(params.get("arguments")))), name
            elif message.get("method") == "resources/read":
                needed, what = self._scopes.read, "reading a resource"
            else:
                continue
            if needed not in granted:
                return needed, what
        return None

    def _challenge(
        self, status: int, error: str | None = None, description: str | None = None, scope: str | None = None
    ) -> Response:
        parts = [f'error="{error}"'] if error else []
        parts += [f'scope="{scope}"'] if scope else []
        parts += [f'resource_metadata="{self._metadata}"']
        body = {"error": error or "unauthorized"} | ({"error_description": description} if description else {})
        return JSONResponse(body, status_code=status, headers={"WWW-Authenticate": "Bearer " + ", ".join(parts)})


async def _whole_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body, or None when it is larger than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then whatever the connection says next."""
    pending = True

    async def again() -> dict[str, Any]:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return again


def http_app(
    server: MCPServer[AppState],
    settings: Settings,
    transports: Transports | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> ASGIApp:
    """The whole HTTP application: /mcp, /healthz and /readyz (and, with an issuer, the resource's metadata) behind
    the guard. `clock` paces the token file's re-reads and the issuer's key refreshes (tests move it by hand).
    Raises ConfigError when the token file cannot be used or the OAuth settings do not fit together."""
    if settings.oauth_issuer is not None:
        from jobctl_mcp.oauth import check_oauth_settings, metadata_url, resource_metadata

        check_oauth_settings(settings)
        described = ProtectedResourceMetadataHandler(resource_metadata(settings)).handle
        # RFC 9728 §3.1 puts the metadata before the resource's path; clients that only try the root find it too.
        for path in dict.fromkeys((urlsplit(metadata_url(settings)).path, "/.well-known/oauth-protected-resource")):
            server.custom_route(path, methods=["GET"])(described)

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
    tokens = TokenSource(settings.http_token, settings.http_token_file, clock=clock) if has_token else None
    return Guard(app, tokens, hosts, (*origins, *settings.allowed_origins), _oauth_gate(app, settings, clock))


def _oauth_gate(app: ASGIApp, settings: Settings, clock: Callable[[], float]) -> OAuthGate | None:
    """The access-token check when an issuer is set; the JOSE library is loaded only then."""
    if settings.oauth_issuer is None:
        return None
    from jobctl_mcp.oauth import IssuerKeys, JwtVerifier, Scopes
    from jobctl_mcp.policy import select
    from jobctl_mcp.tools import ALL_TOOLS

    assert settings.audience is not None, "checked by check_oauth_settings"
    verifier = JwtVerifier(IssuerKeys(settings.oauth_issuer, clock=clock), settings.audience)
    return OAuthGate(app, verifier, Scopes.of(settings), select(ALL_TOOLS, settings).served, settings)


class RequestDeadlines(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with deadlines for a request to arrive: its headers within `header_timeout` of
    its first byte (or of the connection, when nothing comes), then its body within `body_timeout`. uvicorn has
    neither, so a client that sent half a request held its connection forever. Answering is not timed here: once
    the request is in, JOBCTL_CALL_TIMEOUT bounds the work and streams may stay open."""

    header_timeout = 10.0
    body_timeout = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _waiting_for = ""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._expect("headers", self.header_timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:  # part of the next request's headers (uvicorn's idle timer stopped on its first byte)
            self._expect("headers", self.header_timeout)
        elif state is h11.SEND_BODY:
            self._expect("body", self.body_timeout)
        else:
            self._expect("", None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._expect("", None)
        super().connection_lost(exc)

    def _expect(self, part: str, seconds: float | None) -> None:
        if part == self._waiting_for:
            return  # the deadline runs from when this part began, however slowly it trickles in
        if self._deadline is not None:
            self._deadline.cancel()
        self._waiting_for = part
        self._deadline = self.loop.call_later(seconds, self._expire) if seconds is not None else None

    def _expire(self) -> None:
        log.debug("closing a connection whose request %s did not arrive in time", self._waiting_for)
        self._deadline = None
        self.transport.close()


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration for the endpoint: deadlines for slow clients and a cap on connections."""

    class Deadlines(RequestDeadlines):
        header_timeout = settings.header_timeout
        body_timeout = settings.body_timeout

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        http=Deadlines,
        timeout_keep_alive=settings.idle_timeout,
        # uvicorn answers 503 once this many connections are open, the asking one included.
        limit_concurrency=settings.max_connections + 1,
    )


async def serve_http(app: ASGIApp, settings: Settings) -> None:
    await uvicorn.Server(server_config(app, settings)).serve()
