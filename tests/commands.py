"""Running the installed jobctl-mcp command as a separate process, as a host or an orchestrator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

COMMAND = str(Path(sys.executable).with_name("jobctl-mcp"))


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any vendor or server setting, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("COMMVAULT_", "QOVERY_", "JOBCTL_"))}
    return {**kept, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_http_server(env: dict[str, str], cwd: Path, *extra: str) -> Generator[str]:
    """The command serving streamable HTTP on a free loopback port; yields the MCP URL."""
    port = free_port()
    args = [COMMAND, "--transport", "streamable-http", "--port", str(port), *extra]
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the server did not listen within 60 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
