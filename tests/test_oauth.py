"""The endpoint as an OAuth resource server, against a real authorization server on loopback: scopes that follow
the rows, scope challenges, bad tokens, key rotation, who is named in the audit, stateless replicas, the SDK's own
client-credentials flow, and `jobctl-mcp check`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import time
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp_types import CallToolRequestParams, ReadResourceRequestParams

from jobctl_mcp.config import Settings
from jobctl_mcp.endpoint import http_app, refuse_exposure
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.oauth import KEYS_REFRESH_SECONDS, discovery_urls
from jobctl_mcp.sandbox import Sandbox, sandbox_env
from jobctl_mcp.sandbox.loopback import serving
from jobctl_mcp.server import create_server, sandboxed
from jobctl_mcp.tools import ALL_TOOLS
from tests.commands import COMMAND, clean_env, free_port, running_http_server
from tests.conftest import Sleeps, data, isolated_settings
from tests.issuer import AuthorizationServer
from tests.test_http import INITIALIZE, JSON_RPC, Alternating

pytestmark = pytest.mark.anyio

CRON = "7c0f1c57-5b7e-4d2a-9c55-0f2a4c1b9e11"
READ, WRITE, DESTROY = "jobs:read", "jobs:write", "jobs:destroy"
KINDS = {"read": READ, "write": WRITE, "destroy": DESTROY}
# One tool of each kind, with arguments the sandbox answers.
CALLS = {
    READ: ("get-job-status", {"jobId": CRON}),
    WRITE: ("deploy-job", {"jobId": CRON}),
    DESTROY: ("commvault-kill-running-job", {"jobId": 9671}),
}


@pytest.fixture(scope="module")
def issuer() -> Generator[AuthorizationServer]:
    """One authorization server for the module; tests that rotate its keys get their own."""
    authority = AuthorizationServer()
    with authority.serve():
        yield authority


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def protected(
    sandbox: Sandbox, issuer: AuthorizationServer, clock: Clock | None = None, **settings: Any
) -> Generator[str]:
    """The endpoint in OAuth mode on a port chosen first, so that its public URL is known; yields the MCP URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    configured = isolated_settings(
        **{"transport": "streamable-http", "oauth_issuer": issuer.issuer, "public_url": url, **settings}
    )
    vendors = sandboxed(configured, sandbox.env())
    server = create_server(vendors, transports=sandbox.transports(), sleep=Sleeps(), sandbox=True)
    with serving(http_app(server, vendors, sandbox.transports(), clock=clock or Clock()), port=port):
        yield url


@asynccontextmanager
async def connected(url: str, token: str, mode: str = "auto", **options: Any) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30, **options) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def call(name: str, arguments: dict[str, Any], request_id: int = 2) -> dict[str, Any]:
    params = CallToolRequestParams(name=name, arguments=arguments).model_dump(mode="json", exclude_none=True)
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


async def post(url: str, body: Any, token: str | None, **headers: str) -> httpx2.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(url, json=body, headers=JSON_RPC | auth | headers)


def vendor_requests(sandbox: Sandbox) -> int:
    return len(sandbox.commvault.requests) + len(sandbox.qovery.requests)


@pytest.mark.parametrize("scopes", [(READ,), (WRITE,), (DESTROY,), (READ, WRITE), (READ, WRITE, DESTROY)], ids=" ".join)
async def test_each_scope_set_lists_and_calls_what_it_may_and_is_challenged_beyond(
    sandbox: Sandbox, issuer: AuthorizationServer, scopes: tuple[str, ...]
) -> None:
    with protected(sandbox, issuer) as url:
        token = issuer.mint(url, " ".join(scopes))
        async with connected(url, token) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            allowed = {scope: data(await client.call_tool(*CALLS[scope])) for scope in scopes}
        before = vendor_requests(sandbox)
        refused = {scope: await post(url, call(*CALLS[scope]), token) for scope in CALLS if scope not in scopes}
    assert listed == {spec.name for spec in ALL_TOOLS if KINDS[spec.kind] in scopes}
    assert allowed.keys() == set(scopes)
    for scope, answer in refused.items():
        assert answer.status_code == 403
        assert answer.headers["www-authenticate"] == (
            f'Bearer error="insufficient_scope", scope="{scope}", '
            f'resource_metadata="{url.removesuffix("/mcp")}/.well-known/oauth-protected-resource/mcp"'
        )
    assert vendor_requests(sandbox) == before  # a refused call reaches no vendor


async def test_a_deploy_that_runs_the_delete_event_needs_the_destroy_scope(
    sandbox: Sandbox, issuer: AuthorizationServer
) -> None:
    delete = call("deploy-job", {"jobId": CRON, "forceEvent": "DELETE"})
    with protected(sandbox, issuer) as url:
        write_only = await post(url, delete, issuer.mint(url, WRITE))
        async with connected(url, issuer.mint(url, f"{WRITE} {DESTROY}")) as client:
            deployed = data(await client.call_tool("deploy-job", {"jobId": CRON, "forceEvent": "DELETE"}))
    assert write_only.status_code == 403
    assert f'scope="{DESTROY}"' in write_only.headers["www-authenticate"]
    assert deployed["status"]["state"] == "DEPLOYMENT_QUEUED"
    assert [r.query for r in sandbox.qovery.requests_matching("POST", "deploy")] == [{"forceEvent": "DELETE"}]


async def test_the_operator_policy_wins_over_any_scope(sandbox: Sandbox, issuer: AuthorizationServer) -> None:
    with protected(sandbox, issuer, read_only=True) as url:
        async with connected(url, issuer.mint(url, f"{READ} {WRITE} {DESTROY}")) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            refused = await client.call_tool("deploy-job", {"jobId": CRON})
    assert listed == {spec.name for spec in ALL_TOOLS if spec.hints.read_only}
    assert refused.is_error
    assert "the server is read-only (JOBCTL_READ_ONLY)" in str(refused.content[0])


async def test_resources_need_the_read_scope(sandbox: Sandbox, issuer: AuthorizationServer) -> None:
    read = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "resources/read",
        "params": ReadResourceRequestParams(uri="commvault://jobs/9612").model_dump(mode="json", exclude_none=True),
    }
    with protected(sandbox, issuer) as url:
        refused = await post(url, read, issuer.mint(url, WRITE))
        async with connected(url, issuer.mint(url, READ)) as client:
            contents = (await client.read_resource("commvault://jobs/9612")).contents
    assert refused.status_code == 403
    assert f'scope="{READ}"' in refused.headers["www-authenticate"]
    assert contents


async def test_discovery_metadata_and_the_challenge_without_a_token(
    sandbox: Sandbox, issuer: AuthorizationServer
) -> None:
    with protected(sandbox, issuer) as url:
        base = url.removesuffix("/mcp")
        async with httpx2.AsyncClient() as http:
            metadata = [
                (await http.get(f"{base}/.well-known/oauth-protected-resource{p}")).json() for p in ("/mcp", "")
            ]
            bare = await http.post(url, json=INITIALIZE, headers=JSON_RPC)
            probes = [(await http.get(f"{base}{path}")).status_code for path in ("/healthz", "/readyz")]
            vendors = await http.get(f"{base}/readyz?check=vendors")
    assert metadata[0] == metadata[1]
    assert metadata[0]["resource"] == url
    assert metadata[0]["authorization_servers"] == [issuer.issuer]
    assert metadata[0]["scopes_supported"] == [READ, WRITE, DESTROY]
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
    )
    assert probes == [200, 200]
    assert vendors.status_code == 401  # reaches the vendors: needs a token


def forged(issuer: AuthorizationServer, url: str) -> dict[str, str]:
    """A token for each way one can be wrong."""

    def b64(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    def unsigned(header: dict[str, Any], signer: bytes | None = None) -> str:
        good = issuer.mint(url, READ)
        body = good.split(".")[1]
        head = b64(json.dumps(header).encode())
        signature = b64(hmac.new(signer, f"{head}.{body}".encode(), hashlib.sha256).digest()) if signer else ""
        return f"{head}.{body}.{signature}"

    valid = issuer.mint(url, READ)
    head, body, signature = valid.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(body + "==")) | {"scope": f"{READ} {DESTROY}"}
    kid = issuer.keys[-1].kid
    stranger = AuthorizationServer()  # keys the issuer never published
    stranger.issuer = issuer.issuer
    return {
        "expired": issuer.mint(url, READ, lifetime=-120),
        "not yet valid": issuer.mint(url, READ, nbf=int(time.time()) + 3600),
        "wrong issuer": issuer.mint(url, READ, iss="https://other-idp.example.com"),
        "wrong audience": issuer.mint("https://other-server.example.com/mcp", READ),
        "unknown key": stranger.mint(url, READ, header={"kid": "never-published"}),
        "bad signature": f"{head}.{base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b'=').decode()}"
        f".{signature}",
        "alg none": unsigned({"alg": "none", "kid": kid}),
        "HS256 with the public key": unsigned({"alg": "HS256", "kid": kid}, issuer.public_pem()),
        "no subject": issuer.mint(url, READ, sub=None),
        "garbage": "not-a-jwt-at-all",
    }


async def test_every_bad_token_gets_401_reaches_no_tool_and_is_logged_without_itself(
    sandbox: Sandbox, issuer: AuthorizationServer, caplog: pytest.LogCaptureFixture
) -> None:
    with protected(sandbox, issuer) as url:
        tokens = forged(issuer, url)
        answers = {why: await post(url, call(*CALLS[READ]), token) for why, token in tokens.items()}
        good = issuer.mint(url, READ)
        in_query = await post(f"{url}?access_token={good}", call(*CALLS[READ]), None)
    statuses = {why: answer.status_code for why, answer in answers.items()} | {"query": in_query.status_code}
    assert statuses == dict.fromkeys([*tokens, "query"], 401)
    assert all('error="invalid_token"' in a.headers["www-authenticate"] for a in answers.values())
    assert 'error="invalid_request"' in in_query.headers["www-authenticate"]
    assert vendor_requests(sandbox) == 0
    # The server's log; the test's own HTTP client logs the URL it was asked to send the query token in.
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx2", "httpcore2"))]
    logged = "\n".join(record.getMessage() for record in server_side)
    for reason in ("expired", "not valid yet", "issued by another issuer", "not issued for the audience",
                   "unknown key id", "bad signature", "'none' is not allowed", "'HS256' is not allowed",
                   "no sub claim", "not a signed JWT", "in its query string"):  # fmt: skip
        assert reason in logged
    assert not [token for token in [*tokens.values(), good] if token in logged]


async def test_a_rotated_key_is_picked_up_and_unknown_kids_cannot_hammer_the_issuer(sandbox: Sandbox) -> None:
    issuer, clock = AuthorizationServer(), Clock()
    with issuer.serve(), protected(sandbox, issuer, clock) as url:
        first = await post(url, call(*CALLS[READ]), issuer.mint(url, READ))
        issuer.rotate("ES256")
        rotated = issuer.mint(url, READ)
        within_a_minute = [(await post(url, call(*CALLS[READ]), rotated)).status_code for _ in range(3)]
        reads_then = issuer.jwks_reads
        clock.now += KEYS_REFRESH_SECONDS
        after = await post(url, call(*CALLS[READ]), rotated)
        still_the_old = await post(url, call(*CALLS[READ]), issuer.mint(url, READ, key=issuer.keys[0]))
        forged = issuer.mint(url, READ, header={"kid": "forged"})
        flood = [(await post(url, call(*CALLS[READ]), forged)).status_code for _ in range(3)]
    assert first.status_code != 401  # past the gate: the SDK answers the bare request
    assert within_a_minute == [401, 401, 401]
    assert reads_then == 1  # the keys were read less than a minute before: an unknown kid waits for the next read
    assert after.status_code != 401
    assert still_the_old.status_code != 401  # both keys are published during the rotation
    assert flood == [401, 401, 401]
    assert issuer.jwks_reads == 2  # one re-read for the new kid; the forged ones found it too recent


async def test_the_audit_and_the_call_log_name_the_caller_and_the_token_never_reaches_a_vendor(
    sandbox: Sandbox, issuer: AuthorizationServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    audit_file = tmp_path / "audit.jsonl"
    with protected(sandbox, issuer, audit_log=str(audit_file)) as url:
        token = issuer.mint(url, f"{READ} {WRITE}", sub="bob@example.com", client="claude-platform")
        async with connected(url, token) as client:
            data(await client.call_tool("deploy-job", {"jobId": CRON}))
            data(await client.call_tool("get-job-status", {"jobId": CRON}))
    (line,) = [json.loads(line) for line in audit_file.read_text().splitlines()]
    assert (line["tool"], line["sub"], line["client"]) == ("deploy-job", "bob@example.com", "claude-platform")
    calls = [r.getMessage() for r in caplog.records if " called by " in r.getMessage()]
    assert calls == [
        f'{name} called by {{"sub": "bob@example.com", "client": "claude-platform"}}'
        for name in ("deploy-job", "get-job-status")
    ]
    sent = [*sandbox.qovery.requests, *sandbox.commvault.requests]
    assert sent
    assert not [r for r in sent if token in json.dumps(r.headers) or token.encode() in r.raw_body]
    assert token not in "\n".join(record.getMessage() for record in caplog.records)


async def test_an_unreachable_issuer_answers_503_not_500(sandbox: Sandbox, issuer: AuthorizationServer) -> None:
    gone = AuthorizationServer()
    gone.issuer = f"http://127.0.0.1:{free_port()}"
    with protected(sandbox, gone) as url:
        answer = await post(url, call(*CALLS[READ]), issuer.mint(url, READ))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"


async def test_a_body_over_the_cap_is_refused_before_it_is_read_whole(
    sandbox: Sandbox, issuer: AuthorizationServer
) -> None:
    with protected(sandbox, issuer, max_body_bytes=2048) as url:
        answer = await post(url, call("deploy-job", {"jobId": CRON, "padding": "x" * 4096}), issuer.mint(url, READ))
    assert answer.status_code == 413


async def test_the_sdk_client_gets_its_own_token_by_client_credentials(
    sandbox: Sandbox, issuer: AuthorizationServer
) -> None:
    secret = issuer.register("nightly-reports", "svc-nightly-reports", READ)

    class Memory:
        tokens: OAuthToken | None = None
        info: OAuthClientInformationFull | None = None

        async def get_tokens(self) -> OAuthToken | None:
            return self.tokens

        async def set_tokens(self, tokens: OAuthToken) -> None:
            self.tokens = tokens

        async def get_client_info(self) -> OAuthClientInformationFull | None:
            return self.info

        async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
            self.info = client_info

    with protected(sandbox, issuer) as url:
        login = ClientCredentialsOAuthProvider(
            url, Memory(), "nightly-reports", secret, scope=READ, issuer=issuer.issuer
        )
        async with (
            httpx2.AsyncClient(auth=login, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            listed = {tool.name for tool in (await client.list_tools()).tools}
            status = data(await client.call_tool("get-job-status", {"jobId": CRON}))
    assert listed == {spec.name for spec in ALL_TOOLS if spec.hints.read_only}
    assert status["state"] == "DEPLOYED"


async def test_two_stateless_replicas_accept_the_same_token(issuer: AuthorizationServer, tmp_path: Path) -> None:
    sandbox = Sandbox()
    public_url = "https://jobs.example.com/mcp"  # the balancer's address: the token is for it, not for a replica
    with serving(sandbox.commvault.app) as commvault, serving(sandbox.qovery.app) as qovery:
        env = clean_env(
            **sandbox_env(f"{commvault}/commandcenter/api", qovery),
            JOBCTL_OAUTH_ISSUER=issuer.issuer,
            JOBCTL_PUBLIC_URL=public_url,
            JOBCTL_STATELESS="true",
        )
        token = issuer.mint(public_url, f"{READ} {WRITE}")
        with running_http_server(env, tmp_path) as first, running_http_server(env, tmp_path) as second:
            balancer = Alternating([int(u.split(":")[2].split("/")[0]) for u in (first, second)])
            with anyio.fail_after(60):
                async with connected(first, token, transport=balancer) as client:
                    listed = len((await client.list_tools()).tools)
                    deployed = data(await client.call_tool("deploy-job", {"jobId": CRON}))
                    states = [data(await client.call_tool("get-job-status", {"jobId": CRON})) for _ in range(2)]
    assert listed == len([spec for spec in ALL_TOOLS if spec.kind != "destroy"])
    assert deployed["status"]["state"] == "DEPLOYMENT_QUEUED"
    assert [s["state"] for s in states] == ["DEPLOYING", "DEPLOYED"]
    assert min(balancer.served.values()) >= 2


async def test_without_a_token_in_context_the_server_serves_no_tool(sandbox: Sandbox) -> None:
    """Beyond HTTP (the in-memory client): the scope middleware alone refuses, so nothing runs unauthenticated."""
    settings = sandboxed(
        isolated_settings(transport="streamable-http", oauth_issuer="https://idp.example.com", public_url="https://x"),
        sandbox.env(),
    )
    async with Client(create_server(settings, transports=sandbox.transports(), sandbox=True)) as client:
        listed = (await client.list_tools()).tools
        templates = (await client.list_resource_templates()).resource_templates
        refused = await client.call_tool("get-job-status", {"jobId": CRON})
        with pytest.raises(Exception, match="needs the scope jobs:read"):
            await client.read_resource("commvault://jobs/9612")
    assert listed == []
    assert templates == []
    assert refused.is_error
    assert "needs the scope jobs:read" in str(refused.content[0])
    assert vendor_requests(sandbox) == 0


def settings_with(**values: Any) -> Settings:
    return isolated_settings(transport="streamable-http", **values)


def test_an_issuer_and_a_shared_token_cannot_both_be_set(sandbox: Sandbox) -> None:
    both = settings_with(oauth_issuer="https://idp.example.com", public_url="https://x/mcp", http_token="t" * 40)
    with pytest.raises(ConfigError, match="set JOBCTL_OAUTH_ISSUER or JOBCTL_HTTP_TOKEN"):
        http_app(create_server(both), both)
    nameless = settings_with(oauth_issuer="https://idp.example.com")
    with pytest.raises(ConfigError, match="JOBCTL_OAUTH_ISSUER needs JOBCTL_PUBLIC_URL"):
        http_app(create_server(nameless), nameless)
    refuse_exposure(settings_with(host="0.0.0.0", oauth_issuer="https://idp.example.com"), False)  # allowed


def test_the_command_stops_in_one_line_when_both_are_set(tmp_path: Path) -> None:
    env = clean_env(
        JOBCTL_OAUTH_ISSUER="https://idp.example.com",
        JOBCTL_PUBLIC_URL="https://jobs.example.com/mcp",
        JOBCTL_HTTP_TOKEN="a-shared-token-for-tests-0123456789abcdef",
    )
    args = [COMMAND, "--sandbox", "--transport", "streamable-http", "--port", str(free_port())]
    refused = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    (line,) = refused.stderr.splitlines()
    assert line.startswith("jobctl-mcp: set JOBCTL_OAUTH_ISSUER or JOBCTL_HTTP_TOKEN")


@pytest.mark.parametrize("reachable", [True, False])
def test_check_reports_the_issuer_and_its_keys(issuer: AuthorizationServer, tmp_path: Path, reachable: bool) -> None:
    where = issuer.issuer if reachable else f"http://127.0.0.1:{free_port()}"
    env = clean_env(JOBCTL_OAUTH_ISSUER=where, JOBCTL_PUBLIC_URL="https://jobs.example.com/mcp")
    checked = subprocess.run(
        [COMMAND, "check", "--sandbox"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    line = checked.stdout.splitlines()[-1]
    if reachable:
        assert checked.returncode == 0, checked.stdout
        assert line == f"oauth issuer: ok - metadata and JWKS of {where} fetched ({len(issuer.keys)} signing keys)"
    else:
        assert checked.returncode == 1
        assert line.startswith(f"oauth issuer: failed - the issuer's metadata at {where}/.well-known/")


def test_discovery_follows_oidc_and_rfc_8414() -> None:
    assert discovery_urls("https://idp.example.com/realms/ops") == [
        "https://idp.example.com/realms/ops/.well-known/openid-configuration",
        "https://idp.example.com/.well-known/oauth-authorization-server/realms/ops",
        "https://idp.example.com/.well-known/openid-configuration/realms/ops",
    ]
    assert discovery_urls("https://idp.example.com") == [
        "https://idp.example.com/.well-known/openid-configuration",
        "https://idp.example.com/.well-known/oauth-authorization-server",
    ]


def test_scope_names_are_single_tokens() -> None:
    with pytest.raises(ValueError, match="must be one scope"):
        Settings(_env_file=None, oauth_scope_read="jobs read")  # pyright: ignore[reportCallIssue]
