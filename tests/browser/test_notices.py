"""What the visitor is told without asking: ServicePattern's inactivity warning, the chat ended
for inactivity, and the sound notifications toggle (its state, not its sound)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.widget import Widget
from tests.conftest import fast_config
from tests.harness import ServerProcess
from webchat.simulator import Simulator, SimulatorServer
from webchat.simulator.agent import TIMEOUT_TEXT, WARNING_TEXT

# The scripted agent warns 1 s after the visitor's last event and ends the chat after 4 s.
WARNING_AFTER, TIMEOUT_AFTER = 1.0, 4.0


@pytest.fixture(scope="module")
def idle_sim_server():
    server = SimulatorServer(
        Simulator(fast_config(warning_after=WARNING_AFTER, timeout_after=TIMEOUT_AFTER))
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idle_server(idle_sim_server):
    process = ServerProcess(idle_sim_server.base_url)
    yield process
    process.stop()


@pytest.fixture
def idle_sim(idle_sim_server):
    """The inactivity simulator; a test may not leave a protocol violation behind."""
    simulator = idle_sim_server.simulator
    before = len(simulator.violations)
    yield simulator
    assert simulator.violations[before:] == []
    assert simulator.max_concurrent_polls <= 1


def test_inactivity_warning_is_shown_and_the_chat_goes_on(context, idle_server, idle_sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(idle_server.url + "/")
    widget.open()
    widget.start("Idle")
    warning = widget.chat.locator(".wc-system--warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text(WARNING_TEXT)
    expect(warning.locator("time")).to_have_count(1)
    # A warning, not an end: the visitor can still answer, and the agent still hears.
    expect(widget.message_box).to_be_enabled()
    expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_hidden()
    widget.say("still here")
    expect(widget.agent_bubbles('You said: "still here"')).to_have_count(1)
    assert not idle_sim.chat(widget.chat_id()).ended


def test_inactivity_timeout_ends_the_chat(context, idle_server, idle_sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(idle_server.url + "/")
    page.evaluate("WebChat.on('chatEnded', () => { document.body.dataset.ended = 'yes'; }); 0")
    widget.open()
    widget.start("Sleepy")
    chat_id = widget.chat_id()
    end_line = widget.chat.locator(".wc-system--end .wc-system-text")
    expect(end_line).to_have_text([TIMEOUT_TEXT], timeout=(TIMEOUT_AFTER + 10) * 1000)
    assert idle_sim.chat(chat_id).ended
    # The composer goes (and is disabled); "Start a new chat" takes the focus.
    expect(widget.message_box).to_be_hidden()
    expect(widget.chat.locator("#wc-message")).to_be_disabled()
    expect(widget.chat.get_by_role("button", name="End chat", exact=True)).to_be_hidden()
    new = widget.chat.get_by_role("button", name="Start a new chat")
    expect(new).to_be_focused()
    expect(widget.chat.get_by_role("button", name="Download transcript")).to_be_visible()
    expect(widget.chat.locator("#wc-status")).to_have_text("Chat ended")
    expect(page.locator("body")).to_have_attribute("data-ended", "yes")
    # Still ended after a reload, with the reason shown once.
    page.reload()
    expect(widget.chat.get_by_role("button", name="Start a new chat")).to_be_visible()
    expect(end_line).to_have_text([TIMEOUT_TEXT])
    expect(widget.message_box).to_be_hidden()
    new.click()
    expect(widget.chat.get_by_label("First name")).to_be_focused()


def _tab_to(widget: Widget, element_id: str, limit: int = 20) -> None:
    """Presses Tab until the element with `element_id` in the chat has the focus."""
    for _ in range(limit):
        widget.page.keyboard.press("Tab")
        if widget.frame.evaluate("document.activeElement && document.activeElement.id") == (
            element_id
        ):
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_sound_toggle_is_a_labelled_keyboard_button_that_persists(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    expect(widget.chat.get_by_label("First name")).to_be_focused()  # the form is ready
    sound = widget.chat.get_by_role("button", name="Sound notifications")
    expect(sound).to_have_count(1)
    expect(sound).to_have_attribute("aria-pressed", "false")  # off until the visitor asks
    _tab_to(widget, "wc-sound")
    expect(sound).to_be_focused()
    page.keyboard.press("Space")
    expect(sound).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    expect(sound).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Enter")
    expect(sound).to_have_attribute("aria-pressed", "true")

    # Kept across a reload of the host page, and for the chat page opened on its own.
    page.reload()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(sound).to_have_attribute("aria-pressed", "true")
    alone = context.new_page()
    alone.goto(server.url + "/chat")
    alone_sound = alone.get_by_role("button", name="Sound notifications")
    expect(alone_sound).to_have_attribute("aria-pressed", "true")
    alone.close()

    # Turned off, it stays off.
    sound.focus()
    page.keyboard.press("Space")
    expect(sound).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(sound).to_have_attribute("aria-pressed", "false")
