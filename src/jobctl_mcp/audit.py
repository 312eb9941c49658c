"""The audit trail: one JSON line for every call of a tool that can change something, naming the caller when an
access token does, written to the log (stderr) and, when JOBCTL_AUDIT_LOG names a file, appended there."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token

from jobctl_mcp.client import json_object, plain_text

log = logging.getLogger("jobctl_mcp.audit")

Outcome = Literal["ok", "error", "unknown", "dry_run", "declined", "refused"]

_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|authori[sz]ation|authtoken|credential", re.IGNORECASE)


_LONGEST_TEXT = 500  # an audit line stays readable whatever an agent sent
_DEEPEST = 40  # arguments are refused deeper than this (tools.MAX_DEPTH); an audit line never recurses further


def redact(value: Any, depth: int = 0) -> Any:
    """`value` with whatever sits under a secret-looking key replaced, long text cut and deep nesting elided."""
    if isinstance(value, dict | list) and depth >= _DEEPEST:
        return "[nested too deep]"
    if isinstance(value, dict):
        items: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return {
            str(k)[:_LONGEST_TEXT]: "[redacted]" if _SECRET_KEY.search(str(k)) else redact(v, depth + 1)
            for k, v in items.items()
        }
    if isinstance(value, list):
        return [redact(item, depth + 1) for item in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, str) and len(value) > _LONGEST_TEXT:
        return value[:_LONGEST_TEXT] + "…"
    return value


def vendor_ids(result: dict[str, Any]) -> dict[str, Any]:
    """The handles a vendor gave back (Commvault task and job ids, Qovery deployment request), if any."""
    found = {key: result[key] for key in ("taskId", "jobIds") if key in result}
    request = result.get("deploymentRequestId") or json_object(result.get("status")).get("deploymentRequestId")
    return found | ({"deploymentRequestId": request} if request else {})


def caller() -> dict[str, str]:
    """Who is calling, as their access token says (OAuth mode): its subject and its client; empty without one."""
    token = get_access_token()
    if token is None:
        return {}
    return {"sub": plain_text(token.subject or "", 200), "client": plain_text(token.client_id, 200)}


class AuditTrail:
    """Writes audit lines; the file is created 0600, only ever appended to, one whole line per write."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()

    async def record(
        self,
        *,
        tool: str,
        vendor: str | None,
        arguments: dict[str, Any],
        outcome: Outcome,
        started: float,
        result: dict[str, Any] | None = None,
        detail: str | None = None,
    ) -> None:
        """Write one line. Never raises: the call it records has already happened (a write may have landed), and
        its outcome must reach the agent even when the trail cannot be written; the failure is logged at ERROR."""
        try:
            await self._record(tool, vendor, arguments, outcome, started, result, detail)
        except Exception as exc:  # whatever broke, the answer of the call it records must still go out
            log.error("audit: the %s line of %s could not be written (%s: %s)", outcome, tool, type(exc).__name__, exc)

    async def _record(
        self,
        tool: str,
        vendor: str | None,
        arguments: dict[str, Any],
        outcome: Outcome,
        started: float,
        result: dict[str, Any] | None,
        detail: str | None,
    ) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "tool": tool,
            "vendor": vendor,
            "jobId": arguments.get("jobId"),
            "arguments": redact(arguments),
            "outcome": outcome,
            "vendorIds": vendor_ids(result or {}),
            "durationMs": round((time.monotonic() - started) * 1000, 1),
            **caller(),
        } | ({"detail": detail} if detail else {})
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False, default=str)
        log.info("%s", line)
        if self._path is not None:
            await anyio.to_thread.run_sync(self._append, line)

    def _append(self, line: str) -> None:
        assert self._path is not None
        with self._lock:
            # O_APPEND: every write lands at the end, never truncating what is there.
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
