"""What a tool is, as plain data: one row per tool in each vendor's table. No MCP imports here."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, Protocol, TypeVar, cast, overload

import anyio
from pydantic import AfterValidator, BaseModel, ConfigDict

from jobctl_mcp.client import Route, Send, VendorClient, plain_text

if TYPE_CHECKING:
    from jobctl_mcp.commvault import CommvaultClient
    from jobctl_mcp.qovery import QoveryClient

Vendor = Literal["commvault", "qovery"]
VENDORS: tuple[Vendor, ...] = ("commvault", "qovery")

ClientT = TypeVar("ClientT")
InputT = TypeVar("InputT", bound="ToolInput")
OutputT = TypeVar("OutputT", bound=BaseModel)
ItemT = TypeVar("ItemT")


class ToolInput(BaseModel):
    """Arguments of a tool. Unknown names are refused, so a misspelt argument is never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def waits(self) -> float:
        """Seconds this call means to wait on purpose, on top of the server's call timeout."""
        return 0.0


def whole_number(value: object) -> object:
    """An id as an agent may send it: an integer, or its plain decimal digits. true, 9669.0, "+9669", "9_669" and
    "9669\\n" are refused rather than read as some other id (pydantic's lax mode would take them all)."""
    if isinstance(value, bool | float) or (isinstance(value, str) and not _DIGITS.fullmatch(value)):
        raise ValueError("an id is a whole number written in digits, such as 123456")
    return value


_DIGITS = re.compile(r"[0-9]{1,18}")

# Text that comes from a vendor reaches the agent as data: one line, no control characters, bounded.
VendorText = Annotated[str, AfterValidator(plain_text)]


def page_of(items: list[ItemT], offset: int, limit: int) -> tuple[list[ItemT], int | None]:
    """The page of `items` at `offset`, and the offset of the next page (None on the last one)."""
    return items[offset : offset + limit], offset + limit if offset + limit < len(items) else None


class ToolOutput(BaseModel):
    """What a tool returns to the agent: compact, typed, and published as its outputSchema."""

    model_config = ConfigDict(frozen=True)


@dataclass(frozen=True)
class Hints:
    """The behaviour a tool declares; every field is required so that no row can omit one."""

    read_only: bool
    destructive: bool
    idempotent: bool

    def __post_init__(self) -> None:
        if self.read_only and (self.destructive or not self.idempotent):
            raise ValueError("a read-only tool is idempotent and not destructive")


READ = Hints(read_only=True, destructive=False, idempotent=True)

# What one call does, for the scope it needs: read-only tools read, destructive ones destroy, the others write.
Effect = Literal["read", "write", "destroy"]


@dataclass(frozen=True)
class Advice:
    """What to tell an agent when the vendor refuses this tool's request, in the tools' own terms (a client's
    hint speaks of HTTP and settings; only a row knows which tool finds an id or shows a job's state)."""

    not_found: str = ""
    refused: str = ""  # the vendor refused the request in the job's current state (an error inside a 2xx, 400, 409)
    # The vendor's field names that its messages use, as this tool's argument names: (vendor name, argument).
    arguments: tuple[tuple[str, str], ...] = ()

    def in_our_terms(self, text: str) -> str:
        """`text` (a vendor's message) with the vendor's field names replaced by this tool's argument names."""
        for vendor_name, argument in self.arguments:
            text = re.sub(rf"\b{re.escape(vendor_name)}\b", argument, text)
        return text


@dataclass(frozen=True)
class ToolSpec(Generic[ClientT, InputT, OutputT]):
    """One tool: its agent-facing text, its declared behaviour, the vendor request it sends, its types.

    A row that sends one request declares it: `route` (its path placeholders are input fields), `send` (query,
    headers, body), `parse` (the vendor's JSON to the output model; None when the answer is not `expects`) and
    `label` (how errors name the request, with the route's placeholders filled). A tool that makes several
    requests has a `run` instead: its `route` names the request that is its own, and `reads` the others.
    """

    name: str
    vendor: Vendor | None  # None: the tool spans vendors and receives the server state, not one client
    title: str
    description: str
    hints: Hints
    input: type[InputT]
    output: type[OutputT]
    route: Route | None = None
    label: str = ""
    expects: str = ""
    parse: Callable[[Any, InputT], OutputT | None] | None = None
    send: Callable[[InputT], Send] | None = None
    run: Callable[[ClientT, InputT], Awaitable[OutputT]] | None = None
    reads: tuple[Route, ...] = ()  # what a `run` reads besides its own request (before acting, or to follow a job)
    # What a human is asked before a destructive call runs (JOBCTL_CONFIRM_DESTRUCTIVE): it reads the job
    # fresh, so asking again just before acting shows whether the job changed while the human decided.
    question: Callable[[ClientT, InputT], Awaitable[str]] | None = None
    # A tool whose hints say it is not destructive may still destroy for some arguments (deploy-job with
    # forceEvent DELETE runs a job's delete command): policy and confirmation treat those calls as destructive.
    destructive_when: Callable[[InputT], bool] | None = None
    advice: Advice = Advice()
    # The tool returns jobs: hosts that render MCP Apps show its results on the job board (ui://jobctl/jobs).
    board: bool = False

    def __post_init__(self) -> None:
        if (self.parse is None) == (self.run is None):
            raise ValueError(f"{self.name}: a row either parses its one request or runs several")
        if self.parse is not None and not (self.route and self.label and self.expects):
            raise ValueError(f"{self.name}: a row that parses a request names its route, label and expected answer")
        if self.parse and self.route and (missing := set(self.route.placeholders) - self.input.model_fields.keys()):
            raise ValueError(f"{self.name}: the route's {sorted(missing)} are not arguments")
        if self.destructive_when is not None and (self.hints.destructive or self.question is None):
            raise ValueError(
                f"{self.name}: a per-call destructive rule is for a tool not destructive by its hints, "
                "and it names the question a human is asked"
            )

    def destructive_for(self, arguments: InputT) -> bool:
        """Whether this call destroys something: the row's hint, or its per-call rule for these arguments."""
        return self.hints.destructive or (self.destructive_when is not None and self.destructive_when(arguments))

    @property
    def kind(self) -> Effect:
        """What the tool does, from the row's hints."""
        if self.hints.read_only:
            return "read"
        return "destroy" if self.hints.destructive else "write"

    def effect(self, arguments: InputT) -> Effect:
        """What this call does: the tool's kind, or "destroy" when its per-call rule says so for these arguments."""
        return "destroy" if self.destructive_for(arguments) else self.kind

    async def perform(self, client: ClientT, arguments: InputT) -> OutputT:
        """Make this tool's requests for `arguments`."""
        if self.run is not None:
            return await self.run(client, arguments)
        assert self.route is not None, "checked when the row was built"
        assert self.parse is not None, "checked when the row was built"
        vendor = cast(VendorClient, client)
        path = {name: getattr(arguments, name) for name in self.route.placeholders}
        parse = self.parse
        return await vendor.call(
            self.label.format(**path),
            self.route,
            lambda data: parse(data, arguments),
            self.expects,
            path=path,
            send=self.send(arguments) if self.send else None,
        )


AnySpec = ToolSpec[Any, Any, Any]


@dataclass(frozen=True)
class Polling:
    """How a tool that follows a job paces itself; sleep and clock are replaceable so tests run in virtual time."""

    first: float = 2.0
    longest: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    clock: Callable[[], float] = time.monotonic


class Vendors(Protocol):
    """The server's lifespan state as the tools see it: a client per configured vendor, and the polling pace."""

    @property
    def polling(self) -> Polling: ...

    def secrets(self) -> list[str]:
        """Every credential the configured clients hold: no answer to an agent may carry one."""
        ...

    @overload
    def client(self, vendor: Literal["commvault"]) -> CommvaultClient: ...
    @overload
    def client(self, vendor: Literal["qovery"]) -> QoveryClient: ...
    @overload
    def client(self, vendor: Vendor) -> CommvaultClient | QoveryClient: ...


Progress = Callable[[float, float | None, str | None], Awaitable[None]]


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    del progress, total, message


# Set per call by the MCP glue: lets a long-running tool report progress without knowing about MCP.
report_progress: ContextVar[Progress] = ContextVar("report_progress", default=_no_progress)
