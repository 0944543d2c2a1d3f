"""Only http(s) URLs become links in the widget: an agent's location of another scheme
(javascript:, data:) is shown as text, from the server and in the widget's own drawing."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.widget import Widget
from webchat.simulator import model

HOSTILE = "javascript:alert(document.domain)"
MAP = "https://maps.example/?q=52.5,13.4"


def _agent_location(sim, chat_id: str, url: str, lat: str = "", lon: str = "") -> None:
    chat = sim.chat(chat_id)
    event = {"event": "chat_session_location", "party_id": chat.agent_party_id, "url": url}
    if lat:
        event.update(latitude=lat, longitude=lon)
    sim.emit(chat, {**event, "timestamp": model.now_ts()})


def test_a_javascript_location_is_text_and_an_https_one_a_safe_link(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Linked")
    chat_id = widget.chat_id()
    _agent_location(sim, chat_id, HOSTILE)
    _agent_location(sim, chat_id, "data:text/html,<script>alert(1)</script>", "52.5", "13.4")
    _agent_location(sim, chat_id, MAP)
    places = widget.chat.locator(".wc-msg--agent", has_text="Location")
    expect(places).to_have_count(3)
    # The javascript: one: the words, no link at all.
    expect(places.nth(0).locator("a")).to_have_count(0)
    expect(places.nth(0).locator(".wc-place")).to_have_text("Location")
    # The data: one: its URL is dropped, so the map of its coordinates is linked instead.
    expect(places.nth(1).locator("a")).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=52.5&mlon=13.4"
    )
    # The https one: a link that opens apart and tells the map nothing about us.
    good = places.nth(2).get_by_role("link", name="Location")
    expect(good).to_have_attribute("href", MAP)
    expect(good).to_have_attribute("rel", "noopener noreferrer")
    expect(good).to_have_attribute("target", "_blank")
    hrefs = widget.frame.evaluate("[...document.querySelectorAll('a')].map((a) => a.href)")
    assert [h for h in hrefs if not h.startswith(("http:", "https:"))] == []
    widget.shot("links-location-text-and-link")


def test_the_widget_itself_never_links_another_scheme(context, server, sim):
    """With the server's filter bypassed: the widget's own drawing makes text of such URLs."""
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    expect(widget.chat.get_by_label("First name")).to_be_visible()
    drawn = widget.frame.evaluate(
        """async ([hostile, map]) => {
            const { Transcript } = await import('/static/chat/transcript.js');
            const { link } = await import('/static/chat/util.js');
            const root = document.createElement('div');
            const transcript = new Transcript(root, document.createElement('p'));
            const who = { own: false, name: 'Agent' };
            const out = {};
            for (const url of [hostile, ' JavaScript:alert(1)', 'data:text/html,x', 'vbscript:x']) {
                root.replaceChildren();
                transcript.location(who, { url, latitude: '52.5', longitude: '13.4' });
                out[url] = [root.querySelectorAll('a').length, root.textContent];
            }
            root.replaceChildren();
            transcript.location(who, { url: map });
            const a = root.querySelector('a');
            out.map = [a.href, a.rel, a.target];
            out.link = link(hostile, 'x').tagName;
            return out;
        }""",
        [HOSTILE, MAP],
    )
    for url in (HOSTILE, " JavaScript:alert(1)", "data:text/html,x", "vbscript:x"):
        count, text = drawn[url]
        assert count == 0 and "Location: 52.5, 13.4" in text, (url, drawn[url])
    assert drawn["map"] == [MAP, "noopener noreferrer", "_blank"]
    assert drawn["link"] == "SPAN"
