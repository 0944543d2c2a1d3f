"""Call signalling (chat_session_signaling): what a visitor's page may send, what reaches the
agent and every tab, and what a log rebuilt from history keeps of calls (only an offer nobody
answered yet)."""

from __future__ import annotations

import json

import pytest

from tests.harness import relay_on
from webchat.relay.events import last_offer_id, pending_offer, sort_history
from webchat.sockets.frames import FrameError, parse_frame
from webchat.store import MemoryStore

AGENT = "agent-1"
CHAT = "chat-1"
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"


def signal_frame(data, destination=AGENT):
    event = {"event": "chat_session_signaling", "destination_party_id": destination, "data": data}
    return json.dumps({"type": "send", "id": "s1", "event": event})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "REQUEST_CALL", "offerVideo": True}, {"offerVideo": True}),
        ({"type": "REQUEST_CALL"}, {"offerVideo": False}),
        (
            {"type": "OFFER_CALL", "sdp": SDP, "offerVideo": False},
            {"sdp": SDP, "offerVideo": False},
        ),
        ({"type": "ANSWER_CALL", "sdp": SDP, "extra": "dropped"}, {"sdp": SDP}),
        (
            {
                "type": "ICE_CANDIDATE",
                "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            },
            {
                "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            },
        ),
        ({"type": "END_CALL", "reason": "x"}, {}),
        (
            {"type": "CALL_STATE", "audioEnabled": True, "videoEnabled": False},
            {"audioEnabled": True, "videoEnabled": False},
        ),
        ({"type": "REQUEST_PHONE_CALL", "number": "+1 (555) 010-0199"}, {"number": "+15550100199"}),
        ({"type": "REQUEST_SMS", "number": "030 1234567"}, {"number": "0301234567"}),
    ],
)
def test_signals_are_rebuilt_from_their_own_fields(data, expected):
    event = parse_frame(signal_frame(data), 100).event
    assert event == {
        "event": "chat_session_signaling",
        "destination_party_id": AGENT,
        "data": {"type": data["type"], **expected},
    }


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("OFFER_CALL", "invalid_event"),
        ({"type": "CALL_REJECTED"}, "invalid_event"),  # the agent's word, not the visitor's
        ({"type": "DIAL_OUT"}, "invalid_event"),
        ({"type": "OFFER_CALL", "offerVideo": True}, "invalid_event"),  # no sdp
        ({"type": "ANSWER_CALL", "sdp": "x" * 40_000}, "too_long"),
        ({"type": "REQUEST_CALL", "offerVideo": "yes"}, "invalid_event"),
        ({"type": "ICE_CANDIDATE", "candidate": "c", "sdpMLineIndex": -1}, "invalid_event"),
        ({"type": "ICE_CANDIDATE", "candidate": "c", "sdpMLineIndex": True}, "invalid_event"),
        ({"type": "CALL_STATE", "audioEnabled": 1}, "invalid_event"),
        ({"type": "REQUEST_PHONE_CALL"}, "invalid_event"),
        ({"type": "REQUEST_PHONE_CALL", "number": "call me"}, "invalid_event"),
        ({"type": "REQUEST_SMS", "number": "12"}, "invalid_event"),
        ({"type": "REQUEST_SMS", "number": "+1234567890123456"}, "invalid_event"),
        ({"type": "REQUEST_SMS", "number": "++49301234"}, "invalid_event"),
        ({"type": "REQUEST_SMS", "number": "١٢٣٤٥٦٧"}, "invalid_event"),  # the page turns these
    ],
)
def test_bad_signals_are_refused(data, code):
    with pytest.raises(FrameError) as refused:
        parse_frame(signal_frame(data), 100)
    assert refused.value.code == code
    assert refused.value.frame_id == "s1"


def test_a_signal_needs_its_destination():
    for destination in (None, "", 5, "x" * 101):
        with pytest.raises(FrameError):
            parse_frame(signal_frame({"type": "END_CALL"}, destination), 100)


def sig(party, kind, at, **data):
    return {
        "event": "chat_session_signaling",
        "party_id": party,
        "msg_id": f"{party}:{kind}:{at}",
        "data": {"type": kind, **data},
        "timestamp": str(at),
    }


def said(at):
    return {
        "event": "chat_session_message",
        "party_id": AGENT,
        "msg_id": f"m{at}",
        "msg": "hi",
        "timestamp": str(at),
    }


def test_history_keeps_only_an_offer_nobody_answered():
    offer = sig(AGENT, "OFFER_CALL", 3, sdp=SDP, offerVideo=True)
    ice = sig(AGENT, "ICE_CANDIDATE", 4, candidate="c1")
    visitors_ice = sig(CHAT, "ICE_CANDIDATE", 5, candidate="c2")
    history = [
        said(1),
        sig(AGENT, "CALL_STATE", 2, videoEnabled=True),
        offer,
        ice,
        visitors_ice,
        said(6),
    ]
    assert sort_history(history, CHAT) == [said(1), offer, ice, said(6)]
    # Answered, ended (by either side) or rejected: nothing of the call is kept.
    for closer in (
        sig(CHAT, "ANSWER_CALL", 7, sdp=SDP),
        sig(CHAT, "END_CALL", 7),
        sig(AGENT, "END_CALL", 7),
        sig(AGENT, "CALL_REJECTED", 7),
    ):
        kept = sort_history([*history, closer, said(8)], CHAT)
        assert [e["event"] for e in kept] == ["chat_session_message"] * 3
    # A later offer rings again, with only its own candidates.
    again = sig(AGENT, "OFFER_CALL", 9, sdp=SDP, offerVideo=False)
    ice2 = sig(AGENT, "ICE_CANDIDATE", 10, candidate="c3")
    closed = [*history, sig(CHAT, "ANSWER_CALL", 7, sdp=SDP), sig(AGENT, "END_CALL", 8)]
    assert pending_offer([*closed, again, ice2], CHAT) == [again, ice2]
    # The visitor's own offer is not one to answer; history out of order is put in order first.
    assert pending_offer([sig(CHAT, "OFFER_CALL", 1, sdp=SDP)], CHAT) == []
    assert sort_history([ice2, again], CHAT) == [again, ice2]
    # History without the visitor's answer: the time it was answered (kept with the chat's
    # pointer) closes the offers made up to then.
    assert pending_offer(history, CHAT, closed_at="3") == []
    assert pending_offer(history, CHAT, closed_at="2") == [offer, ice]


def test_an_offer_in_the_same_second_as_the_hang_up_still_rings_after_a_rebuild():
    """Timestamps are whole seconds: the visitor hangs up at 5 on the offer of 3, and the agent
    offers again at 5. History without the visitor's signals cannot order the two, so the
    pointer keeps which offer the hang-up closed: offers after it ring, it and those before
    do not."""
    first = sig(AGENT, "OFFER_CALL", 3, sdp=SDP, offerVideo=False)
    ended = sig(AGENT, "END_CALL", 5)
    again = sig(AGENT, "OFFER_CALL", 5, sdp=SDP, offerVideo=True)
    ice = sig(AGENT, "ICE_CANDIDATE", 5, candidate="c9")
    history = [said(1), first, ended, again, ice, said(6)]
    assert last_offer_id(history[:2], CHAT) == first["msg_id"]
    assert pending_offer(history, CHAT, "5", first["msg_id"]) == [again, ice]
    assert sort_history(history, CHAT, "5", first["msg_id"]) == [said(1), again, ice, said(6)]
    # Closed on the second offer (both in that second): nothing rings.
    assert pending_offer(history, CHAT, "5", again["msg_id"]) == []
    # Without the offer's id (a pointer from before), the second closes both, as it did.
    assert pending_offer(history, CHAT, "5") == []
    # An offer of that second listed before the closed one was made before the hang-up.
    earlier = sig(AGENT, "OFFER_CALL", 5, sdp=SDP, offerVideo=True)
    earlier["msg_id"] = "earlier"
    assert pending_offer([earlier, again], CHAT, "5", again["msg_id"]) == []
    assert last_offer_id([said(1)], CHAT) is None


def test_signals_reach_the_agent_and_tabs_and_survive_a_rebuild(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    chat_id = relay.start_chat("visitor-c", {"first_name": "Cal"})["chat_id"]
    agent = sim.chat(chat_id).agent_party_id
    assert sim.wait_for(lambda: sim.chat(chat_id).agent_joined, 5)

    def send(send_id, data):
        event = {"event": "chat_session_signaling", "destination_party_id": agent, "data": data}
        relay.sender.send("visitor-c", send_id, event)

    def logged():
        return [e for _, e in store.read(chat_id) if e["event"] == "chat_session_signaling"]

    try:
        send("cb1", {"type": "REQUEST_PHONE_CALL", "number": "+15550100199"})
        posted = [e for e in sim.chat(chat_id).client_events if e.get("msg_id") == "cb1"]
        assert posted == [
            {
                "event": "chat_session_signaling",
                "msg_id": "cb1",
                "destination_party_id": agent,
                "data": {"type": "REQUEST_PHONE_CALL", "number": "+15550100199"},
            }
        ]
        # The simulated agent answers in words; every tab knows what was asked.
        assert sim.wait_for(
            lambda: any("+15550100199" in str(e.get("msg")) for _, e in store.read(chat_id)), 5
        )
        assert [e["data"] for e in logged()] == [
            {"type": "REQUEST_PHONE_CALL", "number": "+15550100199"}
        ]
        # The agent offers a call; the offer and its candidate are logged for the tabs.
        sim.agent_signal(chat_id, {"type": "OFFER_CALL", "sdp": SDP, "offerVideo": True})
        sim.agent_signal(chat_id, {"type": "ICE_CANDIDATE", "candidate": "c1", "sdpMid": "0"})
        assert sim.wait_for(lambda: len(logged()) == 3, 5)
        # A rebuild from history while nobody answered keeps the offer ringing.
        rebuilt = MemoryStore()
        relay.close(wait=10)
        rebuilt.merge_cookies("visitor-c", store.get_cookies("visitor-c"))
        rebuilt.set_chat("visitor-c", store.get_chat("visitor-c"))
        relay, store = relay_on(sim_server.base_url, rebuilt), rebuilt
        assert relay.current_chat("visitor-c")["chat_id"] == chat_id
        assert [e["data"]["type"] for e in logged()] == ["OFFER_CALL", "ICE_CANDIDATE"]
        # The visitor answers: the answer reaches the agent whole, the tabs learn only that it
        # was answered (no session description in the log); candidates are not logged.
        send("a1", {"type": "ANSWER_CALL", "sdp": SDP})
        send("i1", {"type": "ICE_CANDIDATE", "candidate": "c2", "sdpMid": "0", "sdpMLineIndex": 0})
        signals, _ = sim.visitor_signals(chat_id, 0)
        assert {"type": "ANSWER_CALL", "sdp": SDP} in signals
        assert [e["data"] for e in logged()][-1] == {"type": "ANSWER_CALL"}
        assert logged()[-1]["party_id"] == chat_id
        # The pointer keeps when, and which offer: the one answered.
        offer_id = next(e["msg_id"] for e in logged() if e["data"]["type"] == "OFFER_CALL")
        pointer = store.get_chat("visitor-c") or {}
        assert pointer["call_closed_offer"] == offer_id and pointer["call_closed"]
        # Rebuilt again once answered: no call is offered any more.
        again = MemoryStore()
        relay.close(wait=10)
        again.merge_cookies("visitor-c", store.get_cookies("visitor-c"))
        again.set_chat("visitor-c", store.get_chat("visitor-c"))
        relay, store = relay_on(sim_server.base_url, again), again
        assert relay.current_chat("visitor-c")["chat_id"] == chat_id
        assert any(e["event"] == "chat_session_party_joined" for _, e in store.read(chat_id))
        assert logged() == []
    finally:
        relay.close()
        sim.agent_end(chat_id)


def test_a_call_request_without_an_agent_page_is_declined(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    chat_id = relay.start_chat("visitor-d", {"first_name": "Dee"})["chat_id"]
    agent = sim.chat(chat_id).agent_party_id
    try:
        event = {
            "event": "chat_session_signaling",
            "destination_party_id": agent,
            "data": {"type": "REQUEST_CALL", "offerVideo": False},
        }
        relay.sender.send("visitor-d", "r1", event)
        assert sim.wait_for(
            lambda: any(
                e.get("data", {}).get("type") == "CALL_REJECTED" and e.get("party_id") == agent
                for _, e in store.read(chat_id)
            ),
            5,
        )
    finally:
        relay.close()
        sim.agent_end(chat_id)


def test_agent_side_endpoints(sim_server, sim):
    import requests

    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    chat_id = relay.start_chat("visitor-e", {"first_name": "<Eve>"})["chat_id"]
    root = f"http://{sim_server.host}:{sim_server.port}/agent/"
    try:
        index = requests.get(root, timeout=5).text
        assert f'href="/agent/{chat_id}"' in index and "&lt;Eve&gt;" in index
        assert "RTCPeerConnection" in requests.get(root + chat_id, timeout=5).text
        assert requests.get(root + "nope", timeout=5).status_code == 404
        bad = requests.post(root + chat_id + "/signal", json={"type": "REQUEST_SMS"}, timeout=5)
        assert bad.status_code == 400
        ok = requests.post(root + chat_id + "/signal", json={"type": "END_CALL"}, timeout=5)
        assert ok.status_code == 204
        assert sim.wait_for(
            lambda: any(
                e.get("data", {}).get("type") == "END_CALL" for _, e in store.read(chat_id)
            ),
            5,
        )
        # The visitor's signals, after a point, as the agent page long-polls them.
        got = requests.get(root + chat_id + "/signals?after=0&wait=0", timeout=5).json()
        assert got == {"signals": [], "next": len(sim.chat(chat_id).client_events), "ended": False}
        assert requests.get(root + chat_id + "/signals?after=x", timeout=5).status_code == 400
    finally:
        relay.close()
        sim.agent_end(chat_id)
