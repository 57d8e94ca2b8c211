"""Large admin answers streamed as JSON in chunks, with the event loop handed back between them.

A producer is a plain iterator of text pieces that does its work lazily, a piece at a time;
it may yield ``""`` before a long step that writes nothing, to offer a pause there. The
stream buffers pieces and, every ``SLICE_SECONDS`` of work or ``CHUNK_BYTES`` of text,
sends what it has and lets every other ready task of the loop run. Each answer's data is
snapshotted (cheaply, references to immutable records) when the request arrives, so what is
streamed is consistent whatever changes meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

__all__ = ["CHUNK_BYTES", "SLICE_SECONDS", "chunks", "list_document", "streamed_json"]

CHUNK_BYTES = 64 * 1024
SLICE_SECONDS = 0.005  # at most this long building the answer before other requests get a turn

_encode = json.JSONEncoder().encode


async def chunks(
    pieces: Iterable[str], *, chunk_bytes: int = CHUNK_BYTES, slice_seconds: float = SLICE_SECONDS
) -> AsyncIterator[bytes]:
    """The pieces as UTF-8 chunks, with a pause for the loop after each slice of work."""
    buffer: list[str] = []
    size = 0
    clock = time.perf_counter
    deadline = clock() + slice_seconds
    for piece in pieces:
        if piece:
            buffer.append(piece)
            size += len(piece)
        if size >= chunk_bytes or clock() >= deadline:
            if buffer:
                yield "".join(buffer).encode("utf-8")
                buffer, size = [], 0
            await asyncio.sleep(0)  # every other ready request runs a step now
            deadline = clock() + slice_seconds
    if buffer:
        yield "".join(buffer).encode("utf-8")


def list_document(head: Mapping[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """``{**head, key: [items...]}`` as JSON text pieces; an item ``None`` is a pause, not an element.

    >>> "".join(list_document({"size": 2}, "requests", [{"id": 1}, None, {"id": 2}]))
    '{"size": 2, "requests": [{"id": 1}, {"id": 2}]}'
    """
    opening = _encode({**head, key: []})
    yield opening[:-2]  # '{"size": 2, "requests": ['
    separator = ""
    for item in items:
        if item is None:
            yield ""
            continue
        yield separator + _encode(item)
        separator = ", "
    yield "]}"


def streamed_json(pieces: Iterable[str], status: int = 200) -> StreamingResponse:
    """A ``200 application/json`` answer streamed from JSON text pieces (``Transfer-Encoding: chunked``)."""
    return StreamingResponse(chunks(pieces), status_code=status, media_type="application/json")
