"""Settings: demo without SP_API_URL; a bad value stops start-up naming the variable."""

import subprocess
import sys
from pathlib import Path

import pytest

from webchat.settings import SettingsError, load_settings

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
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"webchat: configuration error: {line}"
