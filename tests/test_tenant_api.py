"""Availability and pre-chat parameters: tenant-wide, cached, tolerant of both shapes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.harness import APP_ID, TENANT
from webchat.relay import Relay
from webchat.servicepattern import ServicePatternClient
from webchat.store import MemoryStore


def _upstream_calls(sim, path: str) -> int:
    return sum(1 for r in sim.requests_log if r["path"].endswith(path))


def test_a_crowd_on_the_launcher_costs_one_upstream_call(server, sim):
    before = _upstream_calls(sim, "/availability")
    with ThreadPoolExecutor(16) as pool, requests.Session() as http:
        answers = list(
            pool.map(
                lambda _: http.get(server.url + "/api/availability", timeout=10).json(), range(300)
            )
        )
    assert all(a == {"chat": "available"} for a in answers)
    assert _upstream_calls(sim, "/availability") - before <= 2


def test_parameters_are_offered_as_name_and_type(server, sim):
    body = requests.get(server.url + "/api/parameters", timeout=10).json()
    assert {"name": "first_name", "type": "FIRST_NAME"} in body["parameters"]
    assert {"name": "email", "type": "EMAIL"} in body["parameters"]


def test_both_shapes_and_both_negative_spellings(sim_server, sim):
    client = ServicePatternClient(sim_server.base_url, TENANT, APP_ID)
    config = sim.config
    saved = (config.availability, config.parameter_shape)
    try:
        for value in ("notAvailable", "unavailable"):
            config.availability = value
            assert client.check_availability() == "notAvailable"
        config.availability = "available"
        assert client.check_availability() == "available"
        config.parameter_shape = "single_key"
        single = client.expected_parameters()
        config.parameter_shape = "name_type"
        assert single == client.expected_parameters() != []
    finally:
        config.availability, config.parameter_shape = saved


def test_upstream_down_keeps_the_last_known_availability(sim_server, sim):
    client = ServicePatternClient(sim_server.base_url, TENANT, APP_ID)
    relay = Relay(MemoryStore(), client, availability_ttl=0)
    assert relay.availability.get() == "available"
    sim.fail_next(1, 503, "down", paths="/availability")
    assert relay.availability.get() == "available"
    assert relay.availability.fetches == 2


def test_piggybacked_events_on_send_replies_are_not_lost(visitor, sim):
    sim.config.piggyback = True
    try:
        v = visitor()
        tab = v.tab()
        chat = v.start_chat(tab)
        for n in range(3):
            sim.agent_say(chat["chat_id"], f"queued {n}")
            tab.say(f"mine {n}")
        for n in range(3):
            tab.wait(lambda f, n=n: f["type"] == "event" and f["event"].get("msg") == f"queued {n}")
        seqs = tab.seqs()
        assert seqs == list(range(1, len(seqs) + 1))
        msgs = [f["event"].get("msg") for f in tab.events()]
        assert all(msgs.count(f"queued {n}") == 1 for n in range(3))
    finally:
        sim.config.piggyback = False
