"""The chat frame's layout where space is short or things move: a form from the agent, a reload
of a long chat, a phone's keyboard, the message box (its height, its limit), touch targets, and
zoom to 200 and 400 % (WCAG 1.4.10 reflow). The page itself never scrolls: only the messages do."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Widget, axe_violations
from tests.harness import ServerProcess, Visitor

PHONE = {
    "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
    "device_scale_factor": 2,
}

# Where things stand in the chat frame: the page's own scroll, the header and the composer.
FRAME_STATE = """() => {
    const box = (sel) => document.querySelector(sel).getBoundingClientRect();
    return {
        scrolled: document.scrollingElement.scrollTop + document.scrollingElement.scrollLeft
            + window.scrollY + window.scrollX + document.body.scrollTop,
        headerTop: box('.wc-header').top,
        footerBottom: box('.wc-footer').bottom,
        height: window.innerHeight,
        wide: document.scrollingElement.scrollWidth - window.innerWidth,
        tall: document.scrollingElement.scrollHeight - window.innerHeight,
    };
}"""

# The newest message is whole in the transcript's visible part.
NEWEST_IN_VIEW = """() => {
    const log = document.getElementById('wc-transcript');
    const last = [...log.querySelectorAll('.wc-msg')].pop();
    if (!last) return false;
    const [l, m] = [log.getBoundingClientRect(), last.getBoundingClientRect()];
    return m.bottom <= l.bottom + 1 && m.top >= l.top - 1 && l.height > 0;
}"""

# Whether the message box's placeholder fits on its one line.
PLACEHOLDER_FITS = """(box) => {
    const style = getComputedStyle(box);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return ctx.measureText(box.placeholder).width <= room;
}"""


def _chat(context, server, name: str) -> Widget:
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start(name)
    return widget


def _exchange(widget: Widget, count: int, text: str = "Message") -> None:
    for i in range(count):
        widget.say(f"{text} {i}")
        expect(widget.agent_bubbles(f'You said: "{text} {i}"')).to_have_count(1)


def _assert_page_still(widget: Widget, where: str) -> None:
    state = widget.frame.evaluate(FRAME_STATE)
    assert state["scrolled"] == 0, f"{where}: the chat page scrolled: {state}"
    assert state["headerTop"] == 0, f"{where}: the header moved: {state}"
    assert state["footerBottom"] <= state["height"] + 0.5, f"{where}: the footer is cut: {state}"
    assert state["wide"] <= 0, f"{where}: the page scrolls sideways: {state}"
    assert state["tall"] <= 0, f"{where}: the page has something to scroll: {state}"


def _settle(widget: Widget) -> None:
    """The frame's entrance animations are over (a moving element lays out differently)."""
    widget.frame.wait_for_function(
        "() => document.getAnimations().every((a) => a.playState !== 'running')"
    )


def _shot(widget: Widget, name: str) -> None:
    _settle(widget)
    widget.shot(name)


def _assert_accessible(widget: Widget, where: str) -> None:
    violations = axe_violations(widget.frame)
    assert violations == [], f"{where}: {violations}"


def test_a_form_from_the_agent_scrolls_the_messages_not_the_page(context, server, sim):
    widget = _chat(context, server, "Surveyed")
    _exchange(widget, 4)
    widget.say("survey")
    form = widget.chat.get_by_role("form", name="How did we do?")
    first = form.get_by_role("radio").first
    expect(first).to_be_focused()
    _settle(widget)
    _assert_page_still(widget, "survey shown")
    expect(form.locator("label", has_text="1")).to_be_in_viewport(ratio=1)
    expect(form.get_by_role("heading", name="How did we do?")).to_be_in_viewport(ratio=1)
    # The keyboard through the rating and on to the comment: the page stays where it is.
    page = widget.page
    page.keyboard.press("ArrowRight")
    expect(form.get_by_role("radio", name="2")).to_be_checked()
    _assert_page_still(widget, "arrow on the rating")
    page.keyboard.press("Tab")
    expect(form.get_by_label("Anything else")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    _assert_page_still(widget, "tabbing through the survey")
    expect(widget.chat.locator(".wc-header")).to_be_in_viewport()
    expect(widget.message_box).to_be_in_viewport()
    _shot(widget, "layout-survey")
    _assert_accessible(widget, "survey")
    # The wheel over the messages scrolls them, never the page.
    widget.log.hover()
    page.mouse.wheel(0, -2000)
    widget.frame.wait_for_function("() => document.getElementById('wc-transcript').scrollTop < 300")
    _assert_page_still(widget, "wheel")


@pytest.fixture
def survey_server(sim_server):
    """Our app with the post-chat survey on: End chat lets the scenario show its survey."""
    process = ServerProcess(sim_server.base_url, {"POST_CHAT_SURVEY": "true"})
    yield process
    process.stop()


def test_the_survey_after_end_chat_keeps_the_page_still(context, survey_server, sim):
    widget = _chat(context, survey_server, "Ending")
    _exchange(widget, 4)
    widget.chat.get_by_role("button", name="End chat", exact=True).click()
    widget.chat.get_by_role("dialog").get_by_role("button", name="Yes").click()
    form = widget.chat.get_by_role("form", name="How did we do?")
    expect(form).to_be_visible()
    _settle(widget)
    _assert_page_still(widget, "survey after End chat shown")
    form.get_by_role("radio").first.focus()
    widget.page.keyboard.press("ArrowRight")
    widget.page.keyboard.press("Tab")
    _assert_page_still(widget, "survey after End chat")
    expect(widget.chat.locator(".wc-header")).to_be_in_viewport()
    expect(form.get_by_label("Anything else")).to_be_in_viewport()
    _shot(widget, "layout-survey-after-end")
    _assert_accessible(widget, "survey after End chat")


def test_a_reload_lands_on_the_newest_message(context, server, sim):
    widget = _chat(context, server, "Reloaded")
    _exchange(widget, 15)
    widget.page.reload()
    expect(widget.agent_bubbles('You said: "Message 14"')).to_have_count(1)
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)
    expect(widget.agent_bubbles('You said: "Message 14"')).to_be_in_viewport()
    # Another page of the host site: the same.
    widget.page.get_by_role("link", name="Help").click()
    expect(widget.agent_bubbles('You said: "Message 14"')).to_have_count(1)
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)
    _shot(widget, "layout-reloaded")


def test_the_phone_keyboard_keeps_the_newest_message_in_view(make_context, server, sim):
    context = make_context(**PHONE)
    widget = _chat(context, server, "Thumbs")
    _exchange(widget, 6)
    widget.message_box.tap()
    expect(widget.message_box).to_be_focused()
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)
    # The on-screen keyboard takes the lower part of the screen (emulated: a shorter viewport).
    widget.page.set_viewport_size({"width": 390, "height": 500})
    widget.frame.wait_for_function("() => window.innerHeight <= 500")
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)
    _assert_page_still(widget, "keyboard up")
    last = widget.chat.locator(".wc-msg").last.bounding_box()
    composer = widget.message_box.bounding_box()
    assert 0 <= composer["y"] - (last["y"] + last["height"]) <= 80  # just above the composer
    _shot(widget, "layout-phone-keyboard")
    # A message sent with the keyboard up shows, and so does the answer.
    widget.say("Still here")
    expect(widget.agent_bubbles('You said: "Still here"')).to_have_count(1)
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)
    widget.page.set_viewport_size({"width": 390, "height": 844})
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)


def test_the_message_box_has_room_and_a_steady_height(context, server, sim):
    widget = _chat(context, server, "Roomy")
    box = widget.message_box
    assert box.evaluate(PLACEHOLDER_FITS), "the placeholder wraps or is cut"
    height = box.bounding_box()["height"]
    widget.say("Hello")
    expect(widget.own_bubbles("Hello")).to_have_count(1)
    assert box.bounding_box()["height"] == height
    # It grows with what is typed, and goes back to one line once sent.
    box.fill("one\ntwo\nthree")
    box.dispatch_event("input")
    assert box.bounding_box()["height"] > height + 30
    assert box.evaluate("e => e.scrollHeight <= e.clientHeight")  # all three lines show
    box.press("Enter")
    expect(widget.own_bubbles("three")).to_have_count(1)
    assert box.bounding_box()["height"] == height
    assert box.evaluate(PLACEHOLDER_FITS)


def test_a_long_message_is_counted_and_never_cut(context, server, sim):
    """The test server allows 2,000 characters (tests/harness.py)."""
    widget = _chat(context, server, "Verbose")
    chat_id = widget.chat_id()
    box = widget.message_box
    count = widget.chat.locator("#wc-count")
    note = widget.chat.locator("#wc-limit-note")
    box.focus()
    widget.page.keyboard.insert_text("a" * 1700)
    expect(count).to_have_text("")
    widget.page.keyboard.insert_text("a" * 150)
    expect(count).to_have_text("1,850 / 2,000")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    # A paste past the limit is kept whole; the counter and a note say it is too long.
    widget.page.keyboard.insert_text("b" * 650)
    assert box.evaluate("e => e.value.length") == 2500
    expect(count).to_have_text("2,500 / 2,000")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(note).to_have_text("Too long to send: at most 2,000 characters.")
    assert set(box.get_attribute("aria-describedby").split()) >= {"wc-count", "wc-limit-note"}
    assert note.get_attribute("aria-live") == "polite"
    color = count.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(179, 38, 30)", color  # --wc-danger
    _shot(widget, "layout-too-long")
    _assert_accessible(widget, "too long")
    before = len(sim.chat(chat_id).client_events)
    box.press("Enter")
    expect(note).to_have_text("Not sent: 500 characters too many. Shorten your message to 2,000.")
    expect(widget.chat.locator(".wc-msg--own")).to_have_count(0)
    assert box.evaluate("e => e.value.length") == 2500
    expect(box).to_be_focused()
    # Shortened to the limit: it goes, and the counter and the note go too.
    box.fill("c" * 2000)
    box.dispatch_event("input")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(note).to_have_text("")
    box.press("Enter")
    expect(widget.own_bubbles("c" * 2000)).to_have_count(1)
    expect(count).to_have_text("")
    assert sim.wait_for(lambda: any(
        e["event"] == "chat_session_message" and e["msg"] == "c" * 2000
        for e in sim.chat(chat_id).client_events[before:]
    ))
    assert not any(
        len(e.get("msg", "")) > 2000 for e in sim.chat(chat_id).client_events[before:]
    )


# Every visible control in the chat frame that is pressed: its size.
TARGETS = """() => [...document.querySelectorAll(
        'button, label.wc-icon-button, .wc-rating-options label, [role=button]')]
    .filter((e) => e.getClientRects().length && !e.closest('.wc-visually-hidden'))
    .map((e) => { const r = e.getBoundingClientRect();
                  return [e.id || e.textContent.trim().slice(0, 20), r.width, r.height]; })"""


def _small_targets(widget: Widget) -> list:
    return [t for t in widget.frame.evaluate(TARGETS) if min(t[1], t[2]) < 43.9]  # 44, rounded


def test_touch_targets_are_44_px_on_a_phone(make_context, server, sim):
    context = make_context(**PHONE)
    widget = _chat(context, server, "Fingers")
    assert widget.frame.evaluate(TARGETS), "no controls found"
    assert _small_targets(widget) == []
    widget.chat.get_by_role("button", name="End chat", exact=True).tap()
    expect(widget.chat.get_by_role("dialog")).to_be_visible()
    assert _small_targets(widget) == []
    widget.chat.get_by_role("dialog").get_by_role("button", name="No").tap()
    widget.say("survey")
    form = widget.chat.get_by_role("form", name="How did we do?")
    expect(form).to_be_visible()
    assert _small_targets(widget) == []
    _shot(widget, "layout-phone-survey")
    _assert_accessible(widget, "phone survey")


def test_desktop_controls_stay_compact(context, server, sim):
    widget = _chat(context, server, "Mouse")
    sizes = {t[0]: t for t in widget.frame.evaluate(TARGETS)}
    assert sizes["wc-end"][2] <= 36 and sizes["wc-sound"][2] <= 40, sizes


@pytest.mark.parametrize(
    ("zoom", "viewport", "least"),
    [(200, {"width": 640, "height": 400}, 180), (400, {"width": 320, "height": 256}, 110)],
)
def test_zoomed_in_the_chat_stays_usable(make_context, server, sim, zoom, viewport, least):
    """A 1280 × 800 (1,024) screen zoomed to 200 % (400 %) is a 640 × 400 (320 × 256) CSS px
    viewport at 2 (4) device pixels per CSS pixel."""
    context = make_context(viewport=viewport, device_scale_factor=zoom // 100)
    widget = _chat(context, server, "Zoomed")
    _exchange(widget, 3, "A message long enough to wrap once or twice at this zoom")
    log = widget.chat.locator("#wc-transcript")
    assert log.evaluate("e => e.clientHeight") >= least
    # The header is one row of controls: the title gives way (it stays for screen readers),
    # and the status, in at most two short lines, fits that row whole.
    header = widget.frame.evaluate("""() => {
        const box = (sel) => document.querySelector(sel).getBoundingClientRect();
        const status = document.getElementById('wc-status');
        return {header: box('.wc-header').height, text: box('.wc-header-text').height,
                title: box('.wc-title').height,
                whole: status.scrollHeight <= status.clientHeight + 1};
    }""")
    assert header["header"] <= 48 and header["text"] <= 40 and header["title"] <= 30, header
    assert header["whole"], header
    assert log.evaluate("e => e.scrollWidth <= e.clientWidth")
    _assert_page_still(widget, f"{zoom} %")
    assert widget.message_box.evaluate(PLACEHOLDER_FITS)
    widget.frame.wait_for_function(NEWEST_IN_VIEW, timeout=3000)
    _shot(widget, f"layout-zoom-{zoom}")
    _assert_accessible(widget, f"chat at {zoom} %")
    # Too long: the counter and the note fit, and so does the composer.
    widget.message_box.focus()
    widget.page.keyboard.insert_text("x" * 2100)
    expect(widget.chat.locator("#wc-count")).to_have_text("2,100 / 2,000")
    _assert_page_still(widget, f"too long at {zoom} %")
    assert log.evaluate("e => e.clientHeight") >= 60
    _shot(widget, f"layout-zoom-{zoom}-too-long")
    _assert_accessible(widget, f"too long at {zoom} %")
    widget.message_box.fill("")
    widget.message_box.dispatch_event("input")
    expect(widget.chat.locator("#wc-count")).to_have_text("")
    widget.say("survey")
    form = widget.chat.get_by_role("form", name="How did we do?")
    expect(form.get_by_role("radio").first).to_be_focused()
    _assert_page_still(widget, f"survey at {zoom} %")
    # The form from its top, down to the focused rating: the visitor sees what is asked.
    expect(form.get_by_role("heading", name="How did we do?")).to_be_in_viewport(ratio=1)
    expect(form.locator("label", has_text="1")).to_be_in_viewport(ratio=1)
    _shot(widget, f"layout-zoom-{zoom}-survey")
    _assert_accessible(widget, f"survey at {zoom} %")
    form.get_by_role("button", name="Skip").click()
    # End chat: the question, then the chat's end with its two buttons.
    widget.chat.get_by_role("button", name="End chat", exact=True).click()
    dialog = widget.chat.get_by_role("dialog")
    expect(dialog).to_be_visible()
    _assert_page_still(widget, f"end dialog at {zoom} %")
    _shot(widget, f"layout-zoom-{zoom}-end-dialog")
    _assert_accessible(widget, f"end dialog at {zoom} %")
    dialog.get_by_role("button", name="Yes").click()
    new_chat = widget.chat.get_by_role("button", name="Start a new chat")
    expect(new_chat).to_be_in_viewport(ratio=1)
    expect(widget.chat.get_by_role("button", name="Download transcript")).to_be_in_viewport(ratio=1)
    _assert_page_still(widget, f"ended at {zoom} %")
    assert log.evaluate("e => e.clientHeight") >= least - 30
    _shot(widget, f"layout-zoom-{zoom}-ended")
    _assert_accessible(widget, f"ended at {zoom} %")


@pytest.fixture
def full_server(sim_server):
    """Our app with room for one socket only (WS_MAX_OPEN=1)."""
    process = ServerProcess(sim_server.base_url, {"WS_MAX_OPEN": "1"})
    yield process
    process.stop()


def test_start_chat_waits_while_the_server_is_busy(context, full_server, sim):
    holder = Visitor(full_server.url)  # another visitor holds the only socket
    try:
        tab = holder.tab()
        tab.hello()
        page = context.new_page()
        widget = Widget(page)
        page.goto(full_server.url + "/")
        widget.open()
        expect(widget.chat.locator("#wc-status")).to_have_attribute("data-state", "busy")
        start = widget.chat.get_by_role("button", name="Start chat")
        expect(start).to_be_disabled()
        expect(start).to_have_accessible_description(
            "You can start the chat as soon as we’re connected."
        )
        widget.fill_prechat("Patient")
        widget.chat.get_by_label("Last name").press("Enter")
        expect(widget.chat.locator("#wc-prechat-error")).to_have_text("")
        _shot(widget, "layout-busy-prechat")
        _assert_accessible(widget, "busy pre-chat")
        tab.close()
        expect(start).to_be_enabled(timeout=15_000)
        expect(widget.chat.get_by_text("as soon as we’re connected")).to_be_hidden()
        start.click()
        expect(widget.log).to_contain_text("Hi Patient")
    finally:
        holder.close()
