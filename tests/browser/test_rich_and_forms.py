"""In Chromium: an agent's markup drawn as its safe subset (bold, italic, lists, links) while
the usual XSS payloads run nothing; a form without a name answered by the next message; a
`completed` status that is no end; the service's name in the header; a chat gone after
inactivity worded so; typing previews only when the server allows them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Widget, axe_violations
from tests.harness import ServerProcess
from tests.test_richtext import PAYLOADS
from webchat.simulator import model

RICH = (
    "<p>Your order <b>#1042</b> is <i>on its way</i>.</p>"
    "<ul><li>Track it online</li><li>Change the <strong>delivery</strong> day</li></ul>"
    '<p>More: <a href="https://help.example/orders">order help</a></p>'
)
# Payloads that would set a flag, in the frame or its parent, if any of them ever ran.
FLAGGING = [
    '<img src=x onerror="window.pwned=1;parent.pwned=1">',
    '<svg onload="window.pwned=1"></svg>',
    '<a href="javascript:window.pwned=1" id="jslink">tap me</a>',
    '<iframe srcdoc="<script>parent.pwned=1</script>"></iframe>',
    '<noscript><p title="</noscript><img src=x onerror=window.pwned=1>">',
    '<details open ontoggle="window.pwned=1">x</details>',
    "<b>still <i>unclosed",
]
CSP = "script-src 'self'"


def _chat(context, server):
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    widget = Widget(page)
    response = page.goto(server.url + "/")
    assert response is not None
    widget.open()
    return page, widget, dialogs


def _nothing_ran(page, widget, dialogs) -> None:
    assert dialogs == []
    assert page.evaluate("window.pwned") is None
    assert widget.frame.evaluate("window.pwned") is None
    found = widget.frame.evaluate(
        """() => {
            const log = document.getElementById('wc-transcript');
            const bad = [...log.querySelectorAll('.wc-text :is(script, style, iframe, img, svg, '
                + 'object, embed, form, noscript, template, details, input, button)')]
                .map((n) => n.outerHTML);
            for (const node of log.querySelectorAll('.wc-text *')) {
                for (const {name} of node.attributes) {
                    if (/^on|^style$|^src/.test(name)) bad.push(`${node.tagName} ${name}`);
                }
            }
            const links = [...log.querySelectorAll('.wc-text a[href]')].map((a) =>
                [a.href, a.rel, a.target, a.closest("div.wc-text") !== null]);
            return {bad, links};
        }"""
    )
    assert found["bad"] == []
    for href, rel, target, rich in found["links"]:  # rich: the sanitiser's, else linkified
        assert href.startswith(("https://", "http://")), href
        assert target == "_blank" and {"noopener", "noreferrer"} <= set(rel.split())
        assert not rich or rel == "noopener noreferrer nofollow"


def test_an_agents_rich_message_is_drawn_safely(context, server, sim):
    page, widget, dialogs = _chat(context, server)
    csp = page.request.get(server.url + "/chat").headers["content-security-policy"]
    assert CSP in csp and "unsafe" not in csp  # as strict as it was
    widget.start("Rich")
    chat_id = widget.chat_id()
    sim.agent_say(chat_id, RICH)
    bubble = widget.agent_bubbles("is on its way")
    expect(bubble).to_have_count(1)
    expect(bubble.locator("b")).to_have_text("#1042")
    expect(bubble.locator("i")).to_have_text("on its way")
    expect(bubble.get_by_role("listitem")).to_have_count(2)
    link = bubble.get_by_role("link", name="order help")
    expect(link).to_have_attribute("href", "https://help.example/orders")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    # What the visitor types stays text, markup and all.
    widget.say("<b>not bold</b>")
    expect(widget.own_bubbles("<b>not bold</b>")).to_have_count(1)
    expect(widget.own_bubbles("<b>not bold</b>").locator("b")).to_have_count(0)
    widget.shot("rich-message-desktop")
    assert axe_violations(widget.frame) == []
    for payload in [*FLAGGING, *PAYLOADS]:
        sim.agent_say(chat_id, payload)
    sim.agent_say(chat_id, "That was all.")
    expect(widget.agent_bubbles("That was all.")).to_have_count(1)
    expect(widget.agent_bubbles("tap me").get_by_role("link")).to_have_count(0)
    expect(widget.agent_bubbles("still unclosed").locator("b i")).to_have_text("unclosed")
    widget.agent_bubbles("tap me").locator("a").click()  # a link no more: nothing happens
    _nothing_ran(page, widget, dialogs)
    # A reload draws it all again from the log, as safely.
    page.reload()
    widget.open()
    expect(widget.agent_bubbles("That was all.")).to_have_count(1)
    expect(widget.agent_bubbles("is on its way").get_by_role("listitem")).to_have_count(2)
    _nothing_ran(page, widget, dialogs)


def test_a_rich_message_on_a_phone(make_context, server, sim):
    context = make_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page, widget, dialogs = _chat(context, server)
    widget.start("Phone")
    sim.agent_say(widget.chat_id(), RICH)
    bubble = widget.agent_bubbles("is on its way")
    expect(bubble.get_by_role("listitem")).to_have_count(2)
    box = bubble.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    widget.shot("rich-message-phone")
    assert axe_violations(widget.frame) == []
    _nothing_ran(page, widget, dialogs)


def test_a_form_without_a_name_is_answered_by_the_next_message(context, server, sim):
    page, widget, _ = _chat(context, server)
    widget.start("Texty")
    chat_id = widget.chat_id()
    sim.emit(sim.chat(chat_id), model.form_show("31", ""))
    sim.agent_say(chat_id, "What is your order number?")
    expect(widget.agent_bubbles("What is your order number?")).to_have_count(1)
    expect(widget.chat.locator(".wc-card")).to_have_count(0)  # no form: the chat answers it
    widget.say("1042")
    expected = {
        "event": "chat_session_form_data",
        "form_request_id": "31",
        "form_name": "",
        "data": {"text": "1042"},
    }

    def answers() -> list[dict]:
        events = sim.chat(chat_id).client_events
        return [e for e in events if e["event"] == "chat_session_form_data"]

    def sent() -> list[dict]:
        return [e for e in sim.chat(chat_id).client_events if e.get("msg") == "1042"]

    assert sim.wait_for(lambda: answers() == [expected] and sent())
    # A message too, posted after the answer, as Bright Pattern's client does.
    events = sim.chat(chat_id).client_events
    assert events.index(answers()[0]) < events.index(sent()[0])
    expect(widget.own_bubbles("1042")).to_have_count(1)
    # Answered once: neither the next message nor a reload's replay answers it again.
    page.reload()
    widget.open()
    expect(widget.own_bubbles("1042")).to_have_count(1)
    widget.say("second")
    expect(widget.agent_bubbles('You said: "second"')).to_have_count(1)
    assert answers() == [expected]


def test_completed_is_no_end_and_the_service_is_named(context, server, sim):
    page, widget, _ = _chat(context, server)
    widget.start("Served")
    chat = sim.chat(widget.chat_id())
    service = widget.chat.locator("#wc-service")
    expect(service).to_be_hidden()
    sim.emit(chat, {"event": "chat_session_info", "service_name": "Order Care <b>"})
    expect(service).to_have_text("Order Care <b>")  # text, in the header, under the title
    expect(service).to_be_visible()
    sim.emit(chat, {"event": "chat_session_status", "state": "completed"})
    # Forms' code loads with the first form, not with the page.
    loaded = "performance.getEntriesByType('resource').some((r) => r.name.endsWith('/forms.js'))"
    assert widget.frame.evaluate(loaded) is False
    sim.emit(chat, model.form_show("40", "survey"))
    expect(widget.chat.get_by_role("form", name="How did we do?")).to_be_visible()
    assert widget.frame.evaluate(loaded) is True
    expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_hidden()
    expect(widget.log).not_to_contain_text("The chat has ended.")
    widget.shot("service-name-and-survey-after-completed")
    assert axe_violations(widget.frame) == []
    with sim.lock:
        sim.agent.end(chat)
    expect(widget.log).to_contain_text("The chat has ended.")
    expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_visible()
    # A new chat names its own service, if any: the old name goes.
    widget.chat.get_by_role("button", name="Start a new chat").click()
    expect(service).to_be_hidden()


def test_a_chat_gone_after_inactivity_says_so(context, server, sim):
    page, widget, _ = _chat(context, server)
    widget.start("Idle")
    chat = sim.chat(widget.chat_id())
    with sim.lock:
        sim.end_chat(chat)  # forgotten upstream with no event: the next poll gets 5005
    expect(widget.log).to_contain_text("The chat ended because of inactivity.")
    expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_visible()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_inactivity_wording_is_translated(context, server, lang):
    page = context.new_page()
    page.goto(f"{server.url}/chat?lang={lang}")
    said = page.evaluate(
        """async () => (await import('/static/chat/i18n.js')).t('chat.inactivity')"""
    )
    assert said and said != "chat.inactivity" and "inactivity" not in said


@pytest.fixture(scope="module")
def preview_server(sim_server):
    process = ServerProcess(sim_server.base_url, {"TYPING_PREVIEW": "true"})
    yield process
    process.stop()


def _drafts(sim, chat_id: str) -> list:
    events = sim.chat(chat_id).client_events
    return [e.get("msg") for e in events if e["event"] == "chat_session_typing"]


def test_typing_previews_only_when_the_server_allows_them(context, server, preview_server, sim):
    for base, previews in ((server.url, False), (preview_server.url, True)):
        page = context.new_page()
        widget = Widget(page)
        page.goto(base + "/")
        widget.open()
        widget.start("Draft")
        chat_id = widget.chat_id()
        widget.message_box.press_sequentially("Where is")
        assert sim.wait_for(lambda chat_id=chat_id: _drafts(sim, chat_id))
        widget.message_box.fill("")  # emptied: typing stops
        assert sim.wait_for(
            lambda chat_id=chat_id: any(
                e["event"] == "chat_session_not_typing" for e in sim.chat(chat_id).client_events
            )
        )
        widget.message_box.press_sequentially("Hi")
        assert sim.wait_for(lambda chat_id=chat_id: len(_drafts(sim, chat_id)) == 2)
        # One notice per start of typing, not one per keystroke; the draft only with previews.
        assert _drafts(sim, chat_id) == (["W", "H"] if previews else [None, None])
        page.close()


def test_a_rich_message_and_the_service_name_at_200_percent_zoom(make_context, server, sim):
    """A 1280 x 800 screen at 200 %: 640 x 400 CSS pixels."""
    context = make_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page, widget, dialogs = _chat(context, server)
    widget.start("Zoomed")
    chat = sim.chat(widget.chat_id())
    sim.emit(chat, {"event": "chat_session_info", "service_name": "Order Care"})
    sim.agent_say(widget.chat_id(), RICH)
    bubble = widget.agent_bubbles("is on its way")
    expect(bubble.get_by_role("listitem")).to_have_count(2)
    expect(widget.chat.locator("#wc-service")).to_have_text("Order Care")
    bubble.scroll_into_view_if_needed()
    frame_width = widget.frame.evaluate("document.documentElement.clientWidth")
    box = widget.frame.evaluate("(n) => n.getBoundingClientRect().right", bubble.element_handle())
    assert box <= frame_width  # nothing cut off or scrolled sideways
    widget.shot("rich-message-zoom-200")
    assert axe_violations(widget.frame) == []
    _nothing_ran(page, widget, dialogs)


def test_a_form_keeps_its_place_among_the_messages_after_a_reload(context, server, sim):
    """The form's code and markup load after the page's: its card's place is kept meanwhile,
    so a reload replays the log with the form where it was asked, above what came later."""
    page, widget, _ = _chat(context, server)
    widget.start("Placed")
    chat = sim.chat(widget.chat_id())
    sim.emit(chat, model.form_show("41", "survey"))
    expect(widget.chat.get_by_role("form", name="How did we do?")).to_be_visible()
    sim.agent_say(chat.chat_id, "after the form")
    expect(widget.agent_bubbles("after the form")).to_have_count(1)
    page.reload()
    expect(widget.chat.get_by_role("form", name="How did we do?")).to_be_visible()
    expect(widget.agent_bubbles("after the form")).to_have_count(1)
    order = widget.frame.evaluate(
        """() => {
            const log = document.getElementById('wc-transcript');
            const form = log.querySelector('form.wc-form');
            const later = [...log.querySelectorAll('.wc-text')]
                .find((n) => n.textContent.includes('after the form'));
            return !!(form.compareDocumentPosition(later) & Node.DOCUMENT_POSITION_FOLLOWING);
        }"""
    )
    assert order, "the form was drawn below a message that came after it"
    assert widget.frame.evaluate("document.querySelectorAll('.wc-card[hidden]').length") == 0
