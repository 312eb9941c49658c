"""Telemetry as an operator's collector receives it: the installed command exports over OTLP/HTTP to a receiver on
loopback, decoded with the official OTLP messages; without an endpoint nothing is sent and the SDK is never loaded."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from jobctl_mcp import telemetry
from jobctl_mcp.errors import ConfigError, InputError, VendorAPIError
from jobctl_mcp.sandbox import Sandbox, sandbox_env
from jobctl_mcp.sandbox.faults import Fault
from jobctl_mcp.sandbox.qovery import NIGHTLY_REPORT
from tests.commands import COMMAND, clean_env
from tests.conftest import KNOWN_SECRETS, data, error, isolated_settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
UNKNOWN_JOB = "0d8e6f6e-5f8a-4d55-9b43-3f8b0c6a1d2e"
SECRET_IN_ARGUMENTS = "hunter2-argument-secret"


class Collector:
    """An OTLP/HTTP receiver on loopback: keeps every body POSTed to /v1/traces and /v1/metrics."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def received(self, path: str, body: bytes) -> None:
        with self._lock:
            self.bodies.append((path, body))

    def raw(self) -> bytes:
        with self._lock:
            return b"".join(body for _, body in self.bodies)

    def spans(self) -> list[Span]:
        with self._lock:
            bodies = [body for path, body in self.bodies if path == "/v1/traces"]
        found: list[Span] = []
        for body in bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                assert attributes(resource.resource.attributes)["service.name"] == "jobctl-mcp"
                found += [span for scope in resource.scope_spans for span in scope.spans]
        return found

    def metrics(self) -> dict[str, list[tuple[dict[str, Any], float]]]:
        """The last export's points per metric name: (attributes, count or sum)."""
        with self._lock:
            bodies = [body for path, body in self.bodies if path == "/v1/metrics"]
        points: dict[str, list[tuple[dict[str, Any], float]]] = {}
        for body in bodies[-1:]:
            request = ExportMetricsServiceRequest.FromString(body)
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        if metric.HasField("sum"):
                            points[metric.name] = [(attributes(p.attributes), p.as_int) for p in metric.sum.data_points]
                        elif metric.HasField("histogram"):
                            found = [(attributes(p.attributes), float(p.count)) for p in metric.histogram.data_points]
                            points[metric.name] = found
        return points


def attributes(pairs: Any) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        value = pair.value
        kept[pair.key] = getattr(value, value.WhichOneof("value") or "string_value")
    return kept


@contextmanager
def collector() -> Generator[tuple[Collector, str]]:
    received = Collector()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.received(self.path, body)
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads what arrived, not an access log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def vendors_on_loopback(sandbox: Sandbox) -> Generator[dict[str, str]]:
    from jobctl_mcp.sandbox.loopback import serving

    with serving(sandbox.commvault.app) as commvault, serving(sandbox.qovery.app) as qovery:
        yield sandbox_env(f"{commvault}/commandcenter/api", qovery)


def exporting_env(endpoint: str, vendors: dict[str, str], **extra: str) -> dict[str, str]:
    # Short intervals, so that the test sees the data while the session is open.
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    return clean_env(**vendors, **otel, OTEL_METRIC_EXPORT_INTERVAL="100", JOBCTL_RETRY_BACKOFF="0", **extra)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not received within {seconds:g} s: {what}"
        time.sleep(0.05)


def calls(received: Collector, tool: str, outcome: str) -> float:
    points = received.metrics().get("jobctl.tool.calls", [])
    return sum(n for labels, n in points if labels == {"gen_ai.tool.name": tool, "jobctl.tool.outcome": outcome})


@pytest.mark.anyio
async def test_a_retried_call_is_one_trace_down_to_each_vendor_attempt(tmp_path: Path, sandbox: Sandbox) -> None:
    sandbox.qovery.faults.add(
        Fault("response", method="GET", path=r"/status$", status=429, headers={"Retry-After": "0"})
    )
    with collector() as (received, endpoint), vendors_on_loopback(sandbox) as vendors:
        env = exporting_env(endpoint, vendors, JOBCTL_EXCLUDE_TOOLS="stop-job")
        params = StdioServerParameters(command=COMMAND, env=env, cwd=tmp_path)
        with anyio.fail_after(60):
            async with Client(params) as client:
                meta: Any = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
                status = data(await client.call_tool("get-job-status", {"jobId": NIGHTLY_REPORT}, meta=meta))
                assert status["jobId"] == NIGHTLY_REPORT
                error(await client.call_tool("get-job-status", {"jobId": UNKNOWN_JOB}))
                error(await client.call_tool("get-job-status", {"jobId": "not-a-uuid"}))
                error(await client.call_tool("stop-job", {"jobId": NIGHTLY_REPORT}))
                await anyio.to_thread.run_sync(
                    wait_for, lambda: calls(received, "stop-job", "refused_by_policy") == 1, "the metrics"
                )
    spans = received.spans()
    (tool,) = [span for span in spans if span.trace_id.hex() == TRACE_ID and span.kind == Span.SPAN_KIND_SERVER]
    # The SDK's span for the MCP request continues the caller's trace and carries the outcome.
    assert (tool.name, tool.kind, tool.parent_span_id.hex()) == (
        "tools/call get-job-status",
        Span.SPAN_KIND_SERVER,
        PARENT_ID,
    )
    assert attributes(tool.attributes)["jobctl.tool.outcome"] == "ok"
    assert attributes(tool.attributes)["gen_ai.tool.name"] == "get-job-status"
    # Under it, one client span per attempt, named by the route template; the first was refused and sent again.
    first, second = sorted((s for s in spans if s.parent_span_id == tool.span_id), key=lambda s: s.start_time_unix_nano)
    assert first.name == second.name == "GET /job/{jobId}/status"
    assert first.kind == second.kind == Span.SPAN_KIND_CLIENT
    failed, retried = attributes(first.attributes), attributes(second.attributes)
    assert failed["http.response.status_code"] == 429
    assert failed["error.type"] == "429"
    assert first.status.code == first.status.STATUS_CODE_ERROR
    assert "http.request.resend_count" not in failed
    assert retried["http.request.resend_count"] == 1
    assert retried["http.response.status_code"] == 200
    assert "error.type" not in retried
    assert {key: retried[key] for key in ("jobctl.vendor", "http.request.method", "url.template")} == {
        "jobctl.vendor": "qovery",
        "http.request.method": "GET",
        "url.template": "/job/{jobId}/status",
    }
    assert retried["server.address"] == "127.0.0.1"
    (wait,) = tool.events
    assert wait.name == "jobctl.vendor.rate_limit_wait"
    assert attributes(wait.attributes) == {"jobctl.vendor": "qovery", "jobctl.wait.seconds": 0.0}
    outcomes = {attributes(s.attributes).get("jobctl.tool.outcome") for s in spans if s.name.startswith("tools/call")}
    assert outcomes == {"ok", "vendor_error", "input_error", "refused_by_policy"}

    metrics = received.metrics()
    for outcome in ("ok", "vendor_error", "input_error"):
        assert calls(received, "get-job-status", outcome) == 1
    durations = {labels["jobctl.tool.outcome"]: n for labels, n in metrics["jobctl.tool.duration"]}
    assert durations == {"ok": 1, "vendor_error": 1, "input_error": 1, "refused_by_policy": 1}
    requests = {
        (labels["url.template"], labels["http.response.status_code"]): n
        for labels, n in metrics["http.client.request.duration"]
    }
    assert requests == {
        ("/job/{jobId}/status", 429): 1,
        ("/job/{jobId}/status", 200): 1,
        ("/job/{jobId}/status", 404): 1,
    }
    assert metrics["jobctl.vendor.retries"] == [({"jobctl.vendor": "qovery"}, 1)]
    assert metrics["jobctl.vendor.rate_limit_waits"] == [({"jobctl.vendor": "qovery"}, 1)]

    # Nothing an operator's collector keeps may hold a credential, a job id or any other argument value.
    exported = received.raw()
    for value in (*KNOWN_SECRETS, NIGHTLY_REPORT, UNKNOWN_JOB, "not-a-uuid"):
        assert value.encode() not in exported, value


@pytest.mark.anyio
async def test_arguments_are_exported_only_when_asked_and_then_redacted(tmp_path: Path, sandbox: Sandbox) -> None:
    with collector() as (received, endpoint), vendors_on_loopback(sandbox) as vendors:
        env = exporting_env(endpoint, vendors, JOBCTL_OTEL_RECORD_ARGUMENTS="true", JOBCTL_DRY_RUN="true")
        params = StdioServerParameters(command=COMMAND, env=env, cwd=tmp_path)
        with anyio.fail_after(60):
            async with Client(params) as client:
                assert data(await client.call_tool("edit-job", {"jobId": NIGHTLY_REPORT, "body": {"cpu": 750}}))[
                    "dryRun"
                ]
                mistaken = {"jobId": NIGHTLY_REPORT, "api_token": SECRET_IN_ARGUMENTS}
                error(await client.call_tool("get-job-status", mistaken))
                await anyio.to_thread.run_sync(
                    wait_for, lambda: calls(received, "get-job-status", "input_error") == 1, "the metrics"
                )
    recorded = {
        span.name: json.loads(attributes(span.attributes)["jobctl.tool.arguments"])
        for span in received.spans()
        if span.name.startswith("tools/call")
    }
    assert recorded == {
        "tools/call edit-job": {"jobId": NIGHTLY_REPORT, "body": {"cpu": 750}},
        "tools/call get-job-status": {"jobId": NIGHTLY_REPORT, "api_token": "[redacted]"},
    }
    assert calls(received, "edit-job", "dry_run") == 1
    assert SECRET_IN_ARGUMENTS.encode() not in received.raw()


# Starts the server as the console script does, and says at exit whether the OpenTelemetry SDK was ever loaded.
_REPORTING_SERVER = """
import atexit, sys
atexit.register(lambda: sys.stderr.write(
    "SDK LOADED\\n" if any(m.startswith("opentelemetry.sdk") for m in sys.modules) else "SDK NOT LOADED\\n"))
if len(sys.argv) > 1:
    sys.modules["opentelemetry.exporter.otlp.proto.http"] = None  # as if the otel extra were not installed
from jobctl_mcp.cli import main
main([])
"""


@pytest.mark.anyio
@pytest.mark.parametrize("endpoint_set", [False, True], ids=["no endpoint", "endpoint without the extra"])
async def test_without_an_endpoint_or_the_extra_nothing_is_sent_nor_loaded(
    tmp_path: Path, sandbox: Sandbox, endpoint_set: bool
) -> None:
    log = tmp_path / "stderr.log"
    with collector() as (received, endpoint), vendors_on_loopback(sandbox) as vendors:
        env = clean_env(**vendors, **({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} if endpoint_set else {}))
        args = ["-c", _REPORTING_SERVER, *(["no-extra"] if endpoint_set else [])]
        params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=tmp_path)
        with anyio.fail_after(60), log.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                assert data(await client.call_tool("get-job-status", {"jobId": NIGHTLY_REPORT}))
    assert received.bodies == []
    said = log.read_text()
    assert "SDK NOT LOADED" in said, said
    assert ("pip install 'jobctl-mcp[otel]'" in said) is endpoint_set, said


def test_outcomes_tell_input_and_configuration_errors_from_the_vendors() -> None:
    assert telemetry.outcome("error", InputError("x")) == "input_error"
    assert telemetry.outcome("error", ConfigError("x")) == "config_error"
    assert telemetry.outcome("error", VendorAPIError("Qovery", "op", 500, "x")) == "vendor_error"
    assert telemetry.outcome("unknown") == "outcome_unknown"
    assert telemetry.outcome("refused") == "refused_by_policy"
    assert {telemetry.outcome(o) for o in ("ok", "dry_run", "declined")} == {"ok", "dry_run", "declined"}
    assert set(telemetry.OUTCOMES) >= {telemetry.outcome(o) for o in ("ok", "unknown", "refused", "dry_run")}


def test_no_endpoint_or_a_disabled_sdk_starts_nothing() -> None:
    settings = isolated_settings()
    assert telemetry.start(settings, {}) is None
    assert telemetry.start(settings, {"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is None
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    assert telemetry.start(settings, disabled) is None
    none = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}
    assert telemetry.start(settings, none) is None
