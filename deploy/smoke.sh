#!/usr/bin/env bash
# The smoke test of a running jobctl-mcp endpoint served with --sandbox: probes, the token, one MCP round trip.
#   deploy/smoke.sh http://127.0.0.1:8000 <token>
set -euo pipefail
url=$1
token=$2
rpc=(-H 'Accept: application/json, text/event-stream' -H 'Content-Type: application/json')
initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"smoke","version":"1"}}}'
tools='{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}'

curl -fsS "$url/healthz" | grep -q '"status":"ok"'
curl -fsS "$url/readyz" | grep -q '"status":"ready"'
status=$(curl -s -o /dev/null -w '%{http_code}' "${rpc[@]}" -d "$initialize" "$url/mcp")
[ "$status" = 401 ] || { echo "smoke: /mcp without the token answered $status, not 401" >&2; exit 1; }
curl -fsS "${rpc[@]}" -H "Authorization: Bearer $token" -d "$initialize" "$url/mcp" | grep -q '"name":"jobctl-mcp"'
curl -fsS "${rpc[@]}" -H "Authorization: Bearer $token" -H 'MCP-Protocol-Version: 2025-11-25' -d "$tools" \
    "$url/mcp" | grep -q '"name":"wait-for-job"'
echo "smoke: $url answers its probes, refuses a missing token, and lists its tools" >&2
