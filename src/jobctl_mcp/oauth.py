"""The HTTP endpoint as an OAuth 2.1 resource server: access tokens are JWTs signed by a key the issuer publishes
(its metadata names the JWKS) and issued for this endpoint; their scopes decide which tools a caller sees and calls.
PyJWT (with `cryptography`) checks the tokens: the MCP SDK already depends on it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl

from jobctl_mcp import __version__
from jobctl_mcp.client import json_object
from jobctl_mcp.config import Settings
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.spec import AnySpec, Effect

log = logging.getLogger(__name__)

# Asymmetric algorithms only: an HMAC one would take the published public key as its shared secret (RFC 8725
# §2.1), and `none` signs nothing.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
LEEWAY = 30  # seconds of clock difference tolerated between the issuer and this server for exp, nbf and iat
KEYS_REFRESH_SECONDS = 60.0  # an unknown key id re-reads the JWKS at most this often: a flood of forged kids cannot
RETRY_SECONDS = 5.0  # with no keys at all yet, the issuer is asked again at most this often
_MAX_DOCUMENT_BYTES = 1_048_576
_TIMEOUT = httpx2.Timeout(10.0, connect=5.0)


class TokenRefusedError(Exception):
    """Why an access token was not accepted. The message never holds the token."""


class IssuerUnavailableError(Exception):
    """The issuer's metadata or keys could not be fetched, so no token can be checked."""


def discovery_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be: OpenID Connect Discovery appends the well-known name to the issuer, RFC 8414
    inserts it before the issuer's path (and §5 allows the OpenID name there too)."""
    parts = urlsplit(issuer)
    root, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    candidates = (
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        f"{root}/.well-known/oauth-authorization-server{path}",
        f"{root}/.well-known/openid-configuration{path}",
    )
    return list(dict.fromkeys(candidates))


@dataclass(frozen=True)
class SigningKey:
    """One of the issuer's public keys, and the algorithm its JWK pins, if it pins one."""

    key: Any
    algorithm: str | None


class IssuerKeys:
    """The issuer's signing keys, from its metadata and JWKS, fetched with the project's HTTP client and cached.

    Read on first use; read again when a token names a key id not among them, at most once per `refresh` seconds,
    so that the issuer's key rotation is seen without a restart and forged key ids cannot make us hammer it."""

    def __init__(
        self,
        issuer: str,
        http: Callable[[], httpx2.AsyncClient] | None = None,
        *,
        refresh: float = KEYS_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._http = http or issuer_client
        self._refresh = refresh
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._read_at: float | None = None
        self._lock = anyio.Lock()

    @property
    def count(self) -> int:
        return len(self._keys)

    async def key(self, kid: str | None) -> SigningKey:
        """The key a token names. Raises TokenRefusedError, or IssuerUnavailableError when there are no keys."""
        if self._wants(kid):
            async with self._lock:
                if self._wants(kid):  # another request may have read them while this one waited
                    await self._read_quietly()
        if not self._keys:
            raise IssuerUnavailableError(f"no signing keys from the issuer {self.issuer} yet")
        if kid is None:
            if len(self._keys) == 1:
                return next(iter(self._keys.values()))
            raise TokenRefusedError("the token names no key id (kid) and the issuer publishes several keys")
        if kid not in self._keys:
            raise TokenRefusedError(f"unknown key id {kid[:64]!r}: the issuer's JWKS does not hold it")
        return self._keys[kid]

    def _wants(self, kid: str | None) -> bool:
        if self._read_at is None:
            return True
        wait = self._refresh if self._keys else RETRY_SECONDS
        return (not self._keys or (kid is not None and kid not in self._keys)) and (
            self._clock() - self._read_at >= wait
        )

    async def _read_quietly(self) -> None:
        try:
            await self.read()
        except IssuerUnavailableError as exc:
            log.error("%s; the keys read before stay in use (%d)", exc, len(self._keys))

    async def read(self) -> int:
        """Fetch the metadata and the JWKS now; returns how many keys they hold. Raises IssuerUnavailableError."""
        self._read_at = self._clock()
        metadata = await self._metadata()
        jwks_uri = metadata["jwks_uri"]
        keys = _signing_keys(await self._document(jwks_uri, "JWKS"))
        if not keys:
            raise IssuerUnavailableError(f"the JWKS at {jwks_uri} holds no usable signing key")
        if self._keys and keys.keys() != self._keys.keys():
            log.info("the issuer's signing keys changed: %s", ", ".join(sorted(keys)))
        self._keys = keys
        return len(keys)

    async def _metadata(self) -> dict[str, Any]:
        problems: list[str] = []
        for url in discovery_urls(self.issuer):
            try:
                metadata = await self._document(url, "metadata")
            except IssuerUnavailableError as exc:
                problems.append(str(exc))
                continue
            # RFC 8414 §3.3: the metadata must name the very issuer it was asked for.
            if metadata.get("issuer") != self.issuer:
                raise IssuerUnavailableError(f"the metadata at {url} names another issuer: {metadata.get('issuer')!r}")
            if not isinstance(metadata.get("jwks_uri"), str):
                raise IssuerUnavailableError(f"the metadata at {url} names no jwks_uri")
            return metadata
        raise IssuerUnavailableError("; ".join(problems))

    async def _document(self, url: str, what: str) -> dict[str, Any]:
        try:
            # A client per read: reads are rare (at most once a minute), and nothing is left open between them.
            async with self._http() as http:
                response = await http.get(url)
        except httpx2.HTTPError as exc:
            raise IssuerUnavailableError(f"the issuer's {what} at {url} could not be read: {exc!r}") from None
        if response.status_code != 200:
            raise IssuerUnavailableError(f"the issuer's {what} at {url} answered {response.status_code}")
        if len(response.content) > _MAX_DOCUMENT_BYTES:
            raise IssuerUnavailableError(f"the issuer's {what} at {url} is larger than {_MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(response.content)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise IssuerUnavailableError(f"the issuer's {what} at {url} is not a JSON object")
        return cast(dict[str, Any], document)


def _signing_keys(jwks: Mapping[str, Any]) -> dict[str, SigningKey]:
    """The JWKS's keys that can check a signature with an allowed algorithm, by key id."""
    keys: dict[str, SigningKey] = {}
    entries: list[Any] = jwks.get("keys") if isinstance(jwks.get("keys"), list) else []  # pyright: ignore[reportAssignmentType]
    for entry in entries:
        jwk = json_object(entry)
        kid = jwk.get("kid", "")
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") not in ALGORITHMS or not isinstance(kid, str):
            continue  # encryption keys and symmetric ones are not for this
        try:
            keys[kid] = SigningKey(jwt.PyJWK(jwk).key, jwk.get("alg"))
        except jwt.PyJWTError as exc:
            log.warning("skipping the issuer's key %r: %s", kid[:64], exc)
    return keys


@dataclass(frozen=True)
class Scopes:
    """The three scopes, named as the identity provider names them; each tool needs the one its row's class says."""

    read: str
    write: str
    destroy: str

    @classmethod
    def of(cls, settings: Settings) -> Scopes:
        return cls(settings.oauth_scope_read, settings.oauth_scope_write, settings.oauth_scope_destroy)

    def needed(self, effect: Effect) -> str:
        return {"read": self.read, "write": self.write, "destroy": self.destroy}[effect]

    @property
    def supported(self) -> list[str]:
        return list(dict.fromkeys((self.read, self.write, self.destroy)))


class JwtVerifier:
    """The MCP SDK's TokenVerifier for JWT access tokens from one issuer, for one audience."""

    def __init__(self, keys: IssuerKeys, audience: str) -> None:
        self.keys = keys
        self.audience = audience

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self.verify(token)
        except (TokenRefusedError, IssuerUnavailableError):
            return None

    async def verify(self, token: str) -> AccessToken:
        """The checked token. Raises TokenRefusedError (the reason), or IssuerUnavailableError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefusedError("not a signed JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise TokenRefusedError(f"algorithm {str(algorithm)[:16]!r} is not allowed (only {', '.join(ALGORITHMS)})")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        if key.algorithm is not None and key.algorithm != algorithm:
            raise TokenRefusedError(f"algorithm {algorithm} does not match the key's {key.algorithm}")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[str(algorithm)],
                audience=self.audience,
                issuer=self.keys.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefusedError("expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefusedError("not valid yet (nbf in the future)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefusedError(f"issued by another issuer than {self.keys.issuer}") from None
        except jwt.InvalidAudienceError:
            raise TokenRefusedError(f"not issued for the audience {self.audience}") from None
        except jwt.InvalidSignatureError:
            raise TokenRefusedError("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefusedError(f"no {exc.claim} claim") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenRefusedError(f"not valid: {type(exc).__name__}") from None
        return access_token(token, claims, self.audience)


def access_token(token: str, claims: Mapping[str, Any], audience: str) -> AccessToken:
    """The SDK's AccessToken for checked claims: scopes from `scope` (RFC 9068) or `scp` (as some providers write
    them), the client from `azp` or `client_id`."""
    scope = claims.get("scope", claims.get("scp", ""))
    granted = scope.split() if isinstance(scope, str) else [str(item) for item in cast(list[Any], scope or [])]
    client = claims.get("azp") or claims.get("client_id") or ""
    return AccessToken(
        token=token,
        client_id=str(client),
        scopes=granted,
        expires_at=int(claims["exp"]),
        resource=audience,
        subject=str(claims["sub"]),
        claims={"iss": claims["iss"]},
    )


def metadata_url(settings: Settings) -> str:
    """Where this resource's RFC 9728 metadata is: the well-known name inserted before the public URL's path."""
    assert settings.public_url is not None, "checked by check_oauth_settings"
    return str(build_resource_metadata_url(AnyHttpUrl(settings.public_url)))


def resource_metadata(settings: Settings) -> ProtectedResourceMetadata:
    assert settings.public_url is not None, "checked by check_oauth_settings"
    assert settings.oauth_issuer is not None, "checked by check_oauth_settings"
    # Validated from text, so that the model keeps a path-less issuer as written: clients compare it exactly.
    return ProtectedResourceMetadata.model_validate(
        {
            "resource": settings.public_url,
            "authorization_servers": [settings.oauth_issuer],
            "scopes_supported": Scopes.of(settings).supported,
            "bearer_methods_supported": ["header"],
            "resource_name": f"jobctl-mcp {__version__}",
        }
    )


def check_oauth_settings(settings: Settings) -> None:
    """Raises ConfigError, in one line, when the OAuth settings cannot work together."""
    if settings.oauth_issuer is None:
        return
    if settings.http_token is not None or settings.http_token_file is not None:
        raise ConfigError(
            "set JOBCTL_OAUTH_ISSUER or JOBCTL_HTTP_TOKEN (JOBCTL_HTTP_TOKEN_FILE), not both: with an issuer every "
            "caller brings its own token"
        )
    if settings.public_url is None:
        raise ConfigError(
            "JOBCTL_OAUTH_ISSUER needs JOBCTL_PUBLIC_URL, the URL clients reach this endpoint at (e.g. "
            "https://jobs.example.com/mcp): it names the resource and, by default, the tokens' audience"
        )


def issuer_client() -> httpx2.AsyncClient:
    return httpx2.AsyncClient(timeout=_TIMEOUT, headers={"User-Agent": f"jobctl-mcp/{__version__}"})


async def check_issuer(settings: Settings) -> tuple[bool, str]:
    """For `jobctl-mcp check`: whether the issuer's metadata and JWKS can be fetched, and how many keys they hold."""
    assert settings.oauth_issuer is not None
    try:
        count = await IssuerKeys(settings.oauth_issuer).read()
    except IssuerUnavailableError as exc:
        return False, str(exc)
    return True, f"metadata and JWKS of {settings.oauth_issuer} fetched ({count} signing keys)"


def granted_names(specs: Iterable[AnySpec], scopes: Scopes, granted: Iterable[str]) -> set[str]:
    """The tools a caller with `granted` scopes may see: each by its row's class."""
    have = set(granted)
    return {spec.name for spec in specs if scopes.needed(spec.kind) in have}
