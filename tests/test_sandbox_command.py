"""python -m jobctl_mcp.sandbox: the simulated vendors served on loopback for a server started by hand."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx2

from jobctl_mcp.sandbox import QOVERY_API_KEY
from tests.commands import clean_env, free_port


def test_serves_both_vendors_until_interrupted() -> None:
    commvault, qovery = free_port(), free_port()
    args = [sys.executable, "-m", "jobctl_mcp.sandbox", "--commvault-port", str(commvault)]
    args += ["--qovery-port", str(qovery), "--qovery-extra-services", "30"]
    process = subprocess.Popen(args, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        said = [process.stderr.readline() for _ in range(6)]
        assert any(f"QOVERY_BASE_URL=http://127.0.0.1:{qovery}" in line for line in said), said
        answer = httpx2.get(
            f"http://127.0.0.1:{qovery}/organization", headers={"Authorization": f"Token {QOVERY_API_KEY}"}
        )
        assert answer.status_code == 200
        assert answer.json()["results"], "the sandbox's organization"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        process.stderr.close()
