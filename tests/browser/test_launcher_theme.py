"""The launcher and the chat's look on a host page, in Chromium: one brand colour for both
(data-color or a THEME_DIR theme's) with text chosen for contrast, light and dark, right to left,
the phone's full screen holding focus, the round launcher with its preview card, and desktop
notifications."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app import create_app
from tests.browser.conftest import SCREENSHOTS
from tests.browser.widget import Widget, axe_violations, host_page
from tests.harness import ROOT, ServerProcess
from webchat.settings import Settings, load_settings

ACME = ROOT / "examples" / "theme-acme"
EMERALD = "#10b981"  # white on it is 2.5:1


def _serve(context, base: str, path: str, attributes: str = "") -> str:
    url = base + path
    html = host_page(base, attributes)
    context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    return url


def _ratio(target, fg_css: str, bg_css: str) -> float:
    """WCAG contrast of two colours as the browser resolved them ("rgb(…)")."""
    return target.evaluate(
        """([a, b]) => {
            const lum = (c) => {
                const [r, g, bl] = c.match(/[\\d.]+/g).slice(0, 3).map((v) => {
                    v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
            };
            const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
            return (x + 0.05) / (y + 0.05);
        }""",
        [fg_css, bg_css],
    )


def _css(locator, prop: str) -> str:
    return locator.evaluate("(e, p) => getComputedStyle(e)[p]", prop)


def _shadow(page, selector: str):
    return page.locator("[data-webchat]").locator(selector)


def _assert_accessible(target, where: str) -> None:
    # Lines fading in are half transparent: axe judges them once they are in.
    target.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
    violations = axe_violations(target)
    assert violations == [], f"{where}: {violations}"


def test_the_loader_carries_the_theme_colour_and_right_to_left(tmp_path):
    def loader(theme: str | None) -> str:
        settings = Settings(
            sp_api_url="http://127.0.0.1:9",
            sp_tenant_url="t.example",
            sp_app_id="app",
            theme_dir=load_settings({"THEME_DIR": theme or ""}).theme_dir,
        )
        return (
            create_app({"SETTINGS": settings, "TESTING": True}).test_client().get("/widget.js").text
        )

    assert '"#8a1538"' in loader(str(ACME)) and '"#8a1538"' not in loader(None)
    assert '"#1f5fbf"' in loader(None)
    # Arabic, and only Arabic, reads right to left: the launcher goes to the left.
    assert '"dismiss":"إخفاء","rtl":1}' in loader(None) and loader(None).count('"rtl"') == 1
    # Not a colour (a theme's stylesheet is not ours to trust): ours.
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "x.css").write_text(':root{--wc-primary: red"};alert(1)//;}')
    assert '"#1f5fbf"' in loader(str(tmp_path)) and "alert" not in loader(str(tmp_path))


def test_one_brand_colour_for_launcher_and_chat_with_readable_text(context, server, sim):
    url = _serve(context, server.url, "/host-emerald", f'data-color="{EMERALD}"')
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    launcher = widget.launcher
    expect(launcher).to_have_css("background-color", "rgb(16, 185, 129)")
    # The launcher's icon: dark on a light brand (white would be 2.5:1).
    assert _ratio(page, _css(launcher, "color"), "rgb(16, 185, 129)") >= 4.5
    _assert_accessible(page, "host page with an emerald launcher")
    widget.open()
    expect(widget.chat.get_by_label("First name")).to_be_visible()  # the page's scripts ran
    # The same colour reaches the chat, and its text on it is chosen for contrast too.
    root = widget.chat.locator("html")
    primary = root.evaluate("e => getComputedStyle(e).getPropertyValue('--wc-primary').trim()")
    assert primary == EMERALD
    header = widget.chat.locator(".wc-header")
    expect(header).to_have_css("background-color", "rgb(16, 185, 129)")
    assert _ratio(page, _css(header, "color"), _css(header, "background-color")) >= 4.5
    start = widget.chat.get_by_role("button", name="Start chat")
    assert _ratio(page, _css(start, "color"), _css(start, "background-color")) >= 4.5
    widget.start("Emerald")
    _assert_accessible(widget.frame, "chat in emerald")


def test_a_theme_colours_the_launcher_too(context, sim_server, sim):
    server = ServerProcess(sim_server.base_url, {"THEME_DIR": str(ACME)})
    try:
        page = context.new_page()
        widget = Widget(page)
        page.goto(server.url + "/")
        # The theme's --wc-primary (#8a1538), not our blue: one setting for both.
        expect(widget.launcher).to_have_css("background-color", "rgb(138, 21, 56)")
        assert _ratio(page, _css(widget.launcher, "color"), "rgb(138, 21, 56)") >= 4.5
        widget.open()
        button = widget.chat.get_by_role("button", name="Start chat")
        expect(button).to_have_css("background-color", "rgb(138, 21, 56)")
    finally:
        server.stop()


def test_dark_and_light_from_the_tag_and_from_the_visitor(make_context, server, sim):
    context = make_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    url = _serve(context, server.url, "/host-dark", 'data-theme="dark"')
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    widget.open()
    expect(widget.chat.locator("html")).to_have_attribute("data-theme", "dark")
    expect(widget.chat.locator("body")).to_have_css("background-color", "rgb(22, 25, 31)")
    _assert_accessible(widget.frame, "dark pre-chat")
    widget.start("Dusk")
    widget.say("see https://example.com/a")
    expect(widget.agent_bubbles("example.com/a")).to_have_count(1)
    _assert_accessible(widget.frame, "dark chat")
    # The visitor's own dark scheme without data-theme; data-theme="light" keeps it light.
    dark = make_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    schemes = (("", "rgb(22, 25, 31)"), ('data-theme="light"', "rgb(255, 255, 255)"))
    for attributes, background in schemes:
        page = dark.new_page()
        page.goto(_serve(dark, server.url, f"/host-scheme-{len(attributes)}", attributes))
        Widget(page).open()
        expect(Widget(page).chat.locator("body")).to_have_css("background-color", background)


def test_right_to_left_fields_side_and_names(context, server, sim, monkeypatch):
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-rtl", 'data-lang="ar"'))
    launcher = page.get_by_role("button", name="دردشة")
    # Arabic: the launcher and the panel on the left, without data-position.
    assert launcher.bounding_box()["x"] < 100
    launcher.click()
    assert page.locator("iframe").bounding_box()["x"] < 100
    email = widget.chat.get_by_label("البريد الإلكتروني")
    email.fill("bad@")
    # An address reads left to right ("bad@", not "@bad").
    assert _css(email, "direction") == "ltr"
    assert _css(widget.chat.get_by_label("الهاتف"), "direction") == "ltr"
    assert _css(widget.chat.get_by_label("الاسم الأول"), "direction") == "rtl"
    # data-position still wins.
    other = context.new_page()
    right = 'data-lang="ar" data-position="right"'
    other.goto(_serve(context, server.url, "/host-rtl-right", right))
    assert other.get_by_role("button", name="دردشة").bounding_box()["x"] > 1000

    # An English page, an agent with an Arabic name: the time stays after the name.
    monkeypatch.setattr(sim.config, "agent_first_name", "سارة")
    monkeypatch.setattr(sim.config, "agent_last_name", "الحربي")
    page = context.new_page()
    widget = Widget(page)
    page.goto(server.url + "/")
    widget.open()
    widget.start("Lina")
    meta = widget.chat.locator(".wc-meta", has_text="سارة")
    meta = meta.filter(has=widget.chat.locator("time")).first
    name_end = meta.locator(".wc-name").evaluate(
        "n => Math.max(...[...n.getClientRects()].map(r => r.right))"
    )
    times = meta.locator("time").evaluate("t => [...t.getClientRects()].map(r => r.left)")
    assert min(times) >= name_end - 1, (name_end, times)


def test_phone_full_screen_keeps_focus_in_the_chat(make_context, server, sim):
    context = make_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-phone"))
    widget.launcher.tap()
    expect(widget.chat.get_by_label("First name")).to_be_visible()
    assert page.evaluate("document.querySelector('main').inert") is True
    widget.chat.get_by_role("button", name="Start chat").focus()
    for _ in range(12):  # round and round: never onto the host's link hidden under the chat
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") != "A"
    widget.chat.get_by_role("button", name="Close chat").tap()
    expect(widget.launcher).to_be_visible()
    assert page.evaluate("document.querySelector('main').inert") is False
    page.get_by_role("link", name="A link on the host page").focus()
    expect(page.get_by_role("link", name="A link on the host page")).to_be_focused()


def test_round_launcher_with_icons_badge_and_preview(context, server, sim):
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-round"))
    launcher = widget.launcher
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_have_accessible_name("Chat")
    closed = launcher.bounding_box()
    assert (closed["width"], closed["height"]) == (56, 56)
    chat_icon, close_icon = launcher.locator("svg").first, launcher.locator("svg").last
    expect(chat_icon).to_have_css("opacity", "1")
    expect(close_icon).to_have_css("opacity", "0")
    _assert_accessible(page, "host page, launcher closed")
    # Opening moves nothing, changes the icon (a cross-fade) and the name; the panel moves in.
    assert _css(launcher, "transition-duration") != "0s"
    widget.open()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(launcher).to_have_accessible_name("Close chat")
    expect(close_icon).to_have_css("opacity", "1")
    expect(chat_icon).to_have_css("opacity", "0")
    page.mouse.move(10, 10)  # hovered, it grows a little
    expect(launcher).to_have_css("transform", "none")
    assert launcher.bounding_box() == closed
    assert _css(_shadow(page, ".p"), "transition-duration") != "0s"
    widget.start("Round")
    chat_id = widget.chat_id()
    page.evaluate("WebChat.close()")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    # Closed: the agent's latest message shows by the launcher, as text, with an unread badge.
    sim.agent_say(chat_id, "Your parcel <i>ships</i> today")
    card = _shadow(page, ".c")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Alice")
    expect(card.locator("p")).to_have_text("Your parcel <i>ships</i> today")  # text, never HTML
    assert card.locator("p").evaluate("p => p.children.length") == 0
    expect(launcher).to_have_accessible_name(re.compile("1 unread"))
    expect(_shadow(page, ".b")).to_have_text("1")
    _assert_accessible(page, "host page with the preview")
    page.screenshot(path=str(SCREENSHOTS / "20-preview-card.png"))
    # Dismissed, it goes; the next message brings it back; a click on it opens the chat.
    page.get_by_role("button", name="Dismiss").click()
    expect(card).to_be_hidden()
    expect(launcher).to_be_focused()
    sim.agent_say(chat_id, "Anything else?")
    expect(card).to_contain_text("Anything else?")
    card.locator("p").click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(card).to_be_hidden()
    # The API still drives it.
    page.evaluate("window.opened = 0; WebChat.on('close', () => window.opened--); WebChat.toggle()")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.wait_for_function("window.opened === -1")


def test_reduced_motion_means_no_motion(make_context, server, sim):
    context = make_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-still"))
    widget.open()
    assert _css(_shadow(page, ".p"), "transition-duration") == "0s"
    assert _css(widget.launcher, "transition-duration") == "0s"


# The Notification API, recorded: what was asked for and shown, in the host page and the frame;
# and a page that can be hidden on demand (window.__hide()).
FAKE_NOTIFICATIONS = """
(() => {
  window.__asked = 0; window.__shown = []; let hidden = false;
  class FakeNotification {
    static permission = 'default';
    static requestPermission() {
      window.__asked++;
      FakeNotification.permission = 'granted';
      return Promise.resolve('granted');
    }
    constructor(title, options) { window.__shown.push([title, options && options.body]); }
  }
  window.Notification = FakeNotification;
  Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', {
    get: () => (hidden ? 'hidden' : 'visible'),
  });
  window.__hide = () => { hidden = true; document.dispatchEvent(new Event('visibilitychange')); };
})();
"""


def test_desktop_notifications_after_the_first_message_while_hidden(context, server, sim):
    context.add_init_script(FAKE_NOTIFICATIONS)
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-notify"))
    widget.open()
    asked = "() => window.__asked"
    assert page.evaluate(asked) == 0 and widget.frame.evaluate(asked) == 0  # never on load
    widget.start("Nora")
    assert page.evaluate(asked) == 0  # nor for the pre-chat form
    widget.say("hello")
    page.wait_for_function("window.__asked === 1")
    expect(widget.agent_bubbles('You said: "hello"')).to_have_count(1)
    chat_id = widget.chat_id()
    sim.agent_say(chat_id, "seen while visible")
    expect(widget.agent_bubbles("seen while visible")).to_have_count(1)
    for target in (page, widget.frame):
        target.evaluate("window.__hide()")
    sim.agent_say(chat_id, "Your order has shipped")
    page.wait_for_function("window.__shown.length === 1")
    assert page.evaluate("window.__shown") == [["Alice Martin", "Your order has shipped"]]
    assert widget.frame.evaluate("window.__shown") == []
    expect(page).to_have_title(re.compile(r"^\(1\) "))  # the title still counts
    widget.say("second")
    assert page.evaluate(asked) == 1


def test_loader_api_before_the_chat_part_loads(context, server, sim):
    """The API queued before the script, and called before the chat's part is loaded, works."""
    queue = "<script>window.WebChat = {q: [['setParameters', {first_name: 'Quinn'}]]};</script>"
    url = server.url + "/host-queue"
    html = host_page(server.url).replace("<main>", queue + "<main>")
    context.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    expect(widget.launcher).to_be_visible()
    page.evaluate("WebChat.open()")
    expect(widget.chat.get_by_label("First name")).to_have_value("Quinn")


def test_at_200_percent_zoom_launcher_preview_and_chat_stay_accessible(make_context, server, sim):
    # 1280 x 800 at 200 %: the page lays out in 640 x 400 CSS pixels.
    context = make_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-zoom", f'data-color="{EMERALD}"'))
    widget.open()
    widget.start("Zoe")
    _assert_accessible(widget.frame, "chat at 200 %")
    page.keyboard.press("Escape")
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    sim.agent_say(widget.chat_id(), "A long answer that has to wrap over several lines " * 3)
    card = _shadow(page, ".c")
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 640 and box["y"] >= 0
    _assert_accessible(page, "host page with the preview at 200 %")
    # By keyboard: the preview's Dismiss comes just before the launcher.
    widget.launcher.focus()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Dismiss")).to_be_focused()
    page.keyboard.press("Enter")
    expect(card).to_be_hidden()
    expect(widget.launcher).to_be_focused()


def test_the_chat_is_never_painted_in_colours_other_than_the_hosts(make_context, server, sim):
    """Until the chat's scripts applied the host's look, the panel shows its own background and
    the chat stays transparent; the host's data-theme is on the page as the server sends it."""
    context = make_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    url = _serve(context, server.url, "/host-no-flash", 'data-theme="dark" data-color="#10b981"')
    held: list = []
    main_js = re.compile(r".*/static/chat/main\.js.*")
    context.route(main_js, lambda route: held.append(route))  # the chat's scripts held back
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    with page.expect_request(main_js):
        widget.launcher.click()
    frame_tag = _shadow(page, "iframe")
    # Painted by the server alone: dark already, the chat not shown over the dark panel.
    assert widget.frame.evaluate("document.documentElement.dataset.theme") == "dark"
    expect(_shadow(page, ".p")).to_have_css("background-color", "rgb(22, 25, 31)")
    expect(frame_tag).to_have_css("opacity", "0")
    held[0].continue_()
    # Once the chat is ready: shown, in the brand colour (not the default blue first).
    expect(frame_tag).to_have_css("opacity", "1")
    header = widget.chat.locator(".wc-header")
    expect(header).to_have_css("background-color", "rgb(16, 185, 129)")


def test_a_chat_page_that_fails_to_load_is_still_shown(context, server, sim):
    """No ready message from an error page: its load shows it (the browser's or the proxy's
    error, rather than an empty panel)."""
    context.watch.allow_network_errors = True  # the 502 below, on purpose
    url = _serve(context, server.url, "/host-broken-chat")
    context.route(
        re.compile(r".*/chat\?.*"),
        lambda route: route.fulfill(status=502, body="Bad gateway", content_type="text/plain"),
    )
    page = context.new_page()
    widget = Widget(page)
    page.goto(url)
    widget.launcher.click()
    expect(_shadow(page, "iframe")).to_have_css("opacity", "1")
    expect(widget.chat.locator("body")).to_have_text("Bad gateway")


# Where each character of `name` is drawn, left to right in the order of the string when the
# name reads as written (spaces skipped).
CHARACTER_POSITIONS = """(el, name) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const xs = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const at = n.data.indexOf(name);
    for (let k = at; at >= 0 && k < at + name.length; k++) {
      if (n.data[k] === ' ') continue;
      const r = document.createRange();
      r.setStart(n, k);
      r.setEnd(n, k + 1);
      xs.push(r.getBoundingClientRect().left);
    }
  }
  return xs;
}"""


def test_a_name_written_the_other_way_keeps_its_punctuation(context, server, sim, monkeypatch):
    """An agent named "Alice Martin Jr." in Arabic sentences: the full stop stays after "Jr"
    (not drawn on the name's other side), in the status line and the join line."""
    monkeypatch.setattr(sim.config, "agent_last_name", "Martin Jr.")
    page = context.new_page()
    widget = Widget(page)
    page.goto(_serve(context, server.url, "/host-rtl-names", 'data-lang="ar"'))
    widget.open()
    widget.chat.get_by_label("الاسم الأول").fill("ليلى")
    widget.chat.get_by_label("اسم العائلة").fill("حداد")
    widget.chat.get_by_role("button", name="ابدأ الدردشة").click()
    name = "Alice Martin Jr."
    status = widget.chat.locator(".wc-status-name")
    expect(status).to_have_text(name)
    joined = widget.chat.locator(".wc-system--join .wc-system-text")
    expect(joined).to_contain_text(name)
    for where in (status, joined):
        xs = where.evaluate(CHARACTER_POSITIONS, name)
        assert len(xs) == len(name) - name.count(" ") and xs == sorted(xs), (where, xs)
