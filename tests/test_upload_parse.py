"""The upload parser on plain in-memory bodies: one file part, its bytes exactly, the body
checked to its closing delimiter before the last byte is handed on, every failure an
UploadError."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webchat.routes.api import clean_filename
from webchat.upload_stream import UploadError, open_file_part

BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def head(
    disposition: str = 'form-data; name="file"; filename="a.bin"', boundary: str = BOUNDARY
) -> bytes:
    return (
        f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()


def tail(boundary: str = BOUNDARY) -> bytes:
    return f"\r\n--{boundary}--\r\n".encode()


def body(data: bytes, **kw: str) -> bytes:
    return head(**kw) + data + tail()


class Pieces(io.RawIOBase):
    """A body that arrives in the given pieces (never more than asked for), as a socket would."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = [p for p in pieces if p]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self.pieces:
            return b""
        piece = self.pieces[0]
        n = len(piece) if size is None or size < 0 else min(size, len(piece))
        self.pieces[0] = piece[n:]
        if not self.pieces[0]:
            self.pieces.pop(0)
        return piece[:n]


class Breaking(io.RawIOBase):
    """A body that gives `good` bytes, then raises `error` (a browser gone mid-upload)."""

    def __init__(self, good: bytes, error: BaseException) -> None:
        self.good = io.BytesIO(good)
        self.error = error

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.good.read(size)
        if not chunk:
            raise self.error
        return chunk


def relayed(
    stream: BinaryIO, length: int | None, step: int = 64 * 1024
) -> tuple[str | None, bytes]:
    """Open the part and read it as the upstream client does: `size` bytes, then no more."""
    part = open_file_part(stream, CONTENT_TYPE, length)
    got, left = [], part.size
    while left > 0:
        chunk = part.data.read(min(step, left))
        assert chunk, "the file ended before its size"
        left -= len(chunk)
        got.append(chunk)
    return part.filename, b"".join(got)  # and no read after the last byte, as upstream


def test_one_file_part_is_read_exactly():
    data = b"%PDF" + bytes(range(256)) * 300 + b"\r\n--" + BOUNDARY[:-1].encode() + b"\r\n"
    raw = body(data)
    part = open_file_part(io.BytesIO(raw), CONTENT_TYPE, len(raw))
    assert (part.filename, part.content_type, part.size) == ("a.bin", "application/pdf", len(data))
    assert part.data.read(-1) == data
    assert part.data.read(10) == b""
    assert relayed(io.BytesIO(raw), len(raw), step=7) == ("a.bin", data)


@pytest.mark.parametrize(
    "raw",
    [
        body(b"x" * 5000) + b"garbage",
        head() + b"x" * 5000 + b"g" * len(tail()),
        head() + b"x" * 5000 + tail()[:-1] + b"!",
        body(b"x" * 5000) + tail(),
    ],
    ids=["after-the-delimiter", "instead-of-the-delimiter", "last-byte", "delimiter-twice"],
)
def test_a_garbage_tail_is_refused(raw):
    with pytest.raises(UploadError) as refused:
        relayed(io.BytesIO(raw), len(raw))
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "ending",
    [b"", b"\r\n", b"\r\n--" + BOUNDARY.encode(), b"\r\n--" + BOUNDARY.encode() + b"--"],
    ids=["nothing", "crlf", "part-delimiter", "no-final-crlf"],
)
def test_a_missing_or_cut_closing_delimiter_is_refused(ending):
    raw = head() + b"y" * 5000 + ending
    with pytest.raises(UploadError) as refused:
        relayed(io.BytesIO(raw), len(raw))
    assert refused.value.status == 400


def test_a_closing_delimiter_other_than_the_standard_one_is_refused():
    for closing in (
        b"\n--" + BOUNDARY.encode() + b"--\r\n\n",
        b"\r\n--" + BOUNDARY.encode() + b"--  ",
    ):
        raw = head() + b"z" * 100 + closing
        with pytest.raises(UploadError):
            relayed(io.BytesIO(raw), len(raw))


def test_a_second_part_is_refused():
    second = (f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi').encode()
    raw = head() + b"a" * 1000 + second + tail()
    with pytest.raises(UploadError) as refused:
        relayed(io.BytesIO(raw), len(raw))
    assert (refused.value.status, refused.value.code) == (400, "one_file")


def test_a_body_that_ends_before_its_content_length_is_refused():
    raw = body(b"b" * 3000)
    for cut in (len(head()) + 1000, len(raw) - 1):
        with pytest.raises(UploadError) as refused:
            relayed(io.BytesIO(raw[:cut]), len(raw))
        assert (refused.value.status, refused.value.code) == (400, "truncated")


@pytest.mark.parametrize(
    "error",
    [OSError("reset"), ConnectionResetError(104, "reset"), TimeoutError(), BrokenPipeError()],
)
def test_a_body_that_breaks_is_an_upload_error_never_an_os_error(error):
    raw = body(b"c" * 300_000)
    with pytest.raises(UploadError) as refused:
        relayed(Breaking(raw[:150_000], error), len(raw))  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (400, "truncated")
    assert not isinstance(refused.value, OSError)


def test_gunicorns_own_errors_are_upload_errors():
    from gunicorn.http.errors import NoMoreData

    raw = body(b"d" * 100)
    with pytest.raises(UploadError):
        open_file_part(Breaking(b"", NoMoreData()), CONTENT_TYPE, len(raw))  # type: ignore[arg-type]


def test_only_content_length_bytes_are_read():
    raw = body(b"e" * 100)
    stream = io.BytesIO(raw + b"next request")
    assert relayed(stream, len(raw)) == ("a.bin", b"e" * 100)
    assert stream.read() == b"next request"


def test_no_content_length_is_411():
    with pytest.raises(UploadError) as refused:
        open_file_part(io.BytesIO(body(b"f")), CONTENT_TYPE, None)
    assert refused.value.status == 411


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/octet-stream", body(b"g")),
        ("multipart/form-data", body(b"g")),
        (CONTENT_TYPE, body(b"g", disposition='form-data; name="upload"; filename="a"')),
        (CONTENT_TYPE, f"--{BOUNDARY}--\r\n".encode()),
        (CONTENT_TYPE, b"not multipart at all"),
        (CONTENT_TYPE, head().replace(b"Content-Disposition", b"X-Other") + b"g" + tail()),
        (CONTENT_TYPE, f"--{BOUNDARY}\r\nX-Pad: {'p' * 20000}\r\n".encode()),
    ],
    ids=[
        "not-multipart",
        "no-boundary",
        "wrong-name",
        "no-part",
        "garbage",
        "no-disposition",
        "head-too-long",
    ],
)
def test_anything_but_a_file_part_first_is_no_file(content_type, raw):
    with pytest.raises(UploadError) as refused:
        open_file_part(io.BytesIO(raw), content_type, len(raw))
    assert (refused.value.status, refused.value.code) == (400, "no_file")


def test_a_file_name_ending_in_a_backslash_is_accepted():
    """Browsers do not escape a backslash in a file name: `filename="abc\\"` is what they send."""
    raw = body(b"h" * 10, disposition='form-data; name="file"; filename="abc\\"')
    part = open_file_part(io.BytesIO(raw), CONTENT_TYPE, len(raw))
    assert part.data.read() == b"h" * 10
    assert part.filename == "abc\\"
    assert clean_filename(part.filename) == "file"


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('form-data; name="file"; filename="a%22b;c.txt"', 'a"b;c.txt'),
        ('form-data; name="file"; filename="a\\"b;c.txt"', 'a"b;c.txt'),
        ('form-data; name="file"; filename="semi;colon; name=x.txt"', "semi;colon; name=x.txt"),
        ('form-data; name="file"; filename="a%0Ab%0Dc.txt"', "a\nb\rc.txt"),
        # RFC 7578 4.2: form data must not use `filename*`, so it is not read.
        (
            'form-data; name="file"; filename="x.pdf"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf',
            "x.pdf",
        ),
        (
            'form-data; name="file"; filename="r\u00e9sum\u00e9 \u6587\u4ef6.pdf"',
            "r\u00e9sum\u00e9 \u6587\u4ef6.pdf",
        ),
        ("form-data; name=file; filename=plain.txt", "plain.txt"),
        ('form-data; name="file"; filename=""', ""),
        ('form-data; name="file"', None),
    ],
)
def test_file_names_are_read_as_browsers_write_them(disposition, expected):
    """The HTML standard's escapes (`%22`, `%0A`, `%0D`) are undone and raw UTF-8 is read."""
    raw = body(b"i" * 10, disposition=disposition)
    part = open_file_part(io.BytesIO(raw), CONTENT_TYPE, len(raw))
    assert part.filename == expected
    assert part.data.read() == b"i" * 10


def test_every_split_around_the_delimiter_and_the_head_parses():
    data = b"\r\n-\r\n--" + BOUNDARY[:10].encode() + b"j" * 50 + b"\r"
    raw = body(data)
    near = range(len(raw) - len(tail()) - 20, len(raw))
    for cut in [*range(len(head()) + 4), *near]:
        assert relayed(Pieces([raw[:cut], raw[cut:]]), len(raw)) == ("a.bin", data)  # type: ignore[arg-type]
    bytewise = Pieces(raw[i : i + 1] for i in range(len(raw)))
    assert relayed(bytewise, len(raw), step=3) == ("a.bin", data)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400).map(lambda b: b.replace(b"--" + BOUNDARY.encode(), b"")),
    noise=st.lists(
        st.sampled_from([b"\r", b"\n", b"\r\n", b"--", BOUNDARY[:12].encode(), b"x"]), max_size=20
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
    step=st.integers(min_value=1, max_value=500),
)
def test_any_file_split_anywhere_parses_to_its_bytes(data, noise, cuts, step):
    content = data + b"".join(noise)
    raw = body(content)
    edges = sorted({0, len(raw), *(c % (len(raw) + 1) for c in cuts)})
    pieces = [raw[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    assert relayed(Pieces(pieces), len(raw), step) == ("a.bin", content)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(extra=st.binary(min_size=1, max_size=40), cut=st.integers(min_value=0, max_value=400))
def test_any_tail_but_the_closing_delimiter_is_refused_wherever_split(extra, cut):
    raw = body(b"k" * 300) + extra
    cut %= len(raw) + 1
    with pytest.raises(UploadError):
        relayed(Pieces([raw[:cut], raw[cut:]]), len(raw))  # type: ignore[arg-type]


@pytest.mark.parametrize("preamble", [b"\r\n\r\n" * 4000, b"a--" + BOUNDARY.encode() + b"\r\n\r\n"])
def test_a_preamble_is_refused_in_one_parse_not_one_per_line(monkeypatch, preamble):
    """Browsers send none: a body that does not start with its boundary is no file, found as
    soon as the parser holds as many bytes as a delimiter (a preamble of thousands of empty
    lines once cost a parse call each)."""
    from multipart import PushMultipartParser

    calls = []
    real = PushMultipartParser.parse

    def counted(self, chunk):
        calls.append(len(chunk))
        return real(self, chunk)

    monkeypatch.setattr(PushMultipartParser, "parse", counted)
    raw = preamble + body(b"p" * 10)
    with pytest.raises(UploadError) as refused:
        open_file_part(io.BytesIO(raw), CONTENT_TYPE, len(raw))
    assert refused.value.code == "no_file"
    assert sum(calls[:-1]) < len(BOUNDARY) + 4  # fed a line at a time, up to a delimiter's length
