"""What the operator lets an agent do, decided from the same rows that give the hints: which tools are served,
and a one-line refusal for every other name, so a hidden tool is never callable."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent

from jobctl_mcp import telemetry
from jobctl_mcp.audit import AuditTrail
from jobctl_mcp.client import json_object
from jobctl_mcp.config import Settings
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.spec import AnySpec


@dataclass(frozen=True)
class Selection:
    served: tuple[AnySpec, ...]
    refused: Mapping[str, str]  # tool name -> why it is not served


def select(specs: Iterable[AnySpec], settings: Settings) -> Selection:
    """The tools these settings serve, in table order; unknown names in the lists are a startup error."""
    specs = tuple(specs)
    names = [spec.name for spec in specs]
    if unknown := sorted({*(settings.tools or ()), *settings.exclude_tools} - set(names)):
        raise ConfigError(
            f"unknown tool names in JOBCTL_TOOLS or JOBCTL_EXCLUDE_TOOLS: {', '.join(unknown)}. "
            f"Valid names: {', '.join(names)}"
        )
    refused = {spec.name: reason for spec in specs if (reason := _refusal(spec, settings))}
    return Selection(tuple(spec for spec in specs if spec.name not in refused), refused)


def _refusal(spec: AnySpec, settings: Settings) -> str | None:
    # Read-only is checked first: it wins over every list that would let a mutating tool in.
    if settings.read_only and not spec.hints.read_only:
        return "the server is read-only (JOBCTL_READ_ONLY)"
    if spec.vendor is not None and spec.vendor not in settings.toolsets:
        return f"the {spec.vendor} toolset is not enabled (JOBCTL_TOOLSETS)"
    if settings.tools is not None and spec.name not in settings.tools:
        return "it is not in the server's allow-list (JOBCTL_TOOLS)"
    if spec.name in settings.exclude_tools:
        return "the server excludes it (JOBCTL_EXCLUDE_TOOLS)"
    if settings.disable_destructive and spec.hints.destructive:
        return "destructive tools are disabled on this server (JOBCTL_DISABLE_DESTRUCTIVE)"
    return None


class RefuseHidden:
    """Server middleware: a call to a tool the policy hides is answered with the reason, never run."""

    def __init__(self, selection: Selection, specs: Iterable[AnySpec], audit: AuditTrail) -> None:
        self._refused = selection.refused
        self._specs = {spec.name: spec for spec in specs}
        self._audit = audit

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        name = params.get("name") if ctx.method == "tools/call" else None
        if not isinstance(name, str) or name not in self._refused:
            return await call_next(ctx)
        text = f"{name} is not available: {self._refused[name]}. Only the operator can change this."
        spec = self._specs[name]
        telemetry.tool_finished(name, "refused_by_policy", time.monotonic(), json_object(params.get("arguments")))
        if not spec.hints.read_only:
            await self._audit.record(
                tool=name, vendor=spec.vendor, arguments=json_object(params.get("arguments")),
                outcome="refused", started=time.monotonic(), detail=text,
            )  # fmt: skip
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def can_elicit(ctx: Context) -> bool:
    """Whether this client declared that it can show a form to its human (a bare `elicitation: {}` counts)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)
