"""Simulated Commvault and Qovery APIs: try every tool without credentials, and fake the vendors in tests.

Serve them in-process (Sandbox.transports()) or on loopback (loopback.serving, python -m jobctl_mcp.sandbox).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from .commvault import COMMVAULT_API_KEY, COMMVAULT_PASSWORD, COMMVAULT_USERNAME, CommvaultSim
from .faults import Fault, FaultPlan, RecordedRequest, VendorSim
from .qovery import QOVERY_API_KEY, QOVERY_JWT, QoverySim

__all__ = [
    "COMMVAULT_API_KEY",
    "COMMVAULT_PASSWORD",
    "COMMVAULT_USERNAME",
    "QOVERY_API_KEY",
    "QOVERY_JWT",
    "CommvaultSim",
    "Fault",
    "FaultPlan",
    "QoverySim",
    "RecordedRequest",
    "Sandbox",
    "VendorSim",
    "sandbox_env",
]


def sandbox_env(commvault_base_url: str, qovery_base_url: str) -> dict[str, str]:
    """The environment variables that point a jobctl-mcp server at sandbox vendors served at these URLs."""
    return {
        "COMMVAULT_BASE_URL": commvault_base_url,
        "COMMVAULT_USERNAME": COMMVAULT_USERNAME,
        "COMMVAULT_PASSWORD": COMMVAULT_PASSWORD,
        "QOVERY_BASE_URL": qovery_base_url,
        "QOVERY_API_KEY": QOVERY_API_KEY,
    }


class Sandbox:
    """Both simulated vendors, sharing one clock, reachable through in-process transports."""

    COMMVAULT_BASE_URL = "http://commvault.sandbox/commandcenter/api"
    QOVERY_BASE_URL = "http://qovery.sandbox"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.commvault = CommvaultSim(clock)
        self.qovery = QoverySim(clock)

    def transports(self) -> dict[str, httpx2.AsyncBaseTransport]:
        return {"commvault": self.commvault.transport(), "qovery": self.qovery.transport()}

    def env(self) -> dict[str, str]:
        return sandbox_env(self.COMMVAULT_BASE_URL, self.QOVERY_BASE_URL)
