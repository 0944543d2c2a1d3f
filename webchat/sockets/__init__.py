"""The browser's socket protocol: frames in, one session per socket, its ordered queue out.

It stands on the chat domain (webchat.relay) and the store; nothing below imports from here.
"""

from . import rawsocket
from .caps import SocketCaps
from .frames import Frame, FrameError, parse_frame
from .registry import SocketRegistry
from .session import SocketSession

__all__ = [
    "Frame",
    "FrameError",
    "SocketCaps",
    "SocketRegistry",
    "SocketSession",
    "parse_frame",
    "rawsocket",
]
