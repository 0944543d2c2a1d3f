"""A tab the server closed with 1013 (it fell behind) reconnects at once, without showing itself
offline, and resumes from the log: what was said meanwhile arrives once."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.widget import Widget

WATCH_STATES = """() => {
  const status = document.getElementById('wc-status');
  window.seenStates = [];
  new MutationObserver(() => window.seenStates.push(status.dataset.state))
    .observe(status, { attributes: true, attributeFilter: ['data-state'] });
}"""


class Relay:
    """Routes every /ws of a context through the test, so that it can close one as the server
    would."""

    def __init__(self) -> None:
        self.open: list = []

    def handle(self, ws) -> None:
        self.open.append((ws, ws.connect_to_server()))


def test_a_tab_closed_for_falling_behind_resumes_at_once(context, server, sim):
    relay = Relay()
    context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), relay.handle)
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Behind")
    chat_id = widget.chat_id()
    status = widget.chat.locator("#wc-status")
    expect(status).to_have_attribute("data-state", "open")
    widget.frame.evaluate(WATCH_STATES)

    page_side, server_side = relay.open[-1]
    server_side.close()
    page_side.close(code=1013, reason="fell behind")
    sim.agent_say(chat_id, "said while the tab was away")
    expect(widget.agent_bubbles("said while the tab was away")).to_have_count(1)
    expect(status).to_have_attribute("data-state", "open")
    assert len(relay.open) == 2
    assert "offline" not in widget.frame.evaluate("() => window.seenStates")
