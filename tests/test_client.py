"""The ServicePattern client against a real HTTP server with canned answers."""

import io
import json
import os

import pytest

from tests.stub_http import Canned, StubServer
from webchat.servicepattern import Identity, ServicePatternClient, UpstreamError
from webchat.servicepattern.cookies import jar_from_list, jar_to_list

AUTH = 'MOBILE-API-140-327-PLAIN appId="0123456789abcdef0123456789abcdef", clientId="WebChat"'


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


@pytest.fixture
def client(stub):
    client = ServicePatternClient(
        stub.url,
        "tenant.example.com",
        "0123456789abcdef0123456789abcdef",
        call_timeout=2,
        poll_timeout=2,
    )
    yield client
    client.close()


def test_every_call_has_header_tenant_and_timeout(stub, client):
    stub.answers = [Canned(200, '{"chat": "available"}'), Canned(200, '{"parameters": []}')]
    assert client.check_availability() == "available"
    assert client.expected_parameters() == []
    for seen in stub.seen:
        assert seen.headers["Authorization"] == AUTH
        assert seen.query["tenantUrl"] == ["tenant.example.com"]
        assert seen.query["timestamp"][0].isdigit()
        assert "Cookie" not in seen.headers
    assert [s.path for s in stub.seen] == [
        "/clientweb/api/v1/availability",
        "/clientweb/api/v1/parameters",
    ]


def test_request_chat_sends_body_and_keeps_every_cookie(stub, client):
    stub.answers = [
        Canned(
            200,
            '{"chat_id": "c1", "state": "queued", "ewt": "12", "is_new_chat": true}',
            [("Set-Cookie", "SPCLIENT=abc; Path=/; HttpOnly"), ("Set-Cookie", "SPNODE=n2; Path=/")],
        ),
        Canned(200, "", [("Set-Cookie", "LATE=z; Path=/")]),
        Canned(200, '{"events": []}'),
    ]
    who = Identity()
    info = client.request_chat(who, {"first_name": "Ann"}, phone_number="555", from_="Ann")
    assert (info.chat_id, info.ewt, info.is_new_chat) == ("c1", 12, True)
    assert json.loads(stub.seen[0].body) == {
        "parameters": {"first_name": "Ann"},
        "phone_number": "555",
        "from": "Ann",
    }
    assert stub.seen[0].headers["Content-Type"].startswith("application/json")
    assert who.cookies_changed
    # Round-trip the jar through its stored form, as the relay does between calls.
    who = Identity(jar_from_list(jar_to_list(who.jar)))
    assert client.send_events(who, "c1", [{"event": "chat_session_typing"}]) == []
    assert stub.seen[1].headers["Cookie"] in ("SPCLIENT=abc; SPNODE=n2", "SPNODE=n2; SPCLIENT=abc")
    assert json.loads(stub.seen[1].body) == {"events": [{"event": "chat_session_typing"}]}
    assert client.get_new_events(who, "c1") == []
    cookies = dict(p.split("=") for p in stub.seen[2].headers["Cookie"].split("; "))
    assert cookies == {"SPCLIENT": "abc", "SPNODE": "n2", "LATE": "z"}
    assert stub.seen[2].query["tenantUrl"] == ["tenant.example.com"]
    assert "timestamp" in stub.seen[2].query


def test_two_visitors_never_share_cookies(stub, client):
    stub.answers = [
        Canned(200, '{"chat_id": "a"}', [("Set-Cookie", "SPCLIENT=one; Path=/")]),
        Canned(200, '{"chat_id": "b"}', [("Set-Cookie", "SPCLIENT=two; Path=/")]),
        Canned(200, "{}"),
    ]
    first, second = Identity(), Identity()
    client.request_chat(first)
    assert "Cookie" not in stub.seen[0].headers
    client.request_chat(second)
    assert "Cookie" not in stub.seen[1].headers
    client.send_events(first, "a", [{"event": "chat_session_typing"}])
    assert stub.seen[2].headers["Cookie"] == "SPCLIENT=one"


@pytest.mark.parametrize(
    ("answer", "status", "code", "gone"),
    [
        (Canned(404, '{"error_code": "5005", "error_message": "no chat"}'), 404, "5005", True),
        (Canned(400, '{"error_code": 5509, "error_message": "busy"}'), 400, "5509", False),
        (Canned(503, "<html>down</html>"), 503, None, False),
        (Canned(200, "<html>not json</html>"), 200, None, False),
    ],
)
def test_errors_become_upstream_error(stub, client, answer, status, code, gone):
    stub.answers = [answer]
    with pytest.raises(UpstreamError) as info:
        client.get_new_events(Identity(), "c1")
    assert (info.value.status, info.value.error_code, info.value.gone) == (status, code, gone)


def test_unreachable_and_slow_upstream_are_upstream_errors():
    client = ServicePatternClient(
        "http://127.0.0.1:9/clientweb/api/v1", "t", "a", connect_timeout=1
    )
    with pytest.raises(UpstreamError) as info:
        client.check_availability()
    assert info.value.status is None and info.value.transient


def test_active_chat_none_on_404(stub, client):
    stub.answers = [Canned(404, ""), Canned(200, '{"chat_id": "x", "state": "connected"}')]
    assert client.get_active_chat(Identity()) is None
    assert client.get_active_chat(Identity()).chat_id == "x"


def test_history_and_poll_parse_events(stub, client):
    stub.answers = [
        Canned(
            200,
            '{"events": [{"event": "chat_session_message", "msg": "a", '
            '"timestamp": "1700000000"}]}',
        ),
        Canned(200, ""),
    ]
    assert client.get_chat_history(Identity(), "c")[0]["msg"] == "a"
    assert client.get_new_events(Identity(), "c") == []


def test_upload_streams_multipart_with_length(stub, client):
    stub.answers = [Canned(200, '{"file_id": 77}')]
    data = io.BytesIO(b"x" * 100_000)
    result = client.upload_file(Identity(), data, 100_000, 'we"ird\r\nname.txt', "text/plain")
    assert result.file_id == "77" and result.file_name == 'we"ird\r\nname.txt'
    seen = stub.seen[0]
    assert seen.query["tenantUrl"] == ["tenant.example.com"]
    assert int(seen.headers["Content-Length"]) == len(seen.body)
    boundary = seen.headers["Content-Type"].split("boundary=")[1]
    head, rest = seen.body.split(b"\r\n\r\n", 1)
    assert b'name="file"; filename="we%22ird  name.txt"' in head
    assert rest == b"x" * 100_000 + f"\r\n--{boundary}--\r\n".encode()


def test_file_and_photo_downloads_stream_without_tenant(stub, client):
    stub.answers = [Canned(200, b"\x89PNG...", [("Content-Type", "image/png")]), Canned(404, "")]
    response = client.get_file(Identity(), "c1", "f1")
    assert response.headers["Content-Type"] == "image/png"
    assert b"".join(iter(lambda: response.read1(4), b"")) == b"\x89PNG..."
    response.close()
    assert stub.seen[0].path == "/clientweb/api/v1/chats/c1/files/f1"
    assert "tenantUrl" not in stub.seen[0].query
    with pytest.raises(UpstreamError) as info:
        client.get_photo(Identity(), "c1", "p1")
    assert info.value.gone


def test_polls_keep_cookies_set_on_them_and_fail_as_upstream_errors(stub, client):
    stub.answers = [
        Canned(200, '{"events": []}', [("Set-Cookie", "SPNODE=n9; Path=/")]),
        Canned(200, ""),
    ]
    who = Identity()
    assert client.get_new_events(who, "c1") == [] and who.cookies_changed
    client.get_new_events(who, "c1")
    assert stub.seen[1].headers["Cookie"] == "SPNODE=n9"
    assert stub.seen[1].headers["Authorization"] == AUTH
    assert stub.seen[1].query["tenantUrl"] == ["tenant.example.com"]
    gone = ServicePatternClient("http://127.0.0.1:9/clientweb/api/v1", "t", "a", connect_timeout=1)
    with pytest.raises(UpstreamError) as info:
        gone.get_new_events(Identity(), "c1")
    assert info.value.status is None and info.value.transient


def test_a_poll_that_gets_no_answer_times_out_as_an_upstream_error():
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/clientweb/api/v1"
        client = ServicePatternClient(url, "t", "a", connect_timeout=1, poll_timeout=0.5)
        with pytest.raises(UpstreamError) as info:
            client.get_new_events(Identity(), "c1")
    assert "in time" in info.value.message and info.value.transient


def test_a_browser_user_agent_with_control_characters_cannot_add_headers(stub, client):
    stub.answers = [Canned(200, '{"events": []}')]
    who = Identity(user_agent="Mozilla/5.0\r\nX-Evil: 1\x00")
    client.get_new_events(who, "c1")
    seen = stub.seen[0]
    assert seen.headers["User-Agent"] == "Mozilla/5.0 X-Evil: 1"
    assert "X-Evil" not in seen.headers


def test_multipart_body_reads_the_same_as_a_file_or_in_pieces():
    """Behind a proxy requests reads the upload body as a file, in sizes of its choosing; the
    lean client writes its pieces. Both must give the same bytes, exactly len() of them."""
    from webchat.servicepattern.multipart import MultipartFile

    data = os.urandom(200_003)
    pieces = MultipartFile("file", 'a"b.txt', "text/plain", io.BytesIO(data), len(data))
    whole = b"".join(pieces.chunks(65_536))
    assert len(whole) == len(pieces)
    boundary = pieces.content_type.split("boundary=")[1].encode()
    assert whole.startswith(b"--" + boundary + b"\r\n")
    assert b'filename="a%22b.txt"' in whole
    assert whole.endswith(data + b"\r\n--" + boundary + b"--\r\n")
    as_file = MultipartFile("file", 'a"b.txt', "text/plain", io.BytesIO(data), len(data))
    got = bytearray()
    for size in (7, 1, 70_000, 3, 200_000, -1):
        got += as_file.read(size)
    assert as_file.read(10) == b""
    other = as_file.content_type.split("boundary=")[1].encode()
    assert bytes(got) == whole.replace(boundary, other)
