"""The one place where table rows become MCP tools: annotations, input schemas, argument checking,
confirmation, dry run and audit, and vendor errors turned into one-line tool errors."""

import contextlib
import copy
import inspect
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self, cast, get_args, get_origin
from uuid import UUID

import anyio
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import StrictJsonSchema
from mcp.shared.exceptions import MCPError
from mcp.shared.tool_name_validation import validate_and_warn_tool_name
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ModelWrapValidatorHandler, PrivateAttr, ValidationError, model_validator
from pydantic.json_schema import GenerateJsonSchema

from jobctl_mcp import telemetry
from jobctl_mcp.audit import AuditTrail, Outcome, caller
from jobctl_mcp.board import board_meta
from jobctl_mcp.client import UNKNOWN_OUTCOME, DryRunStop, json_list, json_object, plain_text, scrubber, shown
from jobctl_mcp.commvault import COMMVAULT_TOOLS
from jobctl_mcp.commvault_estate import COMMVAULT_ESTATE_TOOLS
from jobctl_mcp.errors import (
    AuthError,
    ConflictError,
    InputError,
    JobctlError,
    NotConfirmedError,
    NotFoundError,
    OutcomeUnknownError,
    VendorAPIError,
    VendorError,
    VendorUnavailableError,
)
from jobctl_mcp.follow import WAIT_FOR_JOB, observe_commvault, observe_qovery
from jobctl_mcp.policy import can_elicit
from jobctl_mcp.qovery import QOVERY_TOOLS
from jobctl_mcp.qovery_estate import QOVERY_ESTATE_TOOLS
from jobctl_mcp.spec import AnySpec, Effect, ToolInput, ToolOutput, Vendor, Vendors, report_progress

log = logging.getLogger(__name__)

ALL_TOOLS: tuple[AnySpec, ...] = (
    *COMMVAULT_TOOLS,
    *COMMVAULT_ESTATE_TOOLS,
    *QOVERY_TOOLS,
    *QOVERY_ESTATE_TOOLS,
    WAIT_FOR_JOB,
)


# The most of a vendor's own object (raw=true) a tool returns: more would flood the agent's context.
MAX_RAW_BYTES = 64 * 1024


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
    schema = compact_schema(model.model_json_schema(schema_generator=_Schema), inputs=True)
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


# No vendor request nests deeper than a few levels; a deeper argument is refused before it goes anywhere
# (pydantic, the audit trail and the vendor's own parser all recurse).
MAX_DEPTH = 32


def parse_arguments(spec: AnySpec, arguments: dict[str, Any]) -> ToolInput:
    """Validate the agent's arguments; refuse them in one line before anything reaches a vendor."""
    decoded = _decode_json_strings(spec.input, arguments)
    for name, value in decoded.items():
        if _deeper_than(value, MAX_DEPTH):
            where = plain_text(str(name), 80)
            raise InputError(f"Invalid arguments: {where!r} nests more than {MAX_DEPTH} levels deep; send it flatter")
    try:
        return spec.input.model_validate(decoded)
    except ValidationError as exc:
        problems = "; ".join(_problem(error, spec.input) for error in exc.errors(include_url=False))
        raise InputError(f"Invalid arguments: {problems}") from None


def call_effect(spec: AnySpec, arguments: Mapping[str, Any]) -> Effect:
    """What a call with these unchecked arguments does. Arguments the tool refuses leave it at the tool's kind: the
    same check refuses them before any vendor request."""
    try:
        return spec.effect(parse_arguments(spec, dict(arguments)))
    except InputError:
        return spec.kind


def _problem(error: Any, model: type[ToolInput]) -> str:
    # The names and messages echo what the agent sent: keep each on one bounded line.
    where = plain_text(".".join(str(part) for part in error["loc"]), 80)
    if error["type"] == "extra_forbidden":
        return f"unknown argument {where!r} (valid: {', '.join(model.model_fields)})"
    message = plain_text(str(error["msg"]).removeprefix("Value error, "))
    return f"{where}: {message}" if where else message


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and lists nest in `value` more than `limit` levels deep (checked without recursion)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
        ]
        if not any(isinstance(node, dict | list) for node in level):
            return False
    return any(isinstance(node, dict | list) for node in level)


def _decode_json_strings(model: type[ToolInput], arguments: dict[str, Any]) -> dict[str, Any]:
    # Some clients send object and list arguments as JSON text; accept that for fields that want one.
    decoded = dict(arguments)
    for name, value in arguments.items():
        field = model.model_fields.get(name)
        if field is None or not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
            continue
        if any(get_origin(kind) in (dict, list) for kind in (field.annotation, *get_args(field.annotation))):
            with contextlib.suppress(ValueError, RecursionError):  # not JSON, or nested beyond the parser
                decoded[name] = json.loads(value)
    return decoded


class Approval(BaseModel):
    """The form a human answers before a destructive call."""

    approve: bool = Field(description="Go ahead with this action")
    _matched: bool = PrivateAttr(default=True)

    @model_validator(mode="wrap")
    @classmethod
    def _any_answer(cls, value: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # An answer that is not this form approves nothing; it is kept, so that the call can say so in one line.
        try:
            return handler(value)
        except ValidationError:
            unmatched = cls.model_construct(approve=False)
            unmatched._matched = False
            return unmatched

    @property
    def matched(self) -> bool:
        """Whether the answer was this form (an approve that is true or false)."""
        return self._matched


class DryRun(ToolOutput):
    """What a mutating tool returns under JOBCTL_DRY_RUN: the request it would have sent."""

    dryRun: bool = True
    method: str
    url: str
    body: Any = None
    note: str = "Nothing was sent: this server runs in dry-run mode (JOBCTL_DRY_RUN)."


@dataclass(frozen=True)
class Runtime:
    """How served tools behave beyond their rows: dry run, human confirmation, the audit trail."""

    audit: AuditTrail = field(default_factory=lambda: AuditTrail(None))
    dry_run: bool = False
    confirm_destructive: bool = False
    confirm_fallback: Literal["deny", "allow"] = "deny"
    call_timeout: float = 120.0
    # Refuses the calls that are destructive only for their arguments (the policy hides the destructive tools).
    disable_destructive: bool = False

    def asks_a_human(self, spec: AnySpec) -> bool:
        """Whether calls of `spec` may need a human's approval (per call: see ToolSpec.destructive_for)."""
        may_destroy = spec.hints.destructive or spec.destructive_when is not None
        return self.confirm_destructive and may_destroy and spec.question is not None and not self.dry_run


def _raw_arguments(ctx: Context) -> dict[str, Any]:
    # Read unvalidated, so that the row's own model can refuse unknown names and explain itself in one line.
    return dict((ctx.request_context.params or {}).get("arguments") or {})


def _vendors(ctx: Context) -> Vendors:
    return cast(Vendors, ctx.request_context.lifespan_context)


def _scrub(ctx: Context) -> Callable[[str], str]:
    # Every client's credentials, whichever vendor the call went to: an answer may echo either.
    return scrubber(_vendors(ctx).secrets())


Check = Callable[[Any, ToolInput], Awaitable[None]]


async def execute(spec: AnySpec, runtime: Runtime, ctx: Context, check: Check | None = None) -> Any:
    """Run `spec` for this call: parse, optionally check once more, call the vendor, audit what changed."""
    started = time.monotonic()
    raw = _raw_arguments(ctx)
    audited = not spec.hints.read_only
    if who := caller():
        log.info("%s called by %s", spec.name, json.dumps(who, ensure_ascii=False))

    async def audit(
        outcome: Outcome,
        result: dict[str, Any] | None = None,
        detail: str | None = None,
        error: JobctlError | None = None,
    ) -> None:
        telemetry.tool_finished(spec.name, telemetry.outcome(outcome, error), started, raw)
        if audited:
            shown = raw if arguments is None else arguments.model_dump(mode="json", exclude_defaults=True)
            await runtime.audit.record(
                tool=spec.name, vendor=spec.vendor, arguments=shown, outcome=outcome, started=started,
                result=result, detail=detail,
            )  # fmt: skip

    arguments: ToolInput | None = None
    deadline = runtime.call_timeout
    try:
        arguments = parse_arguments(spec, raw)
        if runtime.disable_destructive and spec.destructive_for(arguments):
            refusal = (
                f"Not done: {spec.name} is destructive with these arguments, and destructive calls are disabled on "
                "this server (JOBCTL_DISABLE_DESTRUCTIVE). Only the operator can change this."
            )
            await audit("refused", detail=refusal)
            raise ToolError(refusal)
        client = _vendors(ctx).client(spec.vendor) if spec.vendor else _vendors(ctx)
        scrub = _scrub(ctx)

        async def progress(done: float, total: float | None, message: str | None) -> None:
            await ctx.report_progress(done, total, shown(message, scrub))

        report_progress.set(progress)
        if check is not None:
            await check(client, arguments)
        # A slow vendor must not hold a call (and its client) forever, whatever the retries add up to.
        # A tool that waits on purpose (wait-for-job) gets its own timeout on top.
        deadline += arguments.waits()
        with anyio.fail_after(deadline):
            result = _bounded(await spec.perform(client, arguments))
    except TimeoutError:
        error = _late(spec, deadline)
        await audit(_outcome(error), detail=str(error), error=error)
        raise ToolError(str(error)) from None
    except DryRunStop as stop:
        planned = stop.planned
        await audit("dry_run", detail=f"{planned.method} {planned.url}")
        return DryRun(method=planned.method, url=planned.url, body=planned.body)
    except JobctlError as exc:
        exc = _advised(spec, exc)
        await audit(_outcome(exc), detail=str(exc), error=exc)
        raise ToolError(str(exc)) from None
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await audit("unknown", detail="cancelled by the client while the request was in flight")
        raise
    # A read leaves no audit line: its result is not dumped for one.
    await audit("ok", result=result.model_dump(mode="json") if audited else None)
    return result


def _advised(spec: AnySpec, exc: JobctlError) -> JobctlError:
    """`exc` with the row's advice, where the row knows what to do next better than the vendor's client."""
    if not isinstance(exc, VendorAPIError) or isinstance(exc, AuthError):  # credentials: the settings' hint stands
        return exc
    if isinstance(exc, NotFoundError):
        advice = spec.advice.not_found
    else:
        advice = spec.advice.refused if exc.status < 300 or isinstance(exc, ConflictError) else ""
    detail = spec.advice.in_our_terms(exc.detail)  # the vendor's field names, as the tool's arguments
    return exc.advised(advice or exc.hint, detail) if advice or detail != exc.detail else exc


def _bounded(result: ToolOutput) -> ToolOutput:
    """`result`, unless the vendor's own object it carries (raw=true) is too large to hand an agent whole."""
    raw = getattr(result, "raw", None)
    if raw is not None and not _fits(raw):
        raise InputError(f"The job's raw object is larger than {MAX_RAW_BYTES // 1024} KB. Call again without raw.")
    return result


def _fits(value: dict[str, Any]) -> bool:
    try:
        return len(json.dumps(value, ensure_ascii=False).encode()) <= MAX_RAW_BYTES
    except (ValueError, TypeError, RecursionError):
        return False


def compact(result: BaseModel, ctx: Context) -> CallToolResult:
    """The result as the agent sees it (every string cleaned, no credential: `shown`), with its text twin as
    compact JSON: the SDK would indent it, which only costs context."""
    structured = shown(result.model_dump(mode="json"), _scrub(ctx))
    text = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _late(spec: AnySpec, seconds: float) -> VendorError:
    late = f"no complete answer within {seconds:g} s (JOBCTL_CALL_TIMEOUT)"
    vendor = spec.vendor.capitalize() if spec.vendor else "The vendor"
    if spec.hints.read_only:
        return VendorUnavailableError(vendor, spec.name, late)
    return OutcomeUnknownError(vendor, spec.name, f"{late}. {UNKNOWN_OUTCOME}")


def _outcome(exc: JobctlError) -> Outcome:
    if isinstance(exc, OutcomeUnknownError):
        return "unknown"
    return "declined" if isinstance(exc, NotConfirmedError) else "error"


def handler(spec: AnySpec, runtime: Runtime) -> Callable[..., Any]:
    """The coroutine the SDK calls for `spec`."""
    if runtime.asks_a_human(spec):
        call, extra = _confirmed_handler(spec, runtime)
    else:

        async def call(ctx: Context) -> Any:
            return compact(await execute(spec, runtime, ctx), ctx)

        extra = []
    call.__name__ = spec.name.replace("-", "_")
    # The return annotation names the model the call returns; build_tools publishes its schema.
    context = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    call.__signature__ = inspect.Signature([context, *extra], return_annotation=_output_model(spec, runtime))  # type: ignore[attr-defined]
    return call


def _confirmed_handler(spec: AnySpec, runtime: Runtime) -> tuple[Callable[..., Any], list[inspect.Parameter]]:
    """A handler that asks the human first, through the SDK's resolvers (which work on both protocol eras).

    A row that is destructive only for some arguments (`destructive_when`) asks only for those calls: for the
    others the question is empty and the call goes ahead unasked."""
    question_of, vendor = spec.question, spec.vendor
    assert question_of is not None, "only rows with a question ask a human"
    assert vendor is not None, "only single-vendor rows ask a human"

    async def render(client: Any, arguments: ToolInput, ctx: Context) -> str:
        if not spec.destructive_for(arguments):
            return ""
        # What a human reads is one clean, bounded line without credentials, like everything an agent reads.
        return shown(await question_of(client, arguments), _scrub(ctx))

    async def question(ctx: Context) -> str:
        try:
            return await render(_vendors(ctx).client(vendor), parse_arguments(spec, _raw_arguments(ctx)), ctx)
        except JobctlError as exc:
            raise ToolError(str(exc)) from None

    async def ask(ctx: Context, asked: Annotated[str, Resolve(question)]) -> Elicit[Approval] | Approval:
        if not asked:  # nothing destructive in this call
            return Approval(approve=True)
        if can_elicit(ctx):
            return Elicit(asked, Approval)
        telemetry.confirmation(spec.name, f"not_asked_{runtime.confirm_fallback}")
        if runtime.confirm_fallback == "allow":
            log.warning("%s runs unconfirmed: the client cannot ask a human (JOBCTL_CONFIRM_FALLBACK=allow)", spec.name)
            return Approval(approve=True)
        why = (
            "this stateless endpoint (JOBCTL_STATELESS) has no session to carry the question to a human"
            if _stateless(ctx)
            else "this client cannot ask one (it does not support elicitation)"
        )
        message = (
            f"Not done: {spec.name} needs a human's confirmation (JOBCTL_CONFIRM_DESTRUCTIVE) and {why}. "
            "The operator can set JOBCTL_CONFIRM_FALLBACK=allow or turn JOBCTL_CONFIRM_DESTRUCTIVE off."
        )
        await runtime.audit.record(
            tool=spec.name, vendor=spec.vendor, arguments=_raw_arguments(ctx), outcome="refused",
            started=time.monotonic(), detail=message,
        )  # fmt: skip
        telemetry.tool_finished(spec.name, "refused_by_policy", time.monotonic(), _raw_arguments(ctx))
        raise ToolError(message)

    async def call(
        ctx: Context,
        asked: Annotated[str, Resolve(question)],
        answer: Annotated[ElicitationResult[Approval], Resolve(ask)],
    ) -> Any:
        if can_elicit(ctx):
            telemetry.confirmation(spec.name, _answer(answer))

        async def confirmed(client: Any, arguments: ToolInput) -> None:
            if isinstance(answer, AcceptedElicitation) and not answer.data.matched:
                raise NotConfirmedError(
                    f"Not done: the answer did not match the confirmation form (approve: true or false). {asked}"
                )
            if not (isinstance(answer, AcceptedElicitation) and answer.data.approve):
                raise NotConfirmedError(f"Not done: the human did not approve. {asked}")
            # Read the job again: the human approved what they were shown, not whatever it became since.
            if (now := await render(client, arguments, ctx)) != asked:
                raise NotConfirmedError(f"Not done: the job changed while the human decided. Was: {asked} Now: {now}")

        return compact(await execute(spec, runtime, ctx, confirmed), ctx)

    keyword = inspect.Parameter.KEYWORD_ONLY
    resolved = [
        inspect.Parameter("asked", keyword, annotation=Annotated[str, Resolve(question)]),
        inspect.Parameter("answer", keyword, annotation=Annotated[ElicitationResult[Approval], Resolve(ask)]),
    ]
    return call, resolved


def _answer(answer: ElicitationResult[Approval]) -> str:
    if isinstance(answer, AcceptedElicitation):
        return "approved" if answer.data.approve else "rejected"
    return "declined" if answer.action == "decline" else "cancelled"


def _stateless(ctx: Context) -> bool:
    """Whether this request came over HTTP with no session and no capabilities of its own: on a stateless
    endpoint, a client of the session era declared its capabilities once, to no session that kept them."""
    headers = ctx.headers
    return headers is not None and "mcp-session-id" not in headers and ctx.client_capabilities is None


def build_tools(specs: Iterable[AnySpec], runtime: Runtime | None = None) -> list[Tool]:
    """MCP tools for the rows, in table order."""
    runtime = runtime or Runtime()
    tools: list[Tool] = []
    # Rows share models: each schema is generated once, which keeps the start (and the first tools/list) quick.
    inputs = _Schemas(input_schema)
    outputs = _Schemas(output_schema)
    # What the SDK derives from a handler that takes only the context (its argument model, the context parameter),
    # derived once: every such handler has the same signature. Deriving it costs a model and its schema per tool.
    plain: Tool | None = None
    for spec in specs:
        call = handler(spec, runtime)
        row: dict[str, Any] = {  # what the tool says of itself, apart from its schemas
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "annotations": annotations(spec),
            "meta": board_meta() if spec.board else None,
        }
        if runtime.asks_a_human(spec):  # its resolvers are its own: the SDK derives them from this handler
            tool = Tool.from_function(call, structured_output=False, **row)
        elif plain is None:
            tool = plain = Tool.from_function(call, structured_output=False, **row)
        else:
            validate_and_warn_tool_name(spec.name)  # what from_function would have checked
            tool = plain.model_copy(update={"fn": call, **row})
        # The SDK derives inputs from the signature, which here is only the context; publish the row's model.
        # The result is built as that model, so the SDK need not validate it once more (output_model None):
        # the schema is still published.
        update = {"output_schema": outputs(_output_model(spec, runtime)), "output_model": None}
        metadata = tool.fn_metadata.model_copy(update=update)
        tools.append(tool.model_copy(update={"parameters": inputs(spec.input), "fn_metadata": metadata}))
    return tools


class _Schemas:
    """Each model's schema, generated on first use. The first tool to ask gets it, each later one its own copy, so
    that no two tools share a schema (nothing changes one while the tools are built)."""

    def __init__(self, generate: Callable[[Any], dict[str, Any]]) -> None:
        self._generate = generate
        self._made: dict[Any, dict[str, Any]] = {}

    def __call__(self, model: Any) -> dict[str, Any]:
        if (made := self._made.get(model)) is not None:
            return copy.deepcopy(made)
        self._made[model] = made = self._generate(model)
        return made


class _Schema(GenerateJsonSchema):
    """pydantic's JSON schema generator, writing a default that is a JSON scalar as it is: pydantic builds a
    TypeAdapter to serialize each default, about a quarter of the work of the tools' schemas."""

    def encode_default(self, dft: Any) -> Any:
        if dft is None or type(dft) in (bool, int, str) or (type(dft) is float and math.isfinite(dft)):
            return dft
        return super().encode_default(dft)  # anything else (enums, models, inf and nan): as pydantic would


class _StrictSchema(_Schema, StrictJsonSchema):
    """The generator the SDK uses for output schemas: a type that cannot be written as JSON is an error."""


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema the SDK would derive for a tool returning `model`, without what only costs context."""
    return compact_schema(model.model_json_schema(schema_generator=_StrictSchema), inputs=False)


def _output_model(spec: AnySpec, runtime: Runtime) -> type[ToolOutput]:
    return DryRun if runtime.dry_run and not spec.hints.read_only else spec.output


async def _summary(ctx: Context, vendor: Vendor, job_id: str) -> str:
    """The compact job summary the tools return, as JSON, for a resource read."""
    try:
        clients = _vendors(ctx)
        if vendor == "commvault":
            seen = await observe_commvault(clients.client("commvault"), _commvault_id(job_id))
            job: BaseModel | None = seen.commvault
        else:
            job = (await observe_qovery(clients.client("qovery"), _qovery_id(job_id), seen_before=False)).qovery
        structured = shown(job.model_dump(mode="json"), _scrub(ctx)) if job is not None else None
        return json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    except NotFoundError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except InputError as exc:  # the URI's id is the client's parameter: invalid params, not a failure of ours
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
    except JobctlError as exc:
        raise ResourceError(str(exc)) from None


def _commvault_id(value: str) -> int:
    # ASCII digits only, and few: "²" is a digit to str.isdigit, and int() refuses thousands of them.
    if not _JOB_NUMBER.fullmatch(value) or int(value) <= 0:
        raise InputError(f"a Commvault job id is a positive integer, not {plain_text(value, 40)!r}")
    return int(value)


_JOB_NUMBER = re.compile(r"[0-9]{1,18}")


def _qovery_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InputError(f"a Qovery job id is a UUID, not {plain_text(value, 40)!r}") from None


@dataclass(frozen=True)
class Mirror:
    """A resource template that returns what one tool row returns, so it is served exactly when that row is."""

    vendor: Vendor
    uri: str
    name: str
    title: str
    description: str


# Keyed by the row each resource mirrors: JOBCTL_TOOLS, JOBCTL_EXCLUDE_TOOLS, toolsets and read-only reach both.
MIRRORS: dict[str, Mirror] = {
    "commvault-get-job-details": Mirror(
        "commvault",
        "commvault://jobs/{jobId}",
        "commvault-job",
        "Commvault job",
        "Commvault: a job's compact summary, as commvault-get-job-details returns it (without events).",
    ),
    "get-job-status": Mirror(
        "qovery",
        "qovery://jobs/{jobId}/status",
        "qovery-job-status",
        "Qovery job status",
        "Qovery: a job's compact deployment status, as get-job-status returns it.",
    ),
}
assert MIRRORS.keys() <= {spec.name for spec in ALL_TOOLS}, "a resource mirrors a tool row"


def register_resources(server: MCPServer[Any], served: Iterable[AnySpec]) -> None:
    """Resource templates for the served rows that have one: the same summaries as the tools, to attach."""
    for spec in served:
        if (mirror := MIRRORS.get(spec.name)) is None:
            continue

        server.resource(
            mirror.uri,
            name=mirror.name,
            title=mirror.title,
            description=mirror.description,
            mime_type="application/json",
        )(_reader(mirror.vendor))


def _reader(vendor: Vendor) -> Callable[[str, Context], Awaitable[str]]:
    async def read(jobId: str, ctx: Context) -> str:
        return await _summary(ctx, vendor, jobId)

    return read
