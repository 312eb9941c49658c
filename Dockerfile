# jobctl-mcp over streamable HTTP. A token is required: the server refuses to bind 0.0.0.0 without one.
#   docker build -t jobctl-mcp .
#   docker run -p 8000:8000 -e JOBCTL_HTTP_TOKEN=... -e QOVERY_API_KEY=... jobctl-mcp
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /app/src \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin jobctl

USER 10001
EXPOSE 8000
# Replicas behind a load balancer: no HTTP sessions; the Host header is checked against JOBCTL_ALLOWED_HOSTS.
ENV JOBCTL_TRANSPORT=streamable-http \
    JOBCTL_HOST=0.0.0.0 \
    JOBCTL_PORT=8000 \
    JOBCTL_STATELESS=true
HEALTHCHECK --interval=30s --timeout=3s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["jobctl-mcp", "--transport", "streamable-http", "--host", "0.0.0.0"]
