"""JSON error answers for the API: a code a program can act on, a message a person can read."""

from __future__ import annotations

from flask import Response, jsonify


def api_error(status: int, code: str, message: str) -> Response:
    """`{"error": {"code", "message"}}` with the given HTTP status."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response
