"""BatchedLineWriter: lines stamped like logging's, written in batches, none lost on close."""

from __future__ import annotations

import io
import re
import threading
import time

from mockserver.log_output import BatchedLineWriter

STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO mockserver\.access (.*)$")


class Recording(io.StringIO):
    """A stream that counts its writes, to tell a batch from a line at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.writes += 1
        self.written.set()
        return super().write(text)


def test_lines_read_like_logging_lines_and_close_writes_what_waits() -> None:
    stream = Recording()
    writer = BatchedLineWriter(stream, "mockserver.access", interval=60)
    writer("method=GET path=/sip-trunks status=200 duration_ms=0.10 org=-")
    writer("method=POST path=/sip-trunks status=201 duration_ms=0.20 org=abc")
    assert stream.getvalue() == ""  # within the interval, nothing is written yet
    writer.close()
    lines = stream.getvalue().splitlines()
    assert [STAMPED.match(line).group(1) for line in lines] == [  # type: ignore[union-attr]
        "method=GET path=/sip-trunks status=200 duration_ms=0.10 org=-",
        "method=POST path=/sip-trunks status=201 duration_ms=0.20 org=abc",
    ]
    assert stream.writes == 1


def test_the_flusher_writes_within_the_interval() -> None:
    stream = Recording()
    writer = BatchedLineWriter(stream, "mockserver.access", interval=0.05)
    try:
        writer("method=GET path=/x status=404 duration_ms=0.10 org=-")
        assert stream.written.wait(5), "no write within 5 s"
        assert stream.getvalue().endswith("method=GET path=/x status=404 duration_ms=0.10 org=-\n")
    finally:
        writer.close()


def test_a_full_batch_is_written_at_once() -> None:
    stream = Recording()
    writer = BatchedLineWriter(stream, "mockserver.access", interval=60, max_pending=10)
    for number in range(25):
        writer(f"line {number}")
    assert stream.writes == 2  # 10 and 10; the last 5 wait
    assert len(stream.getvalue().splitlines()) == 20
    writer.close()
    assert [line.rsplit(" ", 1)[1] for line in stream.getvalue().splitlines()] == [str(n) for n in range(25)]


def test_a_closed_stream_loses_lines_but_raises_nothing() -> None:
    stream = io.StringIO()
    writer = BatchedLineWriter(stream, "mockserver.access", interval=60)
    stream.close()
    writer("method=GET path=/x status=200 duration_ms=0.10 org=-")
    writer.close()


def test_the_time_is_the_time_of_the_line() -> None:
    stream = Recording()
    writer = BatchedLineWriter(stream, "mockserver.access", interval=60)
    before = time.strftime("%Y-%m-%d %H:%M:%S")
    writer("x")
    after = time.strftime("%Y-%m-%d %H:%M:%S")
    writer.close()
    stamp = stream.getvalue()[:19]
    assert before <= stamp <= after
