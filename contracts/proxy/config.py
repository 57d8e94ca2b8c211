"""The proxy's settings: one frozen object built from the command line, with its defaults and checks."""

from __future__ import annotations

import dataclasses
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from contracts.errors import UsageError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ProxyConfig"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4011


@dataclass(frozen=True)
class ProxyConfig:
    """What ``sip-trunks proxy`` was asked to do.

    >>> ProxyConfig.from_options(upstream="http://127.0.0.1:4010/").upstream
    'http://127.0.0.1:4010'
    """

    upstream: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    enforce: bool = False
    report: Path | None = None
    junit_xml: Path | None = None
    # Memory bounds: what is remembered per API key (trunks, deletions, phone-number links),
    # how many keys, how many passwords are searched for, how many violations are listed.
    max_trunks_per_key: int = 10_000
    max_keys: int = 1_000
    max_facts: int = 200_000  # all keys together (~1 KB each): ~200 MB at most
    max_passwords: int = 500
    max_violations: int = 10_000
    # Bodies are held in memory to be judged: a request over this is refused (413) by the
    # proxy, an answer over it goes through unjudged (refused with 502 under --enforce).
    max_body: int = 8 * 1024 * 1024
    # Seconds to wait for the upstream's answer before answering 502 (connecting included).
    timeout: float = 30.0
    # PEM CA bundle an https upstream's certificate is verified against, instead of the
    # system's trust store: a staging server with a private CA or a self-signed certificate.
    upstream_ca: Path | None = None

    @classmethod
    def from_options(cls, *, upstream: str, **options: object) -> ProxyConfig:
        """A config from the CLI's options; ``UsageError`` (exit 2) says how to fix a bad one."""
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                "--upstream must be an http:// or https:// URL such as http://127.0.0.1:4010, "
                f"got {upstream!r}"
            )
        if parts.query or parts.fragment:
            raise UsageError(f"--upstream takes a base URL without query or fragment, got {upstream!r}")
        given = {key: value for key, value in options.items() if value is not None}
        config = cls(upstream=upstream.rstrip("/"), **given)  # type: ignore[arg-type]
        if not 0 <= config.port <= 65535:
            raise UsageError(f"--port must be from 0 to 65535, got {config.port}")
        if config.upstream_ca is not None:
            _check_ca(config.upstream_ca, parts.scheme)
        return config

    def replace(self, **changes: object) -> ProxyConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        """Where clients reach the proxy."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _check_ca(path: Path, scheme: str) -> None:
    """Refuse a CA bundle that would be ignored or could not be loaded, before the first request fails."""
    if scheme != "https":
        raise UsageError(f"--upstream-ca is for an https:// upstream; --upstream is {scheme}://")
    try:
        # The proxy's own call (forward.py): what loads here loads there.
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:  # before OSError: SSLError is one. Its text is OpenSSL's codes, not said here.
        raise UsageError(
            f"--upstream-ca {path} holds no PEM certificate that loads; give the CA's certificate "
            "as PEM (-----BEGIN CERTIFICATE-----), not its key nor DER"
        ) from None
    except OSError as exc:
        raise UsageError(f"--upstream-ca {path}: {exc.strerror or exc}; give a PEM CA bundle") from None
