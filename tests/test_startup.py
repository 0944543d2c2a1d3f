"""Start-up under real gunicorn: a bad setting stops the whole server with one line, before
any worker boots; good settings reach gunicorn from the one settings module."""

from __future__ import annotations

import ast
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT, free_port

GUNICORN = [sys.executable, "-m", "gunicorn"]
UPSTREAM = {
    "SP_API_URL": "https://bp.example.com/clientweb/api/v1",
    "SP_TENANT_URL": "example.com",
    "SP_APP_ID": "0123456789abcdef0123456789abcdef",
    "SECRET_KEY": "s" * 32,
}
PREFIX = "webchat: configuration error: "


def _gunicorn(args: list[str], env: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    """Run gunicorn from the checkout with only `env`; its status and all it printed. A server
    that keeps running instead of stopping fails the test by the timeout."""
    result = subprocess.run(
        [*GUNICORN, *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"STORE_URL": "bogus://"}, "STORE_URL: "),
        (
            {"SP_API_URL": "https://bp.example.com/clientweb/api/v1"},
            "SP_TENANT_URL: required when SP_API_URL is set",
        ),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL: 'verbose' is not one of DEBUG, INFO, WARNING"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: 'xml' is not one of json, text"),
        ({"THEME_DIR": "/nonexistent/theme"}, "THEME_DIR: '/nonexistent/theme' is not a folder"),
        ({**UPSTREAM, "SP_POLL_TIMEOUT": "nan"}, "SP_POLL_TIMEOUT: must be a finite number"),
        ({"WORKER_CLASS": "sync"}, "WORKER_CLASS: 'sync' is not one of gthread, gevent"),
        ({"THREADS": "many"}, "THREADS: 'many' is not a number"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY: must be a finite number greater than zero"),
        ({"BIND": "localhost:http"}, "BIND: 'localhost:http' is not host:port"),
    ],
)
def test_a_bad_setting_stops_gunicorn_with_one_line(env, line):
    env = {"BIND": f"127.0.0.1:{free_port()}", **env}
    status, output = _gunicorn(["-c", "gunicorn.conf.py", "wsgi:app"], env)
    assert status == 2
    assert output.splitlines() == [output.strip()], output  # one line: no traceback, no boot
    assert output.startswith(PREFIX + line), output
    assert "Booting worker" not in output


@pytest.mark.parametrize("env", [{"FORWARDED_ALLOW_IPS": "10.0.0.1/8"}, {"WEB_CONCURRENCY": "x"}])
def test_what_gunicorn_reads_itself_stops_it_too(env):
    """gunicorn reads these two before any config file, and stops on a bad one in its own
    words (a traceback for WEB_CONCURRENCY); our settings check them as well."""
    status, output = _gunicorn(["-c", "gunicorn.conf.py", "wsgi:app"], env)
    assert status != 0 and "Booting worker" not in output, output


def test_without_our_config_a_bad_setting_still_halts_gunicorn(tmp_path):
    """gunicorn started with another config file: the first worker to read the settings exits
    with gunicorn's boot-error status and the master stops instead of booting another."""
    plain = tmp_path / "plain.conf.py"
    plain.write_text("workers = 1\n")
    args = ["-c", str(plain), "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"]
    status, output = _gunicorn(args, {"STORE_URL": "bogus://"})
    assert status == 3, output
    assert output.count("Booting worker") == 1, output
    ours = [line for line in output.splitlines() if line.startswith(PREFIX)]
    assert len(ours) == 1 and ours[0].startswith(PREFIX + "STORE_URL: "), output
    assert "Traceback" not in output


def _config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    """gunicorn.conf.py's values, read with exactly `env` as the environment."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_settings_come_from_settings(monkeypatch):
    defaults = _config(monkeypatch)
    assert defaults["bind"] == "127.0.0.1:8000"
    assert (defaults["workers"], defaults["threads"], defaults["worker_class"]) == (
        1,
        256,
        "gevent",
    )
    assert defaults["worker_connections"] == 10000 + 256
    assert defaults["graceful_timeout"] == 40 and defaults["loglevel"] == "info"
    assert defaults["forwarded_allow_ips"] == ""
    chosen = _config(
        monkeypatch,
        PORT="9000",
        WORKER_CLASS="gthread",
        THREADS="32",
        WEB_CONCURRENCY="3",
        SP_POLL_TIMEOUT="50",
        LOG_LEVEL="warning",
        FORWARDED_ALLOW_IPS="10.0.0.0/8, 192.0.2.7",
    )
    assert chosen["bind"] == "127.0.0.1:9000"
    assert (chosen["workers"], chosen["threads"], chosen["worker_connections"]) == (3, 32, 96)
    assert chosen["graceful_timeout"] == 60  # the held poll ends before the worker is killed
    assert chosen["loglevel"] == "warning"
    assert _config(monkeypatch, SP_POLL_TIMEOUT="0.5")["graceful_timeout"] == 11


def test_gunicorn_takes_them(tmp_path):
    """gunicorn itself accepts what the config file hands it (its own validators run)."""
    port = free_port()
    env = {
        "BIND": f"127.0.0.1:{port}",
        "SP_POLL_TIMEOUT": "45",
        "WORKER_CLASS": "gthread",
        "THREADS": "16",
        "WEB_CONCURRENCY": "2",
        "FORWARDED_ALLOW_IPS": "10.0.0.0/8",
        "LOG_LEVEL": "error",
    }
    status, output = _gunicorn(["-c", "gunicorn.conf.py", "--print-config", "wsgi:app"], env)
    assert status == 0, output
    pairs = (line.partition(" = ") for line in output.splitlines())
    printed = {name.strip(): value.strip() for name, _, value in pairs if value}
    assert printed["bind"] == f"['127.0.0.1:{port}']"
    assert printed["graceful_timeout"] == "55"
    assert (printed["threads"], printed["workers"], printed["worker_connections"]) == (
        "16",
        "2",
        "80",
    )
    assert printed["worker_class"] == "gthread" and printed["loglevel"] == "error"
    assert printed["forwarded_allow_ips"] == "['10.0.0.0/8']"


def _env_readers(path: Path) -> list[str]:
    """Where a source file reads the process environment (os.environ, os.getenv)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ) or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "getenv") for alias in node.names)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_environment_is_read_in_one_place():
    sources = [ROOT / "app.py", ROOT / "wsgi.py", ROOT / "gunicorn.conf.py"]
    sources += sorted((ROOT / "webchat").rglob("*.py"))
    readers = [where for path in sources for where in _env_readers(path)]
    assert readers and all(where.startswith("webchat/settings.py:") for where in readers)
