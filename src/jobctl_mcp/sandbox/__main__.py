"""python -m jobctl_mcp.sandbox: serve the simulated Commvault and Qovery APIs on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from contextlib import ExitStack

from . import Sandbox, sandbox_env
from .loopback import serving

_log = logging.getLogger("jobctl_mcp.sandbox")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobctl_mcp.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--commvault-port", type=int, default=8101)
    parser.add_argument("--qovery-port", type=int, default=8102)
    parser.add_argument(
        "--qovery-extra-services",
        type=int,
        default=0,
        metavar="N",
        help="add N generated services (mostly jobs, 25 per environment) to the Qovery organization",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    sandbox = Sandbox(qovery_extra_services=args.qovery_extra_services)
    with ExitStack() as stack:
        commvault = stack.enter_context(serving(sandbox.commvault.app, args.host, args.commvault_port))
        qovery = stack.enter_context(serving(sandbox.qovery.app, args.host, args.qovery_port))
        env = sandbox_env(commvault + "/commandcenter/api", qovery)
        _log.info(
            "Sandbox vendors are up. Point jobctl-mcp at them with:\n%s", "\n".join(f"{k}={v}" for k, v in env.items())
        )
        _log.info("Press Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            _log.info("Stopping.")


if __name__ == "__main__":
    main()
