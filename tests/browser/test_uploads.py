"""Files from the visitor other than through the attach button: dropped on the chat, pasted
from the clipboard; an upload's progress and its Cancel; files refused before they leave the
browser (too large, a type we do not send)."""

from __future__ import annotations

import contextlib
import re

from playwright.sync_api import Error, expect

from tests.browser.widget import TINY_PNG, Widget


def _files_shared(sim, chat_id: str) -> list[str]:
    """Names of the files the server shared in the chat (one chat_session_file per upload)."""
    return [e["file_name"] for e in sim.chat(chat_id).client_events
            if e["event"] == "chat_session_file"]


def _sent_file(widget: Widget, name: str):
    return widget.chat.locator(".wc-msg--own .wc-file").get_by_role(
        "link", name=f"Download {name}"
    )


def test_dropped_and_pasted_files_are_sent_and_shown_once(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Dropper")
    chat_id = widget.chat_id()

    # A file dragged over the chat shows where to drop it; dropped, it is sent.
    overlay = widget.chat.get_by_text("Drop the file here to send it")
    expect(overlay).to_be_hidden()
    widget.hand_file("dragenter", "dropped.png", "image/png", TINY_PNG)
    expect(overlay).to_be_visible()
    assert widget.hand_file("drop", "dropped.png", "image/png", TINY_PNG)
    expect(overlay).to_be_hidden()
    expect(widget.agent_bubbles('I received "dropped.png"')).to_have_count(1)
    expect(_sent_file(widget, "dropped.png")).to_have_count(1)

    # An image pasted from the clipboard into the message box is sent too.
    assert widget.hand_file("paste", "pasted.png", "image/png", TINY_PNG)
    expect(widget.agent_bubbles('I received "pasted.png"')).to_have_count(1)
    expect(_sent_file(widget, "pasted.png")).to_have_count(1)
    expect(widget.message_box).to_have_value("")
    expect(widget.chat.locator(".wc-upload")).to_have_count(0)  # no progress row left over

    # Each reached ServicePattern once, and each is drawn once, after a reload too.
    assert _files_shared(sim, chat_id) == ["dropped.png", "pasted.png"]
    page.reload()
    expect(widget.log).to_contain_text('I received "pasted.png"')
    expect(_sent_file(widget, "dropped.png")).to_have_count(1)
    expect(_sent_file(widget, "pasted.png")).to_have_count(1)
    _downloads_by_its_own_link(page, widget, "pasted.png", TINY_PNG)
    widget.shot("uploads-file-messages")


def _downloads_by_its_own_link(page, widget: Widget, name: str, body: bytes) -> None:
    """The file's link and thumbnail carry a credential of their own, never the page's token;
    the thumbnail shows and a click on the link saves the file."""
    token = widget.chat.locator("#wc-app").get_attribute("data-token")
    link = _sent_file(widget, name)
    expect(link).to_have_attribute("href", re.compile(r"^/api/files/[^?]+\?key="))
    thumb = widget.chat.locator(".wc-msg--own .wc-thumb").last
    expect(thumb).to_have_attribute("src", re.compile(r"\?key="))
    assert thumb.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    assert token not in link.get_attribute("href") + thumb.get_attribute("src")
    with page.expect_download() as saved:
        link.click()
    assert saved.value.suggested_filename == name
    with open(saved.value.path(), "rb") as handle:
        assert handle.read() == body


def test_upload_progress_and_cancel(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Canceller")
    chat_id = widget.chat_id()
    # Uploads are held in the browser until the test lets them go: a slow network.
    held = []
    page.route("**/api/files", lambda route: held.append(route))

    with page.expect_request("**/api/files") as first:
        widget.hand_file("attach", "slow.pdf", "application/pdf", size=300_000)
    bar = widget.chat.get_by_role("progressbar", name="Sending slow.pdf…")
    expect(bar).to_be_visible()
    expect(widget.log).to_contain_text("Sending slow.pdf…")
    assert first.value.headers.get("x-webchat-token")
    widget.chat.get_by_role("button", name="Cancel: slow.pdf").click()
    expect(bar).to_have_count(0)
    expect(widget.log).to_contain_text("Sending slow.pdf was cancelled.")
    expect(widget.message_box).to_be_enabled()
    # The browser gave the request up: the held route can no longer go anywhere.
    for route in held:
        with contextlib.suppress(Error):
            route.abort()

    # The next upload shows its progress while held, and once let go (the route keeps the
    # X-Webchat-Token header, or the server would refuse it) it is sent and shown.
    held.clear()
    with page.expect_request("**/api/files") as second:
        widget.hand_file("attach", "notes.txt", "text/plain", b"after the cancel\n")
    bar = widget.chat.get_by_role("progressbar", name="Sending notes.txt…")
    expect(bar).to_be_visible()
    assert second.value.headers.get("x-webchat-token") == first.value.headers["x-webchat-token"]
    expect(widget.chat.get_by_role("button", name="Cancel: notes.txt")).to_be_enabled()
    assert len(held) == 1
    held[0].continue_()
    expect(bar).to_have_count(0)
    expect(_sent_file(widget, "notes.txt")).to_have_count(1)
    expect(widget.agent_bubbles('I received "notes.txt"')).to_have_count(1)
    # The cancelled file never reached ServicePattern.
    assert _files_shared(sim, chat_id) == ["notes.txt"]
    expect(widget.log).not_to_contain_text("slow.pdf” could not be sent")


def test_too_large_or_disallowed_files_are_refused_before_any_upload(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    uploads = []
    # Uploads only: not the links and downloads of the files shown.
    page.on("request", lambda r: uploads.append(r) if r.url.endswith("/api/files") else None)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Refused")
    chat_id = widget.chat_id()
    # The limit is the server's (data-max-upload: settings.max_upload_bytes, 25 MB).
    limit = int(widget.chat.locator("#wc-app").get_attribute("data-max-upload"))
    assert limit == 25 * 1024 * 1024

    assert widget.hand_file("drop", "huge.pdf", "application/pdf", size=limit + 1024 * 1024)
    expect(widget.log).to_contain_text("“huge.pdf” is larger than 25 MB and was not sent.")
    widget.hand_file("attach", "script.sh", "application/x-sh", b"#!/bin/sh\n")
    expect(widget.log).to_contain_text(
        "“script.sh” was not sent: only images, PDF, text, office documents and ZIP files"
        " can be sent."
    )
    assert widget.hand_file("paste", "page.html", "text/html", b"<p>hi</p>")
    expect(widget.log).to_contain_text("“page.html” was not sent")
    expect(widget.chat.locator(".wc-system--error")).to_have_count(3)
    expect(widget.chat.locator(".wc-upload")).to_have_count(0)

    # A file just under the limit's rules still goes: and it is the only upload there was.
    assert widget.hand_file("drop", "fine.txt", "text/plain", b"fine\n")
    expect(_sent_file(widget, "fine.txt")).to_have_count(1)
    expect(widget.agent_bubbles('I received "fine.txt"')).to_have_count(1)
    assert len(uploads) == 1
    assert _files_shared(sim, chat_id) == ["fine.txt"]
