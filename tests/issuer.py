"""A small OAuth 2.1 authorization server for the tests, built on joserfc (a JOSE implementation other than the
server's PyJWT, so that neither can cover for the other): discovery metadata, a JWKS whose keys can rotate, and
client_credentials tokens signed RS256 or ES256. Tests also mint tokens in-process with the same keys."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobctl_mcp.sandbox.loopback import serving

SigningKey = RSAKey | ECKey


@dataclass(frozen=True)
class RegisteredClient:
    secret: str
    subject: str
    scopes: tuple[str, ...]


class AuthorizationServer:
    """The issuer: `serve()` starts it on loopback and fixes its issuer URL."""

    def __init__(self) -> None:
        self.issuer = ""
        self.keys: list[SigningKey] = []
        self.clients: dict[str, RegisteredClient] = {}
        self.jwks_reads = 0
        self.rotate("RS256")
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._metadata),
                Route("/jwks", self._jwks),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    @contextmanager
    def serve(self) -> Generator[str]:
        with serving(self.app) as base:
            self.issuer = base
            yield base

    def rotate(self, algorithm: str = "RS256") -> SigningKey:
        """A new signing key, published beside the others and used from now on."""
        kid = f"key-{len(self.keys) + 1}"
        parameters: KeyParameters = {"kid": kid, "use": "sig", "alg": algorithm}
        key: SigningKey = (
            RSAKey.generate_key(2048, parameters=parameters, private=True)
            if algorithm.startswith(("RS", "PS"))
            else ECKey.generate_key("P-256", parameters=parameters, private=True)
        )
        self.keys.append(key)
        return key

    def register(self, client_id: str, subject: str, *scopes: str) -> str:
        secret = secrets.token_urlsafe(24)
        self.clients[client_id] = RegisteredClient(secret, subject, scopes)
        return secret

    def mint(
        self,
        audience: str | list[str],
        scope: str | None = "",
        *,
        sub: str | None = "alice@example.com",
        client: str = "agent-platform",
        key: SigningKey | None = None,
        header: dict[str, Any] | None = None,
        lifetime: int = 300,
        **claims: Any,
    ) -> str:
        """A signed access token with these claims (any of them overridable, or dropped with None)."""
        key = key or self.keys[-1]
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "sub": sub,
            "aud": audience,
            "azp": client,
            "scope": scope,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(8),
        } | claims
        alg = str(key.as_dict()["alg"])
        protected = {"alg": alg, "kid": key.kid, "typ": "at+jwt"} | (header or {})
        return jwt.encode(protected, {k: v for k, v in payload.items() if v is not None}, key, algorithms=[alg])

    def public_pem(self) -> bytes:
        key = self.keys[-1]
        assert isinstance(key, RSAKey)
        return key.as_pem(private=False)

    async def _metadata(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                # Unused by client_credentials, but RFC 8414 (and the SDK's client) want one named.
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": sorted({s for c in self.clients.values() for s in c.scopes}),
            }
        )

    async def _jwks(self, _: Request) -> Response:
        self.jwks_reads += 1
        return JSONResponse({"keys": [key.as_dict(private=False) for key in self.keys]})

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        registered = self.clients.get(client_id)
        if registered is None or not secrets.compare_digest(registered.secret, secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        asked = str(form.get("scope", "")).split() or list(registered.scopes)
        granted = " ".join(scope for scope in asked if scope in registered.scopes)
        # RFC 8707: the token is for the resource the client names.
        token = self.mint(str(form.get("resource", "")), granted, sub=registered.subject, client=client_id)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": granted})
