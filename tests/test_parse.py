"""Tolerant parsing where the sources disagree (docs/servicepattern-api.md: the calls, events)."""

import pytest

from webchat.servicepattern import UpstreamError
from webchat.servicepattern.parse import (
    normalize_event,
    parse_availability,
    parse_body,
    parse_chat_info,
    parse_error,
    parse_events,
    parse_ewt,
    parse_parameters,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1613472342", "1613472342"),
        (1613472342, "1613472342"),
        ("1613472342123", "1613472342"),
        (1613472342123, "1613472342"),
        (1613472342.9, "1613472342"),
        (" 1613472342 ", "1613472342"),
        ("", None),
        ("yesterday", None),
        (None, None),
        (True, None),
        (-5, None),
        (float("nan"), None),
    ],
)
def test_timestamp_seconds_or_milliseconds(raw, expected):
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20", 20),
        (20, 20),
        ("20.6", 21),
        (0, 0),
        ("", None),
        (None, None),
        ("-1", None),
        ([], None),
    ],
)
def test_ewt_string_or_number(raw, expected):
    assert parse_ewt(raw) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"chat": "available"}, "available"),
        ({"chat": "notAvailable"}, "notAvailable"),
        ({"chat": "unavailable"}, "notAvailable"),
        ({"chat": "AVAILABLE"}, "notAvailable"),
        ({}, "notAvailable"),
        ({"chat": 1}, "notAvailable"),
    ],
)
def test_availability_anything_but_available_is_unavailable(body, expected):
    assert parse_availability(body) == expected


def test_parameters_both_shapes_and_junk():
    body = {
        "parameters": [
            {"name": "first_name", "type": "FIRST_NAME"},
            {"email": "EMAIL"},
            {"name": "odd", "type": "WEIRD"},
            "junk",
            {"name": "first_name", "type": "TEXT"},
        ]
    }
    assert parse_parameters(body) == [
        {"name": "first_name", "type": "FIRST_NAME"},
        {"name": "email", "type": "EMAIL"},
        {"name": "odd", "type": "TEXT"},
    ]
    assert parse_parameters({}) == []
    assert parse_parameters({"parameters": "x"}) == []


def test_empty_body_is_empty_object_and_garbage_is_an_error():
    assert parse_body(b"", 200) == {}
    assert parse_body("  \n", 200) == {}
    with pytest.raises(UpstreamError) as info:
        parse_body(b"<html>oops</html>", 200)
    assert info.value.status == 200 and info.value.transient
    with pytest.raises(UpstreamError):
        parse_body(b"[1, 2]", 200)


def test_chat_info_tolerates_types_and_rejects_missing_id():
    info = parse_chat_info({"chat_id": 42, "state": "queued", "ewt": "30"}, 200)
    assert (info.chat_id, info.ewt, info.is_new_chat) == ("42", 30, True)
    assert parse_chat_info({"chat_id": "a", "is_new_chat": "false"}, 200).is_new_chat is False
    with pytest.raises(UpstreamError):
        parse_chat_info({"state": "queued"}, 200)


def test_events_are_normalized_and_non_events_dropped():
    events = parse_events(
        {
            "events": [
                {
                    "event": "chat_session_message",
                    "msg": "hi",
                    "timestamp": 1613472342000,
                    "party_id": 7,
                    "msg_id": 3,
                },
                {"event": "chat_session_status", "state": "queued", "ewt": "15"},
                {"no": "event"},
                "junk",
                {"event": "chat_session_future_thing", "x": 1},
                {"event": "chat_session_file", "session_id": "p1", "file_id": "f"},
            ]
        },
        200,
    )
    assert [e["event"] for e in events] == [
        "chat_session_message",
        "chat_session_status",
        "chat_session_future_thing",
        "chat_session_file",
    ]
    assert events[0]["timestamp"] == "1613472342"
    assert events[0]["party_id"] == "7" and events[0]["msg_id"] == "3"
    assert events[1]["ewt"] == 15
    assert events[3]["party_id"] == "p1"
    assert parse_events({}, 200) == []
    assert parse_events({"events": None}, 200) == []
    with pytest.raises(UpstreamError):
        parse_events({"events": {"a": 1}}, 200)


def test_normalize_event_drops_bad_timestamp():
    assert "timestamp" not in normalize_event({"event": "x", "timestamp": "soon"})
    assert normalize_event({"event": ""}) is None


@pytest.mark.parametrize(
    ("body", "code", "gone", "transient"),
    [
        (b'{"error_code": 5005, "error_message": "gone"}', "5005", True, False),
        (b'{"error_code": "5509", "error_message": "busy"}', "5509", False, True),
        (b"", None, False, False),
        (b"<html>", None, False, False),
    ],
)
def test_errors_carry_status_code_and_message(body, code, gone, transient):
    error = parse_error(body, 400)
    assert error.status == 400 and error.error_code == code
    assert error.gone is gone and error.transient is transient
    assert "400" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.domain)",
        " JAVASCRIPT:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "//evil.example/",
        "https:no-host",
        "http://[::1",
        42,
        None,
        ["https://a.example/"],
    ],
)
def test_a_url_that_is_not_http_never_reaches_the_browser(url):
    event = normalize_event(
        {"event": "chat_session_location", "url": url, "latitude": "1", "longitude": "2"}
    )
    assert event == {"event": "chat_session_location", "latitude": "1", "longitude": "2"}


def test_an_http_url_is_kept():
    for url in ("https://maps.example/?q=1", "http://maps.example/a b"):
        event = normalize_event({"event": "chat_session_location", "url": url})
        assert event == {"event": "chat_session_location", "url": url}
