"""Render a request as a curl command in which API keys appear as shell variables, never in clear."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Masker", "render"]

# Headers every HTTP client adds; they add nothing to a reproduction.
_NOISE = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "host",
        "user-agent",
        "x-schemathesis-testcaseid",
    }
)


@dataclass(frozen=True)
class Masker:
    """Replaces secrets (API keys) by the names of shell variables that hold them."""

    secrets: Mapping[str, str]  # secret value -> variable name, e.g. {"sk_live_1": "TOKEN"}

    @classmethod
    def for_tokens(cls, token: str | None, second_token: str | None = None) -> Masker:
        secrets = {}
        if token:
            secrets[token] = "TOKEN"
        if second_token:
            secrets[second_token] = "SECOND_TOKEN"
        return cls(secrets)

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by ``$NAME``."""
        # Longest first, so a secret that contains another is replaced whole.
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, f"${self.secrets[secret]}")
        return text

    def quote(self, arg: str) -> str:
        """A shell word for ``arg``; secrets inside become ``$NAME`` expanded by the shell."""
        if not any(secret in arg for secret in self.secrets):
            return shlex.quote(arg)
        escaped = arg
        for char in ("\\", '"', "`", "$"):
            escaped = escaped.replace(char, f"\\{char}")
        for secret in sorted(self.secrets, key=len, reverse=True):
            inner = secret
            for char in ("\\", '"', "`", "$"):
                inner = inner.replace(char, f"\\{char}")
            escaped = escaped.replace(inner, f"${self.secrets[secret]}")
        return f'"{escaped}"'


def render(
    method: str,
    url: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | None,
    masker: Masker,
) -> str:
    """``curl -X METHOD -H ... -d ... URL``, reproducible by pasting into a shell with $TOKEN set."""
    parts = ["curl", "-X", method.upper()]
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() in _NOISE:
            continue
        parts += ["-H", masker.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-binary", _quote_body(body, masker)]
    parts.append(masker.quote(url))
    return " ".join(parts)


def _quote_body(body: bytes, masker: Masker) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        return masker.quote(text)
    # Bytes that are not printable text: bash's $'...' quoting keeps them exact.
    escaped = "".join(
        chr(byte) if 32 <= byte < 127 and chr(byte) not in "\\'" else f"\\x{byte:02x}" for byte in body
    )
    return f"$'{escaped}'"
