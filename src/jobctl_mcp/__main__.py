"""`python -m jobctl_mcp` runs the same entry point as the `jobctl-mcp` command."""

from jobctl_mcp.cli import main

main()
