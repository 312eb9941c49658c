"""An agent that cancels a call while the vendor request is in flight: the server stays healthy, leaves no task
behind, and the audit trail says the outcome of a cancelled write is unknown."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.cases import CASES, MUTATING_CASES, Agent, Shared, ToolCase, case_id, running_tasks, settle, shared_server
from tests.conftest import data

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def audit_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit") / "audit.jsonl"


@pytest.fixture(scope="module")
async def audited_server(audit_file: Path) -> AsyncGenerator[Shared]:
    async with shared_server(audit_log=str(audit_file)) as shared:
        yield shared


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def cancel_in_flight(shared: Shared, case: ToolCase, transcript: list[str]) -> None:
    """Call `case`'s tool, wait until its own vendor request is held by the vendor, then give up on the call."""
    case.sim(shared.sandbox).faults.add(case.fault("delay", seconds=60))
    finished = False

    async def call() -> None:
        nonlocal finished
        await Agent(shared.client, transcript).call(case.tool, case.arguments)
        finished = True

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await settle(lambda: bool(case.own_requests(shared.sandbox)))
        group.cancel_scope.cancel()
    assert not finished


@pytest.mark.parametrize("case", MUTATING_CASES, ids=case_id)
async def test_a_write_cancelled_in_flight_is_audited_as_outcome_unknown(
    case: ToolCase, audited_server: Shared, audit_file: Path, transcript: list[str]
) -> None:
    shared = audited_server.fresh()
    before, tasks = len(audit_lines(audit_file)), running_tasks()
    await cancel_in_flight(shared, case, transcript)
    await settle(lambda: len(audit_lines(audit_file)) > before)
    (line,) = audit_lines(audit_file)[before:]
    assert (line["tool"], line["outcome"]) == (case.tool, "unknown")
    assert line["detail"] == "cancelled by the client while the request was in flight"
    await settle(lambda: running_tasks() == tasks)
    # Healthy: the same call goes through once the vendor answers again, and is audited as done.
    shared.fresh()
    data(await Agent(shared.client, transcript).call(case.tool, case.arguments))
    assert audit_lines(audit_file)[-1]["outcome"] == "ok"


@pytest.mark.parametrize("case", [case for case in CASES if not case.mutating], ids=case_id)
async def test_a_read_cancelled_in_flight_leaves_the_server_healthy(
    case: ToolCase, audited_server: Shared, audit_file: Path, transcript: list[str]
) -> None:
    shared = audited_server.fresh()
    before, tasks = len(audit_lines(audit_file)), running_tasks()
    await cancel_in_flight(shared, case, transcript)
    await settle(lambda: running_tasks() == tasks)
    assert len(audit_lines(audit_file)) == before  # reads are not audited
    shared.fresh()
    data(await Agent(shared.client, transcript).call(case.tool, case.arguments))
