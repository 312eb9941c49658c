"""`jobctl-mcp check` and `/readyz?check=vendors`: which vendors are configured, what is missing, and one
read-only request to each configured vendor to prove that its credentials work."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from jobctl_mcp.commvault import JOB_LIST, LIST_JOBS, CommvaultClient, ListJobsInput, list_jobs_request, parse_job_list
from jobctl_mcp.config import Settings
from jobctl_mcp.errors import JobctlError
from jobctl_mcp.qovery import QoveryClient
from jobctl_mcp.server import Transports, open_clients


@dataclass(frozen=True)
class VendorCheck:
    vendor: str
    state: str  # "ok", "failed" or "not configured"
    detail: str

    def line(self) -> str:
        return f"{self.vendor}: {self.state} - {self.detail}"


async def check_vendors(settings: Settings, transports: Transports | None = None) -> list[VendorCheck]:
    """One result per vendor, Commvault first."""
    results: list[VendorCheck] = []
    async with open_clients(settings, transports) as state:
        for vendor in ("commvault", "qovery"):
            if missing := state.missing[vendor]:
                results.append(VendorCheck(vendor, "not configured", f"set {' and '.join(missing)}"))
                continue
            try:
                detail = await _probe(state.client(vendor))
            except JobctlError as exc:
                results.append(VendorCheck(vendor, "failed", str(exc)))
            else:
                results.append(VendorCheck(vendor, "ok", detail))
    return results


async def _probe(client: CommvaultClient | QoveryClient) -> str:
    if isinstance(client, CommvaultClient):
        probe = ListJobsInput(limit=1)
        parse = partial(parse_job_list, args=probe)
        jobs = await client.call("list jobs", LIST_JOBS, parse, JOB_LIST, send=list_jobs_request(probe))
        return f"GET /Job answered ({jobs.total} backup jobs visible)"
    names = [str(org.get("name")) for org in await client.organizations()]
    return f"GET /organization answered ({', '.join(names) or 'no organization'})"


def healthy(results: list[VendorCheck]) -> bool:
    """At least one vendor works, and none that is configured fails."""
    return any(r.state == "ok" for r in results) and not any(r.state == "failed" for r in results)
