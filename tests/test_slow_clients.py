"""Slow and greedy HTTP clients against the installed command on loopback: a half-sent request, a trickled body
and a silent connection are closed within their deadlines, and connections beyond the cap get 503."""

from __future__ import annotations

import socket
import time
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.commands import clean_env, running_http_server

# The deadlines the server is given, and how long a test waits for it to act: generous, so that a slow machine
# only makes the test slower, never wrong.
DEADLINE = "0.5"
BOUND = 20.0
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Generator[int]:
    env = clean_env(JOBCTL_HEADER_TIMEOUT=DEADLINE, JOBCTL_BODY_TIMEOUT=DEADLINE, JOBCTL_IDLE_TIMEOUT="1")
    with running_http_server(env, tmp_path_factory.mktemp("slow"), "--sandbox") as url:
        yield int(url.split(":")[2].split("/")[0])


@contextmanager
def connection(port: int) -> Generator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as sock:
        yield sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection; socket.timeout if it keeps it open past BOUND."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n",  # headers never end
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + b'{"jsonrpc":',  # body never ends
    ],
    ids=["silent", "half-sent headers", "half-sent body"],
)
def test_a_stalled_request_is_disconnected(port: int, sent: bytes) -> None:
    with connection(port) as sock:
        sock.sendall(sent)
        assert read_until_closed(sock) == b""


def test_a_trickled_request_is_held_to_its_deadline(port: int) -> None:
    """A byte now and then keeps no connection open: the deadline runs from the request's first byte."""
    with connection(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ")
        sock.settimeout(0.05)  # the pace of the trickle; the verdict does not depend on it
        give_up = time.monotonic() + BOUND
        while time.monotonic() < give_up:
            try:
                sock.sendall(b"a")
                if sock.recv(1) == b"":
                    return
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                return
    pytest.fail("a trickled request kept its connection open")


def test_whole_requests_are_answered_and_an_idle_connection_closed(port: int) -> None:
    with connection(port) as sock:
        sock.sendall(HEALTHZ)
        answer = read_until_closed(sock)  # JOBCTL_IDLE_TIMEOUT then closes the kept-alive connection
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"status":"ok"' in answer


def test_connections_beyond_the_cap_get_503(tmp_path: Path) -> None:
    env = clean_env(JOBCTL_MAX_CONNECTIONS="2", JOBCTL_HEADER_TIMEOUT="600")
    with running_http_server(env, tmp_path, "--sandbox") as url, ExitStack() as held:
        port = int(url.split(":")[2].split("/")[0])
        for _ in range(2):
            held.enter_context(connection(port))
        with connection(port) as third:
            third.sendall(HEALTHZ.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            refused = read_until_closed(third)
        held.close()
        with connection(port) as later:
            later.sendall(HEALTHZ.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            served = read_until_closed(later)
    assert refused.startswith(b"HTTP/1.1 503 ")
    assert served.startswith(b"HTTP/1.1 200 OK\r\n")
