"""Embedded on another site: the browser withholds our cookie in the frame (a SameSite=Lax
cookie over plain HTTP, as third-party cookie blocking would), and the chat must still
survive a reload of the host page through the page's stored token."""

from __future__ import annotations

import re
import threading
from http.server import HTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.widget import HostPage, Widget, host_page
from tests.harness import ServerProcess


@pytest.fixture(scope="module")
def framed_server(sim_server):
    """Our server on 127.0.0.1; the host page on "localhost", another site (both loopback, so
    Chromium's private-network rules allow the embed)."""
    host = HTTPServer(("127.0.0.1", 0), _HostPage)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    shop = f"http://localhost:{host.server_address[1]}"
    # File links live 2 s here, so that a click on an expired one is seen to renew it.
    process = ServerProcess(
        sim_server.base_url, {"ALLOWED_ORIGINS": shop, "FILE_LINK_MAX_AGE": "2"}
    )
    _HostPage.html = host_page(process.url).encode()
    yield process, shop
    process.stop()
    host.shutdown()


class _HostPage(HostPage):
    """This module's host page."""


def test_chat_survives_reload_without_cookies_in_the_frame(context, framed_server, sim):
    server, shop = framed_server
    page = context.new_page()
    page.goto(shop + "/")
    widget = Widget(page)
    widget.open()
    widget.start("Cora")
    # The frame may not even read its own storage here; the simulator knows the chat.
    (chat_id,) = [
        c.chat_id
        for c in sim.chats()
        if c.request_body.get("parameters", {}).get("first_name") == "Cora"
    ]
    kept = [c for c in context.cookies(server.url) if c["name"].endswith("wc_visitor")]
    assert kept == [] or all(c["sameSite"] == "Lax" for c in kept)  # never sent in this frame
    widget.say("sent from a cross-site frame")
    expect(widget.agent_bubbles("sent from a cross-site frame")).to_have_count(1)
    page.reload()
    expect(widget.chat.locator("#wc-app")).to_be_visible()  # it was open: it opens again
    expect(widget.own_bubbles("sent from a cross-site frame")).to_have_count(1)
    widget.say("and after the reload")
    expect(widget.agent_bubbles("and after the reload")).to_have_count(1)
    posted = [
        e.get("msg")
        for e in sim.chat(chat_id).client_events
        if e["event"] == "chat_session_message"
    ]
    assert posted == ["sent from a cross-site frame", "and after the reload"]
    widget.shot("cross-site-after-reload")


def test_files_download_in_a_cookieless_frame_by_links_renewed_on_click(
    context, framed_server, sim
):
    server, shop = framed_server
    page = context.new_page()
    page.goto(shop + "/")
    widget = Widget(page)
    widget.open()
    widget.start("Flo")
    widget.hand_file("attach", "notes.txt", "text/plain", b"cross-site notes\n")
    link = widget.chat.locator(".wc-msg--own .wc-file").get_by_role(
        "link", name="Download notes.txt"
    )
    expect(link).to_have_attribute("href", re.compile(r"\?key="))
    first = link.get_attribute("href")
    with page.expect_download() as saved:
        link.click()
    with open(saved.value.path(), "rb") as handle:
        assert handle.read() == b"cross-site notes\n"
    # Once the link's credential has expired (the server's clock: asked until it refuses),
    # a click asks for a new link first, and the file still comes.
    tick = threading.Event()
    for _ in range(50):
        if page.request.get(server.url + first).status == 403:
            break
        tick.wait(0.2)
    assert page.request.get(server.url + first).status == 403
    with page.expect_download() as again:
        link.click()
    with open(again.value.path(), "rb") as handle:
        assert handle.read() == b"cross-site notes\n"
    assert link.get_attribute("href") != first
    widget.shot("cross-site-file-link")
