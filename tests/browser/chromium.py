"""Headless Chromium driven over the Chrome DevTools Protocol on one websocket: open a page, run JavaScript in it
or in one of its frames, emulate a viewport, take a screenshot. Every wait is bounded."""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.abc
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 20.0
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The browser to drive: $CHROMIUM if set, else the first of the usual names on PATH."""
    if named := os.environ.get("CHROMIUM"):
        return shutil.which(named)
    return next((found for name in _NAMES if (found := shutil.which(name))), None)


class BrowserError(AssertionError):
    """Chromium answered a command with an error, or a page threw."""


class Browser:
    """One DevTools connection to the whole browser; pages are flattened sessions on it."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._answers: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self.events: list[dict[str, Any]] = []
        self.frame_attached = anyio.Event()  # set once Chromium attached us to an out-of-process frame

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        ident = next(self._ids)
        done, answer = anyio.Event(), list[dict[str, Any]]()
        self._answers[ident] = (done, answer)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self._socket.send(json.dumps(message))
        with anyio.fail_after(TIMEOUT):
            await done.wait()
        reply = answer[0]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return cast(dict[str, Any], reply.get("result", {}))

    async def read_forever(self) -> None:
        async for raw in self._socket:
            message = cast(dict[str, Any], json.loads(raw))
            waiting = self._answers.pop(message["id"], None) if "id" in message else None
            if waiting is not None:
                waiting[1].append(message)
                waiting[0].set()
            elif "method" in message:
                self.events.append(message)
                if message["method"] == "Target.attachedToTarget":
                    self.frame_attached.set()

    async def new_page(self, width: int = 900, height: int = 700) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        for domain in ("Page", "Runtime"):
            await page.send(f"{domain}.enable")
        # Sandboxed frames may live in their own process: have Chromium attach to those too.
        await page.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": True})
        await page.viewport(width, height)
        return page


class Page:
    """A tab, or one frame of it: navigate, evaluate, emulate, screenshot."""

    def __init__(self, browser: Browser, session: str, context: int | None = None) -> None:
        self._browser = browser
        self._session = session
        self._context = context  # a JavaScript world to evaluate in; None: the frame's own

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._browser.send(method, params, self._session)

    def exceptions(self) -> list[str]:
        """Uncaught exceptions any frame of this page threw so far."""
        sessions = {self._session, *self._child_sessions()}
        thrown = [e for e in self._browser.events if e.get("sessionId") in sessions]
        details = [e["params"]["exceptionDetails"] for e in thrown if e["method"] == "Runtime.exceptionThrown"]
        return [str(d.get("exception", {}).get("description") or d.get("text")) for d in details]

    def _child_sessions(self) -> list[str]:
        attached = [e for e in self._browser.events if e["method"] == "Target.attachedToTarget"]
        return [e["params"]["sessionId"] for e in attached if e.get("sessionId") == self._session]

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})
        await self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    async def viewport(self, width: int, height: int) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        await self.send("Emulation.setDeviceMetricsOverride", metrics)

    async def evaluate(self, expression: str) -> Any:
        params: dict[str, Any] = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if self._context is not None:
            params["contextId"] = self._context
        answer = await self.send("Runtime.evaluate", params)
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = TIMEOUT) -> Any:
        """The first truthy value of `expression`, polled; fails after `seconds` with what it last saw."""
        last: Any = None
        with anyio.move_on_after(seconds):
            while True:
                last = await self.evaluate(expression)
                if last:
                    return last
                await anyio.sleep(0.05)
        raise AssertionError(f"still falsy after {seconds:g} s: {expression} (last value {last!r})")

    async def frame(self) -> Page:
        """The page's first child frame, seen from an isolated JavaScript world: its DOM, none of its globals."""
        tree = await self.send("Page.getFrameTree")
        children = cast(list[dict[str, Any]], tree["frameTree"].get("childFrames") or [])
        if children:  # the frame runs in the page's own process
            session, frame_id = self._session, str(children[0]["frame"]["id"])
        else:  # an out-of-process frame: its own target, attached automatically (see new_page)
            with anyio.fail_after(TIMEOUT):
                await self._browser.frame_attached.wait()
            session = self._child_sessions()[-1]
            attached = [e for e in self._browser.events if e["method"] == "Target.attachedToTarget"]
            target = next(e for e in attached if e["params"]["sessionId"] == session)["params"]["targetInfo"]
            frame_id = str(target["targetId"])
            for domain in ("Page", "Runtime"):
                await self._browser.send(f"{domain}.enable", None, session)
        world = await self._browser.send(
            "Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "test"}, session
        )
        return Page(self._browser, session, int(world["executionContextId"]))

    async def screenshot(self, width: int, height: int) -> bytes:
        """The top-left width x height pixels as PNG, after resizing the viewport to them."""
        await self.viewport(width, height)
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = await self.send("Page.captureScreenshot", {"format": "png", "clip": clip})
        return base64.b64decode(shot["data"])


@asynccontextmanager
async def chromium(binary: str, *, time_zone: str | None = None, dark: bool = False) -> AsyncGenerator[Browser]:
    """A headless Chromium with a throwaway profile, closed (killed if it must be) on exit.

    `time_zone` and `dark` set the viewer's system: they reach every frame, out-of-process ones included,
    which per-target DevTools emulation would not without racing the page's first render.
    """
    with tempfile.TemporaryDirectory(prefix="jobctl-chromium-", ignore_cleanup_errors=True) as profile:
        arguments = [
            binary, "--headless=new", f"--user-data-dir={profile}", "--remote-debugging-port=0",
            "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "about:blank",
        ]  # fmt: skip
        if os.name == "posix" and os.geteuid() == 0:
            arguments.append("--no-sandbox")  # Chromium will not start as root with its own sandbox
        if dark:
            arguments.append("--force-dark-mode")  # prefers-color-scheme: dark
        environment = {**os.environ, "TZ": time_zone} if time_zone else None
        process = await anyio.open_process(
            arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
        )
        try:
            endpoint = await _devtools_endpoint(Path(profile), process)
            async with (
                connect(endpoint, proxy=None, max_size=None, open_timeout=TIMEOUT) as socket,
                anyio.create_task_group() as tasks,
            ):
                browser = Browser(socket)
                tasks.start_soon(browser.read_forever)
                try:
                    yield browser
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            process.terminate()
            with anyio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _devtools_endpoint(profile: Path, process: anyio.abc.Process) -> str:
    # With port 0, Chromium picks a free port and writes it, and the browser's path, to this file.
    written = profile / "DevToolsActivePort"
    with anyio.fail_after(TIMEOUT):
        while True:
            if process.returncode is not None:
                raise BrowserError(f"Chromium exited with status {process.returncode} while starting")
            lines = written.read_text().split() if written.exists() else []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await anyio.sleep(0.05)
