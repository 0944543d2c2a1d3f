"""Every script we serve parses, and translation strings come out of it intact, whatever they
hold: for every language file and for a THEME_DIR theme whose strings are full of what a
hand-written comment stripper gets wrong (`/*`, `*/`, `//`, quotes, backslashes, backticks).

Scripts are fetched from our app under real gunicorn and parsed by Node.js (`node --check`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.harness import ROOT, ServerProcess
from webchat.theme import minify

NODE = shutil.which("node")
LAUNCHER_KEYS = ("launcher.open", "launcher.close", "launcher.unread")
OURS = ROOT / "static" / "i18n"
SCRIPT_SRC = re.compile(r'<script\b[^>]*\bsrc="([^"]+)"[^>]*>')
PRELOAD = re.compile(r'<link\b[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"')
# Relative module specifiers in minified code: `from'./x.js'`, `import'./x.js'`.
IMPORT = re.compile(r"""\b(?:from|import)\s*['"](\.{1,2}/[^'"]+)['"]""")
STRINGS_BLOCK = re.compile(r'<script type="application/json" id="wc-strings">(.*?)</script>', re.S)
HOSTILE = (
    "Chat with us /* 24/7",
    "Close */ chat",
    "// not a comment",
    "a /* b */ c // d",
    "He said \"hi\" and 'bye'",
    "back\\slash \\n \\u0041 \\' \\\" ends in \\",
    "tick ` and ${oops} and `${x}`",
    "/re/g and /[/*]/ and 1 / 2 // 3",
    "</script><!--<script> -->",
    "line\nbreak\ttab\u2028sep\u2029end",
    "{n} unread /*",
)
# The loader's own strings (open, close, unread) per theme language: the loader carries every
# language's, so one stray "/*" swallows code up to the next "*/" in the script.
LAUNCHER = {
    "de": ("Chat `${x}` 'öffnen'", "Schließen */ //", "{n} /re/g \\"),
    "en": ("Chat with us /* 24/7", "Close // chat", "{n} unread \\ \" ' `"),
    "eo": ("Babili \" // '", "Fermi \\u0041 \\", "{n} </script><!--"),
}
THEME_CSS = 'a.wc-hostile::before{content:"/* not a comment */ // nor this \\" `"}\n'


@pytest.fixture(scope="module", autouse=True)
def node() -> str:
    """Node.js parses what we serve; only off CI may its absence skip these tests."""
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed (Node.js: scripts/install-browser-deps needs it)")
        pytest.skip("waits for Node.js (`node --check`); scripts/install-browser-deps needs it too")
    return NODE


def node_check(body: str, module: bool, folder: Path) -> str:
    """Node's complaint about `body` as a module or a classic script, or "" if it parses."""
    name = hashlib.sha256(body.encode()).hexdigest()[:16] + (".mjs" if module else ".cjs")
    path = folder / name
    path.write_text(body, encoding="utf-8")
    result = subprocess.run(
        [str(NODE), "--check", str(path)], capture_output=True, text=True, timeout=60
    )
    if result.returncode == 0:
        return ""
    lines = result.stderr.splitlines()
    return "\n".join(line for line in lines if not line.startswith("    at "))[:1500]


def hostile_strings(source: Path, salt: str) -> dict[str, str]:
    """`source`'s keys, each value a hostile string (`dir` kept, so the page stays valid)."""
    keys = json.loads(source.read_text(encoding="utf-8"))
    return {
        key: value if key == "dir" else f"{salt} {key}: {HOSTILE[i % len(HOSTILE)]}"
        for i, (key, value) in enumerate(keys.items())
    }


@pytest.fixture(scope="module")
def theme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example theme plus hostile English and German (overriding ours) and Esperanto (new)."""
    folder = tmp_path_factory.mktemp("theme")
    shutil.copytree(ROOT / "examples" / "theme-acme", folder, dirs_exist_ok=True)
    i18n = folder / "static" / "i18n"
    i18n.mkdir(parents=True)
    for lang, source in (("en", "en"), ("de", "de"), ("eo", "en")):
        strings = hostile_strings(OURS / f"{source}.json", lang)
        strings.update(zip(LAUNCHER_KEYS, LAUNCHER[lang], strict=True))
        (i18n / f"{lang}.json").write_text(json.dumps(strings, ensure_ascii=False), "utf-8")
    with open(folder / "static" / "acme.css", "a", encoding="utf-8") as handle:
        handle.write(THEME_CSS)
    return folder


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ServerProcess]:
    server = ServerProcess(None, {"THEME_DIR": ""})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def theme_server(theme: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(None, {"THEME_DIR": str(theme)})
    yield server
    server.stop()


def languages(theme: Path | None) -> list[str]:
    found = {p.stem for p in OURS.glob("*.json")}
    if theme is not None:
        found |= {p.stem for p in (theme / "static" / "i18n").glob("*.json")}
    return sorted(found)


def strings_file(theme: Path | None, lang: str) -> dict[str, str]:
    for folder in ([theme / "static" / "i18n"] if theme else []) + [OURS]:
        if (folder / f"{lang}.json").is_file():
            return json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
    return {}


def expected_strings(theme: Path | None, lang: str) -> dict[str, str]:
    """What the chat page should carry: English filling the gaps of `lang` (theme files first)."""
    return strings_file(theme, "en") | strings_file(theme, lang)


def get(url: str) -> requests.Response:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response


def served_scripts(base: str, langs: list[str]) -> dict[str, tuple[str, bool]]:
    """Every script the pages load, as served: url → (body, is a module), imports followed."""
    scripts: dict[str, tuple[str, bool]] = {}
    queue: list[tuple[str, bool]] = [(base + "/widget.js", False)]
    for lang in langs:
        for page in (f"/chat?lang={lang}", f"/?lang={lang}", f"/forms/survey?lang={lang}"):
            url = base + page
            html = get(url).text
            module_srcs = re.findall(r'<script\b[^>]*type="module"[^>]*src="([^"]+)"', html)
            queue += [(urljoin(url, src), src in module_srcs) for src in SCRIPT_SRC.findall(html)]
            queue += [(urljoin(url, href), True) for href in PRELOAD.findall(html)]
    while queue:
        url, module = queue.pop()
        if url in scripts:
            continue
        body = get(url).text
        scripts[url] = (body, module)
        if module:
            queue += [(urljoin(url, spec), True) for spec in IMPORT.findall(body)]
    return scripts


def assert_all_parse(scripts: dict[str, tuple[str, bool]], folder: Path) -> None:
    failures = {
        url: error
        for url, (body, module) in scripts.items()
        if (error := node_check(body, module, folder))
    }
    assert not failures, "\n\n".join(f"{url}:\n{error}" for url, error in failures.items())


def test_minify_keeps_literals_that_look_like_comments(tmp_path: Path) -> None:
    source = (
        "/* a real comment */\n"
        "const re = /\\/\\*[^*]*\\*\\//g; // a real one too\n"
        "const half = 10 / 2 /* divided */ / 5;\n"
        "const t = `a /* b */ ${half + 1} // c`;\n"
        "const s = \"x // y\" + '/* z'; const u = '*/';\n"
        "export { re, t, s, u };\n"
    )
    out = minify(source, "js")
    assert node_check(out, True, tmp_path) == ""
    assert "a real comment" not in out and "a real one too" not in out and "divided" not in out
    for literal in ("/\\/\\*[^*]*\\*\\//g", "`a /* b */ ${half + 1} // c`", '"x // y"', "'/* z'"):
        assert literal in out
    css = minify('/* gone */\na::before {\n  content: "/* kept */ // kept";\n}\n', "css")
    assert css == 'a::before{content:"/* kept */ // kept"}\n'


def test_our_scripts_parse_in_every_language(plain_server: ServerProcess, tmp_path: Path) -> None:
    langs = languages(None)
    scripts = served_scripts(plain_server.url, langs)
    assert {"/widget.js", "/static/chat/main.js", "/static/chat/util.js"} <= {
        url[len(plain_server.url) :] for url in scripts
    }
    assert_all_parse(scripts, tmp_path)
    loader = scripts[plain_server.url + "/widget.js"][0]
    for lang in langs:
        for key in LAUNCHER_KEYS:
            assert json.dumps(strings_file(None, lang)[key], ensure_ascii=False) in loader


def test_hostile_theme_strings_parse_and_come_out_intact(
    theme_server: ServerProcess, theme: Path, tmp_path: Path
) -> None:
    base = theme_server.url
    langs = languages(theme)
    assert "eo" in langs
    scripts = served_scripts(base, langs)
    assert_all_parse(scripts, tmp_path)

    loader = scripts[base + "/widget.js"][0]
    for lang in langs:
        merged = expected_strings(theme, lang)
        for key in LAUNCHER_KEYS:
            assert json.dumps(merged[key], ensure_ascii=False) in loader, (lang, key)

    for lang in langs:
        page = get(f"{base}/chat?lang={lang}").text
        blocks = STRINGS_BLOCK.findall(page)
        assert len(blocks) == 1
        assert "</" not in blocks[0]
        assert "<!--" not in blocks[0]
        expected = expected_strings(theme, lang)
        page_strings = {k: v for k, v in expected.items() if not k.startswith("calls.")}
        assert json.loads(blocks[0]) == page_strings
        # The call strings come when a call does, from their own JSON.
        calls = {k: v for k, v in expected.items() if k.startswith("calls.")}
        assert get(f"{base}/chat/strings/calls?lang={lang}").json() == calls

    css = get(base + "/static/acme.css").text
    assert '"/* not a comment */ // nor this \\" `"' in css


def test_minified_files_keep_their_etag(plain_server: ServerProcess) -> None:
    for name in ("chat/main.js", "chat.css"):
        url = f"{plain_server.url}/static/{name}"
        first = get(url)
        source = (ROOT / "static" / name).read_text(encoding="utf-8")
        assert first.text == minify(source, name.rsplit(".", 1)[1])
        etag = first.headers["ETag"]
        again = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304 and again.headers["ETag"] == etag
