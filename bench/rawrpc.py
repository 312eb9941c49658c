"""A raw JSON-RPC client over stdio: newline-delimited JSON written to a server's stdin and read from its stdout,
with none of the SDK client's own work (models, validation, a tools/list to check outputs) in the figures."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from itertools import count
from pathlib import Path
from typing import IO, Any

import anyio
from anyio.abc import ByteSendStream
from anyio.streams.buffered import BufferedByteReceiveStream

from processes import CALL_TIMEOUT

# The era the SDK's own client settles on: no handshake, the client's identity in each request's _meta.
PROTOCOL = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
    "io.modelcontextprotocol/clientInfo": {"name": "bench-raw", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
MAX_LINE = 64 * 1024 * 1024


class RawSession:
    """Requests written one at a time, each answer read before the next request goes out."""

    def __init__(self, pid: int, stdin: ByteSendStream, stdout: BufferedByteReceiveStream) -> None:
        self.pid = pid
        self._stdin = stdin
        self._stdout = stdout
        self._ids = count(1)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result of `method`; a JSON-RPC error is raised. Notifications the server sends meanwhile are skipped."""
        ident = next(self._ids)
        message = {"jsonrpc": "2.0", "id": ident, "method": method, "params": {**params, "_meta": META}}
        await self._stdin.send(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        with anyio.fail_after(CALL_TIMEOUT):
            while True:
                answer = json.loads(await self._stdout.receive_until(b"\n", MAX_LINE))
                if answer.get("id") != ident:
                    continue
                if "error" in answer:
                    raise RuntimeError(f"{method} answered {answer['error']}")
                return answer["result"]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> None:
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(f"{name} answered an error: {result.get('content')}")


@asynccontextmanager
async def raw_stdio(
    args: Sequence[str], env: dict[str, str] | None, workdir: Path, log: IO[str]
) -> AsyncGenerator[RawSession]:
    """`args` started on stdio (its stderr to `log`), spoken to in raw JSON-RPC, stopped on exit."""
    async with await anyio.open_process(list(args), env=env, cwd=workdir, stderr=log) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        session = RawSession(process.pid, process.stdin, BufferedByteReceiveStream(process.stdout))
        try:
            await session.request("server/discover", {})
            yield session
        finally:
            # End of input is how a host stops a stdio server; a server that does not stop is killed.
            await process.stdin.aclose()
            with anyio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
