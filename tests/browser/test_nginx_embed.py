"""Chromium on an HTTPS host page of another site embeds the widget served through nginx
(deploy/nginx.conf, TLS from a CA made here) in front of two instances on Redis, and chats.

Chromium trusts the test certificate by its key (`--ignore-certificate-errors-spki-list` with
the SHA-256 of its public key): every other check stays, and downloads, which a context's
`ignore_https_errors` does not cover, work too."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import HTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARGS, CHROMIUM
from tests.browser.widget import ConsoleWatch, HostPage, Widget, host_page
from tests.nginx_server import Stack, start_stack, started_or_skip
from tests.tls import Certs, make_certs, spki_hash

MB25 = 25 * 1024 * 1024


class _HostPage(HostPage):
    """This module's host page."""


@pytest.fixture(scope="module")
def shop_and_stack(
    tmp_path_factory: pytest.TempPathFactory, sim_server: Any, redis_url: str
) -> Iterator[tuple[str, Stack, Certs]]:
    """The shop at https://localhost:<port>, the chat at https://127.0.0.1:<port> (nginx):
    two sites, both loopback so that Chromium's private-network rules allow the embed."""
    certs = make_certs(tmp_path_factory.mktemp("embed-certs"))
    host = HTTPServer(("127.0.0.1", 0), _HostPage)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    host.socket = context.wrap_socket(host.socket, server_side=True)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    shop = f"https://localhost:{host.server_address[1]}"
    folder = tmp_path_factory.mktemp("embed-nginx")
    try:
        stack = started_or_skip(
            lambda: start_stack(folder, certs, sim_server.base_url, redis_url, shop)
        )
    except BaseException:
        host.shutdown()
        raise
    _HostPage.html = host_page(stack.edge.url).encode()
    yield shop, stack, certs
    stack.stop()
    host.shutdown()


@pytest.fixture
def trusting_context(browser: Any, shop_and_stack: tuple[str, Stack, Certs]) -> Iterator[Any]:
    """A Chromium of its own that trusts the test certificate's key; console errors fail."""
    flag = f"--ignore-certificate-errors-spki-list={spki_hash(shop_and_stack[2].cert)}"
    chromium = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[*ARGS, flag])
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    watch = ConsoleWatch()
    context.on("page", watch.attach)
    yield context
    context.close()
    chromium.close()
    assert watch.errors == [], f"console errors: {watch.errors}"


def test_widget_through_nginx_on_another_https_site_chats_and_moves_25_mb(
    trusting_context: Any, shop_and_stack: tuple[str, Stack, Certs], sim: Any
) -> None:
    shop, stack, _ = shop_and_stack
    context = trusting_context
    page = context.new_page()
    page.goto(shop + "/")
    widget = Widget(page)
    widget.open()
    widget.start("Ines")
    widget.say("hello from the shop")
    expect(widget.agent_bubbles("hello from the shop")).to_have_count(1)
    cookies = [c for c in context.cookies(stack.edge.url) if c["name"].endswith("wc_visitor")]
    assert [c["name"] for c in cookies] == ["__Host-wc_visitor"]
    assert cookies[0]["secure"] and cookies[0]["sameSite"] == "None"
    assert cookies[0].get("partitionKey") == "https://localhost"  # kept under the shop's site
    widget.hand_file("attach", "big.pdf", "application/pdf", size=MB25)
    link = widget.chat.locator(".wc-msg--own .wc-file").get_by_role("link", name="Download big.pdf")
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as saved:
        link.click()
    with open(saved.value.path(), "rb") as handle:
        assert handle.read() == bytes(MB25)
    # A framed page of another site may not read its storage here; the simulator knows the chat.
    (chat_id,) = [
        c.chat_id
        for c in sim.chats()
        if c.request_body.get("parameters", {}).get("first_name") == "Ines"
    ]
    shared = [
        e["file_name"] for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_file"
    ]
    assert shared == ["big.pdf"]
    widget.shot("nginx-embed-25mb")
