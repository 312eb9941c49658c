"""Run by .ci/run with the Python of a fresh environment where only the built wheel is installed: the installed
command must start, list its tools and answer a call against its sandbox, away from the source tree."""

import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from jobctl_mcp.tools import ALL_TOOLS


async def main() -> None:
    command = str(Path(sys.executable).with_name("jobctl-mcp"))
    async with Client(StdioServerParameters(command=command, args=["--sandbox"])) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("get-job-status", {"jobId": "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"})
    assert [tool.name for tool in tools] == [spec.name for spec in ALL_TOOLS], [tool.name for tool in tools]
    assert not result.is_error, result
    assert (result.structured_content or {}).get("state") == "DEPLOYED", result.structured_content
    sys.stderr.write(f"smoke: {len(tools)} tools listed, get-job-status answered from the installed wheel\n")


anyio.run(main)
