"""Agents' and scenarios' messages with markup, made safe to insert into the chat page.

Bright Pattern documents that chat messages may carry HTML, which its own widget renders. We
render a small subset: paragraphs, line breaks, bold, italic, lists and links. The subset is
cut here, on the server, by nh3 (the Ammonia sanitiser, which parses like a browser does), and
this module is the one trust boundary: the widget inserts the result as it is.

- Everything outside the subset is dropped; its text stays, as text (escaped). The content of
  elements that are not text to a reader (script, style, iframe, svg, template, ...) goes too.
- No attribute survives but `href` on links, and only an absolute http(s) URL (the same check
  as every other link of the chat): javascript:, data:, vbscript:, relative and
  protocol-relative links lose their `href`. Every link gets `rel="noopener noreferrer
  nofollow"` and `target="_blank"`.
- A message without markup gets no HTML at all: the widget shows it as text, as always.
"""

from __future__ import annotations

import re
from typing import Any

import nh3

from ..servicepattern.parse import is_http_url

TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a"}
# Dropped with their content: nothing in them is text meant for the reader.
DROPPED_WITH_CONTENT = {
    "script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
    "noscript", "noembed", "noframes", "svg", "math", "textarea", "select", "title", "head",
    "xmp", "plaintext", "canvas", "audio", "video", "picture", "map",
}  # fmt: skip
LINK_REL = "noopener noreferrer nofollow"
# Markup: a whole tag, a comment, or a character reference. "a < b", "x<y" and "x <= 3" are
# not markup (so no text of theirs is lost to the parser); "<b>", "<br/>" and "&amp;" are.
MARKUP = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--|&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);"
)
# Elements that lay out lines themselves: with none of them, the message's own newlines are
# its line breaks (the widget shows plain messages with their newlines, too).
BLOCKS = re.compile(r"<\s*(?:br|p|ul|ol|li|div|table|h[1-6]|pre|blockquote)\b", re.I)


def _href_only_http(tag: str, attribute: str, value: str) -> str | None:
    """Keeps an `href` only when it is an absolute http(s) URL. The filter sees only the
    attributes already allowed, and the `rel` and `target` the cleaner sets on links."""
    if attribute == "href":
        return value if is_http_url(value) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes={"a": {"href"}},
    attribute_filter=_href_only_http,
    strip_comments=True,
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes={"http", "https"},
)


def has_markup(text: str) -> bool:
    """Whether a message holds HTML markup (a tag or a character reference)."""
    return MARKUP.search(text) is not None


def sanitize(text: str) -> str:
    """The safe subset of `text` as an HTML fragment (see the module's docstring)."""
    if not BLOCKS.search(text):
        text = text.replace("\r\n", "\n").replace("\n", "<br>")
    return _CLEANER.clean(text).strip()


def with_html(event: dict[str, Any], chat_id: str) -> dict[str, Any]:
    """An agent's or scenario's message with markup, with its sanitised `html` beside `msg`.

    The visitor's own messages (party_id is the chat id) are never given one: what a visitor
    types is shown as typed. Any `html` that came from upstream is replaced, never trusted.
    """
    if "html" in event:
        event = {k: v for k, v in event.items() if k != "html"}
    msg = event.get("msg")
    if event.get("event") != "chat_session_message" or event.get("party_id") == chat_id:
        return event
    if not isinstance(msg, str) or not has_markup(msg):
        return event
    return {**event, "html": sanitize(msg)}
