"""Files of a chat: uploads streamed up and shared, downloads and agent photos streamed
down, and only ever those of the visitor's own current chat."""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

from ..servicepattern import ServicePatternClient, Streamed
from ..store import Store
from .chatlog import ChatLog
from .events import own_file
from .identities import Identities
from .sending import Sender

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


class Files:
    """File sharing: the visitor's own files up, the chat's files and photos down."""

    def __init__(
        self,
        store: Store,
        client: ServicePatternClient,
        identities: Identities,
        chatlog: ChatLog,
        sender: Sender,
    ) -> None:
        self.store = store
        self.client = client
        self.identities = identities
        self.chatlog = chatlog
        self.sender = sender

    def share(
        self,
        visitor_id: str,
        data: BinaryIO,
        size: int,
        filename: str,
        content_type: str,
        user_agent: str | None = None,
    ) -> dict[str, str]:
        """Upload a file (streamed) and share it in the visitor's chat, logged for all tabs."""
        chat_id = self.chatlog.live(visitor_id)["chat_id"]
        self.chatlog.check_room(chat_id)
        who = self.identities.load(visitor_id, user_agent)
        try:
            result = self.client.upload_file(who, data, size, filename, content_type)
        finally:
            self.identities.save(visitor_id, who)
        file_type = "image" if content_type in IMAGE_TYPES else "attachment"
        msg_id = uuid.uuid4().hex
        event = {
            "event": "chat_session_file",
            "msg_id": msg_id,
            "file_id": result.file_id,
            "file_type": file_type,
            "file_name": result.file_name,
        }
        with self.sender.lock(chat_id):
            piggyback = self.sender.post(visitor_id, chat_id, event, user_agent)
            own = own_file(chat_id, msg_id, result.file_id, file_type, result.file_name)
            self.chatlog.record(visitor_id, chat_id, [own, *piggyback])
        return {"file_id": result.file_id, "file_name": result.file_name, "file_type": file_type}

    def _find_event(self, visitor_id: str, name: str, key: str, value: str) -> tuple[str, dict]:
        """An event of the visitor's current chat with event[key] == value, or LookupError."""
        store = self.store
        chat = store.get_chat(visitor_id)
        if chat is None:
            raise LookupError(value)
        for _, event in reversed(store.read(chat["chat_id"])):
            if event.get("event") == name and event.get(key) == value:
                return chat["chat_id"], event
        raise LookupError(value)

    def open_file(
        self, visitor_id: str, file_id: str, user_agent: str | None = None
    ) -> tuple[Streamed, dict[str, Any]]:
        """A streamed download of a file shared in the visitor's current chat."""
        chat_id, event = self._find_event(visitor_id, "chat_session_file", "file_id", file_id)
        who = self.identities.load(visitor_id, user_agent)
        try:
            return self.client.get_file(who, chat_id, file_id), event
        finally:
            self.identities.save(visitor_id, who)

    def open_photo(self, visitor_id: str, party_id: str, user_agent: str | None = None) -> Streamed:
        """A streamed photo of an agent who joined the visitor's current chat."""
        chat_id, _ = self._find_event(visitor_id, "chat_session_party_joined", "party_id", party_id)
        who = self.identities.load(visitor_id, user_agent)
        try:
            return self.client.get_photo(who, chat_id, party_id)
        finally:
            self.identities.save(visitor_id, who)
