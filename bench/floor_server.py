"""The SDK's floor: a minimal one-tool MCPServer, served on stdio, or on streamable HTTP with --port."""

import argparse

from mcp.server.mcpserver import MCPServer

server = MCPServer(name="floor")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, help="serve streamable HTTP on 127.0.0.1:PORT instead of stdio")
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args()
    if args.port is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port, stateless_http=args.stateless)
