"""webchat-bff: a ServicePattern web chat relay."""

__version__ = "0.1.0"
