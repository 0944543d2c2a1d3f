"""A server that holds its ceiling of sockets (WS_MAX_OPEN) closes a new one with 4029: the
widget says it is busy and retrying, asks again with backoff rather than at once, and connects
when a socket frees up."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Widget, host_page
from tests.harness import ServerProcess, Visitor

# Every socket the chat frame opens, with when it was opened (ms since the frame loaded).
COUNT_SOCKETS = """(() => {
  const Real = window.WebSocket;
  window.socketsOpenedAt = [];
  window.WebSocket = class extends Real {
    constructor(...args) { super(...args); window.socketsOpenedAt.push(performance.now()); }
  };
})();"""
BUSY_MIN_SECONDS = 2.0 * 0.75  # connection.js: busy retries wait 2 s and more, minus jitter


@pytest.fixture
def full_server(sim_server):
    process = ServerProcess(sim_server.base_url, {"WS_MAX_OPEN": "1"})
    yield process
    process.stop()


def test_busy_server_shows_busy_then_connects_when_room_frees(context, full_server, sim):
    holder = Visitor(full_server.url)  # another visitor holds the only socket
    try:
        tab = holder.tab()
        tab.hello()
        context.add_init_script(COUNT_SOCKETS)
        page = context.new_page()
        widget = Widget(page)
        page.goto(full_server.url + "/")
        widget.open()
        status = widget.chat.locator("#wc-status")
        expect(status).to_have_attribute("data-state", "busy")
        expect(status).to_have_text("Busy, retrying…")
        widget.shot("busy")
        # Coming back online or to the tab does not cut the busy wait short.
        widget.frame.evaluate(
            "() => { dispatchEvent(new Event('online'));"
            " document.dispatchEvent(new Event('visibilitychange')); }"
        )
        # Refused twice: the second try came after a busy wait, not at once.
        widget.frame.wait_for_function("() => window.socketsOpenedAt.length >= 2")
        expect(status).to_have_attribute("data-state", "busy")

        tab.close()
        expect(status).to_have_attribute("data-state", "open", timeout=15_000)
        expect(widget.chat.get_by_role("button", name="Start chat")).to_be_visible()
        opened = widget.frame.evaluate("() => window.socketsOpenedAt")
        gaps = [(b - a) / 1000 for a, b in zip(opened, opened[1:], strict=False)]
        assert len(opened) >= 3 and all(gap >= BUSY_MIN_SECONDS for gap in gaps), gaps
        widget.start("Patient")
    finally:
        holder.close()


def test_busy_on_a_phone_in_arabic_reads_whole(make_context, full_server, sim):
    """The busy state where space is tightest: a phone, right to left."""
    holder = Visitor(full_server.url)
    try:
        holder.tab().hello()
        context = make_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
            device_scale_factor=2,
        )
        url = full_server.url + "/host-ar"
        html = host_page(full_server.url, 'data-lang="ar"')
        context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        page = context.new_page()
        widget = Widget(page)
        page.goto(url)
        widget.launcher.tap()
        status = widget.chat.locator("#wc-status")
        expect(status).to_have_attribute("data-state", "busy")
        text = status.text_content() or ""
        assert text and "Busy" not in text  # the Arabic string, not the English fallback
        # The whole status fits in its line: nothing of it is cut off.
        assert status.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        widget.shot("busy-phone-arabic")
    finally:
        holder.close()
