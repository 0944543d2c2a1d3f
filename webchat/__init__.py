"""webchat-bff: a ServicePattern web chat relay."""
