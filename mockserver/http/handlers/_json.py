"""What handlers return: a JSON body, a status and headers naming the media type, or no content."""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse

__all__ = ["JSON", "Response", "no_content"]

# The spec lists application/problem+json next to application/json, so connexion needs
# to be told which one a success uses.
JSON: dict[str, str] = {"Content-Type": "application/json"}

Response = tuple[Any, int, dict[str, str]]


def no_content() -> ConnexionResponse:
    """A 204 with neither body nor ``Content-Type`` (a tuple would get the error media type)."""
    return ConnexionResponse(status_code=204)
