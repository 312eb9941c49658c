"""jobctl-mcp: one MCP server for Commvault backup/restore jobs and Qovery deployment jobs."""

from importlib.metadata import version

__version__ = version("jobctl-mcp")
