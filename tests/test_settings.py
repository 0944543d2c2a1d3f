"""Settings: demo without SP_API_URL; a bad value stops start-up naming the variable."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from webchat.settings import SettingsError, load_or_exit, load_settings

GOOD = {
    "SP_API_URL": "https://bp.example.com:9443/clientweb/api/v1/",
    "SP_TENANT_URL": "example.com",
    "SP_APP_ID": "0123456789abcdef0123456789abcdef",
    "SECRET_KEY": "s" * 32,
}


def test_demo_mode_without_upstream():
    settings = load_settings({})
    assert settings.demo and settings.store_url == "memory://"
    assert len(settings.secret_key) >= 32


def test_typing_preview_is_off_unless_asked_for():
    assert load_settings(GOOD).typing_preview is False
    assert load_settings({**GOOD, "TYPING_PREVIEW": "true"}).typing_preview is True


def test_production_values():
    settings = load_settings(
        {**GOOD, "ALLOWED_ORIGINS": "https://Shop.example.com http://a.b:8080"}
    )
    assert not settings.demo
    assert settings.sp_api_url == "https://bp.example.com:9443/clientweb/api/v1"
    assert settings.allowed_origins == ("https://shop.example.com", "http://a.b:8080")


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"SP_API_URL": "ftp://x"}, "SP_API_URL"),
        ({"SP_TENANT_URL": ""}, "SP_TENANT_URL"),
        ({"SP_APP_ID": ""}, "SP_APP_ID"),
        ({"SP_APP_ID": 'a"b'}, "SP_APP_ID"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_ORIGINS": "https://a.example/path"}, "ALLOWED_ORIGINS"),
        ({"ALLOWED_ORIGINS": "a.example"}, "ALLOWED_ORIGINS"),
        ({"STORE_URL": "mongodb://x"}, "STORE_URL"),
        ({"MAX_MESSAGE_CHARS": "many"}, "MAX_MESSAGE_CHARS"),
        ({"SP_POLL_TIMEOUT": "0"}, "SP_POLL_TIMEOUT"),
        ({"SP_POLL_TIMEOUT": "nan"}, "SP_POLL_TIMEOUT"),
        ({"SP_POLL_TIMEOUT": "inf"}, "SP_POLL_TIMEOUT"),
        ({"SP_POLL_TIMEOUT": "-5"}, "SP_POLL_TIMEOUT"),
        ({"SP_CALL_TIMEOUT": "NaN"}, "SP_CALL_TIMEOUT"),
        ({"AVAILABILITY_TTL": "-inf"}, "AVAILABILITY_TTL"),
        ({"LEASE_TTL": "Infinity"}, "LEASE_TTL"),
        ({"TYPING_PREVIEW": "sometimes"}, "TYPING_PREVIEW"),
    ],
)
def test_bad_values_name_the_variable(change, name):
    with pytest.raises(SettingsError) as info:
        load_settings({**GOOD, **change})
    assert str(info.value).startswith(name)


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SP_API_URL": "https://x.example/clientweb/api/v1"},
            "SP_TENANT_URL: required when SP_API_URL is set",
        ),
        (
            {**GOOD, "SP_POLL_TIMEOUT": "nan"},
            "SP_POLL_TIMEOUT: must be a finite number greater than zero, got 'nan'",
        ),
        (
            {"LOG_LEVEL": "loud"},
            "LOG_LEVEL: 'loud' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
    ],
)
def test_wsgi_stops_with_one_line(env, line):
    env = {**env, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 3  # gunicorn's "worker failed to boot": the master stops
    assert result.stderr == f"webchat: configuration error: {line}\n"


def test_serving_defaults():
    settings = load_settings({})
    assert (settings.bind, settings.workers, settings.threads) == ("127.0.0.1:8000", 1, 256)
    assert (settings.worker_class, settings.worker_connections) == ("gevent", 10256)
    assert (settings.log_format, settings.log_level) == ("json", "INFO")
    assert settings.theme_dir is None and settings.forwarded_allow_ips == ""
    assert settings.graceful_timeout == 40


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"BIND": "0.0.0.0:8080"}, "bind", "0.0.0.0:8080"),
        ({"BIND": "[::]:8080"}, "bind", "[::]:8080"),
        ({"BIND": "unix:/run/webchat.sock"}, "bind", "unix:/run/webchat.sock"),
        ({"BIND": "fd://3"}, "bind", "fd://3"),
        ({"PORT": "9000"}, "bind", "127.0.0.1:9000"),
        ({"BIND": "10.0.0.1:80", "PORT": "9000"}, "bind", "10.0.0.1:80"),
        ({"WEB_CONCURRENCY": "4"}, "workers", 4),
        ({"WORKER_CLASS": "gthread", "THREADS": "100"}, "worker_connections", 164),
        ({"WORKER_CLASS": "GEVENT"}, "worker_class", "gevent"),
        ({"WORKER_CLASS": "gevent"}, "worker_connections", 10256),
        ({"WORKER_CONNECTIONS": "5000"}, "worker_connections", 5000),
        ({"LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
        ({"LOG_FORMAT": "TEXT"}, "log_format", "text"),
        ({"FORWARDED_ALLOW_IPS": "*"}, "forwarded_allow_ips", "*"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.0/8,::1"}, "forwarded_allow_ips", "10.0.0.0/8,::1"),
        ({"SP_POLL_TIMEOUT": "50"}, "graceful_timeout", 60),
    ],
)
def test_serving_values(env, field, value):
    assert getattr(load_settings(env), field) == value


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("BIND", "localhost"),
        ("BIND", "localhost:99999"),
        ("BIND", "localhost:http"),
        ("BIND", "user@host:80"),
        ("BIND", "a b:80"),
        ("BIND", "unix:"),
        ("BIND", "fd://x"),
        ("PORT", "70000"),
        ("PORT", "eighty"),
        ("WEB_CONCURRENCY", "0"),
        ("THREADS", "-1"),
        ("THREADS", "2.5"),
        ("WORKER_CONNECTIONS", "0"),
        ("WORKER_CLASS", "sync"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_FORMAT", "xml"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.1/8"),
        ("FORWARDED_ALLOW_IPS", "proxy.example"),
        ("THEME_DIR", "/nonexistent/theme"),
    ],
)
def test_bad_serving_values_name_the_variable(name, raw):
    with pytest.raises(SettingsError) as info:
        load_settings({name: raw})
    assert str(info.value).startswith(f"{name}: ")


def test_theme_dir(tmp_path):
    with pytest.raises(SettingsError, match="neither templates/ nor static/"):
        load_settings({"THEME_DIR": str(tmp_path)})
    (tmp_path / "static").mkdir()
    assert load_settings({"THEME_DIR": str(tmp_path)}).theme_dir == tmp_path.resolve()


def test_gevent_needs_gevent_installed(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gevent" else real(name, *a)
    )
    with pytest.raises(SettingsError, match="WORKER_CLASS: gevent needs gevent"):
        load_settings({"WORKER_CLASS": "gevent"})


def test_load_or_exit_prints_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        load_or_exit({"LOG_LEVEL": "loud"}, status=5)
    assert info.value.code == 5
    err = capsys.readouterr().err
    assert err.startswith("webchat: configuration error: LOG_LEVEL: ") and err.count("\n") == 1
    assert load_or_exit({}).log_level == "INFO"
