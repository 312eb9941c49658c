#!/usr/bin/env bash
# Build the image and smoke-test it, where a Docker engine and the base image are available (the machines the test
# suite runs on have neither: tests/test_deploy.py checks what can be checked without them).
#   deploy/build-and-smoke.sh [tag]            PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:... to pin the base
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-jobctl-mcp:smoke}
docker build ${PYTHON_IMAGE:+--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE"} -t "$tag" .

# The image's own facts: the command, its user, its license.
docker run --rm "$tag" --version
[ "$(docker run --rm --entrypoint id "$tag" -u)" = 10001 ]
docker run --rm --entrypoint cat "$tag" /usr/share/doc/jobctl-mcp/LICENSE > /dev/null

# Started as the Kubernetes manifest starts it (its args after the ENTRYPOINT), on simulated vendors, on port 9000
# so that the HEALTHCHECK must follow JOBCTL_PORT.
token=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
name=jobctl-mcp-smoke-$$
docker run -d --name "$name" -p 127.0.0.1::9000 -e JOBCTL_PORT=9000 -e JOBCTL_HTTP_TOKEN="$token" \
    "$tag" --transport streamable-http --stateless --sandbox > /dev/null
trap 'docker rm -f "$name" > /dev/null' EXIT
url=http://$(docker port "$name" 9000/tcp | head -n 1)
for _ in $(seq 60); do curl -fs "$url/healthz" > /dev/null && break; sleep 1; done
deploy/smoke.sh "$url" "$token"

# Docker's first health check runs one interval (30 s) after the start.
for _ in $(seq 90); do
    health=$(docker inspect --format '{{.State.Health.Status}}' "$name")
    [ "$health" = healthy ] && break
    [ "$health" = unhealthy ] && { echo "smoke: the HEALTHCHECK failed" >&2; exit 1; }
    sleep 1
done
[ "$health" = healthy ]
echo "smoke: $tag built, serves, answers MCP and its probes, and is healthy" >&2
