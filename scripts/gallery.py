"""Screenshots of the widget in every state, for the README and for design review.

    .venv/bin/python scripts/gallery.py [--out docs/screenshots]

Starts the built-in ServicePattern simulator and our app under gunicorn (as tests/harness.py's
ServerProcess does), drives Debian's Chromium through pre-chat, queue, chat, files, survey, ended,
offline, reconnecting, a phone, Arabic, dark (and all three at once), a brand colour with the
preview card, and the example theme (examples/theme-acme), and writes one PNG per state.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

from tests.browser.conftest import ARGS, CHROMIUM  # noqa: E402
from tests.browser.test_resilience import Cutter  # noqa: E402
from tests.browser.widget import Widget  # noqa: E402
from tests.conftest import fast_config  # noqa: E402
from tests.harness import ServerProcess  # noqa: E402
from webchat.simulator import Simulator, SimulatorServer  # noqa: E402

DESKTOP = {"width": 1024, "height": 760}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


class Gallery:
    def __init__(self, browser: Browser, sim: Simulator, base: str, out: Path) -> None:
        self.browser, self.sim, self.base, self.out = browser, sim, base, out
        self.taken: list[str] = []

    @contextmanager
    def page(
        self,
        attributes: str = "",
        base: str | None = None,
        cutter: Cutter | None = None,
        **options,
    ) -> Iterator[tuple[Page, Widget]]:
        """A fresh visitor on a host page embedding the widget with `attributes`; with `cutter`,
        its sockets go through it (to be cut)."""
        base = base or self.base
        options.setdefault("viewport", DESKTOP)
        options.setdefault("reduced_motion", "reduce")  # still pictures, no half-way frames
        context: BrowserContext = self.browser.new_context(**options)
        context.set_default_timeout(15_000)
        if cutter is not None:
            context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), cutter.handle)
        url = f"{base}/gallery-host"
        # Our demo company page, its widget tag given `attributes`.
        html = requests.get(f"{base}/", timeout=10).text
        html = html.replace(" async></script>", f" async {attributes}></script>", 1)
        context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        try:
            page = context.new_page()
            page.goto(url)
            yield page, Widget(page)
        finally:
            context.close()

    def shot(self, page: Page, name: str) -> None:
        if not page.context.pages[0].evaluate("matchMedia('(pointer: coarse)').matches"):
            page.mouse.move(1, 1)  # nothing hovered (the launcher grows under the pointer)
        # Lines fade in: the picture waits for them.
        for frame in page.frames:
            frame.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path))
        self.taken.append(path.name)
        print(path.relative_to(ROOT))

    def chat_id(self, widget: Widget) -> str:
        return widget.chat_id()

    def run(self, theme_base: str) -> None:
        sim = self.sim
        with self.page() as (page, widget):
            expect(widget.launcher).to_be_visible()
            self.shot(page, "01-launcher")
            widget.open()
            expect(widget.chat.get_by_label("First name")).to_be_visible()
            self.shot(page, "02-prechat")
            widget.fill_prechat("Dana", "Designer", "dana@example.com")
            sim.config.join_delay = 60.0  # long enough to see the queue
            try:
                widget.chat.get_by_role("button", name="Start chat").click()
                expect(widget.log).to_contain_text(re.compile("wait", re.I))
                self.shot(page, "03-queue")
            finally:
                sim.config.join_delay = 0.05
        with self.page() as (page, widget):
            widget.open()
            widget.start("Dana")
            widget.say("Hello! Where is my order 1234?")
            expect(widget.agent_bubbles("order 1234")).to_have_count(1)
            self.shot(page, "04-chat")
            widget.say("photo")
            expect(widget.chat.locator(".wc-thumb")).to_be_visible()
            widget.hand_file("attach", "invoice.pdf", "application/pdf", b"%PDF-1.4 gallery")
            expect(widget.agent_bubbles("receipt.txt")).to_have_count(1)
            self.shot(page, "05-files")
            widget.say("survey")
            expect(widget.chat.locator(".wc-card form")).to_be_visible()
            self.shot(page, "06-survey")
        with self.page() as (page, widget):
            widget.open()
            widget.start("Eve")
            widget.say("bye")
            expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_visible()
            self.shot(page, "07-ended")
        sim.config.availability = "notAvailable"
        try:
            with self.page() as (page, widget):
                availability = f"{self.base}/api/availability"
                for _ in range(200):  # the server's availability cache (0.2 s) has seen it
                    if page.request.get(availability).json()["chat"] != "available":
                        break
                widget.open()
                heading = widget.chat.get_by_role("heading", name=re.compile("offline"))
                expect(heading).to_be_visible()
                self.shot(page, "08-offline")
        finally:
            sim.config.availability = "available"
        cutter = Cutter()
        with self.page(cutter=cutter) as (page, widget):
            widget.open()
            widget.start("Rey")
            page.context.set_offline(True)
            cutter.cut()
            expect(widget.chat.locator("#wc-status")).to_have_attribute("data-state", "offline")
            widget.say("typed while offline")
            self.shot(page, "09-reconnecting")
            page.context.set_offline(False)
        with self.page(**PHONE) as (page, widget):
            expect(widget.launcher).to_be_visible()
            self.shot(page, "10-phone-launcher")
            widget.launcher.tap()
            widget.start("Pat")
            widget.say("On my phone")
            expect(widget.agent_bubbles("On my phone")).to_have_count(1)
            self.shot(page, "11-phone-chat")
        with self.page('data-lang="ar"') as (page, widget):
            launcher = page.get_by_role("button", name="دردشة")
            launcher.click()
            widget.chat.get_by_label("الاسم الأول").fill("ليلى")
            widget.chat.get_by_label("البريد الإلكتروني").fill("layla@example.com")
            self.shot(page, "12-arabic-prechat")
            widget.chat.get_by_role("button", name="ابدأ الدردشة").click()
            expect(widget.log).to_contain_text("Hi ليلى")
            box = widget.chat.get_by_role("textbox", name="رسالة")
            box.fill("مرحبا، أين طلبي؟")
            box.press("Enter")
            expect(widget.agent_bubbles("مرحبا")).to_have_count(1)
            self.shot(page, "13-arabic-chat")
        with self.page('data-theme="dark"', color_scheme="dark") as (page, widget):
            widget.open()
            expect(widget.chat.get_by_label("First name")).to_be_visible()
            self.shot(page, "14-dark-prechat")
            widget.start("Nox")
            widget.say("Any news? https://example.com/track")
            expect(widget.agent_bubbles("example.com/track")).to_have_count(1)
            self.shot(page, "15-dark-chat")
        with self.page('data-theme="dark" data-lang="ar"', color_scheme="dark", **PHONE) as (
            page,
            widget,
        ):
            page.get_by_role("button", name="دردشة").tap()
            widget.chat.get_by_label("الاسم الأول").fill("ليلى")
            widget.chat.get_by_role("button", name="ابدأ الدردشة").click()
            expect(widget.log).to_contain_text("Hi ليلى")
            box = widget.chat.get_by_role("textbox", name="رسالة")
            box.fill("مرحبا")
            box.press("Enter")
            expect(widget.agent_bubbles("مرحبا")).to_have_count(1)
            self.shot(page, "18-phone-dark-arabic")
        with self.page('data-color="#10b981"') as (page, widget):
            widget.open()
            widget.start("Gwen")
            chat_id = self.chat_id(widget)
            widget.chat.get_by_role("button", name="Close chat").click()
            expect(widget.launcher).to_have_attribute("aria-expanded", "false")
            sim.agent_say(chat_id, "Good news: your parcel ships today. Anything else I can do?")
            expect(page.locator("[data-webchat] .c")).to_be_visible()
            self.shot(page, "16-brand-colour-preview")
        with self.page(base=theme_base) as (page, widget):
            widget.open()
            widget.start("Acme")
            self.shot(page, "17-theme-acme")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    out = Path(parser.parse_args().out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sim_server = SimulatorServer(Simulator(fast_config())).start()
    servers = [
        ServerProcess(sim_server.base_url, {"AVAILABILITY_TTL": "0.2"}),
        ServerProcess(sim_server.base_url, {"THEME_DIR": str(ROOT / "examples" / "theme-acme")}),
    ]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            gallery = Gallery(browser, sim_server.simulator, servers[0].url, out)
            gallery.run(servers[1].url)
            browser.close()
    finally:
        for server in servers:
            server.stop()
        sim_server.stop()
    print(f"{len(gallery.taken)} pictures in {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
