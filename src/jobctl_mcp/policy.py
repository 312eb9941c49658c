"""What the operator lets an agent do, decided from the same rows that give the hints: which tools are served,
and a one-line refusal for every other name, so a hidden tool is never callable."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_REQUEST, CallToolResult, TextContent
from pydantic import BaseModel

from jobctl_mcp import telemetry
from jobctl_mcp.audit import AuditTrail
from jobctl_mcp.client import json_object
from jobctl_mcp.config import Settings
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.spec import AnySpec, Effect


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


class RequireScopes:
    """Server middleware in OAuth mode: a caller sees the tools its token's scopes allow, on top of the policy, and
    a call beyond them is refused before it runs. Over HTTP the endpoint already answered such a call with 403 and a
    scope challenge; this holds wherever else a request comes from."""

    def __init__(
        self,
        specs: Iterable[AnySpec],
        needed: Mapping[Effect, str],
        effect: Callable[[AnySpec, Mapping[str, Any]], Effect],
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._needed = needed
        self._effect = effect

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = get_access_token()
        granted = set(token.scopes) if token is not None else set[str]()
        params = ctx.params or {}
        name = params.get("name")
        if ctx.method == "tools/call" and isinstance(name, str) and (spec := self._specs.get(name)):
            scope = self._needed[self._effect(spec, json_object(params.get("arguments")))]
            if scope not in granted:
                text = f"{name} is not available to you: it needs the scope {scope}, which your access token lacks."
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        if ctx.method == "resources/read" and self._needed["read"] not in granted:
            raise MCPError(INVALID_REQUEST, f"reading a job needs the scope {self._needed['read']}")
        result = await call_next(ctx)
        if ctx.method == "tools/list":
            return _kept(result, "tools", lambda tool: self._needed[self._kind(tool)] in granted)
        if ctx.method == "resources/templates/list" and self._needed["read"] not in granted:
            return _kept(result, "resourceTemplates", lambda _: False)
        return result

    def _kind(self, tool: Any) -> Effect:
        spec = self._specs.get(str(json_object(tool).get("name")))
        return spec.kind if spec is not None else "destroy"  # not one of ours: the narrowest scope


def _kept(result: HandlerResult, field: str, keep: Callable[[Any], bool]) -> HandlerResult:
    """A list result with only the items `keep` keeps; handlers answer with a model or its wire form."""
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True) if isinstance(result, BaseModel) else result
    if not isinstance(wire, dict) or not isinstance(wire.get(field), list):
        return result
    items: list[Any] = wire[field]
    return {**wire, field: [item for item in items if keep(item)]}


def can_elicit(ctx: Context) -> bool:
    """Whether this client declared that it can show a form to its human (a bare `elicitation: {}` counts)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)
