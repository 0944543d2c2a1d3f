"""The ServicePattern Mobile/Web API v1: client, tolerant parsing, errors, cookie jars."""

from .client import Identity, ServicePatternClient, UploadResult
from .errors import UpstreamError
from .parse import ChatInfo
from .transport import Streamed

__all__ = [
    "ChatInfo",
    "Identity",
    "ServicePatternClient",
    "Streamed",
    "UploadResult",
    "UpstreamError",
]
