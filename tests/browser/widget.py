"""A page object for the widget as a visitor sees it, and helpers for the browser tests."""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from playwright.sync_api import Frame, FrameLocator, Page, expect

from tests.browser.conftest import AXE, SCREENSHOTS

# A 1x1 PNG.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5c1e3a50000000049454e44ae426082"
)

# Console messages that are the expected sound of a test cutting the network (or answering a
# request with an error on purpose).
EXPECTED_NOISE = re.compile(
    r"WebSocket connection to .* failed|net::ERR_INTERNET_DISCONNECTED"
    r"|Failed to load resource: the server responded with a status of"
)


class ConsoleWatch:
    """Collects console errors and page errors of every page (and its frames) in a context."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allow_network_errors = False

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if self.allow_network_errors and EXPECTED_NOISE.search(message.text):
            return
        self.errors.append(message.text)


class Widget:
    """The launcher and the chat iframe on a host page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def launcher(self):
        return self.page.get_by_role("button", name=re.compile("chat|دردشة", re.I))

    @property
    def chat(self) -> FrameLocator:
        return self.page.frame_locator("iframe")

    @property
    def frame(self) -> Frame:
        """The iframe's Frame (for evaluate), once loaded."""
        for frame in self.page.frames:
            if "/chat?" in frame.url:
                return frame
        raise AssertionError("the chat iframe is not loaded")

    @property
    def log(self):
        return self.chat.get_by_role("log")

    @property
    def message_box(self):
        return self.chat.get_by_role("textbox", name="Message")

    def open(self) -> None:
        expect(self.launcher).to_be_visible()
        self.launcher.click()
        expect(self.chat.locator("#wc-app")).to_be_visible()

    def fill_prechat(self, first: str, last: str = "Tester", email: str = "") -> None:
        self.chat.get_by_label("First name").fill(first)
        self.chat.get_by_label("Last name").fill(last)
        if email:
            self.chat.get_by_label("Email").fill(email)

    def start(self, first: str, **kwargs: str) -> None:
        """Pre-chat form, Start chat, and the agent's greeting."""
        self.fill_prechat(first, **kwargs)
        self.chat.get_by_role("button", name="Start chat").click()
        expect(self.log).to_contain_text(f"Hi {first}")
        expect(self.message_box).to_be_focused()

    def say(self, text: str) -> None:
        self.message_box.fill(text)
        self.chat.get_by_role("button", name="Send").click()

    def agent_bubbles(self, text: str):
        return self.chat.locator(".wc-msg--agent", has_text=text)

    def own_bubbles(self, text: str):
        return self.chat.locator(".wc-msg--own", has_text=text)

    def hand_file(
        self, how: str, name: str, mime: str, data: bytes = b"", size: int | None = None
    ) -> bool:
        """Hands the chat one file as a visitor's browser would: `how` is "drop" (dragenter,
        dragover, drop on the chat), "dragenter" (only that), "paste" (into the message box)
        or "attach" (the file input's change). The file is built in the page, from `data`, or
        `size` zero bytes when given (a large file costs nothing to send over). For "drop"
        and "paste": whether the page took the files (the event's default was prevented)."""
        return self.frame.evaluate(
            """([how, name, mime, bytes, size]) => {
                const body = size === null ? new Uint8Array(bytes) : new Uint8Array(size);
                const dt = new DataTransfer();
                dt.items.add(new File([body], name, {type: mime}));
                if (how === 'attach') {
                    const input = document.getElementById('wc-file');
                    input.files = dt.files;
                    input.dispatchEvent(new Event('change', {bubbles: true}));
                    return true;
                }
                const init = {bubbles: true, cancelable: true};
                if (how === 'paste') {
                    const box = document.getElementById('wc-message');
                    const paste = new ClipboardEvent('paste', {...init, clipboardData: dt});
                    return !box.dispatchEvent(paste);
                }
                const zone = document.getElementById('wc-transcript');
                const steps = how === 'drop' ? ['dragenter', 'dragover', 'drop'] : [how];
                let taken = false;
                for (const type of steps) {
                    taken = !zone.dispatchEvent(new DragEvent(type, {...init, dataTransfer: dt}));
                }
                return taken;
            }""",
            [how, name, mime, list(data), size],
        )

    def chat_id(self) -> str:
        return self.frame.evaluate("JSON.parse(sessionStorage.getItem('webchat.log')).chatId")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def axe_violations(frame: Frame | Page) -> list[dict]:
    """Serious and critical axe-core violations in `frame` (axe injected through the debugger
    protocol, which the page's CSP does not govern)."""
    if not frame.evaluate("typeof window.axe === 'object'"):
        frame.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    results = frame.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


def host_page(base: str, attributes: str = "", script: str = "") -> str:
    """A host page of another design, served by route() in tests, with the widget's tag."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Test host</title></head><body><main><h1>Test host</h1>"
        "<p><a href='#x'>A link on the host page</a></p></main>"
        f"<script src='{base}/widget.js' async {attributes}></script>{script}</body></html>"
    )


class HostPage(BaseHTTPRequestHandler):
    """Serves `html` at every path: a company's page that embeds the widget. Subclass it per
    test module, so each sets its own page."""

    html = b""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: object) -> None:
        pass
