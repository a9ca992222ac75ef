"""A tiny Chrome DevTools Protocol client over aiohttp's websocket, and a headless Chromium.

    async with Chromium.launch(tmp_path) as browser:      # Debian's /usr/bin/chromium, headless
        page = await browser.new_page()                   # a flat session on the first tab
        await page.goto(url)
        await page.type_text("river")                     # Input.insertText into the focused field
        async with page.navigation():
            await page.press_enter()
        await page.click("ol.results h3 a")               # a real mouse click at the element

Commands are JSON messages with an ``id``; answers carry the same ``id``; everything else is an
event, kept in a log so a test can wait for one that may already have arrived (``wait_event``).
Only what the browser test needs is here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-port=0")
TIMEOUT = 15.0

Event = dict[str, Any]


class CDPError(RuntimeError):
    """The browser answered a command with an error."""


class Connection:
    """One DevTools websocket: commands by id, events logged for ``wait_event``."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = 0
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._answers.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            else:
                async with self._changed:
                    self.events.append(data)
                    self._changed.notify_all()
        for future in self._answers.values():
            if not future.done():
                future.set_exception(CDPError("the browser closed the connection"))

    async def send(self, method: str, params: dict[str, Any] | None = None,
                   session: str | None = None) -> dict[str, Any]:
        self._ids += 1
        message: dict[str, Any] = {"id": self._ids, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._answers[self._ids] = future
        await self._ws.send_str(json.dumps(message))
        async with asyncio.timeout(TIMEOUT):
            answer = await future
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    async def wait_event(self, method: str, *, since: int = 0, session: str | None = None,
                         match: Callable[[dict[str, Any]], bool] = lambda params: True) -> Event:
        """The first event METHOD logged at or after position SINCE that MATCH accepts."""
        def found() -> Event | None:
            return next((e for e in self.events[since:] if e.get("method") == method
                         and (session is None or e.get("sessionId") == session)
                         and match(e.get("params", {}))), None)

        async with asyncio.timeout(TIMEOUT):
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event

    async def close(self) -> None:
        await self._ws.close()
        await self._reader


@dataclass
class Page:
    """One tab, driven through a flat session of the browser connection."""

    conn: Connection
    session: str

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.conn.send(method, params, self.session)

    @asynccontextmanager
    async def navigation(self) -> AsyncIterator[None]:
        """Wait, after the body, for the load event of the page the body led to."""
        mark = len(self.conn.events)
        yield
        await self.conn.wait_event("Page.loadEventFired", since=mark, session=self.session)

    async def goto(self, url: str) -> None:
        async with self.navigation():
            await self.send("Page.navigate", {"url": url})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression,
                                                      "returnByValue": True})
        if "exceptionDetails" in result:
            raise CDPError(f"evaluating {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def center(self, selector: str) -> tuple[float, float]:
        box = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        return box[0], box[1]

    async def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Render as a screen of WIDTH x HEIGHT CSS pixels (a phone's with MOBILE)."""
        await self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    async def screenshot(self, path: Path) -> bytes:
        """A PNG of what the viewport shows, also written to PATH."""
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        data = base64.b64decode(shot["data"])
        await asyncio.to_thread(path.write_bytes, data)
        return data

    async def box(self, selector: str) -> dict[str, float]:
        """The viewport rectangle of the first element SELECTOR names (no scrolling)."""
        return await self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; })()")

    async def click(self, selector: str) -> None:
        """A left click (press and release) in the middle of the element SELECTOR names."""
        x, y = await self.center(selector)
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                         "button": "left", "clickCount": 1})

    async def type_text(self, text: str) -> None:
        await self.send("Input.insertText", {"text": text})

    async def press_enter(self) -> None:
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
               "nativeVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **key})
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **key})


class Chromium:
    """A headless Chromium process and its browser-level DevTools connection."""

    def __init__(self, process: asyncio.subprocess.Process, http: ClientSession,
                 conn: Connection) -> None:
        self.process, self.http, self.conn = process, http, conn

    @staticmethod
    def path() -> str | None:
        return CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")

    @classmethod
    @asynccontextmanager
    async def launch(cls, workdir: Path) -> AsyncIterator["Chromium"]:
        binary = cls.path()
        assert binary is not None, "chromium is not installed"
        profile = workdir / "profile"
        profile.mkdir(parents=True)
        process = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            endpoint = await _devtools_endpoint(profile / "DevToolsActivePort", process)
            async with ClientSession() as http:
                ws = await http.ws_connect(endpoint, max_msg_size=64 << 20)
                browser = cls(process, http, Connection(ws))
                try:
                    yield browser
                finally:
                    await browser.conn.close()
        finally:
            await _stop(process)

    async def new_page(self) -> Page:
        """Attach to the first tab, with the Page and Runtime domains on."""
        targets = await self.conn.send("Target.getTargets")
        page_id = next(t["targetId"] for t in targets["targetInfos"] if t["type"] == "page")
        attached = await self.conn.send("Target.attachToTarget", {"targetId": page_id,
                                                                  "flatten": True})
        page = Page(self.conn, attached["sessionId"])
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page

    async def allow_downloads(self, folder: Path) -> None:
        await self.conn.send("Browser.setDownloadBehavior", {
            "behavior": "allow", "downloadPath": str(folder), "eventsEnabled": True})


async def _devtools_endpoint(port_file: Path, process: asyncio.subprocess.Process) -> str:
    """``ws://127.0.0.1:PORT/PATH`` from the DevToolsActivePort file Chromium writes."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"chromium exited with status {process.returncode}")
            lines = (await asyncio.to_thread(_read_lines, port_file))
            if len(lines) >= 2 and lines[0].isdigit() and lines[1].startswith("/devtools/"):
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await asyncio.sleep(0.05)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().split("\n")
    except FileNotFoundError:
        return []


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
