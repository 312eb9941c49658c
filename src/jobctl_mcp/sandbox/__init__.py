"""Simulated Commvault and Qovery APIs: try every tool without credentials, and fake the vendors in tests.

Serve them in-process (Sandbox.transports(), or on_demand() for a server started with --sandbox) or on loopback
(loopback.serving, python -m jobctl_mcp.sandbox). The simulations load when a Sandbox is first built, not with
this package: the simulated vendors are in .commvault and .qovery, faults in .faults.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import httpx2

from .credentials import COMMVAULT_API_KEY, COMMVAULT_PASSWORD, COMMVAULT_USERNAME, QOVERY_API_KEY, QOVERY_JWT

if TYPE_CHECKING:
    from .commvault import CommvaultSim
    from .faults import VendorSim
    from .qovery import QoverySim

__all__ = [
    "COMMVAULT_API_KEY",
    "COMMVAULT_PASSWORD",
    "COMMVAULT_USERNAME",
    "QOVERY_API_KEY",
    "QOVERY_JWT",
    "Sandbox",
    "on_demand",
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
    """Both simulated vendors, sharing one clock, reachable through in-process transports.

    `qovery_extra_services=N` grows the Qovery organization by N generated services (for benchmarks).
    """

    COMMVAULT_BASE_URL = "http://commvault.sandbox/commandcenter/api"
    QOVERY_BASE_URL = "http://qovery.sandbox"

    commvault: CommvaultSim
    qovery: QoverySim

    def __init__(self, clock: Callable[[], float] = time.time, *, qovery_extra_services: int = 0) -> None:
        self._clock = clock
        self._extra_services = qovery_extra_services
        self.reset()

    def transports(self) -> dict[str, httpx2.AsyncBaseTransport]:
        """In-process transports to the vendors; they follow reset(), so one server can outlive many resets."""
        return {"commvault": _Current(lambda: self.commvault), "qovery": _Current(lambda: self.qovery)}

    def reset(self) -> None:
        """Fresh vendors: seed data again, no requests recorded, no faults armed, no session issued."""
        # Imported here, not with the package: see on_demand.
        from .commvault import CommvaultSim
        from .qovery import QoverySim

        self.commvault = CommvaultSim(self._clock)
        self.qovery = QoverySim(self._clock, extra_services=self._extra_services)

    @classmethod
    def env(cls) -> dict[str, str]:
        return sandbox_env(cls.COMMVAULT_BASE_URL, cls.QOVERY_BASE_URL)


def on_demand() -> dict[str, httpx2.AsyncBaseTransport]:
    """In-process transports to a Sandbox that the first request to either vendor builds (its env() is the same):
    a server started with --sandbox answers its first tools/list without loading and seeding the simulations."""
    sandbox = cache(Sandbox)
    return {"commvault": _Current(lambda: sandbox().commvault), "qovery": _Current(lambda: sandbox().qovery)}


class _Current(httpx2.AsyncBaseTransport):
    """Sends each request to the simulated vendor the sandbox holds at that moment."""

    def __init__(self, current: Callable[[], VendorSim]) -> None:
        self._current = current
        self._sim: VendorSim | None = None
        self._transport: httpx2.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        sim = self._current()
        if self._transport is None or sim is not self._sim:
            if self._transport is not None:
                await self._transport.aclose()
            self._sim, self._transport = sim, sim.transport()
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
