"""The HTTP layer both vendors share: one pooled httpx2 client each, retries that never resend a write
that may have arrived, safe path building, and vendor errors turned into the errors.py tree."""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote

import anyio
import httpx2

from jobctl_mcp import telemetry
from jobctl_mcp.errors import (
    InputError,
    OutcomeUnknownError,
    RateLimitError,
    VendorAPIError,
    VendorError,
    VendorUnavailableError,
    sentences,
    status_error_class,
)

if TYPE_CHECKING:
    from tenacity import RetryCallState

log = logging.getLogger(__name__)

T = TypeVar("T")
# A vendor's HTTP client, or what builds it on the first request.
HttpClient = httpx2.AsyncClient | Callable[[], httpx2.AsyncClient]

# PUT and DELETE replace or remove a resource: sending them twice ends in the same state.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# Gateway failures: the vendor may or may not have acted, so only idempotent requests are retried.
GATEWAY_STATUSES = frozenset({502, 503, 504})
# Connection failures before a byte of the request left: the vendor cannot have acted.
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
# The most of one answer that is read: a vendor (or a proxy in front of it) can send anything, of any size.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

_PLACEHOLDER = re.compile(r"{(\w+)}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# Characters that change what a human or a model reads without being seen: zero-width characters and joiners,
# bidi marks, embeddings, overrides and isolates (U+202E turns "exe.txt" around), and the tag characters
# (U+E0000-E007F) that can spell out hidden instructions.
_INVISIBLE = re.compile(
    "[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\U000e0000-\U000e007f]+"
)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Route:
    """A vendor operation: its HTTP method and path template, e.g. POST /Job/{jobId}/action/kill."""

    method: str
    path: str
    # A POST that only reads (a browse, a report): it may be resent, and it is sent in dry-run mode too.
    reads_only: bool = False

    @property
    def repeatable(self) -> bool:
        """Whether sending this request twice ends as sending it once."""
        return self.method in IDEMPOTENT_METHODS or self.reads_only

    @property
    def changes_state(self) -> bool:
        return self.method != "GET" and not self.reads_only

    @cached_property
    def placeholders(self) -> tuple[str, ...]:
        """The names in the path template, in order (read on every call: found once)."""
        return tuple(_PLACEHOLDER.findall(self.path))

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
    """How often and how patiently a request is tried again, and how much of an answer is read; sleep is
    replaceable for tests."""

    retries: int = 2
    backoff: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, compare=False)
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Send:
    """What goes with a route besides its path: query parameters, extra headers, a JSON body."""

    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] | None = None
    json: Any = None


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
            seconds = float(value)
        except ValueError:
            pass
        else:
            return max(0.0, seconds) if math.isfinite(seconds) else None
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


def json_str(value: Any) -> str | None:
    """`value` if the vendor sent non-empty text there, else None."""
    return value if isinstance(value, str) and value else None


def json_int(value: Any) -> int | None:
    """`value` if the vendor sent an integer there (or one written in ASCII digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def json_number(value: Any) -> float | None:
    """`value` if the vendor sent a finite number there, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def not_a(expected: str, data: Any) -> str:
    """Why a 2xx answer cannot be used: empty, or not `expected` (with what it says, if it says anything)."""
    if data is None:
        return "the answer was empty"
    said = vendor_message(data)
    return f"the answer is not {expected}" + (f" (it says: {said})" if said else "")


def plain_text(value: str, limit: int = 300) -> str:
    """Vendor text made safe to show an agent or a human: one line, no control or invisible characters, bounded."""
    if _already_plain(value, limit):
        return value
    text = " ".join(_CONTROL.sub(" ", _INVISIBLE.sub("", value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _already_plain(value: str, limit: int) -> bool:
    """Whether plain_text would return `value` as it is: most vendor strings are, and this check is cheap.
    Every control and invisible character is unprintable (a test holds this), and so is every space but U+0020."""
    return len(value) <= limit and value.isprintable() and "  " not in value and value == value.strip(" ")


# The longest string any tool result carries; VendorText fields are cut shorter (plain_text's default).
LONGEST_SHOWN = 1000
# Keys whose value is an object sent verbatim (raw=true, a dry run's request body): its text keeps its lines and
# length, but loses invisible characters and credentials like the rest.
VERBATIM_KEYS = frozenset({"raw", "body"})


def shown(value: Any, scrub: Callable[[str], str], *, verbatim: bool = False) -> Any:
    """`value` (a JSON-shaped tool result) as an agent may see it: every string cleaned and bounded, by type rather
    than field by field, and every credential the clients hold replaced, whether the answer was a success or not."""
    if isinstance(value, str):
        text = scrub(value if value.isprintable() else _INVISIBLE.sub("", value))
        if verbatim:
            return text
        plain = plain_text(text, LONGEST_SHOWN)
        return text if plain is text else scrub(plain)  # what cleaning changed is scrubbed once more
    if isinstance(value, dict):
        items: dict[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return {
            shown(key, scrub, verbatim=verbatim): shown(item, scrub, verbatim=verbatim or key in VERBATIM_KEYS)
            for key, item in items.items()
        }
    if isinstance(value, list):
        return [shown(item, scrub, verbatim=verbatim) for item in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def scrubber(secrets: list[str]) -> Callable[[str], str]:
    """A function that replaces each of `secrets` in a text (values of fewer than 4 characters are too common)."""
    return _replacing(frozenset(secret for secret in secrets if len(secret) >= 4))


@lru_cache(maxsize=1)  # the credentials change only on a new login: every call reuses the last pattern
def _replacing(secrets: frozenset[str]) -> Callable[[str], str]:
    if not secrets:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, sorted(secrets, key=len, reverse=True))))
    return lambda text: pattern.sub("[redacted]", text) if text else text


def vendor_message(data: Any, depth: int = 0) -> str | None:
    """The vendor's own error text, from any of the shapes Commvault and Qovery use."""
    if depth > _MESSAGE_DEPTH:
        return None
    if isinstance(data, list):
        for item in data[:_MESSAGE_ITEMS]:  # pyright: ignore[reportUnknownVariableType]
            if found := vendor_message(item, depth + 1):
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
        if found := vendor_message(fields.get(key), depth + 1):
            return found
    return None


# Error messages sit a few levels deep at most (errors[].errList[].errLogMessage); a hostile answer may not.
_MESSAGE_DEPTH = 6
_MESSAGE_ITEMS = 20


def response_detail(response: httpx2.Response) -> str:
    """One line describing an error answer: the vendor's message, an HTML page's title, or the reason."""
    try:
        message = vendor_message(response.json())
    except (ValueError, RecursionError):  # not JSON, or nested deeper than a parser follows
        text = response.text
        title = _HTML_TITLE.search(text)
        message = plain_text(_TAG.sub(" ", title.group(1) if title else text), 200) or None
    return message or response.reason_phrase


class VendorClient:
    """Base of the vendor clients: authentication hooks, the retry loop and answer decoding."""

    vendor: ClassVar[str]
    hints: ClassVar[Mapping[int, str]] = {}
    # What to do when an operation's answer is over the byte cap, for operations that can ask for less.
    too_large_hints: ClassVar[Mapping[Route, str]] = {}

    def __init__(self, http: HttpClient, policy: RetryPolicy, *, dry_run: bool = False) -> None:
        self._http_or_factory = http
        self._policy = policy
        self._dry_run = dry_run

    @property
    def _http(self) -> httpx2.AsyncClient:
        # Built on first use when given as a factory: a client loads the TLS trust store, which a server's start
        # (and its first tools/list) need not wait for.
        if not isinstance(self._http_or_factory, httpx2.AsyncClient):
            self._http_or_factory = self._http_or_factory()
        return self._http_or_factory

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
        if self._dry_run and (route.changes_state if changes_state is None else changes_state):
            planned = self._http.build_request(route.method, url, params=params)
            raise DryRunStop(PlannedRequest(route.method, str(planned.url), json))
        safe_to_repeat = route.repeatable if idempotent is None else idempotent
        auth = await self.auth_headers() if authenticate else {}
        send = {"params": params, "json": json}
        response = await self._send(operation, route, url, {**(headers or {}), **auth}, send, safe_to_repeat)
        if response.status_code == 401 and authenticate and await self.reauthenticate(auth):
            auth = await self.auth_headers()
            response = await self._send(operation, route, url, {**(headers or {}), **auth}, send, safe_to_repeat)
        return self._decode(operation, response, safe_to_repeat)

    async def call(
        self,
        operation: str,
        route: Route,
        parse: Callable[[Any], T | None],
        expects: str,
        *,
        path: Mapping[str, object] | None = None,
        send: Send | None = None,
    ) -> T:
        """Send one operation and turn its answer into `parse`'s model; the only way tools reach a vendor.

        An error the vendor reports inside a 2xx answer becomes the error tree's (`error_inside`), and an answer
        `parse` cannot use (it returns None) becomes an unusable-answer error that says what was `expected`.
        """
        send = send or Send()
        data = await self.request(operation, route, path=path, params=send.params, headers=send.headers, json=send.json)
        if (error := self.error_inside(operation, route, data)) is not None:
            raise error
        parsed = parse(data)
        if parsed is None:
            raise self.unusable(operation, route, not_a(expects, data))
        return parsed

    def error_inside(self, operation: str, route: Route, data: Any) -> VendorError | None:  # noqa: ARG002 (a hook)
        """The error a vendor reported inside a 2xx answer, if any."""
        return None

    async def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request; may log in first."""
        return {}

    async def reauthenticate(self, rejected: Mapping[str, str]) -> bool:  # noqa: ARG002 (a hook)
        """After a 401 sent with `rejected`, refresh the credentials; True if the request may be sent again."""
        return False

    def secrets(self) -> list[str]:
        """Credential values that must never reach an agent, even when a vendor echoes them back."""
        return []

    def scrub(self, text: str) -> str:
        """`text` (vendor text bound for an error message) with every credential value replaced (values of fewer
        than 4 characters are too common to replace)."""
        return scrubber(self.secrets())(text)

    def hint(self, status: int) -> str:
        """What the agent (or its operator) can do about this status."""
        return self.hints.get(status) or _GENERIC_HINTS.get(status // 100 * 100 if status >= 500 else status, "")

    def unusable(self, operation: str, route: Route, detail: str) -> VendorError:
        """A 2xx answer that cannot be used: an error after a read; after a write, an unknown outcome, because
        a garbled success may come from a proxy that never passed the request on."""
        detail = self.scrub(detail)
        if not route.repeatable:
            return OutcomeUnknownError(self.vendor, operation, sentences(detail, UNKNOWN_OUTCOME))
        return VendorAPIError(self.vendor, operation, 200, detail)

    async def _send(
        self, operation: str, route: Route, url: str, headers: dict[str, str], send: dict[str, Any], repeatable: bool
    ) -> httpx2.Response:
        try:
            # Most requests are answered at the first attempt: the retry machinery is built only for the others.
            return await self._traced(operation, route, url, headers, send, repeatable, resends=0)
        except _TryAgain as failed:
            if self._policy.retries == 0:
                return self._exhausted(operation, failed)
            delay = self._delay(failed, 1)
            self._waiting(failed, delay)
            await self._policy.sleep(delay)
        # Imported by the first request that fails, not at the start: the first tools/list does not wait for it.
        from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.retries),
            wait=self._wait,
            retry=retry_if_exception_type(_TryAgain),
            before_sleep=self._before_retry,
            sleep=self._policy.sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    # tenacity counts from the second attempt: the first was made before its loop.
                    resends = attempt.retry_state.attempt_number
                    return await self._traced(operation, route, url, headers, send, repeatable, resends=resends)
        except _TryAgain as exhausted:
            return self._exhausted(operation, exhausted)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _traced(
        self,
        operation: str,
        route: Route,
        url: str,
        headers: dict[str, str],
        send: dict[str, Any],
        repeatable: bool,
        *,
        resends: int,
    ) -> httpx2.Response:
        """One attempt, as one client span when telemetry is on."""
        with telemetry.vendor_request(self.vendor, route, self._http.base_url, url, resends) as seen:
            response = await self._attempt(operation, route, url, headers, send, repeatable)
            seen.answered(response.status_code)
            return response

    def _exhausted(self, operation: str, last: _TryAgain) -> httpx2.Response:
        """The last answer once no attempt is left; with none at all, the vendor is unavailable."""
        if last.response is not None:
            return last.response
        raise VendorUnavailableError(
            self.vendor, operation, f"no answer after {self._policy.retries + 1} attempts ({_describe(last)})"
        ) from last.cause

    async def _attempt(
        self, operation: str, route: Route, url: str, headers: dict[str, str], send: dict[str, Any], repeatable: bool
    ) -> httpx2.Response:
        method = route.method
        try:
            async with self._http.stream(method, url, headers=headers, **send) as streamed:
                response = await self._read(operation, route, streamed, repeatable)
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
        # A wait longer than the cap, or than the call has left, is not slept through: the agent is told when.
        if response.status_code == 429 and self._too_long(retry_after(response)):
            return response
        # A 429 means the vendor refused the request without acting on it, whatever the method.
        if response.status_code == 429 or (repeatable and response.status_code in GATEWAY_STATUSES):
            log.debug("%s %s %s: HTTP %s, retrying", self.vendor, method, url, response.status_code)
            raise _TryAgain(response)
        return response

    async def _read(self, operation: str, route: Route, streamed: httpx2.Response, repeatable: bool) -> httpx2.Response:
        """The whole answer, read up to the byte cap; a larger one is refused before it fills the memory."""
        cap = self._policy.max_response_bytes
        declared = streamed.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(operation, route, streamed.status_code, repeatable)
        if declared.isdigit() and "content-encoding" not in streamed.headers:
            # The declared length bounds what is read (the HTTP framing holds the vendor to it), and nothing is
            # decoded: the answer is read whole as it is, without copying it into a new response.
            await streamed.aread()
            return streamed
        body = bytearray()
        async for chunk in streamed.aiter_bytes():
            body += chunk
            if len(body) > cap:
                raise self._too_large(operation, route, streamed.status_code, repeatable)
        # aiter_bytes has undone any content encoding: the copy must not claim one, nor the encoded length.
        kept = [(k, v) for k, v in streamed.headers.multi_items() if k not in ("content-encoding", "content-length")]
        return httpx2.Response(streamed.status_code, headers=kept, content=bytes(body), request=streamed.request)

    def _too_large(self, operation: str, route: Route, status: int, repeatable: bool) -> VendorError:
        size = f"the answer was larger than {self._policy.max_response_bytes / 2**20:g} MB"
        if not repeatable and status < 300:
            return OutcomeUnknownError(self.vendor, operation, f"HTTP {status}, but {size}. {UNKNOWN_OUTCOME}")
        return VendorAPIError(self.vendor, operation, status, size, self.too_large_hints.get(route, ""))

    def _too_long(self, wait: float | None) -> bool:
        """Whether the vendor asks for a longer wait than the policy allows or than the call has left."""
        left = anyio.current_effective_deadline() - anyio.current_time()
        return wait is not None and (wait > self._policy.retry_after_max or wait > left)

    def _wait(self, state: RetryCallState) -> float:
        # tenacity counts from the second attempt: the first was made before its loop.
        return self._delay(state.outcome.exception() if state.outcome else None, state.attempt_number + 1)

    def _delay(self, failure: BaseException | None, attempt: int) -> float:
        """The pause after failed attempt number `attempt`: what the vendor asked for, else the backoff."""
        if isinstance(failure, _TryAgain) and failure.retry_after is not None:
            return min(failure.retry_after, self._policy.retry_after_max)
        return self._policy.backoff_delay(attempt)

    def _before_retry(self, state: RetryCallState) -> None:
        self._waiting(state.outcome.exception() if state.outcome else None, state.upcoming_sleep)

    def _waiting(self, failure: BaseException | None, seconds: float) -> None:
        response = failure.response if isinstance(failure, _TryAgain) else None
        telemetry.retry_wait(self.vendor, seconds, response is not None and response.status_code == 429)

    def _decode(self, operation: str, response: httpx2.Response, repeatable: bool) -> Any:
        status = response.status_code
        if response.is_success:
            if not response.content.strip():
                return None
            try:
                return response.json()
            except (ValueError, RecursionError):
                if not repeatable:  # a login page from a proxy is also "not JSON": the write may never have arrived
                    raise OutcomeUnknownError(
                        self.vendor, operation, f"HTTP {status}, but the answer was not JSON. {UNKNOWN_OUTCOME}"
                    ) from None
                raise VendorAPIError(self.vendor, operation, status, "the answer was not JSON") from None
        if not repeatable and status in (502, 504):
            raise OutcomeUnknownError(
                self.vendor, operation, f"HTTP {status} from a gateway after the request was sent. {UNKNOWN_OUTCOME}"
            )
        detail = self.scrub(response_detail(response))
        error = status_error_class(status)
        if error is RateLimitError:
            wait = retry_after(response)
            hint = _retry_at(wait) if wait is not None else self.hint(status)
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


def _retry_at(wait: float) -> str:
    """When to come back, in seconds and as a UTC time, so that an agent can tell its human either way."""
    when = datetime.fromtimestamp(time.time() + wait, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"Retry after {math.ceil(wait)}s (at {when})."


def _exception_name(exc: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(exc).__name__).lower()


def _describe(exhausted: _TryAgain) -> str:
    return _exception_name(exhausted.cause) if exhausted.cause else "no answer"
