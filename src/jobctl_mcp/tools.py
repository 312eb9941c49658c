"""The one place where table rows become MCP tools: annotations, input schemas, argument checking,
and vendor errors turned into one-line tool errors."""

import contextlib
import inspect
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol, cast, get_args, get_origin

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations
from pydantic import ValidationError

from jobctl_mcp.client import json_list, json_object
from jobctl_mcp.commvault import COMMVAULT_TOOLS
from jobctl_mcp.errors import InputError, JobctlError
from jobctl_mcp.qovery import QOVERY_TOOLS
from jobctl_mcp.spec import AnySpec, ToolInput, Vendor

log = logging.getLogger(__name__)

ALL_TOOLS: tuple[AnySpec, ...] = COMMVAULT_TOOLS + QOVERY_TOOLS


class Clients(Protocol):
    """What the tools need from the server's lifespan state."""

    def client(self, vendor: Vendor) -> Any: ...


def annotations(spec: AnySpec) -> ToolAnnotations:
    """All four hints, always explicit: the spec's defaults (destructive, open world) would claim otherwise."""
    return ToolAnnotations(
        read_only_hint=spec.hints.read_only,
        destructive_hint=spec.hints.destructive,
        idempotent_hint=spec.hints.idempotent,
        open_world_hint=False,  # each tool acts on the one system its vendor settings name
    )


def input_schema(model: type[ToolInput]) -> dict[str, Any]:
    """The model's JSON schema without what only costs an agent's context (titles, `null` alternatives)."""
    schema = compact_schema(model.model_json_schema(), inputs=True)
    schema["additionalProperties"] = False
    return schema


def compact_schema(node: Any, *, inputs: bool) -> Any:
    """`node` without generated titles; for inputs, an optional argument also loses its `null` alternative."""
    if isinstance(node, list):
        return [compact_schema(item, inputs=inputs) for item in node]  # pyright: ignore[reportUnknownVariableType]
    if not isinstance(node, dict):
        return node
    fields: dict[str, Any] = {
        key: compact_schema(value, inputs=inputs)
        for key, value in node.items()  # pyright: ignore[reportUnknownVariableType]
        if key != "title" or isinstance(value, dict)  # a property may be called "title"
    }
    options = json_list(fields.get("anyOf"))
    if len(options) != 2 or _NULL not in options:
        return fields
    kept = json_object(options[1] if options[0] == _NULL else options[0])
    rest = {key: value for key, value in fields.items() if key not in ("anyOf", "default")}
    if inputs and "default" in fields and fields["default"] is None:
        # An optional argument is simply left out: `anyOf [T, null]` with a null default says no more than T.
        return {**rest, **kept}
    if not inputs and kept.keys() == {"type"} and isinstance(kept["type"], str):
        # Outputs do carry nulls: say so in the short form. A default means nothing in an output.
        return {**rest, "type": [kept["type"], "null"]}
    return fields


_NULL = {"type": "null"}


def parse_arguments(spec: AnySpec, arguments: dict[str, Any]) -> ToolInput:
    """Validate the agent's arguments; refuse them in one line before anything reaches a vendor."""
    try:
        return spec.input.model_validate(_decode_json_strings(spec.input, arguments))
    except ValidationError as exc:
        problems = "; ".join(_problem(error, spec.input) for error in exc.errors(include_url=False))
        raise InputError(f"Invalid arguments: {problems}") from None


def _problem(error: Any, model: type[ToolInput]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown argument {where!r} (valid: {', '.join(model.model_fields)})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _decode_json_strings(model: type[ToolInput], arguments: dict[str, Any]) -> dict[str, Any]:
    # Some clients send object and list arguments as JSON text; accept that for fields that want one.
    decoded = dict(arguments)
    for name, value in arguments.items():
        field = model.model_fields.get(name)
        if field is None or not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
            continue
        if any(get_origin(kind) in (dict, list) for kind in (field.annotation, *get_args(field.annotation))):
            with contextlib.suppress(ValueError):
                decoded[name] = json.loads(value)
    return decoded


def handler(spec: AnySpec) -> Callable[..., Any]:
    """The coroutine the SDK calls for `spec`: arguments are read raw and checked by the row's own model."""

    async def call(ctx: Context) -> Any:
        params = ctx.request_context.params or {}
        try:
            arguments = parse_arguments(spec, dict(params.get("arguments") or {}))
            state = cast(Clients, ctx.request_context.lifespan_context)
            return await spec.run(state.client(spec.vendor), arguments)
        except JobctlError as exc:
            raise ToolError(str(exc)) from None

    call.__name__ = spec.name.replace("-", "_")
    # The output schema comes from the return annotation, so each tool publishes its own model.
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)],
        return_annotation=spec.output,
    )
    return call


def build_tools(specs: Iterable[AnySpec]) -> list[Tool]:
    """MCP tools for the rows, in table order."""
    tools: list[Tool] = []
    for spec in specs:
        tool = Tool.from_function(
            handler(spec),
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=annotations(spec),
            structured_output=True,
        )
        # The SDK derives inputs from the signature, which here is only the context; publish the row's model.
        output = compact_schema(tool.fn_metadata.output_schema, inputs=False)
        metadata = tool.fn_metadata.model_copy(update={"output_schema": output})
        tools.append(tool.model_copy(update={"parameters": input_schema(spec.input), "fn_metadata": metadata}))
    return tools
