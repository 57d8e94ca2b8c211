"""Mutants that crash on bodies a careless parser chokes on: the two 500s once found by hand in the mock."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .harness import Rewriting, Seen


def _server_error(seen: Seen, detail: str) -> None:
    seen.status = 500
    problem = {"type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": detail}
    seen.set_json(problem)
    seen.set_header(b"content-type", b"application/problem+json")


@dataclass
class MixedCaseMediaTypeCrashes(Rewriting):
    """A JSON media type not in lower case (``Application/JSON``) is a 500, as connexion once made it."""

    def rewrite(self, seen: Seen) -> None:
        media_type = (seen.content_type or "").split(";")[0].strip()
        # connexion matched the type case-insensitively, then handed the handler raw bytes.
        if media_type != media_type.lower() and media_type.lower() == "application/json":
            _server_error(seen, "The server encountered an internal error")


@dataclass
class DeepJsonCrashes(Rewriting):
    """A JSON body nested too deep for a recursive parser (``[[[…]]]``) is a 500: RecursionError."""

    def rewrite(self, seen: Seen) -> None:
        if seen.status != 400:
            return
        try:
            json.loads(seen.request_body)
        except RecursionError:
            _server_error(seen, "The server encountered an internal error")
        except ValueError:
            pass
