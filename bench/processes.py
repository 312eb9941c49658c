"""The processes a benchmark starts (the simulated vendors, MCP servers on stdio or HTTP), each stopped on exit,
and what /proc says about them and about the rest of the machine."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from jobctl_mcp.sandbox import sandbox_env

BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
JOBCTL = str(Path(sys.executable).with_name("jobctl-mcp"))
FLOOR = str(BENCH / "floor_server.py")
START_TIMEOUT = 20.0
# A call that takes longer than this is a failure, not a figure.
CALL_TIMEOUT = 30.0


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without vendor or server settings, plus `extra`."""
    # Bytecode is written as on any installed machine, so that only the first start pays for compiling.
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMMVAULT_", "QOVERY_", "JOBCTL_")) and key != "PYTHONDONTWRITEBYTECODE"
    }
    return {**kept, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode} before listening on {port}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{process.args} did not listen on {port} within {START_TIMEOUT:.0f} s")
        time.sleep(0.02)


@contextmanager
def started(args: Sequence[str], env: dict[str, str], workdir: Path, log: IO[str]) -> Iterator[subprocess.Popen[bytes]]:
    """`args` running in `workdir` (where no .env can be read by accident), stopped on exit."""
    process = subprocess.Popen(args, env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP receiver on loopback that accepts and drops everything; yields its endpoint."""

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Vendors:
    """The simulated vendors served on loopback, and the environment that points jobctl-mcp at them."""

    commvault_api: str
    qovery: str
    env: dict[str, str]


@contextmanager
def loopback_vendors(workdir: Path, log: IO[str]) -> Iterator[Vendors]:
    """`python -m jobctl_mcp.sandbox` on two free loopback ports, in a process of its own."""
    commvault, qovery = free_port(), free_port()
    args = [PYTHON, "-m", "jobctl_mcp.sandbox", "--commvault-port", str(commvault), "--qovery-port", str(qovery)]
    with started(args, clean_env(), workdir, log) as process:
        wait_listening(commvault, process)
        wait_listening(qovery, process)
        commvault_api = f"http://127.0.0.1:{commvault}/commandcenter/api"
        qovery_url = f"http://127.0.0.1:{qovery}"
        yield Vendors(commvault_api, qovery_url, sandbox_env(commvault_api, qovery_url))


@contextmanager
def http_server(args: Sequence[str], env: dict[str, str], workdir: Path, log: IO[str]) -> Iterator[tuple[str, int]]:
    """An MCP server started with `args` plus --port; yields its /mcp URL and its pid."""
    port = free_port()
    with started([*args, "--port", str(port)], env, workdir, log) as process:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}/mcp", process.pid


@asynccontextmanager
async def stdio_session(
    args: Sequence[str], env: dict[str, str] | None, workdir: Path, log: IO[str]
) -> AsyncIterator[Client]:
    """The SDK's client over stdio to `args`, started as a host starts it: the SDK passes on only a few variables
    of its own (PATH, HOME, ...) plus `env`, and stops the process on exit."""
    params = StdioServerParameters(command=args[0], args=list(args[1:]), env=env, cwd=workdir)
    async with Client(stdio_client(params, errlog=log), read_timeout_seconds=CALL_TIMEOUT) as client:
        yield client


def children() -> set[int]:
    """The pids of this process's children."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def rss_mib(pid: int) -> float:
    """Resident set size (VmRSS) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuClock:
    """CPU seconds the whole machine has been busy, and those of this run: this process and its children."""

    machine: float
    ours: float

    @classmethod
    def read(cls) -> CpuClock:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        )
        times = os.times()  # its children's times once they have been waited for
        busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        return cls(busy, times.user + times.system + times.children_user + times.children_system + live_children())

    def others_since(self, start: CpuClock, wall: float) -> float:
        """The share of the machine that other processes (a hypervisor's steal included) kept busy since `start`."""
        others = (self.machine - start.machine) - (self.ours - start.ours)
        return max(0.0, others) / (wall * (os.cpu_count() or 1))


def live_children() -> float:
    """CPU seconds of the children still running (the vendors, servers that outlive a phase)."""
    total = 0.0
    for pid in children():
        with contextlib.suppress(OSError):  # it may end between the listing and the reading
            total += cpu_seconds(pid)
    return total
