"""The Redis store keeps text as UTF-8, not JSON-escaped: a non-ASCII message costs about its
own size, not three times it."""

from __future__ import annotations

import uuid

import redis

from webchat.store import open_store


def test_a_non_ascii_message_takes_about_its_utf8_size_in_redis(redis_url):
    store = open_store(redis_url)
    raw = redis.Redis.from_url(redis_url)
    try:
        chat_id = uuid.uuid4().hex
        text = ("日本語のメッセージ" * 100) + ("😀" * 200)  # 900 CJK and 200 emoji characters
        event = {"event": "chat_session_message", "msg_id": "m1", "party_id": "p", "msg": text}
        store.append(chat_id, [event], ["k1"], [True])
        stored = raw.lindex(f"wc:c:{chat_id}:log", 0)
        utf8 = len(text.encode())
        # Escaped, each CJK character is 6 bytes instead of 3 and each emoji 12 instead of 4.
        assert utf8 <= len(stored) <= utf8 + 100, (len(stored), utf8)
        assert store.read(chat_id) == [(1, event)]
        assert raw.memory_usage(f"wc:c:{chat_id}:log") < 1.2 * utf8
    finally:
        raw.close()
        store.close()
