"""What every simulated vendor shares: request recording, fault injection and routing.

Faults are armed on a FaultPlan; "response", "garble" and "delay" act inside the ASGI app, the others in the
in-process transport.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import anyio
import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

FaultKind = Literal["response", "garble", "connect", "timeout", "reset", "delay"]
APP_KINDS: frozenset[FaultKind] = frozenset({"response", "garble", "delay"})
TRANSPORT_KINDS: frozenset[FaultKind] = frozenset({"connect", "timeout", "reset"})
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    url_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    client: tuple[str, int] | None = None  # the caller's address: over loopback, one port per connection


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int = 1
    status: int = 500
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    content_type: str | None = None
    seconds: float = 0.0
    chunked: bool = False  # "response": send the body in chunks, without a Content-Length


@dataclass
class _Armed:
    fault: Fault
    left: int


def _matches(method_filter: str | None, path_filter: str | None, method: str, path: str) -> bool:
    if method_filter is not None and method_filter.upper() != method.upper():
        return False
    return path_filter is None or re.search(path_filter, path) is not None


class FaultPlan:
    """Faults waiting for matching requests; each applies to `times` requests, first armed first."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []
        # The loopback server runs its own event loop in another thread while tests arm faults.
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append(_Armed(fault, fault.times))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, method: str, path: str, kinds: Collection[FaultKind] = APP_KINDS | TRANSPORT_KINDS) -> Fault | None:
        with self._lock:
            for armed in self._armed:
                if armed.fault.kind in kinds and _matches(armed.fault.method, armed.fault.path, method, path):
                    armed.left -= 1
                    self._armed = [a for a in self._armed if a.left > 0]
                    return armed.fault
        return None


class Reject(Exception):
    """Raised by a handler to answer at once with `response` (a vendor error)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class Call:
    request: RecordedRequest
    params: dict[str, str]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # a regex, fullmatched against RecordedRequest.path; named groups become Call.params
    handler: Callable[[Call], Response]
    public: bool = False  # True: answered without authentication


def json_object(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: request bodies are untrusted."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def json_list(value: object) -> list[Any]:
    return cast(list[Any], value) if isinstance(value, list) else []


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


_CHUNK = 64 * 1024


def _fault_response(fault: Fault) -> Response:
    body, media_type = fault.body, fault.content_type
    if isinstance(body, dict | list):
        content, media_type = json.dumps(body).encode(), media_type or "application/json"
    elif isinstance(body, str):
        content, media_type = body.encode(), media_type or "text/plain"
    else:
        content = body or b""
    if fault.chunked:
        chunks = (content[i : i + _CHUNK] for i in range(0, len(content), _CHUNK))
        return StreamingResponse(chunks, status_code=fault.status, headers=dict(fault.headers), media_type=media_type)
    return Response(content, status_code=fault.status, headers=dict(fault.headers), media_type=media_type)


GARBLED_NUMBER = 770077
# What "garble" puts in place of a value: another JSON type, never one a reader could take for the original.
_WRONG_TYPE: dict[type, Any] = {
    str: GARBLED_NUMBER,
    int: "garbled",
    float: "garbled",
    bool: "garbled",
    type(None): ["garbled"],
}
# Values that say what an object is (its id, name or state) are left alone: without them the answer is no answer
# about the thing asked for, which the unusable-answer tests cover, and every other value would go unread.
_IDENTITY = re.compile(r"(?i)(id|name|state|status)$")


def _garbled(response: Response) -> Response:
    """The vendor's own answer in its own shape with wrong types inside: every second value that is not an identity
    (in document order) of another JSON type, and an item of the wrong type at the end of every list. The request
    itself has been acted on."""
    raw = getattr(response, "body", None)  # a streamed answer has none: it is sent as it is
    if not isinstance(raw, bytes) or (body := _parse_json(raw)) is None:
        return response
    count = itertools.count()

    def garble(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {name: garble(item, name) for name, item in cast(dict[str, Any], value).items()}
        if isinstance(value, list):
            return [*(garble(item, key) for item in cast(list[Any], value)), ["garbled"]]
        if _IDENTITY.search(key) or next(count) % 2 == 0:
            return value
        return _WRONG_TYPE[type(value)]

    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    return Response(json.dumps(garble(body)), response.status_code, headers, "application/json")


async def _hold(request: Request, seconds: float) -> None:
    """Wait `seconds` before answering, or less if the client goes away meanwhile, as a real server notices."""
    with anyio.move_on_after(seconds):
        while (await request.receive())["type"] != "http.disconnect":
            pass


class VendorSim:
    """Base of the simulated vendors: records each request, applies app faults, then routes it."""

    def __init__(self, roots: tuple[str, ...], endpoints: list[Endpoint], flags: re.RegexFlag = re.NOFLAG) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults = FaultPlan()
        self._roots = roots
        self._endpoints = [(e, re.compile(e.path, flags)) for e in endpoints]
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=_METHODS)])

    def transport(self) -> httpx2.AsyncBaseTransport:
        return _FaultyTransport(self)

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if _matches(method, path, r.method, r.path)]

    def relative_path(self, url_path: str) -> str | None:
        """The path below the vendor's API root, or None when `url_path` is outside every root."""
        for root in self._roots:
            if url_path == root or url_path.startswith(root + "/"):
                return url_path[len(root) :]
        return None

    def authenticate(self, request: RecordedRequest) -> None:
        """Raise Reject when `request` lacks valid credentials; vendors override this."""

    def not_found(self) -> Response:
        return PlainTextResponse("Not Found", status_code=404)

    async def _receive(self, request: Request) -> Response:
        recorded = await self._record(request)
        fault = self.faults.take(recorded.method, recorded.path, APP_KINDS)
        if fault is not None and fault.kind == "response":
            return _fault_response(fault)
        if fault is not None and fault.kind == "delay":
            await _hold(request, fault.seconds)
        try:
            response = self._route(recorded)
        except Reject as reject:
            response = reject.response
        return _garbled(response) if fault is not None and fault.kind == "garble" else response

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        url_path = request.url.path
        recorded = RecordedRequest(
            method=request.method,
            path=self.relative_path(url_path) or url_path,
            url_path=url_path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=_parse_json(raw),
            raw_body=raw,
            client=(request.client.host, request.client.port) if request.client else None,
        )
        self.requests.append(recorded)
        return recorded

    def _route(self, request: RecordedRequest) -> Response:
        if self.relative_path(request.url_path) is None:
            return self.not_found()
        for endpoint, pattern in self._endpoints:
            match = pattern.fullmatch(request.path)
            if match is not None and endpoint.method == request.method:
                if not endpoint.public:
                    self.authenticate(request)
                return endpoint.handler(Call(request, match.groupdict()))
        return self.not_found()


class _FaultyTransport(httpx2.AsyncBaseTransport):
    """httpx2.ASGITransport plus the faults a network can cause, seen from the client side."""

    def __init__(self, sim: VendorSim) -> None:
        self._sim = sim
        self._inner = httpx2.ASGITransport(app=sim.app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = self._sim.relative_path(request.url.path) or request.url.path
        fault = self._sim.faults.take(request.method, path, TRANSPORT_KINDS)
        if fault is not None and fault.kind == "connect":
            raise httpx2.ConnectError("Connection refused (sandbox fault)", request=request)
        response = await self._inner.handle_async_request(request)
        if fault is None:
            return response
        # The vendor has acted on the request; only the answer is lost on its way back.
        await response.aclose()
        if fault.kind == "timeout":
            raise httpx2.ReadTimeout("Read timed out (sandbox fault)", request=request)
        raise httpx2.ReadError("Connection reset by peer", request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()
