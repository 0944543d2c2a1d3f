"""Browser frames: every bad input gets a clear error code; good ones become clean events."""

import json

import pytest

from webchat.sockets.frames import FrameError, parse_frame


def frame(**data):
    return json.dumps(data)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x00binary", "invalid_frame"),
        (None, "invalid_frame"),
        ("{not json", "invalid_json"),
        ("[1,2]", "invalid_frame"),
        ('{"type": 5}', "invalid_frame"),
        (frame(type="dance"), "unknown_type"),
        (frame(type="hello", after=-1), "invalid_frame"),
        (frame(type="hello", after="3"), "invalid_frame"),
        (frame(type="hello", after=True), "invalid_frame"),
        (frame(type="send", event={"event": "chat_session_message", "msg": "x"}), "invalid_frame"),
        (frame(type="send", id="x" * 101, event={}), "invalid_frame"),
        (frame(type="send", id="1", event="hi"), "invalid_event"),
        (frame(type="send", id="1", event={"event": "chat_session_party_joined"}), "unknown_event"),
        (
            frame(type="send", id="1", event={"event": "chat_session_file", "file_id": "x"}),
            "unknown_event",
        ),
        (
            frame(type="send", id="1", event={"event": "chat_session_message", "msg": "  "}),
            "invalid_event",
        ),
        (
            frame(type="send", id="1", event={"event": "chat_session_message", "msg": 5}),
            "invalid_event",
        ),
        (
            frame(type="send", id="1", event={"event": "chat_session_message", "msg": "x" * 101}),
            "too_long",
        ),
        (
            frame(
                type="send",
                id="1",
                event={"event": "chat_session_location", "latitude": 91, "longitude": 0},
            ),
            "invalid_event",
        ),
        (
            frame(
                type="send",
                id="1",
                event={
                    "event": "chat_session_location",
                    "latitude": 1,
                    "longitude": 2,
                    "url": "javascript:alert(1)",
                },
            ),
            "invalid_event",
        ),
        (
            frame(
                type="send",
                id="1",
                event={"event": "chat_session_form_data", "form_request_id": "1", "data": []},
            ),
            "invalid_event",
        ),
        (frame(type="start", parameters={"a": 1}), "invalid_frame"),
        (frame(type="start", parameters=[1]), "invalid_frame"),
    ],
)
def test_bad_frames_are_refused_with_a_code(raw, code):
    with pytest.raises(FrameError) as info:
        parse_frame(raw, max_chars=100)
    assert info.value.code == code
    assert info.value.message


def test_send_error_keeps_the_frame_id():
    raw = frame(type="send", id="abc", event={"event": "nope"})
    with pytest.raises(FrameError) as info:
        parse_frame(raw, 100)
    assert info.value.frame_id == "abc"


def test_message_is_rebuilt_from_allowed_fields_only():
    raw = frame(
        type="send",
        id="u1",
        event={
            "event": "chat_session_message",
            "msg": "<b>hi</b>",
            "party_id": "someone-else",
            "extra": 1,
        },
    )
    parsed = parse_frame(raw, 100)
    assert parsed.id == "u1"
    assert parsed.event == {"event": "chat_session_message", "msg": "<b>hi</b>"}


def test_other_client_events():
    loc = parse_frame(
        frame(
            type="send",
            id="1",
            event={
                "event": "chat_session_location",
                "latitude": "52.5",
                "longitude": 13.4,
                "url": "https://maps.example/?q=1",
            },
        ),
        100,
    ).event
    assert loc == {
        "event": "chat_session_location",
        "latitude": "52.500000",
        "longitude": "13.400000",
        "url": "https://maps.example/?q=1",
    }
    form = parse_frame(
        frame(
            type="send",
            id="2",
            event={
                "event": "chat_session_form_data",
                "form_request_id": 7,
                "form_name": "survey",
                "data": {"score": 5, "comment": "ok"},
            },
        ),
        100,
    ).event
    assert form["form_request_id"] == "7" and form["data"] == {"score": "5", "comment": "ok"}
    nav = parse_frame(
        frame(
            type="send",
            id="3",
            event={"event": "chat_session_navigation", "page": "https://shop.example/cart"},
        ),
        100,
    ).event
    assert nav == {
        "event": "chat_session_navigation",
        "page": "https://shop.example/cart",
        "title": "",
    }
    for name in (
        "chat_session_typing",
        "chat_session_not_typing",
        "chat_session_end",
        "chat_session_disconnect",
    ):
        assert parse_frame(frame(type="send", id="4", event={"event": name}), 100).event == {
            "event": name
        }


def test_hello_start_ping():
    assert parse_frame(frame(type="ping"), 10).type == "ping"
    hello = parse_frame(frame(type="hello", after=12, chat_id="c"), 10)
    assert (hello.after, hello.chat_id) == (12, "c")
    start = parse_frame(
        frame(
            type="start",
            parameters={"first_name": " Ann "},
            phone_number=" 555 ",
            **{"from": "Ann"},
        ),
        10,
    )
    assert start.parameters == {"first_name": "Ann"}
    assert (start.phone_number, start.from_) == ("555", "Ann")


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000,
        "{" * 100_000,
        '{"type": "ping", "x": ' + "[" * 5_000 + "]" * 5_000 + "}",
        '{"type": "ping", "x": ' + "[" * 9 + "]" * 9 + "}",
        frame(type="send", id="1", event={"event": "chat_session_typing", "x": [[[[[[[[1]]]]]]]]}),
    ],
)
def test_deep_nesting_is_invalid_json(raw):
    """Past the parser's stack or MAX_DEPTH, a frame is refused like any other bad JSON."""
    with pytest.raises(FrameError) as caught:
        parse_frame(raw, 100)
    assert caught.value.code == "invalid_json"


def test_nesting_up_to_the_bound_is_fine():
    ok = '{"type": "ping", "x": ' + "[" * 7 + "]" * 7 + "}"
    assert parse_frame(ok, 100).type == "ping"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",
        "/relative/page",
        "shop home page",
        "https:no-host",
        "http://[::1",
    ],
)
def test_only_http_urls_reach_the_agent_as_pages_or_places(url):
    for event in (
        {"event": "chat_session_navigation", "page": url, "title": "t"},
        {"event": "chat_session_location", "latitude": 1, "longitude": 2, "url": url},
    ):
        with pytest.raises(FrameError) as caught:
            parse_frame(frame(type="send", id="n1", event=event), 100)
        assert (caught.value.code, caught.value.frame_id) == ("invalid_event", "n1")


def test_a_navigation_needs_a_page():
    with pytest.raises(FrameError) as caught:
        parse_frame(frame(type="send", id="n", event={"event": "chat_session_navigation"}), 100)
    assert caught.value.code == "invalid_event"
    nav = parse_frame(
        frame(
            type="send", id="n", event={"event": "chat_session_navigation", "page": "http://a.b/"}
        ),
        100,
    ).event
    assert nav["page"] == "http://a.b/"
