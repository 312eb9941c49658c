"""fastmcp's generic OpenAPI converter as the baseline for context cost, installed into a virtual environment of
its own (bench/.venv-fastmcp: it pins its own mcp), run on the Qovery spec from ../shared when that is present."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mcp_types import Tool

from processes import BENCH, PYTHON, stdio_session

SPEC = BENCH.parent.parent / "shared" / "vendor" / "qovery" / "openapi-jobs.yaml"
VENV = BENCH / ".venv-fastmcp"
VENV_PYTHON = VENV / "bin" / "python"
SERVER = BENCH / "openapi_server.py"
INSTALL_TIMEOUT = 240.0


@dataclass(frozen=True)
class Converter:
    """The converter that can run, and its version."""

    version: str

    async def tools(self, workdir: Path, log: IO[str]) -> list[Tool] | str:
        """The converted tools, or why the converter could not list them."""
        try:
            async with stdio_session([str(VENV_PYTHON), str(SERVER), str(SPEC)], None, workdir, log) as client:
                return list((await client.list_tools()).tools)
        except Exception as exc:  # another project's code: its failure is a reported n/a, not the bench's end
            cause = _innermost(exc)
            return f"n/a: fastmcp {self.version} could not list the tools: {type(cause).__name__}: {cause}"[:300]


def prepare() -> Converter | str:
    """The converter, installed on first use; or why there is none, as "n/a: ..." (never a made-up figure)."""
    if not SPEC.exists():
        return f"n/a: {SPEC} is absent (../shared sits beside developers' checkouts only)"
    try:
        if not VENV_PYTHON.exists():
            _run([PYTHON, "-m", "venv", str(VENV)], 120)
        if _run([str(VENV_PYTHON), "-c", "import fastmcp, yaml"], 60, check=False).returncode != 0:
            _run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "fastmcp", "pyyaml"], INSTALL_TIMEOUT)
        shown = _run([str(VENV_PYTHON), "-c", "import fastmcp; print(fastmcp.__version__)"], 60)
    except subprocess.TimeoutExpired as exc:
        return f"n/a: {' '.join(map(str, exc.cmd))} took over {exc.timeout:.0f} s"
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or "").strip().splitlines()[-1:] or [f"exit status {exc.returncode}"]
        return f"n/a: installing fastmcp failed: {last[0][:200]}"
    return Converter(shown.stdout.strip())


def _innermost(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _run(args: Sequence[str], timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=check)
