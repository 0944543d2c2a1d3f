"""On-premises ServicePattern over TLS with a private CA, and through a corporate proxy."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import fast_config
from tests.harness import APP_ID, TENANT, ServerProcess, Visitor
from tests.proxy import Proxy
from tests.tls import make_certs
from webchat.servicepattern import ServicePatternClient, UpstreamError
from webchat.settings import requests_ca_bundle
from webchat.simulator import Simulator, SimulatorServer


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    server = SimulatorServer(Simulator(fast_config()), ssl_context=certs.server_context()).start()
    yield server, certs
    server.stop()


def test_private_ca_verifies_and_default_roots_refuse(tls_sim, caplog):
    server, certs = tls_sim
    assert server.base_url.startswith("https://127.0.0.1:")
    trusted = ServicePatternClient(server.base_url, TENANT, APP_ID, verify=str(certs.ca))
    assert trusted.check_availability() == "available"
    strict = ServicePatternClient(server.base_url, TENANT, APP_ID, verify=requests_ca_bundle())
    messages = []
    for _ in range(3):
        with pytest.raises(UpstreamError) as info:
            strict.check_availability()
        assert "TLS certificate did not verify" in info.value.message
        messages.append(info.value.message)
    assert "SP_CA_BUNDLE" in messages[0]
    tls_lines = [r for r in caplog.records if "SP_CA_BUNDLE" in r.getMessage()]
    assert len(tls_lines) == 1 and tls_lines[0].levelname == "ERROR"
    assert server.simulator.violations == []


def test_requests_ca_bundle_env_cannot_override_our_choice(tls_sim, monkeypatch):
    server, certs = tls_sim
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.ca))
    strict = ServicePatternClient(server.base_url, TENANT, APP_ID, verify=requests_ca_bundle())
    with pytest.raises(UpstreamError):
        strict.check_availability()


def test_server_with_ca_bundle_chats_over_tls(tls_sim):
    server, certs = tls_sim
    app = ServerProcess(server.base_url, {"SP_CA_BUNDLE": str(certs.ca)})
    visitor = Visitor(app.url)
    try:
        tab = visitor.tab()
        chat = visitor.start_chat(tab, first_name="Tess")
        assert chat["chat_id"]
    finally:
        visitor.close()
        app.stop()
    assert server.simulator.violations == []


def test_untrusted_certificate_gives_upstream_errors_not_a_hang(tls_sim):
    server, _ = tls_sim
    app = ServerProcess(server.base_url)
    visitor = Visitor(app.url)
    try:
        tab = visitor.tab()
        state = tab.hello()
        assert state["availability"] == "notAvailable"
        tab.send({"type": "start", "parameters": {}})
        error = tab.wait_type("error", timeout=20)
        assert error["code"] == "upstream"
        tab.send({"type": "ping"})
        tab.wait_type("pong")
    finally:
        visitor.close()
        app.stop()
    log = app.log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1 and "set SP_CA_BUNDLE" in errors[0]["message"]
    assert "Traceback" not in log


def test_verification_off_works_and_warns_at_start(tls_sim):
    server, _ = tls_sim
    app = ServerProcess(server.base_url, {"SP_TLS_VERIFY": "false"})
    try:
        assert requests.get(app.url + "/api/availability", timeout=10).json() == {
            "chat": "available"
        }
    finally:
        app.stop()
    assert "SP_TLS_VERIFY is off" in app.log_path.read_text()


def test_https_proxy_is_used_and_no_proxy_bypasses_it(tls_sim):
    server, certs = tls_sim
    with Proxy() as proxy:
        env = {
            "SP_CA_BUNDLE": str(certs.ca),
            "HTTPS_PROXY": proxy.url,
            "NO_PROXY": "",
            "https_proxy": proxy.url,
            "no_proxy": "",
        }
        app = ServerProcess(server.base_url, env)
        visitor = Visitor(app.url)
        try:
            visitor.start_chat(visitor.tab(), first_name="Pat")
        finally:
            visitor.close()
            app.stop()
        assert any(s == f"CONNECT 127.0.0.1:{server.port}" for s in proxy.seen)
        proxy.seen.clear()
        env.update({"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        app = ServerProcess(server.base_url, env)
        try:
            assert requests.get(app.url + "/api/availability", timeout=10).json() == {
                "chat": "available"
            }
        finally:
            app.stop()
        assert proxy.seen == []
