"""OpenTelemetry for operators: a client span per vendor request attempt under the SDK's span per MCP request, the
tool's outcome on that span, and low-cardinality metrics. Exported over OTLP/HTTP only when an OTLP endpoint is
set; otherwise every hook returns at once and the OpenTelemetry SDK is never imported."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from jobctl_mcp.errors import ConfigError, InputError

if TYPE_CHECKING:
    import httpx2
    from opentelemetry.metrics import Counter, Histogram, Meter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from jobctl_mcp.client import Route
    from jobctl_mcp.config import Settings

log = logging.getLogger(__name__)

SERVICE_NAME = "jobctl-mcp"
INSTALL_HINT = "pip install 'jobctl-mcp[otel]'"
# The standard variables: the general endpoint enables both signals, each specific one only its own.
TRACES_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
METRICS_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")

# Outcome attribute values, on the tool's span and on the tool metrics.
OUTCOMES = (
    "ok",
    "vendor_error",
    "input_error",
    "config_error",
    "outcome_unknown",
    "refused_by_policy",
    "dry_run",
    "declined",
)
# A bucket layout for seconds that reaches past a vendor's slow answers and a tool's retries.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class Instruments:
    """What the hooks record with, built once when export is configured."""

    tracer: trace.Tracer
    tool_calls: Counter
    tool_duration: Histogram
    request_duration: Histogram
    retries: Counter
    rate_limit_waits: Counter
    confirmations: Counter
    record_arguments: bool

    @classmethod
    def from_meter(cls, tracer: trace.Tracer, meter: Meter, record_arguments: bool) -> Instruments:
        return cls(
            tracer=tracer,
            tool_calls=meter.create_counter("jobctl.tool.calls", "{call}", "Tool calls, by tool and outcome"),
            tool_duration=meter.create_histogram(
                "jobctl.tool.duration", "s", "Tool call duration, by tool and outcome",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            ),
            request_duration=meter.create_histogram(
                "http.client.request.duration", "s", "Vendor HTTP request duration, by vendor, route and status",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            ),
            retries=meter.create_counter("jobctl.vendor.retries", "{retry}", "Vendor requests sent again, by vendor"),
            rate_limit_waits=meter.create_counter(
                "jobctl.vendor.rate_limit_waits", "{wait}", "Waits a vendor's rate limit imposed, by vendor"
            ),
            confirmations=meter.create_counter(
                "jobctl.confirmations", "{confirmation}", "Human confirmations of destructive calls, by tool and answer"
            ),
            record_arguments=record_arguments,
        )  # fmt: skip


# Set by start() when export is configured, for the life of the process: like OpenTelemetry's own global
# providers, which the SDK's span per MCP request reads too.
_active: Instruments | None = None


class Exporting:
    """The providers start() installed; shutdown() sends what is still buffered."""

    def __init__(self, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider

    def shutdown(self) -> None:
        global _active
        _active = None
        if self._tracer_provider is not None:
            self._tracer_provider.shutdown()
        if self._meter_provider is not None:
            self._meter_provider.shutdown()


def _configured(variables: tuple[str, ...], exporter: str, env: Mapping[str, str]) -> bool:
    return any(env.get(name, "").strip() for name in variables) and env.get(exporter, "otlp").strip() != "none"


def start(settings: Settings, env: Mapping[str, str] | None = None) -> Exporting | None:
    """Export traces and metrics if the environment names an OTLP endpoint; None (and nothing imported) if not."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    traces = _configured(TRACES_ENDPOINTS, "OTEL_TRACES_EXPORTER", env)
    metrics = _configured(METRICS_ENDPOINTS, "OTEL_METRICS_EXPORTER", env)
    if not (traces or metrics):
        return None
    try:
        return _install(settings, env, traces=traces, metrics=metrics)
    except ImportError as missing:
        log.warning("OTEL_EXPORTER_OTLP_* is set but telemetry is off: %s (%s)", INSTALL_HINT, missing.name)
        return None


def _install(settings: Settings, env: Mapping[str, str], *, traces: bool, metrics: bool) -> Exporting:
    # Imported here: a server without an endpoint never loads the SDK or the exporters.
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from jobctl_mcp import __version__

    global _active
    name = env.get("OTEL_SERVICE_NAME", "").strip() or SERVICE_NAME
    resource = Resource.create({"service.name": name, "service.version": __version__})
    tracer_provider = meter_provider = None
    if traces:
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        # The global provider: the SDK's span per MCP request is created through it.
        trace.set_tracer_provider(tracer_provider)
    if metrics:
        reader = PeriodicExportingMetricReader(OTLPMetricExporter())
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    tracer = trace.get_tracer("jobctl_mcp", __version__)
    meter = (meter_provider or NoOpMeterProvider()).get_meter("jobctl_mcp", __version__)
    _active = Instruments.from_meter(tracer, meter, settings.otel_record_arguments)
    log.info("telemetry: exporting %s over OTLP/HTTP as %s", " and ".join(_signals(traces, metrics)), name)
    return Exporting(tracer_provider, meter_provider)


def _signals(traces: bool, metrics: bool) -> list[str]:
    return [signal for signal, on in (("traces", traces), ("metrics", metrics)) if on]


class VendorRequest:
    """One vendor request attempt being observed: the status or error it ended with."""

    def __init__(self) -> None:
        self.status: int | None = None

    def answered(self, status: int) -> None:
        self.status = status


@contextmanager
def vendor_request(
    vendor: str, route: Route, base_url: httpx2.URL, path: str, resend_count: int
) -> Generator[VendorRequest]:
    """A CLIENT span and a duration for one attempt of `route`; named by its template, never by the filled path."""
    observed = VendorRequest()
    if (active := _active) is None:
        yield observed
        return
    # The metric's attributes are the span's low-cardinality ones: never the filled path, never an id.
    labels: dict[str, str | int] = {
        "jobctl.vendor": vendor.lower(),
        "http.request.method": route.method,
        "url.template": route.path,
    }
    attributes = {**labels, **_address(str(base_url).rstrip("/") + path)}
    if resend_count:
        attributes["http.request.resend_count"] = resend_count
    began = time.perf_counter()
    error: str | None = None
    with active.tracer.start_as_current_span(
        f"{route.method} {route.path}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,  # an exception's message may quote the vendor's answer
        set_status_on_exception=False,
    ) as span:
        try:
            yield observed
        except BaseException as exc:
            observed.status = observed.status or _status_of(exc)
            error = _error_type(exc, observed.status)
            raise
        finally:
            if observed.status is not None:
                labels["http.response.status_code"] = observed.status
                error = error or (str(observed.status) if observed.status >= 400 else None)
            if error is not None:
                labels["error.type"] = error
                span.set_status(StatusCode.ERROR)
            span.set_attributes(
                {key: labels[key] for key in ("http.response.status_code", "error.type") if key in labels}
            )
            active.request_duration.record(time.perf_counter() - began, labels)


def _address(url: str) -> dict[str, str | int]:
    """server.address and server.port of a request URL. Not url.full: its path holds the tool's arguments (ids),
    which no span carries by default."""
    parts = urlsplit(url)
    return {
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
    }


def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _error_type(exc: BaseException, status: int | None) -> str:
    if status is not None and status >= 400:
        return str(status)
    cause = getattr(exc, "cause", None) or exc.__cause__ or exc
    return type(cause).__qualname__


def retry_wait(vendor: str, seconds: float, rate_limited: bool) -> None:
    """A request about to be sent again after `seconds`: counted, and a rate limit's wait shown on the span."""
    if (active := _active) is None:
        return
    vendor = vendor.lower()  # as the tables spell it
    active.retries.add(1, {"jobctl.vendor": vendor})
    if rate_limited:
        active.rate_limit_waits.add(1, {"jobctl.vendor": vendor})
        trace.get_current_span().add_event(
            "jobctl.vendor.rate_limit_wait", {"jobctl.vendor": vendor, "jobctl.wait.seconds": seconds}
        )


def outcome(audited: str, error: BaseException | None = None) -> str:
    """The outcome attribute for an audit outcome, telling an input or configuration error from a vendor's."""
    if audited == "error":
        if isinstance(error, InputError):
            return "input_error"
        return "config_error" if isinstance(error, ConfigError) else "vendor_error"
    return {"unknown": "outcome_unknown", "refused": "refused_by_policy"}.get(audited, audited)


def tool_finished(tool: str, outcome: str, started: float, arguments: Mapping[str, Any] | None = None) -> None:
    """A tool call's outcome, on the MCP request's span and in the tool metrics."""
    if (active := _active) is None:
        return
    span = trace.get_current_span()
    span.set_attribute("jobctl.tool.outcome", outcome)
    if active.record_arguments and arguments is not None:
        from jobctl_mcp.audit import redact  # audit reads client.py, which reads this module

        span.set_attribute("jobctl.tool.arguments", json.dumps(redact(dict(arguments)), default=str))
    labels = {"gen_ai.tool.name": tool, "jobctl.tool.outcome": outcome}
    active.tool_calls.add(1, labels)
    active.tool_duration.record(time.monotonic() - started, labels)


def confirmation(tool: str, answer: str) -> None:
    """A destructive call's confirmation: approved, rejected, declined, cancelled, or not asked (and why)."""
    if (active := _active) is not None:
        active.confirmations.add(1, {"gen_ai.tool.name": tool, "jobctl.confirmation.answer": answer})
