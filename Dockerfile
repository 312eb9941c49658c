# jobctl-mcp over streamable HTTP. A token is required: the server refuses to bind 0.0.0.0 without one.
#   docker build -t jobctl-mcp .
#   docker run -p 8000:8000 -e JOBCTL_HTTP_TOKEN=... -e QOVERY_API_KEY=... jobctl-mcp
# The base image is named by tag here; pin it by digest when you build (README, "Containers"):
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> -t jobctl-mcp .
# Python 3.11: the version CI tests.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# The wheel is built from the source with the build backend installed from a lock with hashes.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY deploy/build.lock ./deploy/
RUN pip install --require-hashes -r deploy/build.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Every dependency from the lock, each checked against its hash; then the wheel alone.
COPY deploy/requirements.lock /tmp/requirements.lock
COPY --from=build /wheels /tmp/wheels
RUN pip install --require-hashes -r /tmp/requirements.lock \
    && pip install --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/requirements.lock /tmp/wheels \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin jobctl
COPY LICENSE /usr/share/doc/jobctl-mcp/LICENSE

USER 10001
EXPOSE 8000
# Replicas behind a load balancer: no HTTP sessions; the Host header is checked against JOBCTL_ALLOWED_HOSTS.
# Set the port with JOBCTL_PORT (not --port), so that the HEALTHCHECK below follows it.
ENV JOBCTL_TRANSPORT=streamable-http \
    JOBCTL_HOST=0.0.0.0 \
    JOBCTL_PORT=8000 \
    JOBCTL_STATELESS=true
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('JOBCTL_PORT', '8000') + '/healthz', timeout=2)"]
# Arguments given to the container (Kubernetes `args`, `docker run IMAGE ...`) replace CMD and go to jobctl-mcp.
ENTRYPOINT ["jobctl-mcp"]
CMD ["serve"]
