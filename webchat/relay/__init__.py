"""The relay layer: poll loops, event logs, sends, and the per-socket sessions."""

from .frames import Frame, FrameError, parse_frame
from .relay import Relay

__all__ = ["Frame", "FrameError", "Relay", "parse_frame"]
