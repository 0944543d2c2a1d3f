"""A network cut in the middle of a chat: the socket really closes (the test proxies the page's
WebSocket and kills it, and refuses new ones, while the browser is also offline). Messages typed
meanwhile are kept and sent once; what the agent said meanwhile arrives once, in order."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.widget import Widget


class Cutter:
    """Routes every /ws of a context through the test, so that it can be cut for real."""

    def __init__(self) -> None:
        self.down = False
        self.open: list = []
        self.connections = 0

    def handle(self, ws) -> None:
        if self.down:
            ws.close(code=1011, reason="network down")
            return
        self.connections += 1
        server = ws.connect_to_server()
        self.open.append((ws, server))

    def cut(self) -> None:
        self.down = True
        for ws, server in self.open:
            server.close()
            ws.close(code=1011, reason="network down")
        self.open.clear()


def _client(sim, chat_id: str, name: str) -> list[dict]:
    return [e for e in sim.chat(chat_id).client_events if e["event"] == name]


def test_network_cut_loses_and_doubles_nothing(context, server, sim):
    cutter = Cutter()
    context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), cutter.handle)
    context.watch.allow_network_errors = True
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Cutover")
    chat_id = widget.chat_id()
    widget.say("before the cut")
    expect(widget.agent_bubbles('You said: "before the cut"')).to_have_count(1)
    status = widget.chat.locator("#wc-status")
    expect(status).to_have_attribute("data-state", "open")

    cutter.cut()
    context.set_offline(True)
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_have_text("Connection lost. Reconnecting…")
    widget.shot("05-disconnected")
    # Typed while disconnected: shown as sending, kept.
    widget.say("typed offline 1")
    widget.say("typed offline 2")
    expect(widget.own_bubbles("typed offline 1")).to_have_class(re.compile("wc-msg--pending"))
    # The agent speaks while the visitor is away.
    sim.agent_say(chat_id, "said during the cut A")
    sim.agent_say(chat_id, "said during the cut B")
    # Nothing typed offline has reached the contact center yet: the socket really is down.
    assert all("offline" not in e["msg"] for e in _client(sim, chat_id, "chat_session_message"))

    connections = cutter.connections
    cutter.down = False
    context.set_offline(False)
    expect(status).to_have_attribute("data-state", "open")
    assert cutter.connections > connections
    for text in ("said during the cut A", "said during the cut B"):
        expect(widget.agent_bubbles(text)).to_have_count(1)
    for text in ("typed offline 1", "typed offline 2"):
        expect(widget.own_bubbles(text)).to_have_count(1)
        expect(widget.own_bubbles(text)).not_to_have_class("wc-msg--pending")
        expect(widget.agent_bubbles(f'You said: "{text}"')).to_have_count(1)
    sent = [e["msg"] for e in _client(sim, chat_id, "chat_session_message")]
    assert sent.count("typed offline 1") == 1 and sent.count("typed offline 2") == 1
    assert sent.index("typed offline 1") < sent.index("typed offline 2")
    # Order on screen: what the agent said during the cut comes before the replies.
    texts = widget.chat.locator(".wc-msg .wc-text").all_inner_texts()
    assert texts.index("said during the cut A") < texts.index("said during the cut B")

    # A second cut and a reload while offline messages wait: still once each.
    cutter.cut()
    expect(status).to_have_attribute("data-state", "offline")
    widget.say("typed before reload")
    cutter.down = False
    page.reload()
    expect(widget.own_bubbles("typed before reload")).to_have_count(1)
    expect(widget.agent_bubbles('You said: "typed before reload"')).to_have_count(1)
    sent = [e["msg"] for e in _client(sim, chat_id, "chat_session_message")]
    assert sent.count("typed before reload") == 1
    for text in ("before the cut", "typed offline 1", "typed offline 2"):
        expect(widget.own_bubbles(text)).to_have_count(1)
        expect(widget.agent_bubbles(f'You said: "{text}"')).to_have_count(1)
    expect(widget.agent_bubbles("said during the cut A")).to_have_count(1)


def test_end_chat_transcript_and_new_chat(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    # The host page's own listeners note the events on its body (its CSP forbids eval polling).
    page.evaluate(
        "for (const e of ['open', 'close', 'chatStarted', 'chatEnded']) WebChat.on(e, () => {"
        " document.body.dataset.ev = (document.body.dataset.ev || '') + ' ' + e; }); 0"
    )
    widget.open()
    widget.start("Ender")
    chat_id = widget.chat_id()
    widget.say("one question")
    expect(widget.agent_bubbles('You said: "one question"')).to_have_count(1)
    end = widget.chat.get_by_role("button", name="End chat", exact=True)
    end.click()
    dialog = widget.chat.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="No")).to_be_focused()
    widget.shot("06-end-confirmation")
    page.keyboard.press("Escape")  # closes the dialog only, not the widget
    expect(dialog).to_be_hidden()
    expect(end).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    end.click()
    dialog.get_by_role("button", name="Yes").click()
    expect(widget.log).to_contain_text("You ended the chat.")
    assert sim.wait_for(lambda: sim.chat(chat_id).ended)
    assert _client(sim, chat_id, "chat_session_end")
    expect(widget.message_box).to_be_hidden()
    new = widget.chat.get_by_role("button", name="Start a new chat")
    expect(new).to_be_focused()
    expect(page.locator("body")).to_have_attribute("data-ev", " open chatStarted chatEnded")
    widget.shot("07-ended")
    with page.expect_download() as info:
        widget.chat.get_by_role("button", name="Download transcript").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Hi Ender, I'm Alice. How can I help?" in text
    assert "You: one question" in text
    assert "Alice Martin: You said" in text
    assert info.value.suggested_filename.endswith(".txt")
    new.click()
    # The form keeps what the visitor typed before; focus goes to the first empty field.
    expect(widget.chat.get_by_label("First name")).to_have_value("Ender")
    expect(widget.chat.get_by_label("Email")).to_be_focused()
    widget.start("Again")
    assert widget.chat_id() != chat_id
    expect(widget.log).not_to_contain_text("one question")
