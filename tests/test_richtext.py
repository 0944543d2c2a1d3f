"""The sanitiser of agents' markup (webchat/relay/richtext.py): the usual XSS payloads leave
nothing that runs, styles or links anywhere but http(s); the subset survives; plain text and
the visitor's own messages get no HTML at all."""

from __future__ import annotations

import html.parser

import pytest

from webchat.relay.richtext import has_markup, sanitize, with_html

ALLOWED = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a"}
REL = "noopener noreferrer nofollow"

# The usual corpus: scripts, handlers, dangerous schemes (plain, entity-encoded, with control
# characters), style, frames, mutation XSS, nested and unclosed tags.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"/>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<b onmouseover=alert(1)>hover</b>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="java\tscript:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="//evil.example/">protocol-relative</a>',
    '<a href="/api/files/1">relative</a>',
    "<style>body{background:url(javascript:alert(1))}</style>styled",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    '<input autofocus onfocus="alert(1)">',
    '<details open ontoggle="alert(1)">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    '<template><img src=x onerror="alert(1)"></template>',
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<title><img src=x onerror=alert(1)></title>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<b><i><u>nested and unclosed",
    "<ul><li><a href=javascript:alert(1)>unclosed link",
    '<a href="https://ok.example/" onclick="alert(1)" target="_self" rel="opener">link</a>',
    "<div><span onclick=alert(1)>a span</span></div>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


class Walker(html.parser.HTMLParser):
    """Every tag and attribute of a fragment, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    walker = Walker()
    walker.feed(fragment)
    walker.close()
    return walker.tags


def assert_safe(fragment: str) -> None:
    lowered = fragment.lower()
    for needle in ("<script", "<style", "<iframe", "<img", "<svg", "<object", "<embed", "<form"):
        assert needle not in lowered, fragment
    for tag, attrs in elements(fragment):
        assert tag in ALLOWED, fragment
        allowed = {"href", "rel", "target"} if tag == "a" else set()
        assert set(attrs) <= allowed, fragment
        if tag == "a":
            href = attrs.get("href")
            assert href is None or href.startswith(("https://", "http://")), fragment
            assert attrs.get("rel") == REL and attrs.get("target") == "_blank", fragment


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_leaves_anything_that_runs_styles_or_links_elsewhere(payload):
    assert_safe(sanitize(payload))
    event = {"event": "chat_session_message", "party_id": "agent", "msg": payload}
    out = with_html(event, "chat-1")
    if "html" in out:
        assert_safe(out["html"])
    assert out["msg"] == payload  # the original stays as it came


def test_the_subset_survives_with_safe_links():
    msg = (
        "<p>Hello <b>Ann</b>, <strong>note</strong> <i>this</i> <em>too</em>:</p>"
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
        'See <a href="https://help.example/a?b=1&amp;c=2">help</a><br>Bye'
    )
    out = sanitize(msg)
    assert out == (
        "<p>Hello <b>Ann</b>, <strong>note</strong> <i>this</i> <em>too</em>:</p>"
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
        'See <a href="https://help.example/a?b=1&amp;c=2" target="_blank" rel="noopener '
        'noreferrer nofollow">help</a><br>Bye'
    )


def test_text_of_dropped_elements_stays_text_and_scripts_vanish_whole():
    assert sanitize("<div>Hi <span>there</span></div><script>x()</script>") == "Hi there"
    assert sanitize("<b>1 &lt; 2</b>") == "<b>1 &lt; 2</b>"


def test_newlines_are_line_breaks_unless_the_markup_lays_out_its_own():
    assert sanitize("<b>Hi</b>\nsecond line") == "<b>Hi</b><br>second line"
    assert sanitize("<ul>\n<li>a</li>\n</ul>") == "<ul>\n<li>a</li>\n</ul>"


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("a < b and c > d", False),
        ("x<y", False),
        ("x <= 3", False),
        ("Tom & Jerry", False),
        ("plain text\nwith lines", False),
        ("<b>bold</b>", True),
        ("line<br/>break", True),
        ("Tom &amp; Jerry", True),
        ("&#106;", True),
        ("<!-- note -->", True),
    ],
)
def test_what_counts_as_markup(text, markup):
    assert has_markup(text) is markup


def test_only_agents_messages_with_markup_get_html():
    agent = {"event": "chat_session_message", "party_id": "p1", "msg": "<b>hi</b>"}
    assert with_html(agent, "c1")["html"] == "<b>hi</b>"
    plain = {"event": "chat_session_message", "party_id": "p1", "msg": "hi <3"}
    assert "html" not in with_html(plain, "c1")
    own = {"event": "chat_session_message", "party_id": "c1", "msg": "<b>typed</b>"}
    assert "html" not in with_html(own, "c1")
    warning = {"event": "chat_session_timeout_warning", "msg": "<b>soon</b>"}
    assert "html" not in with_html(warning, "c1")


def test_html_from_upstream_is_never_trusted():
    forged = {"event": "chat_session_message", "party_id": "p1", "msg": "hi", "html": "<img>"}
    assert "html" not in with_html(forged, "c1")
    mixed = {
        "event": "chat_session_message",
        "party_id": "p1",
        "msg": "<i>x</i>",
        "html": "<script>alert(1)</script>",
    }
    assert with_html(mixed, "c1")["html"] == "<i>x</i>"
    own = {"event": "chat_session_message", "party_id": "c1", "msg": "x", "html": "<img>"}
    assert "html" not in with_html(own, "c1")
