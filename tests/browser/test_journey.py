"""The visitor's whole journey in Chromium: embed, launcher, pre-chat, chat, files both ways,
reload, a second tab, a network cut, and the end with its transcript and a new chat."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.widget import TINY_PNG, Widget
from webchat.simulator import model


def _kinds(sim, chat_id: str, start: int = 0) -> list[str]:
    return [e["event"] for e in sim.chat(chat_id).client_events[start:]]


def test_embed_launcher_prechat_chat_files_reload_tabs(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    # The launcher alone: the chat iframe is not loaded before it is wanted.
    expect(widget.launcher).to_be_visible()
    assert page.locator("iframe").count() == 0
    assert page.evaluate("Object.keys(window.WebChat).sort().join()") == (
        "close,on,open,setParameters,toggle"
    )
    widget.shot("01-host-page-launcher")
    page.evaluate("window.__events = []; for (const e of ['open','close','message','unread',"
                  "'chatStarted','chatEnded']) WebChat.on(e, () => __events.push(e)); 0")
    widget.open()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    first = widget.chat.get_by_label("First name")
    expect(first).to_be_focused()
    # Validation: a bad email is refused with a message next to the field.
    widget.fill_prechat("Journey", email="not-an-email")
    widget.chat.get_by_role("button", name="Start chat").click()
    expect(widget.chat.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(widget.chat.get_by_label("Email")).to_be_focused()
    widget.shot("02-prechat-validation")
    widget.chat.get_by_label("Email").fill("journey@example.com")
    widget.chat.get_by_role("button", name="Start chat").click()
    expect(widget.log).to_contain_text("Waiting for an agent")
    expect(widget.log).to_contain_text("Alice Martin joined the chat")
    expect(widget.log).to_contain_text("Hi Journey")
    expect(widget.chat.locator("#wc-status")).to_contain_text("Chatting with Alice Martin")
    expect(widget.chat.locator("#wc-agent-photo")).to_be_visible()
    chat_id = widget.chat_id()
    assert sim.chat(chat_id).request_body["parameters"]["email"] == "journey@example.com"
    # The chat starting told the agent which host page the visitor is on.
    navigation = [e for e in sim.chat(chat_id).client_events
                  if e["event"] == "chat_session_navigation"]
    assert navigation and navigation[0]["page"] == server.url + "/"
    assert navigation[0]["title"] == "Home — Example Co."

    # Messages: the visitor's and the agent's, with times (one on each group of messages);
    # text stays text; links are links.
    widget.say('Hello <b>there</b>\nsee https://example.com/x?a=1.')
    own = widget.own_bubbles("Hello <b>there</b>")
    expect(own).to_have_count(1)
    group = widget.chat.locator(".wc-group", has=own)
    expect(group.locator(".wc-meta time")).to_have_count(1)
    expect(own.locator("b")).to_have_count(0)
    expect(own.locator(".wc-text")).to_have_text('Hello <b>there</b>\nsee https://example.com/x?a=1.')
    link = own.get_by_role("link", name="https://example.com/x?a=1")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(widget.agent_bubbles("You said")).to_have_count(1)
    reply = widget.chat.locator(".wc-group", has=widget.agent_bubbles("You said"))
    expect(reply.locator(".wc-meta time")).to_have_count(1)
    assert page.evaluate("__events").count("chatStarted") == 1

    # Typing notices reach the agent, debounced: one "typing" for many keystrokes, then
    # "not typing" when the message is sent.
    before = len(sim.chat(chat_id).client_events)
    widget.message_box.press_sequentially("abc def", delay=30)
    widget.message_box.press("Enter")
    expect(widget.own_bubbles("abc def")).to_have_count(1)
    assert sim.wait_for(lambda: "chat_session_not_typing" in _kinds(sim, chat_id, before))
    kinds = _kinds(sim, chat_id, before)
    assert kinds.count("chat_session_typing") == 1, kinds
    assert kinds.index("chat_session_typing") < kinds.index("chat_session_not_typing")

    # The agent types: the visitor sees it, and no longer when the agent stops. First the
    # scripted agent's own answer to "abc def" and its "not typing" after it, which would
    # otherwise end the typing below.
    chat = sim.chat(chat_id)
    expect(widget.agent_bubbles('You said: "abc def"')).to_have_count(1)
    assert sim.wait_for(lambda: chat.events[-1]["event"] == "chat_session_not_typing")
    with sim.lock:
        sim.emit(chat, model.typing(chat.agent_party_id, True))
    expect(widget.chat.locator("#wc-typing")).to_have_text("Alice Martin is typing…")
    with sim.lock:
        sim.emit(chat, model.typing(chat.agent_party_id, False))
    expect(widget.chat.locator("#wc-typing")).to_have_text("")

    # Files, the visitor's: attach, progress, the server shares it, the agent answers.
    widget.chat.get_by_label("Attach file").set_input_files(
        files=[{"name": "pixel.png", "mimeType": "image/png", "buffer": TINY_PNG}]
    )
    own_file = widget.chat.locator(".wc-msg--own .wc-file")
    expect(own_file.get_by_role("link", name="Download pixel.png")).to_be_visible()
    expect(widget.log).to_contain_text('I received "pixel.png"')
    expect(widget.chat.get_by_role("link", name="Download receipt.txt")).to_be_visible()
    # A file of a type we do not send never leaves the browser.
    widget.chat.get_by_label("Attach file").set_input_files(
        files=[{"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    expect(widget.log).to_contain_text("“tool.exe” was not sent")
    # Files, the agent's: an image with a thumbnail and a download link.
    widget.say("photo")
    thumb = widget.chat.locator(".wc-msg--agent img.wc-thumb")
    expect(thumb).to_be_visible()
    expect(widget.chat.get_by_role("link", name="Download photo.png")).to_be_visible()
    href = widget.chat.get_by_role("link", name="Download photo.png").get_attribute("href")
    assert page.request.get(server.url + href).status == 200
    assert widget.frame.evaluate(
        "() => document.querySelector('.wc-msg--agent img.wc-thumb').naturalWidth"
    ) > 0
    widget.shot("03-chat-with-files")

    # A reload shows the same chat, whole, and does not double anything.
    page.reload()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")  # it was open
    expect(widget.log).to_contain_text("Hi Journey")
    expect(widget.agent_bubbles("Here is a photo for you.")).to_have_count(1)
    expect(widget.own_bubbles("abc")).to_have_count(1)
    # The reloaded host page was announced once more only if it is another page: it is not.
    assert len([e for e in sim.chat(chat_id).client_events
                if e["event"] == "chat_session_navigation"]) == 1

    # Another page of the host site: the chat goes on there, and the agent learns of the page.
    page.get_by_role("link", name="Help").click()
    expect(page).to_have_title(re.compile("Help"))
    expect(widget.log).to_contain_text("Hi Journey")

    # A second tab of the same visitor shows the same chat and stays in sync.
    other = Widget(context.new_page())
    other.page.goto(server.url + "/")
    other.open()  # the chat is active: its iframe was already loaded
    expect(other.log).to_contain_text("Hi Journey")
    expect(other.agent_bubbles("Here is a photo for you.")).to_have_count(1)
    other.say("from the second tab")
    expect(widget.own_bubbles("from the second tab")).to_have_count(1)
    expect(widget.agent_bubbles('You said: "from the second tab"')).to_have_count(1)
    expect(other.agent_bubbles('You said: "from the second tab"')).to_have_count(1)
    other.shot("04-second-tab")
    other.page.close()

    navs = [e for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_navigation"]
    assert [(n["page"], n["title"]) for n in navs] == [
        (server.url + "/", "Home — Example Co."),
        (server.url + "/demo/help", "Help — Example Co."),
        (server.url + "/", "Home — Example Co."),  # opened in the second tab
    ]
