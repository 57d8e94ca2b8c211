"""Schemathesis's requests, sent within the same bounds as ours.

Schemathesis sends through a ``requests.Session``; ``requests`` bounds each read, not the
request, and reads any body whole. ``BoundedAdapter``, mounted on that session, sends each
prepared request with ``contracts.http.bounded.fetch`` instead (whole-request deadline, body
cap) and hands back an ordinary ``requests.Response``. A request past its deadline raises
``requests.exceptions.ReadTimeout``, a body over the cap ``ResponseTooLarge`` (a
``requests.RequestException``): schemathesis reports both as "no valid answer" and goes on.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict
from urllib3.exceptions import ReadTimeoutError

from contracts.http import bounded
from contracts.safety.guard import Halted

__all__ = ["BoundedAdapter", "DeadlineExceeded", "ResponseTooLarge", "mount"]

# Headers that describe the body as it came over the wire; ``fetch`` hands back the decoded body.
_WIRE_ONLY = ("content-encoding", "content-length", "transfer-encoding")


class ResponseTooLarge(requests.exceptions.RequestException):
    """The answer's body is over the run's cap: reading stopped there."""

    @property
    def detail(self) -> str:
        return str(self)


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """No whole answer within the run's request timeout; ``detail`` says where it stopped.

    Shaped as ``requests`` shapes a read timeout (a urllib3 error naming ``read timeout=N``),
    which schemathesis parses to describe it.
    """

    def __init__(self, detail: str, *, timeout: float, request: requests.PreparedRequest) -> None:
        inner = ReadTimeoutError(None, request.url or "", f"Read timed out. (read timeout={timeout:g})")  # type: ignore[arg-type]
        super().__init__(inner, request=request)
        self.detail = detail


class BoundedAdapter(HTTPAdapter):
    """A ``requests`` adapter that sends through a bounded ``httpx`` client."""

    def __init__(self, *, timeout: float, max_body: int, cancelled: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.max_body = max_body
        self.cancelled = cancelled
        self._client = bounded.bounded_client(timeout=timeout)
        for name in list(self._client.headers):  # send the prepared request's headers, no others
            del self._client.headers[name]

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):  # a stream: schemathesis sends bytes
            raise requests.exceptions.RequestException("only bytes or str bodies are sent", request=request)
        assert request.url is not None and request.method is not None
        headers = {
            name: value if isinstance(value, str) else value.decode("latin-1")
            for name, value in request.headers.items()
        }
        outgoing = self._client.build_request(request.method, request.url, headers=headers, content=body)
        try:
            fetched = bounded.fetch(
                self._client, outgoing, timeout=self.timeout, max_body=self.max_body, cancelled=self.cancelled
            )
        except bounded.Cancelled:
            raise Halted("interrupted") from None  # stopped in another thread: not the target's fault
        except bounded.ResponseTooLarge as exc:
            raise ResponseTooLarge(f"answer too large: {exc}", request=request) from exc
        except httpx.TimeoutException as exc:
            raise DeadlineExceeded(str(exc), timeout=self.timeout, request=request) from exc
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise requests.exceptions.ConnectionError(reason, request=request) from exc
        received = HTTPHeaderDict()
        for name, value in fetched.headers:
            if fetched.decoded and name.lower() in _WIRE_ONLY:
                continue
            received.add(name, value)
        raw = HTTPResponse(
            body=io.BytesIO(fetched.body),
            headers=received,
            status=fetched.status,
            reason=fetched.reason,
            version=10 if fetched.http_version == "HTTP/1.0" else 11,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            request_url=request.url,
        )
        return self.build_response(request, raw)

    def close(self) -> None:
        self._client.close()
        super().close()


def mount(
    session: requests.Session, *, timeout: float, max_body: int, cancelled: Callable[[], bool] | None = None
) -> None:
    """Send every request of ``session`` through a ``BoundedAdapter`` (once per session)."""
    if isinstance(session.get_adapter("http://"), BoundedAdapter):
        return
    adapter = BoundedAdapter(timeout=timeout, max_body=max_body, cancelled=cancelled)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
