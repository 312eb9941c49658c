"""What a tool is, as plain data: one row per tool in each vendor's table. No MCP imports here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from jobctl_mcp.client import Route, plain_text

Vendor = Literal["commvault", "qovery"]
VENDORS: tuple[Vendor, ...] = ("commvault", "qovery")

ClientT = TypeVar("ClientT")
InputT = TypeVar("InputT", bound="ToolInput")
OutputT = TypeVar("OutputT", bound=BaseModel)


class ToolInput(BaseModel):
    """Arguments of a tool. Unknown names are refused, so a misspelt argument is never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Text that comes from a vendor reaches the agent as data: one line, no control characters, bounded.
VendorText = Annotated[str, AfterValidator(plain_text)]


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


@dataclass(frozen=True)
class ToolSpec(Generic[ClientT, InputT, OutputT]):
    """One tool: its agent-facing text, its declared behaviour, the vendor call it makes, its types."""

    name: str
    vendor: Vendor | None  # None: the tool spans vendors and receives the server state, not one client
    title: str
    description: str
    hints: Hints
    route: Route
    input: type[InputT]
    output: type[OutputT]
    run: Callable[[ClientT, InputT], Awaitable[OutputT]]
    # What a human is asked before a destructive call runs (JOBCTL_CONFIRM_DESTRUCTIVE): it reads the job
    # fresh, so asking again just before acting shows whether the job changed while the human decided.
    question: Callable[[ClientT, InputT], Awaitable[str]] | None = None
    # The tool returns jobs: hosts that render MCP Apps show its results on the job board (ui://jobctl/jobs).
    board: bool = False


AnySpec = ToolSpec[Any, Any, Any]

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    del progress, total, message


# Set per call by the MCP glue: lets a long-running tool report progress without knowing about MCP.
report_progress: ContextVar[Progress] = ContextVar("report_progress", default=_no_progress)
