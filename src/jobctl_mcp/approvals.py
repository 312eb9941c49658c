"""One approval, one action: the sealed requestState that carries a human's answer (MCP 2026-07-28) is honoured
once, and only for a short while, so resending an approved call cannot run its action again."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable

from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState, RequestStateSecurity

# How long an approval stays usable after the question was asked: long enough for a human to read and answer,
# short enough that an approval cannot be kept for later.
APPROVAL_TTL = 120.0
# Unexpired states remembered at most; beyond that new ones are refused (fail closed) rather than forgetting one.
MOST_REMEMBERED = 100_000


class SingleUseCodec:
    """The SDK's AES-GCM codec, refusing a token it has already unsealed within its validity.

    Each sealed state is unique (a random nonce), and each round of a confirmation mints a new one, so a token
    seen twice is a replay. The memory is this process's: replicas that share JOBCTL_STATE_KEY do not share it
    (see the README's Security section for what holds across replicas).
    """

    def __init__(self, keys: list[str], ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._codec = AESGCMRequestStateCodec(keys)
        self._ttl = ttl
        self._clock = clock
        self._seen: dict[bytes, float] = {}  # token digest -> when it may be forgotten (insertion ordered)
        self._lock = threading.Lock()

    def seal(self, payload: bytes) -> str:
        return self._codec.seal(payload)

    def unseal(self, token: str) -> bytes:
        payload = self._codec.unseal(token)  # a forged token is refused before it takes any memory
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        with self._lock:
            self._forget_expired(now)
            if digest in self._seen:
                raise InvalidRequestState("replayed")
            if len(self._seen) >= MOST_REMEMBERED:
                raise InvalidRequestState("too many approvals pending")
            self._seen[digest] = now + self._ttl
        return payload

    def _forget_expired(self, now: float) -> None:
        # Entries are added in time order, so the expired ones are at the front.
        for digest, until in list(self._seen.items()):
            if until > now:
                break
            del self._seen[digest]


def request_state_security(state_key: str | None, ttl: float = APPROVAL_TTL) -> RequestStateSecurity:
    """The sealing of confirmation state: under JOBCTL_STATE_KEY (shared by replicas) or a key of this process,
    each sealed state honoured once and for `ttl` seconds."""
    key = state_key if state_key is not None else os.urandom(32).hex()
    return RequestStateSecurity(codec=SingleUseCodec([key], ttl), ttl=ttl)
