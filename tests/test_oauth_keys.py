"""The token check on its own, in-process: the issuer's app reached through httpx2's ASGI transport, so that each
odd metadata, JWKS or header can be tried without a socket."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeyParameters, RSAKey
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from jobctl_mcp.oauth import IssuerKeys, IssuerUnavailableError, JwtVerifier, TokenRefusedError
from tests.issuer import AuthorizationServer

pytestmark = pytest.mark.anyio

ISSUER = "http://issuer.test"
AUDIENCE = "https://jobs.example.com/mcp"


def through(app: Any) -> IssuerKeys:
    return IssuerKeys(ISSUER, lambda: httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)))


@pytest.fixture
def issuer() -> AuthorizationServer:
    authority = AuthorizationServer()
    authority.issuer = ISSUER
    return authority


def documents(metadata: Any, jwks: Any, status: int = 200) -> Starlette:
    async def meta(_: Any) -> Any:
        return JSONResponse(metadata, status_code=status) if metadata is not None else PlainTextResponse("[not json")

    async def keys(_: Any) -> Any:
        return JSONResponse(jwks)

    return Starlette(routes=[Route("/.well-known/openid-configuration", meta), Route("/jwks", keys)])


@pytest.mark.parametrize(
    ("metadata", "jwks", "status", "problem"),
    [
        ({"issuer": "http://elsewhere.test", "jwks_uri": f"{ISSUER}/jwks"}, {}, 200, "names another issuer"),
        ({"issuer": ISSUER}, {}, 200, "names no jwks_uri"),
        ({}, {}, 500, "answered 500"),
        (None, {}, 200, "is not a JSON object"),
        (
            {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"},
            {"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "h"}, {"kty": "RSA", "use": "enc"}]},
            200,
            "holds no usable signing key",
        ),
        (
            {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"},
            {"keys": [{"kty": "RSA", "kid": "broken", "n": "AQAB"}]},
            200,
            "holds no usable signing key",
        ),
    ],
)
async def test_an_issuer_that_cannot_be_used_says_why(metadata: Any, jwks: Any, status: int, problem: str) -> None:
    with pytest.raises(IssuerUnavailableError, match=problem):
        await through(documents(metadata, jwks, status)).read()


async def test_a_token_without_a_kid_is_checked_with_the_only_key_and_refused_among_several(
    issuer: AuthorizationServer,
) -> None:
    verifier = JwtVerifier(through(issuer.app), AUDIENCE)
    accepted = await verifier.verify(_without_kid(issuer))
    issuer.rotate()
    verifier = JwtVerifier(through(issuer.app), AUDIENCE)
    with pytest.raises(TokenRefusedError, match="names no key id"):
        await verifier.verify(_without_kid(issuer))
    assert accepted.subject == "alice@example.com"


def _without_kid(issuer: AuthorizationServer) -> str:
    key = issuer.keys[-1]
    return jwt.encode({"alg": "RS256"}, _claims(issuer, scope="jobs:read"), key, algorithms=["RS256"])


def _claims(issuer: AuthorizationServer, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer.issuer, "sub": "alice@example.com", "aud": AUDIENCE, "exp": now + 300} | extra


async def test_scp_lists_client_id_and_the_sdk_verifier_protocol(issuer: AuthorizationServer) -> None:
    verifier = JwtVerifier(through(issuer.app), AUDIENCE)
    token = issuer.mint(AUDIENCE, scope=None, scp=["jobs:read", "jobs:write"], azp=None, client_id="ci-bot")
    access = await verifier.verify_token(token)
    assert access is not None
    assert (access.scopes, access.client_id, access.resource) == (["jobs:read", "jobs:write"], "ci-bot", AUDIENCE)
    assert await verifier.verify_token("garbage") is None


async def test_an_algorithm_the_key_does_not_pin_and_one_it_does(issuer: AuthorizationServer) -> None:
    parameters: KeyParameters = {"kid": "unpinned", "use": "sig"}
    unpinned = RSAKey.generate_key(2048, parameters=parameters, private=True)

    async def jwks(_: Any) -> Any:
        return JSONResponse({"keys": [unpinned.as_dict(private=False), issuer.keys[0].as_dict(private=False)]})

    async def meta(_: Any) -> Any:
        return JSONResponse({"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})

    app = Starlette(routes=[Route("/.well-known/openid-configuration", meta), Route("/jwks", jwks)])
    verifier = JwtVerifier(through(app), AUDIENCE)
    ps256 = jwt.encode({"alg": "PS256", "kid": "unpinned"}, _claims(issuer), unpinned, algorithms=["PS256"])
    accepted = await verifier.verify(ps256)
    pinned = issuer.keys[0]  # published with alg RS256; the same private key, unpinned, signs PS256
    loose = RSAKey.import_key({k: v for k, v in pinned.as_dict(private=True).items() if k != "alg"})
    swapped = jwt.encode({"alg": "PS256", "kid": pinned.kid}, _claims(issuer), loose, algorithms=["PS256"])
    with pytest.raises(TokenRefusedError, match="does not match the key's RS256"):
        await verifier.verify(swapped)
    assert accepted.subject == "alice@example.com"


async def test_unreachable_keys_refuse_nobody_silently(issuer: AuthorizationServer) -> None:
    keys = through(documents({}, {}, 404))
    with pytest.raises(IssuerUnavailableError, match="no signing keys"):
        await JwtVerifier(keys, AUDIENCE).verify(issuer.mint(AUDIENCE, "jobs:read"))
