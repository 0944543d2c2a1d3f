"""The widget's other states and its promises to people: offline, the survey after a soft end,
the host page's API and notifications, phones, Arabic, keyboard, and axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Widget, axe_violations, host_page
from tests.harness import ServerProcess


@pytest.fixture(scope="module")
def survey_server(sim_server):
    """Our app with the post-chat survey on and availability re-read every 0.2 s."""
    process = ServerProcess(
        sim_server.base_url, {"AVAILABILITY_TTL": "0.2", "POST_CHAT_SURVEY": "true"}
    )
    yield process
    process.stop()


def _serve_host(context, base: str, path: str, attributes: str = "", script: str = "") -> str:
    url = base + path
    html = host_page(base, attributes, script)
    context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    return url


def _wait_until_available(page, base: str) -> None:
    """The server's availability cache (0.2 s here) has seen the change."""
    for _ in range(200):
        if page.request.get(base + "/api/availability").json()["chat"] == "available":
            return
    raise AssertionError("availability never came back")


def _assert_accessible(target, where: str) -> None:
    violations = axe_violations(target)
    assert violations == [], f"{where}: {violations}"


def test_offline_then_online_again(context, survey_server, sim):
    sim.config.availability = "notAvailable"
    try:
        page = context.new_page()
        widget = Widget(page)
        page.goto(survey_server.url + "/")
        widget.open()
        heading = widget.chat.get_by_role("heading", name="We’re offline right now")
        expect(heading).to_be_visible()
        expect(heading).to_be_focused()
        expect(widget.chat.get_by_label("First name")).to_have_count(0)
        widget.shot("08-offline")
        _assert_accessible(widget.frame, "offline")
        widget.chat.get_by_role("button", name="Try again").click()
        expect(widget.chat.get_by_role("status").last).to_have_text(
            "Still offline. We’ll keep checking for you."
        )
        sim.config.availability = "available"
        _wait_until_available(page, survey_server.url)
        widget.chat.get_by_role("button", name="Try again").click()
        expect(widget.chat.get_by_label("First name")).to_be_focused()
    finally:
        sim.config.availability = "available"


def test_soft_end_shows_the_survey_and_sends_its_answers(context, survey_server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(survey_server.url + "/")
    widget.open()
    widget.start("Surveyed")
    chat_id = widget.chat_id()
    widget.chat.get_by_role("button", name="End chat", exact=True).click()
    widget.chat.get_by_role("dialog").get_by_role("button", name="Yes").click()
    expect(widget.log).to_contain_text("You ended the chat.")
    assert sim.wait_for(lambda: any(
        e["event"] == "chat_session_disconnect" for e in sim.chat(chat_id).client_events
    ))
    assert not any(e["event"] == "chat_session_end" for e in sim.chat(chat_id).client_events)
    form = widget.chat.get_by_role("form", name="How did we do?")
    expect(form).to_be_visible()
    expect(widget.message_box).to_be_hidden()  # the conversation is over; the survey is not
    widget.shot("09-survey")
    _assert_accessible(widget.frame, "survey")
    form.locator("label", has_text="4").click()
    expect(form.get_by_role("radio", name="4")).to_be_checked()
    form.get_by_label("Anything else").fill("Quick and kind")
    form.get_by_role("button", name="Send feedback").click()
    expect(widget.log).to_contain_text("Thank you for your answer.")
    expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_visible()
    answers = [e for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_form_data"]
    assert len(answers) == 1
    assert answers[0]["form_name"] == "survey" and answers[0]["form_request_id"]
    assert answers[0]["data"] == {"rating": "4", "comment": "Quick and kind"}


def test_a_form_without_a_template_gets_the_fallback(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Formal")
    chat_id = widget.chat_id()
    chat = sim.chat(chat_id)
    from webchat.simulator import model

    with sim.lock:
        sim.emit(chat, model.form_show("77", "no_such_form"))
    form = widget.chat.get_by_role("form", name="A question from the agent")
    form.get_by_label("Your answer").fill("42")
    form.get_by_role("button", name="Send").click()
    expect(widget.log).to_contain_text("Thank you for your answer.")
    assert sim.wait_for(lambda: any(
        e["event"] == "chat_session_form_data" and e["data"] == {"text": "42"}
        and e["form_name"] == "no_such_form"
        for e in sim.chat(chat_id).client_events
    ))
    assert page.request.get(server.url + "/forms/no_such_form").status == 404
    assert page.request.get(server.url + "/forms/survey").status == 200


def test_host_api_prefill_unread_title_escape_and_location(make_context, server, sim):
    context = make_context(
        viewport={"width": 1280, "height": 800},
        geolocation={"latitude": 52.52, "longitude": 13.405},
        permissions=["geolocation"],
    )
    queue = (
        "<script>window.WebChat = {q: [['setParameters', {first_name: 'Pia', last_name: 'Prefill',"
        " email: 'pia@example.com', phone: '+49 30 123456', account: 'A-17',"
        " from: 'pia@example.com'}]]};</script>"
    )
    url = _serve_host(context, server.url, "/host-api", 'data-color="#8a1538"', "")
    context.unroute(url)
    html = host_page(server.url, 'data-color="#8a1538" data-text="Questions? Chat"').replace(
        "<main>", queue + "<main>"
    )
    context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    expect(widget.launcher).to_have_text("Questions? Chat")
    widget.open()
    expect(widget.chat.get_by_label("First name")).to_have_value("Pia")
    expect(widget.chat.get_by_label("Phone")).to_have_value("+49 30 123456")
    expect(widget.chat.get_by_role("button", name="Start chat")).to_be_focused()
    widget.chat.get_by_role("button", name="Start chat").click()
    expect(widget.log).to_contain_text("Hi Pia")
    chat_id = widget.chat_id()
    body = sim.chat(chat_id).request_body
    assert body["parameters"]["account"] == "A-17"
    assert body["parameters"]["email"] == "pia@example.com"
    assert body.get("phone_number") == "+49 30 123456"
    assert body.get("from") == "pia@example.com"

    # Share location: asks the browser, sends the coordinates and a map link.
    widget.chat.get_by_role("button", name="Share location").click()
    expect(widget.own_bubbles("My location").get_by_role("link")).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=52.520000&mlon=13.405000"
    )
    assert sim.wait_for(lambda: any(
        e["event"] == "chat_session_location" and e["latitude"] == "52.520000"
        and e["longitude"] == "13.405000" and "openstreetmap" in e["url"]
        for e in sim.chat(chat_id).client_events
    ))

    # Escape closes the widget and gives focus back to the launcher.
    widget.message_box.press("Escape")
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.launcher).to_be_focused()
    expect(page.locator("iframe")).to_be_hidden()
    # Closed: what the agent says is counted on the launcher and in the host page's title.
    sim.agent_say(chat_id, "Are you still there?")
    expect(widget.launcher).to_have_accessible_name(re.compile("1 unread"))
    expect(page).to_have_title("(1) Test host")
    widget.shot("10-unread-badge")
    # The host page's own link is reachable and not covered by the closed widget.
    page.get_by_role("link", name="A link on the host page").click()
    page.keyboard.press("Enter")
    widget.launcher.click()
    expect(widget.agent_bubbles("Are you still there?")).to_have_count(1)
    expect(page).to_have_title("Test host")
    expect(widget.launcher).not_to_have_accessible_name(re.compile("unread"))


def test_phone_full_screen_and_out_of_the_way(make_context, server, sim):
    context = make_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2, reduced_motion="reduce",
    )
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    box = widget.launcher.bounding_box()
    assert box["width"] < 200 and box["height"] < 70 and box["y"] > 844 - 120
    widget.shot("11-phone-closed")
    widget.launcher.tap()
    frame_box = page.locator("iframe").bounding_box()
    assert (frame_box["x"], frame_box["y"]) == (0, 0)
    assert frame_box["width"] == 390 and abs(frame_box["height"] - 844) <= 1
    expect(widget.launcher).to_be_hidden()
    for label in ("First name", "Email"):
        size = widget.chat.get_by_label(label).evaluate("e => getComputedStyle(e).fontSize")
        assert float(size.rstrip("px")) >= 16
    widget.start("Mobile")
    box = widget.message_box.bounding_box()
    assert box["y"] + box["height"] <= 844
    assert float(widget.message_box.evaluate("e => getComputedStyle(e).fontSize")[:-2]) >= 16
    widget.shot("12-phone-chat")
    widget.chat.get_by_role("button", name="Close chat").tap()
    expect(page.locator("iframe")).to_be_hidden()
    expect(widget.launcher).to_be_visible()
    # The closed widget covers only its button: the middle of the page is the page's own.
    assert page.evaluate("document.elementFromPoint(195, 422).closest('[data-webchat]') === null")


def test_arabic_is_right_to_left_and_accessible(context, server, sim):
    url = _serve_host(context, server.url, "/host-ar", 'data-lang="ar" data-position="left"')
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    launcher = page.get_by_role("button", name="دردشة")
    expect(launcher).to_be_visible()
    assert launcher.bounding_box()["x"] < 100  # data-position="left"
    launcher.click()
    expect(widget.chat.locator("html")).to_have_attribute("dir", "rtl")
    expect(widget.chat.locator("html")).to_have_attribute("lang", "ar")
    first = widget.chat.get_by_label("الاسم الأول")
    first.fill("ليلى")
    widget.chat.get_by_label("اسم العائلة").fill("حداد")
    widget.chat.get_by_role("button", name="ابدأ الدردشة").click()
    expect(widget.chat.get_by_role("log")).to_contain_text("Hi ليلى")
    box = widget.chat.get_by_role("textbox", name="رسالة")
    box.fill("مرحبا")
    box.press("Enter")
    own = widget.chat.locator(".wc-msg--own", has_text="مرحبا")
    agent = widget.chat.locator(".wc-msg--agent").first
    expect(own).to_be_visible()
    # Right to left: the visitor's bubbles sit on the left, the agent's on the right.
    assert own.bounding_box()["x"] < agent.bounding_box()["x"]
    widget.shot("13-arabic")
    _assert_accessible(widget.frame, "arabic chat")


def test_german_from_the_browser_and_keyboard_only(make_context, server, sim):
    context = make_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    _assert_accessible(page, "host page")
    launcher = page.get_by_role("button", name="Chat")
    launcher.focus()
    page.keyboard.press("Enter")
    first = widget.chat.get_by_label("Vorname")
    expect(first).to_be_focused()
    page.keyboard.type("Jonas")
    page.keyboard.press("Tab")
    expect(widget.chat.get_by_label("Nachname")).to_be_focused()
    page.keyboard.type("Keyboard")
    for _ in range(3):  # Email, Phone, then Start chat
        page.keyboard.press("Tab")
    expect(widget.chat.get_by_role("button", name="Chat starten")).to_be_focused()
    _assert_accessible(widget.frame, "pre-chat")
    page.keyboard.press("Enter")
    box = widget.chat.get_by_role("textbox", name="Nachricht")
    expect(box).to_be_focused()
    expect(widget.log).to_contain_text("Hi Jonas")
    page.keyboard.type("Hallo")
    page.keyboard.press("Enter")
    expect(widget.chat.locator(".wc-msg--own", has_text="Hallo")).to_be_visible()
    expect(widget.log).to_contain_text('You said: "Hallo"')
    # The visible focus ring: the focused control draws one.
    ring = box.evaluate("e => getComputedStyle(e).boxShadow")
    assert ring and ring != "none"
    widget.shot("14-german-keyboard")
    _assert_accessible(widget.frame, "chat")
    page.keyboard.press("Escape")
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
