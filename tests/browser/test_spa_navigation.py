"""A single-page app as the host: its history.pushState and replaceState navigations, and back,
reach the agent as chat_session_navigation, once each, with the title the app gives the page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.widget import Widget, host_page

# The app's router: registered before the loader runs, it names the page on back and forward,
# as single-page apps do in their popstate handler.
ROUTER = (
    "<script>addEventListener('popstate', () => {"
    " document.title = location.pathname === '/spa/home' ? 'Test host' : 'Orders'; });</script>"
)


def _navigations(sim, chat_id: str) -> list[tuple[str, str]]:
    return [(e["page"], e["title"]) for e in sim.chat(chat_id).client_events
            if e["event"] == "chat_session_navigation"]


def test_single_page_app_navigations_reach_the_agent(context, server, sim):
    home = server.url + "/spa/home"
    html = host_page(server.url).replace("<main>", ROUTER + "<main>")
    context.route(home, lambda route: route.fulfill(body=html, content_type="text/html"))
    page = context.new_page()
    widget = Widget(page)
    page.goto(home)
    widget.open()
    widget.start("Spa")
    chat_id = widget.chat_id()
    expected = [(home, "Test host")]
    assert sim.wait_for(lambda: _navigations(sim, chat_id) == expected)

    # The router pushes a new page and names it.
    page.evaluate("history.pushState({}, '', '/spa/orders'); document.title = 'Orders'")
    expected.append((server.url + "/spa/orders", "Orders"))
    assert sim.wait_for(lambda: len(_navigations(sim, chat_id)) == 2)
    # It rewrites the address in place (another page of results).
    page.evaluate("history.replaceState({}, '', '/spa/orders?page=2')")
    expected.append((server.url + "/spa/orders?page=2", "Orders"))
    assert sim.wait_for(lambda: len(_navigations(sim, chat_id)) == 3)
    # Back: reported by the Navigation API and by popstate, whose handler renames the page.
    page.go_back()
    expect(page).to_have_url(home)
    expected.append((home, "Test host"))
    assert sim.wait_for(lambda: len(_navigations(sim, chat_id)) == 4)
    # A last page: anything reported twice above would have been sent before it.
    page.evaluate("history.pushState({}, '', '/spa/last'); document.title = 'Last'")
    expected.append((server.url + "/spa/last", "Last"))
    assert sim.wait_for(lambda: len(_navigations(sim, chat_id)) == 5)
    assert _navigations(sim, chat_id) == expected
    expect(widget.log).to_contain_text("Hi Spa")  # the chat went on undisturbed
