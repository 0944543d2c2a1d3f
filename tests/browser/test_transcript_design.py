"""The transcript and header as a designer drew them: the agent's whole name, photo (or
initials) and state in the header, a status dot that means its state by shape and colour,
messages grouped by sender and minute under day lines, times written the language's way, copy
that reads naturally, uploads that say why they failed and go when the connection is back; each
state screenshotted on a desktop and a phone, in English and Arabic, and axe-core clean."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Widget, axe_violations, host_page
from tests.harness import ServerProcess
from webchat.simulator import model

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
GREEN = "rgb(126, 226, 168)"  # the status dot's colour for a live chat

# The element shows all its text: nothing cut by overflow, no ellipsis.
SHOWS_ALL = """e => e.scrollWidth <= e.clientWidth + 2 && e.scrollHeight <= e.clientHeight + 2
    && getComputedStyle(e).textOverflow !== 'ellipsis'"""
DOT = """e => { const s = getComputedStyle(e, '::before');
    return {background: s.backgroundColor, border: s.borderTopStyle, borderColor: s.borderTopColor,
            width: s.width, height: s.height}; }"""


class Cutter:
    """Routes a context's /ws through the test, so that the network can be cut for real (a
    browser set offline keeps an open socket until its pings go unanswered)."""

    def __init__(self, context) -> None:
        self.down = False
        self.open: list = []
        context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), self.handle)
        self.context = context

    def handle(self, ws) -> None:
        if self.down:
            ws.close(code=1011, reason="network down")
            return
        self.open.append((ws, ws.connect_to_server()))

    def cut(self) -> None:
        self.down = True
        self.context.watch.allow_network_errors = True
        self.context.set_offline(True)
        for ws, upstream in self.open:
            upstream.close()
            ws.close(code=1011, reason="network down")
        self.open.clear()

    def mend(self) -> None:
        self.down = False
        self.context.set_offline(False)


@pytest.fixture(scope="module")
def quick_server(sim_server):
    """Our app re-reading availability every 0.2 s, so that going offline shows at once."""
    process = ServerProcess(sim_server.base_url, {"AVAILABILITY_TTL": "0.2"})
    yield process
    process.stop()


def _widget(make_context, server, viewport=DESKTOP, lang="", **options) -> Widget:
    context = make_context(viewport=viewport, **options)
    context.cutter = Cutter(context)
    page = context.new_page()
    widget = Widget(page)
    url = server.url + "/"
    if lang:
        url = server.url + f"/host-{lang}"
        html = host_page(server.url, f'data-lang="{lang}"')
        context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(url)
    if lang == "ar":
        page.get_by_role("button", name="دردشة").click()
        expect(widget.chat.locator("html")).to_have_attribute("dir", "rtl")
    else:
        widget.open()
    return widget


def _start_ar(widget: Widget, first: str) -> None:
    widget.chat.get_by_label("الاسم الأول").fill(first)
    widget.chat.get_by_label("اسم العائلة").fill("حداد")
    widget.chat.get_by_role("button", name="ابدأ الدردشة").click()
    expect(widget.log).to_contain_text(f"Hi {first}")


def _shot(widget: Widget, name: str) -> None:
    """A screenshot once what just arrived has slid in."""
    widget.frame.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
    widget.shot(name)


def _clean(widget: Widget, where: str) -> None:
    violations = axe_violations(widget.frame)
    assert violations == [], f"{where}: {violations}"


def _agent_event(sim, chat_id: str, event: dict, when: float | None = None) -> None:
    chat = sim.chat(chat_id)
    stamp = str(int(when)) if when is not None else model.now_ts()
    sim.emit(chat, {"party_id": chat.agent_party_id, **event, "timestamp": stamp})


def _agent_said(sim, chat_id: str, text: str, when: float | None = None) -> None:
    _agent_event(sim, chat_id, {"event": "chat_session_message", "msg_id": model.new_id(),
                                "msg": text}, when)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_header_shows_the_agents_whole_name_their_photo_and_the_state(
    make_context, server, sim, viewport
):
    widget = _widget(make_context, server, viewport)
    widget.start("Header")
    status = widget.chat.locator("#wc-status")
    expect(status).to_have_text("Chatting with Alice Martin")
    assert status.evaluate(SHOWS_ALL), "the status line is cut"
    expect(status.locator("strong")).to_have_text("Alice Martin")
    photo = widget.chat.locator("#wc-agent-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") > 0
    # The same photo on the agent's messages: one download, however many groups show it.
    expect(widget.chat.locator(".wc-group--agent .wc-avatar-photo").first).to_be_visible()
    name = "phone" if viewport is PHONE else "desktop"
    _shot(widget, f"design-header-{name}")
    # Connection lost: the whole sentence, and a ring (not a green dot).
    widget.page.context.cutter.cut()
    try:
        expect(status).to_have_text("Connection lost. Reconnecting…")
        expect(status).to_have_attribute("data-tone", "waiting")
        assert status.evaluate(SHOWS_ALL), "the offline status line is cut"
        _shot(widget, f"design-connection-lost-{name}")
    finally:
        widget.page.context.cutter.mend()
    expect(status).to_have_text("Chatting with Alice Martin", timeout=15_000)


def test_an_agent_without_a_photo_gets_initials_never_an_empty_circle(make_context, server, sim):
    context = make_context(viewport=PHONE)
    context.watch.allow_network_errors = True  # the 404s of the photo
    context.route("**/api/photos/**", lambda route: route.fulfill(
        status=404, content_type="application/json",
        body=json.dumps({"error": {"code": "not_found", "message": "No photo for this agent."}}),
    ))
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Initials")
    header = widget.chat.locator("#wc-agent")
    expect(header).to_be_visible()
    expect(header.locator(".wc-monogram")).to_have_text("AM")
    expect(widget.chat.locator("#wc-agent-photo")).to_be_hidden()
    group = widget.chat.locator(".wc-group--agent").first
    expect(group.locator(".wc-avatar .wc-monogram")).to_have_text("AM")
    expect(group.locator(".wc-avatar img")).to_have_count(0)
    _shot(widget, "design-initials-phone")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_status_dot_means_its_state_by_shape_and_colour(make_context, quick_server, sim,
                                                             viewport):
    server = quick_server
    size = "phone" if viewport is PHONE else "desktop"
    status_of = lambda widget: widget.chat.locator("#wc-status")  # noqa: E731
    # Offline (no agents): a grey dash, not a green dot.
    sim.config.availability = "notAvailable"
    try:
        widget = _widget(make_context, server, viewport)
        status = status_of(widget)
        expect(status).to_have_text("Offline")
        expect(status).to_have_attribute("data-tone", "idle")
        dot = status.evaluate(DOT)
        assert dot["background"] != GREEN and dot["height"] == "3px", dot
        _shot(widget, f"design-offline-{size}")
        _clean(widget, "offline")
    finally:
        sim.config.availability = "available"

    # Waiting in the queue: an amber ring.
    sim.config.join_delay = 30
    try:
        widget = _widget(make_context, server, viewport)
        widget.fill_prechat("Queued")
        widget.chat.get_by_role("button", name="Start chat").click()
        status = status_of(widget)
        expect(status).to_have_text("Waiting for an agent")
        expect(status).to_have_attribute("data-tone", "waiting")
        dot = status.evaluate(DOT)
        assert dot["border"] == "solid" and dot["background"] == "rgba(0, 0, 0, 0)", dot
        expect(widget.log).to_contain_text("Waiting for an agent (about 1 min)")
        _shot(widget, f"design-queue-{size}")
        _clean(widget, "queue")
    finally:
        sim.config.join_delay = 0.05

    # Ended: a grey dash again.
    widget = _widget(make_context, server, viewport)
    widget.start("Ender")
    status = status_of(widget)
    expect(status).to_have_attribute("data-tone", "live")
    assert status.evaluate(DOT)["background"] == GREEN
    widget.say("bye")
    expect(status).to_have_text("Chat ended")
    expect(status).to_have_attribute("data-tone", "idle")
    assert status.evaluate(DOT)["background"] != GREEN
    _shot(widget, f"design-ended-{size}")
    _clean(widget, "ended")


def test_groups_day_lines_and_times_as_the_language_writes_them(make_context, server, sim):
    """The transcript alone, fed messages of known times (the browser's zone is fixed)."""
    widget = _widget(make_context, server, DESKTOP, timezone_id="UTC", locale="en-US")
    expect(widget.chat.get_by_label("First name")).to_be_visible()
    drawn = widget.frame.evaluate(
        """async () => {
            const { Transcript } = await import('/static/chat/transcript.js');
            const root = document.createElement('div');
            const transcript = new Transcript(root, document.createElement('p'));
            const at = (daysAgo, h, m, s) => {
                const d = new Date();
                d.setDate(d.getDate() - daysAgo);
                d.setHours(h, m, s, 0);
                return d;
            };
            const alice = { own: false, from: 'a1', name: 'Alice Martin', avatar: null };
            transcript.message({ ...alice, time: at(3, 10, 0, 0) }, 'three days ago');
            transcript.message({ ...alice, time: at(1, 19, 54, 10) }, 'first');
            transcript.message({ ...alice, time: at(1, 19, 54, 40) }, 'second');
            transcript.message({ ...alice, time: at(1, 19, 55, 5) }, 'next minute');
            transcript.message({ own: true, name: 'You', time: at(1, 19, 55, 20) }, 'mine');
            transcript.message({ own: true, name: 'You', time: at(1, 19, 55, 30) }, 'mine again');
            transcript.system('Alice Martin left the chat', 'leave', at(1, 19, 55, 40));
            transcript.message({ ...alice, time: at(0, 9, 5, 0) }, 'morning');
            const text = (n) => n.textContent;
            return {
                days: [...root.querySelectorAll('.wc-day')].map(text),
                groups: [...root.querySelectorAll('.wc-group')].map((g) => ({
                    names: [...g.querySelectorAll('.wc-meta .wc-name')].map(text),
                    times: [...g.querySelectorAll('.wc-meta time')].map(text),
                    avatars: g.querySelectorAll('.wc-avatar').length,
                    rows: [...g.querySelectorAll('.wc-msg')].map(text),
                })),
                order: [...root.children].map((n) => n.className.split(' ')[0]),
            };
        }"""
    )
    assert drawn["days"][1:] == ["Yesterday", "Today"]
    assert re.fullmatch(r"\w+day, \w+ \d{1,2}", drawn["days"][0]), drawn["days"][0]
    groups = drawn["groups"]
    assert [g["rows"] for g in groups] == [
        ["three days ago"],
        ["first", "Alice Martin: second"],  # said to screen readers, not shown
        ["next minute"],
        ["mine", "You: mine again"],
        ["morning"],
    ]
    assert groups[1]["names"] == ["Alice Martin"] and groups[1]["avatars"] == 1
    assert groups[1]["times"] == ["7:54 PM"]  # not "07:54 PM"
    assert groups[3]["avatars"] == 0 and groups[3]["times"] == ["7:55 PM"]
    assert drawn["order"] == [
        "wc-day", "wc-group", "wc-day", "wc-group", "wc-group", "wc-group", "wc-system",
        "wc-day", "wc-group",
    ]
    # A time never breaks between its hour and "PM".
    assert widget.frame.evaluate(
        "() => { const t = document.createElement('time'); t.className = 'wc-time';"
        " document.body.append(t); const w = getComputedStyle(t).whiteSpace; t.remove();"
        " return w; }"
    ) == "nowrap"


def test_live_chat_groups_said_once_with_sender_as_text_and_animated(make_context, server, sim):
    widget = _widget(make_context, server, PHONE)
    widget.start("Grouped")
    chat_id = widget.chat_id()
    when = datetime.datetime.now().timestamp() + 120  # a minute of its own, after the greeting
    _agent_said(sim, chat_id, "One more thing:", when)
    _agent_said(sim, chat_id, "<b>not bold</b> <img src=x>", when)
    second = widget.agent_bubbles("not bold")
    expect(second).to_be_visible()
    group = widget.chat.locator(".wc-group--agent", has_text="One more thing:")
    expect(group.locator(".wc-msg")).to_have_count(2)
    expect(group.locator(".wc-name")).to_have_count(1)
    expect(group.locator(".wc-avatar")).to_have_count(1)
    # The sender, said once per message to a screen reader: the head, then hidden text.
    # An agent's markup: its safe subset drawn (the bold), the rest dropped (the image).
    expect(second).to_have_text("Alice Martin: not bold")
    expect(second.locator(".wc-visually-hidden")).to_have_text("Alice Martin: ")
    expect(second.locator("b")).to_have_text("not bold")
    expect(widget.log.locator("img:not(.wc-avatar-photo)")).to_have_count(0)
    # New messages slide in.
    assert second.evaluate("e => getComputedStyle(e).animationName") == "wc-in"
    widget.say("photo")
    expect(widget.agent_bubbles("photo.png")).to_be_visible()
    _shot(widget, "design-chat-phone")
    _clean(widget, "chat with groups")


def test_at_200_percent_zoom_nothing_is_cut_and_all_is_accessible(make_context, server, sim):
    """A desktop at 200 % zoom: half the CSS pixels, each drawn twice as large."""
    widget = _widget(make_context, server, {"width": 640, "height": 400},
                     device_scale_factor=2)
    widget.start("Zoomed")
    status = widget.chat.locator("#wc-status")
    expect(status).to_have_text("Chatting with Alice Martin")
    assert status.evaluate(SHOWS_ALL), "the status line is cut"
    widget.say("file")
    expect(widget.agent_bubbles("notes.txt")).to_be_visible()
    _shot(widget, "design-chat-zoom-200")
    _clean(widget, "chat at 200 % zoom")


def test_motion_is_left_out_for_people_who_ask_for_less(make_context, server, sim):
    widget = _widget(make_context, server, DESKTOP, reduced_motion="reduce")
    widget.start("Still")
    widget.say("hello")
    reply = widget.agent_bubbles('You said: "hello"')
    expect(reply).to_be_visible()
    assert reply.evaluate("e => e.getAnimations().length") == 0
    assert reply.evaluate("e => getComputedStyle(e).animationName") == "none"


def test_yesterdays_chat_continues_under_a_day_line(make_context, server, sim):
    """A chat begun before midnight: the browser's clock is a day ahead of the server's, so
    everything the server stamped now was said yesterday."""
    context = make_context(viewport=DESKTOP)
    tomorrow = datetime.datetime.now() + datetime.timedelta(days=1)
    context.clock.install(time=tomorrow)
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Overnight")
    chat_id = widget.chat_id()
    _agent_said(sim, chat_id, "Good morning! Still there?", tomorrow.timestamp())
    expect(widget.agent_bubbles("Good morning")).to_be_visible()
    days = widget.chat.locator(".wc-day")
    expect(days).to_have_text(["Yesterday", "Today"])
    _shot(widget, "design-day-line-desktop")
    _clean(widget, "day lines")


def test_the_agents_location_is_not_called_my_location(make_context, server, sim):
    widget = _widget(make_context, server, DESKTOP)
    widget.start("Placed")
    _agent_event(sim, widget.chat_id(), {
        "event": "chat_session_location", "url": "https://maps.example/?q=52.5,13.4",
        "latitude": "52.5", "longitude": "13.4"})
    place = widget.chat.locator(".wc-msg--agent").get_by_role("link", name="Location")
    expect(place).to_have_attribute("href", "https://maps.example/?q=52.5,13.4")
    expect(widget.chat.locator(".wc-msg--agent", has_text="My location")).to_have_count(0)


@pytest.mark.parametrize(
    ("lang", "label", "message"),
    [
        ("en", "First name", "First name is required."),
        ("de", "Vorname", "Vorname ist erforderlich."),
        ("ar", "الاسم الأول", "الاسم الأول مطلوب."),
    ],
)
def test_a_missing_field_is_named_in_a_natural_sentence(make_context, server, sim, lang, label,
                                                         message):
    widget = _widget(make_context, server, PHONE if lang == "ar" else DESKTOP,
                     "" if lang == "en" else lang)
    field = widget.chat.get_by_label(label)
    expect(field).to_be_visible()
    widget.chat.locator("#wc-start").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(widget.chat.locator(".wc-field-error").first).to_have_text(message)
    if lang == "ar":
        _shot(widget, "design-prechat-required-ar-phone")


def _files_shared(sim, chat_id: str) -> list[str]:
    return [e["file_name"] for e in sim.chat(chat_id).client_events
            if e["event"] == "chat_session_file"]


def test_a_file_sent_offline_says_why_and_goes_when_the_connection_is_back(
    make_context, server, sim
):
    widget = _widget(make_context, server, PHONE)
    widget.start("Offline")
    chat_id = widget.chat_id()
    context = widget.page.context
    status = widget.chat.locator("#wc-status")
    context.cutter.cut()
    try:
        expect(status).to_have_attribute("data-state", "offline")
        widget.hand_file("attach", "later.txt", "text/plain", b"sent when back\n")
        held = widget.chat.locator(".wc-upload--held", has_text="later.txt")
        expect(held).to_contain_text("will be sent when the connection is back")
        retry = widget.chat.get_by_role("button", name="Retry: later.txt")
        expect(retry).to_be_visible()
        expect(widget.chat.get_by_role("button", name="Cancel: later.txt")).to_be_visible()
        # Retry while still offline: it is held again, and says why.
        retry.click()
        expect(held).to_contain_text("later.txt")
        _shot(widget, "design-file-held-phone")
        _clean(widget, "file held")
        assert _files_shared(sim, chat_id) == []
    finally:
        context.cutter.mend()
    # The socket is back: the file goes by itself, once.
    expect(widget.own_bubbles("later.txt")).to_have_count(1, timeout=15_000)
    expect(widget.chat.locator(".wc-upload")).to_have_count(0)
    assert _files_shared(sim, chat_id) == ["later.txt"]


# The names of the files held in the chat's IndexedDB (static/chat/heldfiles.js).
HELD_IN_STORAGE = """() => new Promise((resolve) => {
  const opening = indexedDB.open('webchat-held-files', 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore('files', { keyPath: 'id' });
  opening.onsuccess = () => {
    const db = opening.result;
    const all = db.transaction('files').objectStore('files').getAll();
    all.onsuccess = () => { db.close(); resolve(all.result.map((r) => r.file.name)); };
  };
})"""


def _held(check: str) -> str:
    """A predicate for wait_for_function: `check` on the names of the files held in storage."""
    return f"({HELD_IN_STORAGE})().then({check})"


def _sockets_refused(cutter: Cutter) -> None:
    """The chat's socket cut and refused while pages still load (a reload must work)."""
    cutter.down = True
    cutter.context.watch.allow_network_errors = True
    for ws, upstream in cutter.open:
        upstream.close()
        ws.close(code=1011, reason="network down")
    cutter.open.clear()


def test_a_held_file_survives_a_reload_and_goes_once_when_the_connection_is_back(
    make_context, server, sim
):
    widget = _widget(make_context, server, DESKTOP)
    widget.start("Reloads")
    chat_id = widget.chat_id()
    page = widget.page
    cutter = page.context.cutter
    status = widget.chat.locator("#wc-status")
    _sockets_refused(cutter)
    expect(status).to_have_attribute("data-state", "offline")
    widget.hand_file("attach", "kept.txt", "text/plain", b"kept across a reload\n")
    widget.hand_file("attach", "dropped.txt", "text/plain", b"cancelled after the reload\n")
    held = widget.chat.locator(".wc-upload--held")
    expect(held).to_have_count(2)
    widget.frame.wait_for_function(_held("(n) => n.length === 2"))

    page.reload()
    expect(widget.chat.locator("#wc-app")).to_be_visible()  # the panel reopens by itself
    expect(status).to_have_attribute("data-state", "offline")
    expect(held).to_have_count(2)
    kept = widget.chat.locator(".wc-upload--held", has_text="kept.txt")
    expect(kept).to_contain_text("will be sent when the connection is back")
    widget.chat.get_by_role("button", name="Cancel: dropped.txt").click()
    expect(held).to_have_count(1)
    widget.frame.wait_for_function(_held("(n) => n.join() === 'kept.txt'"))
    assert _files_shared(sim, chat_id) == []

    cutter.mend()
    expect(widget.own_bubbles("kept.txt")).to_have_count(1, timeout=15_000)
    expect(widget.chat.locator(".wc-upload")).to_have_count(0)
    widget.frame.wait_for_function(_held("(n) => n.length === 0"))
    assert _files_shared(sim, chat_id) == ["kept.txt"]
    # Another reload sends nothing again.
    page.reload()
    expect(widget.own_bubbles("kept.txt")).to_have_count(1)
    expect(status).to_have_attribute("data-state", "open")
    assert _files_shared(sim, chat_id) == ["kept.txt"]


def test_a_file_the_network_dropped_can_be_retried(make_context, server, sim):
    widget = _widget(make_context, server, DESKTOP)
    widget.start("Dropped")
    chat_id = widget.chat_id()
    page = widget.page
    page.context.watch.allow_network_errors = True
    page.route("**/api/files", lambda route: route.abort("internetdisconnected"))
    widget.hand_file("attach", "flaky.txt", "text/plain", b"second try\n")
    held = widget.chat.locator(".wc-upload--held", has_text="flaky.txt")
    expect(held).to_contain_text("“flaky.txt” was not sent: the connection was lost.")
    _shot(widget, "design-file-failed-desktop")
    page.unroute("**/api/files")
    widget.chat.get_by_role("button", name="Retry: flaky.txt").click()
    expect(widget.own_bubbles("flaky.txt")).to_have_count(1)
    expect(held).to_have_count(0)
    assert _files_shared(sim, chat_id) == ["flaky.txt"]


@pytest.mark.parametrize(
    ("status", "code", "says"),
    [
        (413, "too_large", "“big.txt” is larger than 25 MB and was not sent."),
        (409, "chat_ended", "“big.txt” was not sent: the chat has ended."),
        (400, "malformed", "“big.txt” was not accepted by the server."),
    ],
)
def test_a_refused_file_says_why_without_a_useless_retry(make_context, server, sim, status,
                                                          code, says):
    widget = _widget(make_context, server, DESKTOP)
    widget.start("Refused")
    body = json.dumps({"error": {"code": code, "message": "refused"}})
    widget.page.route("**/api/files", lambda route: route.fulfill(
        status=status, body=body, content_type="application/json"))
    widget.page.context.watch.allow_network_errors = True
    widget.hand_file("attach", "big.txt", "text/plain", b"x\n")
    expect(widget.chat.locator(".wc-system--error .wc-system-text")).to_have_text(says)
    expect(widget.chat.get_by_role("button", name="Retry: big.txt")).to_have_count(0)
    expect(widget.chat.locator(".wc-upload")).to_have_count(0)


def test_arabic_chat_with_groups_and_files(make_context, server, sim):
    widget = _widget(make_context, server, PHONE, "ar")
    _start_ar(widget, "ليلى")
    box = widget.chat.get_by_role("textbox", name="رسالة")
    box.fill("مرحبا")
    box.press("Enter")
    expect(widget.agent_bubbles('You said: "مرحبا"')).to_be_visible()
    box.fill("photo")
    box.press("Enter")
    expect(widget.agent_bubbles("photo.png")).to_be_visible()
    expect(widget.chat.locator(".wc-day").first).to_have_text("اليوم")
    status = widget.chat.locator("#wc-status")
    expect(status).to_have_text("تتحدث مع Alice Martin")
    assert status.evaluate(SHOWS_ALL)
    _shot(widget, "design-chat-ar-phone")
    _clean(widget, "arabic chat")
    # A file the network dropped, said in Arabic, with Retry.
    widget.page.context.watch.allow_network_errors = True
    widget.page.route("**/api/files", lambda route: route.abort("internetdisconnected"))
    widget.hand_file("attach", "later.txt", "text/plain", b"x\n")
    expect(widget.chat.locator(".wc-upload--held")).to_contain_text("انقطع الاتصال")
    expect(widget.chat.get_by_role("button", name="إعادة المحاولة: later.txt")).to_be_visible()
    _shot(widget, "design-file-held-ar-phone")
    _clean(widget, "arabic held file")
    widget.chat.get_by_role("button", name="إلغاء: later.txt").click()
    expect(widget.chat.locator(".wc-upload")).to_have_count(0)
    box.fill("bye")
    box.press("Enter")
    expect(status).to_have_text("انتهت الدردشة")
    expect(status).to_have_attribute("data-tone", "idle")
    _shot(widget, "design-ended-ar-phone")
    _clean(widget, "arabic ended")
