"""The HTTP layer both vendors share: one pooled httpx2 client each, retries that never resend a write
that may have arrived, safe path building, and vendor errors turned into the errors.py tree."""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

import anyio
import httpx2
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from jobctl_mcp.errors import (
    InputError,
    OutcomeUnknownError,
    RateLimitError,
    VendorAPIError,
    VendorUnavailableError,
    status_error_class,
)

log = logging.getLogger(__name__)

# PUT and DELETE replace or remove a resource: sending them twice ends in the same state.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# Gateway failures: the vendor may or may not have acted, so only idempotent requests are retried.
GATEWAY_STATUSES = frozenset({502, 503, 504})
# Connection failures before a byte of the request left: the vendor cannot have acted.
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)

_PLACEHOLDER = re.compile(r"{(\w+)}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Route:
    """A vendor operation: its HTTP method and path template, e.g. POST /Job/{jobId}/action/kill."""

    method: str
    path: str

    def format(self, **params: object) -> str:
        """The path with each placeholder filled by one percent-encoded segment."""

        def segment(match: re.Match[str]) -> str:
            value = str(params[match.group(1)])
            # A dot segment or an empty one would make the vendor resolve another path.
            if value in ("", ".", ".."):
                raise InputError(f"{match.group(1)} {value!r} is not a valid id")
            return quote(value, safe="")

        return _PLACEHOLDER.sub(segment, self.path)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is tried again; sleep is replaceable for tests."""

    retries: int = 2
    backoff: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, compare=False)

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class PlannedRequest:
    """A request that dry-run mode kept from being sent."""

    method: str
    url: str
    body: Any


class DryRunStop(Exception):
    """Raised instead of sending a request that would change something, in dry-run mode."""

    def __init__(self, planned: PlannedRequest) -> None:
        super().__init__(f"dry run: {planned.method} {planned.url}")
        self.planned = planned


class _TryAgain(Exception):
    """An attempt that may be repeated; carries the vendor's answer when there was one."""

    def __init__(self, response: httpx2.Response | None = None, cause: Exception | None = None) -> None:
        self.response = response
        self.cause = cause
        self.retry_after = retry_after(response) if response is not None else None


def retry_after(response: httpx2.Response) -> float | None:
    """Seconds the vendor asks us to wait (Retry-After as seconds or a date, or X-RateLimit-Reset)."""
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    reset = response.headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None


def json_object(value: Any) -> dict[str, Any]:
    """`value` if the vendor sent an object there, else an empty one: vendor JSON is read defensively."""
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]


def json_list(value: Any) -> list[Any]:
    """`value` if the vendor sent a list there, else an empty one."""
    return value if isinstance(value, list) else []  # pyright: ignore[reportUnknownVariableType]


def plain_text(value: str, limit: int = 300) -> str:
    """Vendor text made safe to show an agent: no control characters, no markup, bounded length."""
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def vendor_message(data: Any) -> str | None:
    """The vendor's own error text, from any of the shapes Commvault and Qovery use."""
    if isinstance(data, list):
        for item in data:  # pyright: ignore[reportUnknownVariableType]
            if found := vendor_message(item):
                return found
        return None
    if not isinstance(data, dict):
        return None
    fields: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    for key in ("detail", "message", "errorMessage", "errLogMessage", "error"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return plain_text(value)
    for key in ("errList", "errors", "errorList", "error"):
        if found := vendor_message(fields.get(key)):
            return found
    return None


def response_detail(response: httpx2.Response) -> str:
    """One line describing an error answer: the vendor's message, an HTML page's title, or the reason."""
    try:
        message = vendor_message(response.json())
    except ValueError:
        text = response.text
        title = _HTML_TITLE.search(text)
        message = plain_text(_TAG.sub(" ", title.group(1) if title else text), 200) or None
    return message or response.reason_phrase


class VendorClient:
    """Base of the vendor clients: authentication hooks, the retry loop and answer decoding."""

    vendor: ClassVar[str]
    hints: ClassVar[Mapping[int, str]] = {}

    def __init__(self, http: httpx2.AsyncClient, policy: RetryPolicy, *, dry_run: bool = False) -> None:
        self._http = http
        self._policy = policy
        self._dry_run = dry_run

    async def request(
        self,
        operation: str,
        route: Route,
        *,
        path: Mapping[str, object] | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        changes_state: bool | None = None,
    ) -> Any:
        """Send one operation and return its decoded JSON (None for an empty 2xx answer).

        `idempotent` overrides the method's default for the retry decision (a login may be resent);
        `authenticate=False` sends no credentials (the login request itself); `changes_state=False`
        lets a non-GET request through in dry-run mode (a login changes no job).
        """
        url = route.format(**(path or {}))
        if self._dry_run and (route.method != "GET" if changes_state is None else changes_state):
            planned = self._http.build_request(route.method, url, params=params)
            raise DryRunStop(PlannedRequest(route.method, str(planned.url), json))
        safe_to_repeat = route.method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        auth = await self.auth_headers() if authenticate else {}
        send = {"params": params, "json": json}
        response = await self._send(operation, route.method, url, {**(headers or {}), **auth}, send, safe_to_repeat)
        if response.status_code == 401 and authenticate and await self.reauthenticate(auth):
            auth = await self.auth_headers()
            response = await self._send(operation, route.method, url, {**(headers or {}), **auth}, send, safe_to_repeat)
        return self._decode(operation, response, safe_to_repeat)

    async def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request; may log in first."""
        return {}

    async def reauthenticate(self, rejected: Mapping[str, str]) -> bool:  # noqa: ARG002 (a hook)
        """After a 401 sent with `rejected`, refresh the credentials; True if the request may be sent again."""
        return False

    def hint(self, status: int) -> str:
        """What the agent (or its operator) can do about this status."""
        return self.hints.get(status) or _GENERIC_HINTS.get(status // 100 * 100 if status >= 500 else status, "")

    async def _send(
        self, operation: str, method: str, url: str, headers: dict[str, str], send: dict[str, Any], repeatable: bool
    ) -> httpx2.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_TryAgain),
            sleep=self._policy.sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(operation, method, url, headers, send, repeatable)
        except _TryAgain as exhausted:
            if exhausted.response is not None:
                return exhausted.response
            raise VendorUnavailableError(
                self.vendor, operation, f"no answer after {self._policy.retries + 1} attempts ({_describe(exhausted)})"
            ) from exhausted.cause
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _attempt(
        self, operation: str, method: str, url: str, headers: dict[str, str], send: dict[str, Any], repeatable: bool
    ) -> httpx2.Response:
        try:
            response = await self._http.request(method, url, headers=headers, **send)
        except NOT_SENT as exc:
            log.debug("%s %s %s: not sent (%s), retrying", self.vendor, method, url, type(exc).__name__)
            raise _TryAgain(cause=exc) from exc
        except httpx2.TransportError as exc:
            if not repeatable:
                raise OutcomeUnknownError(
                    self.vendor, operation, f"{_exception_name(exc)} after the request was sent. {UNKNOWN_OUTCOME}"
                ) from exc
            log.debug("%s %s %s: %s, retrying", self.vendor, method, url, type(exc).__name__)
            raise _TryAgain(cause=exc) from exc
        # A 429 means the vendor refused the request without acting on it, whatever the method.
        if response.status_code == 429 or (repeatable and response.status_code in GATEWAY_STATUSES):
            log.debug("%s %s %s: HTTP %s, retrying", self.vendor, method, url, response.status_code)
            raise _TryAgain(response)
        return response

    def _wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _TryAgain) and failure.retry_after is not None:
            return min(failure.retry_after, self._policy.retry_after_max)
        return self._policy.backoff_delay(state.attempt_number)

    def _decode(self, operation: str, response: httpx2.Response, repeatable: bool) -> Any:
        status = response.status_code
        if response.is_success:
            if not response.content.strip():
                return None
            try:
                return response.json()
            except ValueError:
                raise VendorAPIError(self.vendor, operation, status, "the answer was not JSON") from None
        if not repeatable and status in (502, 504):
            raise OutcomeUnknownError(
                self.vendor, operation, f"HTTP {status} from a gateway after the request was sent. {UNKNOWN_OUTCOME}"
            )
        detail = response_detail(response)
        error = status_error_class(status)
        if error is RateLimitError:
            wait = retry_after(response)
            hint = f"Retry after {wait:.0f}s." if wait is not None else self.hint(status)
            raise RateLimitError(self.vendor, operation, status, detail, hint, retry_after=wait)
        raise error(self.vendor, operation, status, detail, self.hint(status))


UNKNOWN_OUTCOME = "The outcome is unknown: check the job list or status before trying again."

_GENERIC_HINTS = {
    400: "The vendor refused the request as invalid: check the arguments.",
    403: "The credentials lack permission for this operation.",
    409: "The job is busy or already in that state: read its status first.",
    429: "Rate limited: wait before calling again.",
    500: "The vendor failed on its side: try again later.",
}


def _exception_name(exc: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(exc).__name__).lower()


def _describe(exhausted: _TryAgain) -> str:
    return _exception_name(exhausted.cause) if exhausted.cause else "no answer"
