"""Client identity: by clientId, or for ``WebChat`` by the cookies we issued.

Not thread-safe on its own; the Simulator calls it with its lock held.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import OrderedDict

from .model import Client

WEBCHAT = "WebChat"
CLIENT_COOKIE = "SPCLIENT"
NODE_COOKIE = "SPNODE"
MAX_CLIENTS = 50_000


class ClientRegistry:
    """Remembers which cookies each client was issued, to catch clients that drop one."""

    def __init__(self, grace: float = 0.0) -> None:
        self.grace = grace
        self._clients: OrderedDict[str, Client] = OrderedDict()
        self._node_owner: dict[str, str] = {}
        self._nodes = itertools.count(1)

    def resolve(
        self, client_id: str, cookies: dict[str, str]
    ) -> tuple[Client, dict[str, str], str | None]:
        """Return (client, cookies to set on the reply, violation text or None)."""
        if client_id != WEBCHAT:
            return self._get_or_create(f"id:{client_id}"), {}, None
        sp_client = cookies.get(CLIENT_COOKIE)
        sp_node = cookies.get(NODE_COOKIE)
        violation = None
        client = self._clients.get(f"cookie:{sp_client}") if sp_client else None
        if client is not None:
            issued_node = client.issued.get(NODE_COOKIE)
            racing = sp_node is None and time.monotonic() - client.node_issued_at < self.grace
            if issued_node is not None and sp_node != issued_node and not racing:
                got = "no SPNODE cookie" if sp_node is None else f"SPNODE={sp_node}"
                violation = (
                    f"WebChat client {sp_client} sent {got} but was issued SPNODE={issued_node}"
                )
                client = None
        elif sp_client is None and sp_node is not None and sp_node in self._node_owner:
            violation = (
                f"WebChat request with SPNODE={sp_node} lacks the SPCLIENT cookie issued "
                f"to that client"
            )
        if client is not None:
            self._clients.move_to_end(client.key)
            return client, {}, violation
        value = secrets.token_hex(16)
        client = self._get_or_create(f"cookie:{value}")
        client.issued[CLIENT_COOKIE] = value
        return client, {CLIENT_COOKIE: value}, violation

    def issue_node(self, client: Client) -> dict[str, str]:
        """The affinity cookie Request Chat sets (stable per client; empty if not WebChat)."""
        if not client.key.startswith("cookie:"):
            return {}
        value = client.issued.get(NODE_COOKIE)
        if value is None:
            value = f"node-{next(self._nodes)}"
            client.issued[NODE_COOKIE] = value
            client.node_issued_at = time.monotonic()
            self._node_owner[value] = client.key
        return {NODE_COOKIE: value}

    def get(self, key: str) -> Client | None:
        return self._clients.get(key)

    def _get_or_create(self, key: str) -> Client:
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = Client(key=key)
            self._trim()
        else:
            self._clients.move_to_end(key)
        return client

    def _trim(self) -> None:
        """Forget the least recently seen idle clients beyond MAX_CLIENTS."""
        excess = len(self._clients) - MAX_CLIENTS
        if excess <= 0:
            return
        for key in [k for k, c in self._clients.items() if c.active_chat is None][:excess]:
            client = self._clients.pop(key)
            node = client.issued.get(NODE_COOKIE)
            if node is not None:
                self._node_owner.pop(node, None)
