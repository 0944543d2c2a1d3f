"""The repository stands on its own: its files point at nothing a reader of it cannot see.

Comments and docstrings say what the code is and why. Notes kept beside the checkout, entries
of an issue tracker and numbered work sessions are not part of it, so a source file that cites
one fails here, as does a document that points outside the checkout. The checks are also run
on samples, to show that they find what they are for and leave ordinary code alone (CSS
colours, HTML character references, URL fragments).
"""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import subprocess
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    "webchat",
    "tests",
    "static",
    "templates",
    "scripts",
    "bench/*.py",
    "app.py",
    "wsgi.py",
    "gunicorn.conf.py",
]
DOCUMENTS = ["docs", "README.md", "examples"]
SELF = "tests/test_repository.py"  # its samples are the very references it looks for

# Anywhere in a file, code included: none of these has a use in this repository.
OUTSIDE = re.compile(r"\.\./shared\b")
ISSUE = re.compile(r"\bissues?\s+(?:no\.?\s*)?#?\d+\b", re.IGNORECASE)
SESSION = re.compile(r"\bsessions?\s+#?\d+\b", re.IGNORECASE)
# Only in comments: a tracker reference such as "#12" or "(#345)". Not "&#8230;", "/#1", "x#1".
HASH_NUMBER = re.compile(r"(?<![\w&#/=])#(\d{1,6})(?![\w-])")
COLOUR_LENGTHS = {3, 4, 6, 8}  # #rgb, #rgba, #rrggbb, #rrggbbaa: all-digit colours exist
COLOURED = {".css", ".html", ".svg"}  # stylesheets, and pages and images with <style>

BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
LINE_COMMENT = re.compile(r"(?<![:\\'\"`\w/])//[^\n]*")
HTML_COMMENT = re.compile(r"<!--.*?-->|\{#.*?#\}", re.DOTALL)
SHELL_COMMENT = re.compile(r"(?:^|(?<=\s))#(?!!)[^\n]*", re.MULTILINE)


def python_comments(text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of every comment and docstring of Python source."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(row: int, col: int) -> int:
        return starts[row - 1] + col

    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield offset(*token.start), token.string
        tree = ast.parse(text)
    except (SyntaxError, tokenize.TokenError):  # mid-edit or not Python: the rest still checks
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                yield offset(first.lineno, first.col_offset), first.value.value


def comments(path: str, text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of the comments of a file, by its kind; nothing for data files."""
    suffix = Path(path).suffix
    if suffix == ".py":
        yield from python_comments(text)
        return
    patterns: list[re.Pattern[str]] = []
    if suffix in (".js", ".mjs", ".html"):
        patterns += [BLOCK_COMMENT, LINE_COMMENT]
    if suffix in (".css", ".svg"):
        patterns.append(BLOCK_COMMENT)
    if suffix in (".html", ".svg", ".xml"):
        patterns.append(HTML_COMMENT)
    if suffix in (".sh", "") or path.startswith("scripts/"):
        patterns.append(SHELL_COMMENT)
    for pattern in patterns:
        for match in pattern.finditer(text):
            yield match.start(), match.group()


def findings(path: str, text: str) -> list[str]:
    """`path:line: what` for every reference to something outside the repository."""
    found: list[tuple[int, str]] = []
    for pattern in (OUTSIDE, ISSUE, SESSION):
        found += [(m.start(), m.group()) for m in pattern.finditer(text)]
    coloured = Path(path).suffix in COLOURED
    for start, comment in comments(path, text):
        for match in HASH_NUMBER.finditer(comment):
            if coloured and len(match.group(1)) in COLOUR_LENGTHS:
                continue
            found.append((start + match.start(), match.group()))
    return [f"{path}:{text.count(chr(10), 0, at) + 1}: {what!r}" for at, what in sorted(found)]


def repository_files(paths: list[str]) -> list[str]:
    """Tracked files under `paths`, and new ones not ignored, relative to the root."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail("CI runs on a clone: git and .git must be there")
        pytest.skip("waits for a git checkout (the files checked are the ones git tracks)")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", *paths],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def read_text(path: str) -> str | None:
    """The file as text, or None for a binary file."""
    data = (ROOT / path).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_sources_cite_nothing_outside_the_repository() -> None:
    files = repository_files(SOURCES)
    assert any(name.startswith("webchat/") for name in files)
    problems: list[str] = []
    for name in files:
        text = None if name == SELF else read_text(name)
        if text is not None:
            problems += findings(name, text)
    assert not problems, "references a reader of the repository cannot follow:\n" + "\n".join(
        problems
    )


def test_documents_point_nowhere_outside_the_repository() -> None:
    problems = []
    for name in repository_files(DOCUMENTS):
        text = read_text(name)
        if text is not None:
            problems += [f"{name}: {m.group()!r}" for m in OUTSIDE.finditer(text)]
    assert not problems, "\n".join(problems)


def test_the_api_notes_the_code_cites_are_in_the_repository() -> None:
    assert (ROOT / "docs" / "servicepattern-api.md").is_file()


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("webchat/a.py", "x = 1  # fixed for issue 12\n"),
        ("webchat/a.py", "x = 1  # see Issues #7\n"),
        ("webchat/a.py", "x = 1  # what Session 1 measured\n"),
        ("webchat/a.py", "x = 1  # the bug of #34\n"),
        ("webchat/a.py", "x = 1  # (#34)\n"),
        ("webchat/a.py", '"""Module.\n\nThe sessions 2 and 3 found this."""\n'),
        ("webchat/a.py", 'def f() -> None:\n    """Done as #123 asked."""\n'),
        ("webchat/a.py", 'NOTES = "../shared/design.md"\n'),
        ("tests/test_a.py", '"""Tests for issue 15."""\n'),
        ("static/chat/a.js", "const a = 1; // fixes #45\n"),
        ("static/chat/a.js", "/**\n * Handles what #9 reported.\n */\n"),
        ("static/chat/a.js", "/* see #123 */\n"),
        ("static/chat.css", "/* spacing from issue 3 */\n.a { color: #222; }\n"),
        ("static/chat.css", "/* #45 */\n"),
        ("templates/chat.html", "<!-- asked in #5 -->\n<p>x</p>\n"),
        ("templates/chat.html", "{# session 4 added this #}\n"),
        ("scripts/test", "#!/bin/sh\n# added for #12\nexit 0\n"),
        ("app.py", "# see ../shared/servicepattern-api.md\n"),
    ],
)
def test_the_checks_find_what_they_are_for(path: str, text: str) -> None:
    assert findings(path, text), text


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("static/chat.css", ".a { color: #10b981; background: #0006; border-color: #222222; }\n"),
        ("static/chat.css", "/* text #222 on #fff */\n.b { color: #222; }\n"),
        ("static/widget.js", "const css = `.l{color:#fff;box-shadow:0 2px 12px #0006}`;\n"),
        ("static/chat/a.js", "frame.src = `${origin}/chat#t=${token}`; // token in the fragment\n"),
        ("static/chat/a.js", "const url = 'https://example.com/#1'; // a URL with a fragment\n"),
        ("templates/chat.html", '<p>Loading&#8230;</p>\n<a href="#2">two</a>\n'),
        ("webchat/a.py", "x = '#1'  # one SocketSession per tab; the chat session ends\n"),
        ("webchat/a.py", "x = 1  # 1,000 chats; see https://example.com/page#3\n"),
        ("webchat/a.py", '"""The chat_session_status event; requests.Session reuse."""\n'),
        ("webchat/a.py", 'def issued(count: int) -> str:\n    """Tokens issued 3 times."""\n'),
        ("tests/test_a.py", 'assert store.claim_send("c", "s1", "h", 30) == "new"\n'),
        ("scripts/test", '#!/bin/sh\nset -- "$#" 1\n'),
    ],
)
def test_the_checks_leave_ordinary_code_alone(path: str, text: str) -> None:
    assert not findings(path, text)
