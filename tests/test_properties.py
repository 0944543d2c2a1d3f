"""Property-based tests: no input makes the frame parser or the response parsing misbehave."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from webchat.servicepattern import UpstreamError
from webchat.servicepattern.parse import (
    parse_body,
    parse_chat_info,
    parse_error,
    parse_events,
    parse_parameters,
    parse_timestamp,
)
from webchat.sockets.frames import FrameError, parse_frame

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=5),
    max_leaves=20,
)
event_names = st.sampled_from([
    "chat_session_message", "chat_session_typing", "chat_session_not_typing",
    "chat_session_end", "chat_session_disconnect", "chat_session_form_data",
    "chat_session_navigation", "chat_session_location", "chat_session_file", "x",
])


@given(st.one_of(st.text(), st.binary(), json_values.map(json.dumps)))
@settings(max_examples=400)
def test_any_frame_is_parsed_or_refused_with_a_frame_error(raw):
    try:
        frame = parse_frame(raw, max_chars=100)
    except FrameError as error:
        assert error.code and error.message
        return
    assert frame.type in {"hello", "start", "send", "ping"}


@given(st.fixed_dictionaries({"type": st.just("send"), "id": st.text(min_size=1, max_size=20),
                              "event": st.dictionaries(st.text(max_size=12), json_values,
                                                       max_size=6).map(dict)}),
       event_names)
@settings(max_examples=400)
def test_send_events_are_rebuilt_from_known_fields_only(frame, name):
    frame["event"]["event"] = name
    try:
        parsed = parse_frame(json.dumps(frame), max_chars=100)
    except FrameError as error:
        assert error.code in {"invalid_frame", "invalid_event", "unknown_event", "too_long"}
        return
    allowed = {"event", "msg", "form_request_id", "form_name", "data", "page", "title",
               "latitude", "longitude", "url"}
    assert set(parsed.event) <= allowed
    assert parsed.event["event"] == name
    assert all(isinstance(v, str | dict) for v in parsed.event.values())


@given(json_values)
@settings(max_examples=400)
def test_poll_bodies_parse_to_events_or_one_error_type(value):
    text = json.dumps(value)
    try:
        body = parse_body(text, 200)
        events = parse_events(body, 200)
    except UpstreamError:
        return
    for event in events:
        assert isinstance(event["event"], str) and event["event"]
        if "timestamp" in event:
            assert event["timestamp"].isdigit()


@given(json_values)
def test_parameters_and_chat_info_never_crash(value):
    params = parse_parameters(value if isinstance(value, dict | list) else {})
    assert all(set(p) == {"name", "type"} for p in params)
    try:
        info = parse_chat_info(value if isinstance(value, dict) else {}, 200)
    except UpstreamError:
        return
    assert isinstance(info.chat_id, str) and info.chat_id


@given(st.binary(max_size=300), st.integers(min_value=400, max_value=599))
def test_error_bodies_never_crash(body, status):
    error = parse_error(body, status)
    assert error.status == status and str(status) in error.message


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_seconds_and_milliseconds_agree(seconds):
    assert parse_timestamp(seconds) == str(seconds)
    assert parse_timestamp(str(seconds)) == str(seconds)
    if seconds >= 100_000_000:  # ms only make sense for dates after 1973
        assert parse_timestamp(seconds * 1000) == str(seconds)
