"""Audio and video calls, callbacks and text messages from inside the chat, in Chromium with fake
camera and microphone. The widget is embedded on another site (a host page on "localhost", our
server on 127.0.0.1); the agent's side is a real WebRTC peer: the simulator's agent page
(webchat/simulator/agent_page.py) in a page of its own, signalling through the simulator."""

from __future__ import annotations

import re
import threading
from http.server import HTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARGS, CHROMIUM
from tests.browser.widget import ConsoleWatch, HostPage, Widget, axe_violations, host_page
from tests.harness import ServerProcess

MEDIA_ARGS = [*ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# Every RTCPeerConnection a page (or its frames) makes, for the test to read its state and stats.
KEEP_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
})();
"""
# The browser refuses the microphone and the camera, as after the visitor said no once.
DENY_MEDIA = """
if (navigator.mediaDevices) {
  navigator.mediaDevices.getUserMedia = () =>
    Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
}
"""
# Bytes received over the last peer connection's inbound streams, by kind.
INBOUND = """async () => {
  const pc = window.__peers[window.__peers.length - 1];
  const stats = await pc.getStats();
  const got = {audio: 0, video: 0};
  stats.forEach((s) => { if (s.type === 'inbound-rtp') got[s.kind] += s.bytesReceived || 0; });
  return got;
}"""
GROWING = """async ([before, kinds]) => {
  const pc = window.__peers[window.__peers.length - 1];
  const stats = await pc.getStats();
  const got = {audio: 0, video: 0};
  stats.forEach((s) => { if (s.type === 'inbound-rtp') got[s.kind] += s.bytesReceived || 0; });
  return kinds.every((k) => got[k] > before[k]);
}"""
CONNECTED = """() => {
  const pc = (window.__peers || [])[window.__peers ? window.__peers.length - 1 : 0];
  return !!pc && pc.connectionState === 'connected';
}"""


class _HostPage(HostPage):
    """This module's host page: a shop on another origin that embeds the widget."""


@pytest.fixture(scope="module")
def media_browser(playwright_session):
    chromium = playwright_session.chromium.launch(executable_path=str(CHROMIUM), args=MEDIA_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def shop(sim_server):
    host = HTTPServer(("127.0.0.1", 0), _HostPage)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    origin = f"http://localhost:{host.server_address[1]}"
    process = ServerProcess(sim_server.base_url, {"ALLOWED_ORIGINS": origin})
    _HostPage.html = host_page(process.url).encode()
    yield process, origin
    process.stop()
    host.shutdown()


@pytest.fixture
def contexts(media_browser):
    """New contexts in the media browser; console errors in any of them fail the test."""
    made = []

    def make(deny: bool = False, **options):
        context = media_browser.new_context(**options)
        context.set_default_timeout(15_000)
        context.add_init_script(KEEP_PEERS)
        if deny:
            context.add_init_script(DENY_MEDIA)
        watch = ConsoleWatch()
        context.on("page", watch.attach)
        made.append((context, watch))
        return context

    yield make
    errors = [e for _, watch in made for e in watch.errors]
    for context, _ in made:
        context.close()
    assert errors == [], f"console errors: {errors}"


def visitor_in_chat(contexts, shop, name: str, **options) -> tuple[Page, Widget]:
    _, origin = shop
    page = contexts(**options).new_page()
    page.goto(origin + "/")
    widget = Widget(page)
    widget.open()
    widget.start(name)
    return page, widget


def agent_page(contexts, sim, sim_server, name: str) -> Page:
    # The simulator is shared with other modules, whose visitors may have the same name and
    # a chat still open: this test's visitor started the newest one.
    chat = [
        c
        for c in sim.chats()
        if c.request_body.get("parameters", {}).get("first_name") == name and not c.ended
    ][-1]
    page = contexts().new_page()
    page.goto(f"http://{sim_server.host}:{sim_server.port}/agent/{chat.chat_id}")
    page.evaluate("agent.ready")
    return page


def calls_loaded(widget: Widget) -> bool:
    return widget.frame.evaluate(
        "performance.getEntriesByType('resource').some((e) => e.name.includes('/chat/calls.js'))"
    )


def media_flows(page_or_frame, kinds: list[str]) -> None:
    """Connected, and the bytes received of each kind grow (waited for, never slept)."""
    page_or_frame.wait_for_function(CONNECTED, timeout=20_000)
    before = page_or_frame.evaluate(INBOUND)
    page_or_frame.wait_for_function(GROWING, arg=[before, kinds], timeout=20_000, polling=250)


def test_video_call_offered_by_the_agent(contexts, shop, sim, sim_server):
    page, widget = visitor_in_chat(contexts, shop, "Vida")
    chat = widget.chat
    # The page and its frame may use the microphone and camera, and nothing loads for calls
    # until one is offered.
    assert "microphone" in page.locator("iframe").get_attribute("allow")
    assert "camera" in page.locator("iframe").get_attribute("allow")
    expect(chat.get_by_role("button", name="Call or call back")).to_be_visible()
    assert not calls_loaded(widget)
    agent = agent_page(contexts, sim, sim_server, "Vida")
    agent.evaluate("agent.offer(true)")

    prompt = chat.get_by_role("alert").filter(has_text="Alice Martin is calling you with video")
    expect(prompt).to_be_visible()
    assert calls_loaded(widget)
    assert axe_violations(widget.frame) == []
    widget.shot("call-incoming-desktop")
    chat.get_by_role("button", name="Answer with video").click()

    media_flows(agent, ["audio", "video"])
    media_flows(widget.frame, ["audio", "video"])
    on_call = chat.get_by_role("status").filter(has_text="On a call with Alice Martin")
    expect(on_call).to_be_visible()
    expect(chat.locator(".wc-calls-remote")).to_be_visible()
    expect(chat.locator(".wc-calls-local")).to_be_visible()
    expect(chat.locator(".wc-calls-clock")).to_have_text(re.compile(r"00:0[1-9]"))
    assert axe_violations(widget.frame) == []
    widget.shot("call-video-desktop")

    # The agent's camera off: said in words where the picture was.
    agent.evaluate("agent.camera(false)")
    expect(chat.get_by_text("Alice Martin's camera is off")).to_be_visible()
    expect(chat.locator(".wc-calls-remote")).to_be_hidden()
    # The visitor mutes: the agent is told (CALL_STATE), the button says it is pressed.
    mute = chat.get_by_role("button", name="Mute")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    agent.wait_for_function(
        "agent.signals.some((s) => s.type === 'CALL_STATE' && s.audioEnabled === false)"
    )

    chat.get_by_role("button", name="Hang up").click()
    agent.wait_for_function("agent.ended === 1")
    expect(chat.get_by_text("Call ended.")).to_be_visible()
    expect(chat.locator(".wc-calls-bar")).to_have_count(0)
    # Signalling is never chat text, and the chat goes on.
    expect(widget.log).not_to_contain_text("OFFER_CALL")
    expect(widget.log).not_to_contain_text("v=0")
    widget.say("still here")
    expect(widget.agent_bubbles("still here")).to_have_count(1)


def test_decline_and_reload_ring_only_while_unanswered(contexts, shop, sim, sim_server):
    page, widget = visitor_in_chat(contexts, shop, "Dora")
    chat = widget.chat
    agent = agent_page(contexts, sim, sim_server, "Dora")
    agent.evaluate("agent.offer(false)")
    expect(chat.get_by_text("Alice Martin is calling you", exact=True)).to_be_visible()
    expect(chat.get_by_role("button", name="Answer with video")).to_have_count(0)
    # Reloaded while ringing: it rings again.
    page.reload()
    expect(chat.get_by_text("Alice Martin is calling you", exact=True)).to_be_visible()
    chat.get_by_role("button", name="Decline").click()
    agent.wait_for_function("agent.ended === 1")
    expect(chat.get_by_text("You declined the call.")).to_be_visible()
    expect(chat.get_by_role("button", name="Answer with audio")).to_have_count(0)
    expect(widget.message_box).to_be_focused()
    # Declined: a reload does not ring again, nor does the call come back as text.
    page.reload()
    expect(widget.log).to_contain_text("Hi Dora")
    widget.say("after the reload")
    expect(widget.agent_bubbles("after the reload")).to_have_count(1)
    expect(chat.get_by_role("button", name="Answer with audio")).to_have_count(0)
    expect(widget.log).not_to_contain_text("calling")


def test_reload_mid_call_and_the_agent_hangs_up(contexts, shop, sim, sim_server):
    page, widget = visitor_in_chat(contexts, shop, "Remy")
    chat = widget.chat
    agent = agent_page(contexts, sim, sim_server, "Remy")
    agent.evaluate("agent.offer(true)")
    chat.get_by_role("button", name="Answer with audio").click()
    media_flows(widget.frame, ["audio", "video"])  # audio only from us; the agent's video comes
    media_flows(agent, ["audio"])
    # A reload ends the call (the page's media are gone): the agent hears of it, and the
    # answered call is not offered again.
    page.reload()
    agent.wait_for_function("agent.ended === 1")
    expect(widget.log).to_contain_text("Hi Remy")
    expect(chat.get_by_role("button", name="Answer with audio")).to_have_count(0)
    expect(chat.locator(".wc-calls-bar")).to_have_count(0)
    # A new call, which the agent ends.
    agent.evaluate("agent.offer(false)")
    chat.get_by_role("button", name="Answer with audio").click()
    media_flows(widget.frame, ["audio"])
    agent.evaluate("agent.hangUp()")
    expect(chat.get_by_text("Alice Martin ended the call.")).to_be_visible()
    expect(chat.locator(".wc-calls-bar")).to_have_count(0)
    assert widget.frame.evaluate("window.__peers.at(-1).connectionState") == "closed"


def test_visitor_asks_for_a_video_call_on_a_phone(contexts, shop, sim, sim_server):
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page, widget = visitor_in_chat(contexts, shop, "Pia", **phone)
    chat = widget.chat
    agent = agent_page(contexts, sim, sim_server, "Pia")
    chat.get_by_role("button", name="Call or call back").click()
    chat.get_by_role("button", name="Video call").click()
    agent.wait_for_function("agent.signals.some((s) => s.type === 'REQUEST_CALL' && s.offerVideo)")
    # The agent's page offers; the page that asked starts the call without asking again.
    media_flows(agent, ["audio", "video"])
    media_flows(widget.frame, ["audio", "video"])
    expect(chat.locator(".wc-calls-remote")).to_be_visible()
    box = chat.locator(".wc-calls-media").bounding_box()
    assert box and box["width"] <= 390 and box["height"] >= 150
    assert axe_violations(widget.frame) == []
    widget.shot("call-video-phone")
    chat.get_by_role("button", name="Hang up").click()
    agent.wait_for_function("agent.ended === 1")


def test_microphone_refused_is_said_and_the_call_can_be_declined(contexts, shop, sim, sim_server):
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page, widget = visitor_in_chat(contexts, shop, "Nora", deny=True, **phone)
    chat = widget.chat
    agent = agent_page(contexts, sim, sim_server, "Nora")
    agent.evaluate("agent.offer(true)")
    chat.get_by_role("button", name="Answer with video").click()
    expect(chat.get_by_role("alert").filter(has_text="blocked the microphone")).to_be_visible()
    assert widget.frame.evaluate("(window.__peers || []).length") == 0
    assert axe_violations(widget.frame) == []
    widget.shot("call-incoming-denied-phone")
    chat.get_by_role("button", name="Decline").click()
    agent.wait_for_function("agent.ended === 1")


def test_callback_and_text_requests(contexts, shop, sim, sim_server):
    page, widget = visitor_in_chat(contexts, shop, "Cleo")
    chat = widget.chat
    chat.get_by_role("button", name="Call or call back").click()
    chat.get_by_role("button", name="Call me back").click()
    number = chat.get_by_label("Your phone number")
    expect(number).to_be_focused()
    assert number.get_attribute("dir") == "ltr" and number.get_attribute("type") == "tel"
    number.fill("call me")
    chat.get_by_role("button", name="Call me back").click()
    expect(chat.get_by_role("alert")).to_contain_text("Enter a phone number")
    expect(number).to_have_attribute("aria-invalid", "true")
    assert axe_violations(widget.frame) == []
    widget.shot("call-callback-desktop")
    number.fill("+1 (555) 010-0199")
    chat.get_by_role("button", name="Call me back").click()
    expect(chat.get_by_text("You asked to be called back at")).to_contain_text("+15550100199")
    expect(widget.agent_bubbles("call you back at +15550100199")).to_have_count(1)
    # The request is signalling: never a bubble of the visitor's.
    expect(chat.locator(".wc-msg--own")).to_have_count(0)


def test_text_request_in_arabic_on_a_phone(contexts, shop, sim, sim_server):
    _, origin = shop
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page = contexts(**phone).new_page()
    _HostPage.html = host_page(shop[0].url, "data-lang='ar'").encode()
    try:
        page.goto(origin + "/")
        widget = Widget(page)
        widget.open()
        chat = widget.chat
        chat.locator("#wc-prechat input").first.fill("Samir")
        chat.locator("#wc-prechat input").nth(1).fill("Haddad")
        chat.locator("#wc-start").click()
        expect(widget.log).to_contain_text("Samir")
        chat.locator("#wc-call").click()
        chat.get_by_role("button", name="أرسلوا لي رسالة").click()
        number = chat.get_by_label("رقم هاتفك")
        number.fill("٠٣٠ ١٢٣٤ ٥٦٧")  # typed with Arabic-Indic digits
        expect(number).to_have_value("030 1234 567")  # shown in order, left to right
        assert number.evaluate("(el) => getComputedStyle(el).textAlign") == "right"
        assert chat.locator("html").get_attribute("dir") == "rtl"
        assert axe_violations(widget.frame) == []
        widget.shot("call-sms-form-phone-ar")
        chat.locator(".wc-calls-form button[type=submit]").click()
        expect(widget.agent_bubbles("0301234567")).to_have_count(1)
        (posted,) = [
            e["data"]
            for c in sim.chats()
            if c.request_body.get("parameters", {}).get("first_name") == "Samir"
            for e in c.client_events
            if e.get("event") == "chat_session_signaling"
        ]
        assert posted == {"type": "REQUEST_SMS", "number": "0301234567"}
    finally:
        _HostPage.html = host_page(shop[0].url).encode()


def test_chat_page_allows_microphone_and_camera_to_itself_only(shop):
    import requests

    server, _ = shop
    got = requests.get(server.url + "/chat", timeout=10)
    policy = got.headers["Permissions-Policy"]
    assert "microphone=(self)" in policy and "camera=(self)" in policy
    assert "display-capture=()" in policy
    strings = requests.get(server.url + "/chat/strings/calls?lang=de", timeout=10).json()
    assert strings["calls.decline"] == "Ablehnen"
    assert "calls.decline" not in got.text  # not in the page's own strings: fetched when used


def test_call_at_200_percent_zoom(contexts, shop, sim, sim_server):
    """A 1280 × 800 screen at 200 %: the prompt and the call bar fit, the chat keeps room."""
    page, widget = visitor_in_chat(
        contexts, shop, "Zola", viewport={"width": 640, "height": 400}, device_scale_factor=2
    )
    chat = widget.chat
    agent = agent_page(contexts, sim, sim_server, "Zola")
    agent.evaluate("agent.offer(true)")
    answer = chat.get_by_role("button", name="Answer with video")
    expect(answer).to_be_in_viewport(ratio=1)
    widget.shot("call-incoming-zoom-200")
    expect(chat.get_by_role("button", name="Decline")).to_be_in_viewport(ratio=1)
    assert axe_violations(widget.frame) == []
    # By keyboard, as Hang up below: at a device scale of 2 headless Chromium now and then
    # drops a click on the frame (the prompt stayed, unanswered, in about one run in four).
    answer.press("Enter")
    media_flows(widget.frame, ["audio", "video"])
    expect(chat.get_by_role("button", name="Hang up")).to_be_in_viewport(ratio=1)
    expect(widget.message_box).to_be_in_viewport(ratio=1)
    assert chat.locator("#wc-transcript").evaluate("e => e.clientHeight") >= 60
    assert axe_violations(widget.frame) == []
    widget.shot("call-video-zoom-200")
    # By keyboard: headless Chromium at a device scale of 2 routes some clicks over a frame
    # that shows video to the host page instead (not so on a screen).
    chat.get_by_role("button", name="Hang up").press("Enter")
    expect(chat.get_by_text("Call ended.")).to_be_visible()
    agent.wait_for_function("agent.ended === 1")


def test_another_tab_stops_ringing_once_one_answers(contexts, shop, sim, sim_server):
    server, _ = shop
    context = contexts()
    first = context.new_page()
    first.goto(server.url + "/")  # our own demo page: the visitor's tabs share the cookie
    one = Widget(first)
    one.open()
    one.start("Tess")
    second = context.new_page()
    second.goto(server.url + "/")
    two = Widget(second)
    two.open()
    expect(two.log).to_contain_text("Hi Tess")
    agent = agent_page(contexts, sim, sim_server, "Tess")
    agent.evaluate("agent.offer(false)")
    for widget in (one, two):
        expect(widget.chat.get_by_role("button", name="Answer with audio")).to_be_visible()
    one.chat.get_by_role("button", name="Answer with audio").click()
    expect(two.chat.get_by_role("button", name="Answer with audio")).to_have_count(0)
    media_flows(one.frame, ["audio"])
    expect(two.chat.locator(".wc-calls-bar")).to_have_count(0)
    one.chat.get_by_role("button", name="Hang up").click()
    agent.wait_for_function("agent.ended === 1")
