"""The spec admits exactly what a strict server accepts: hosts, names, timestamps.

The IPv6 part of ``TrunkHost`` must agree with a real parser (Python's ``ipaddress``) on
every string, or the suite sends values a correct server refuses and calls it a defect.
Each pattern is run by the two engines that validate with it: Python's ``re`` (connexion)
and ``jsonschema_rs`` (the mock's fast path).
"""

from __future__ import annotations

import ipaddress
import re

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip_trunks_openapi import load_spec

SCHEMAS = load_spec()["components"]["schemas"]


def _engines(name: str) -> tuple[re.Pattern[str], jsonschema_rs.Validator]:
    pattern = SCHEMAS[name]["pattern"]
    return re.compile(pattern), jsonschema_rs.validator_for({"type": "string", "pattern": pattern})


HOST_RE, HOST_RS = _engines("TrunkHost")


def _host_ok(text: str) -> bool:
    by_re, by_rs = HOST_RE.search(text) is not None, HOST_RS.is_valid(text)
    assert by_re == by_rs, f"re and jsonschema_rs disagree on {text!r}"
    return by_re


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


VALID_HOSTS = [
    "sip.provider.com",
    "a",
    "SIP-1.Example.COM",
    "xn--bcher-kva.example",
    ".".join(("a" * 63, "b" * 63, "c" * 63, "d" * 61)),
    "192.0.2.10",
    "0.0.0.0",
    "255.255.255.255",
    "[2001:db8::1]",
    "[::1]",
    "[::]",
    "[1::]",
    "[::ffff:192.0.2.1]",
    "[1:2:3:4:5:6:7:8]",
    "[1:2:3:4:5:6:1.2.3.4]",
    "[2001:DB8:0:0:8:800:200C:417A]",
]
INVALID_HOSTS = [
    "[7]",
    "[E]",
    "[:]",
    "[1::2::3]",
    "[12345::]",
    "[1:2:3:4:5:6:7::8]",
    "[1:2:3:4:5:6:7:8:9]",
    "[fe80::1%eth0]",
    "[::ffff:1.2.3.04]",
    "[::ffff:256.1.1.1]",
    "[]",
    "2001:db8::1",
    "999.999.999.999",
    "256.1.1.1",
    "01.2.3.4",
    "123",
    "1" * 253,
    "a" * 64 + ".com",
    "a..b",
    ".a",
    "a.",
    "-a.com",
    "a-.com",
    "a_b.com",
    "sip.provider.com:5060",
]


@pytest.mark.parametrize("host", VALID_HOSTS)
def test_the_host_pattern_accepts(host: str) -> None:
    assert _host_ok(host)


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_the_host_pattern_refuses(host: str) -> None:
    assert not _host_ok(host)


def _mangled(address: ipaddress.IPv6Address, data: st.DataObject) -> str:
    text = data.draw(st.sampled_from((address.compressed, address.exploded)))
    if data.draw(st.booleans()):
        position = data.draw(st.integers(0, len(text) - 1))
        text = (
            text[:position] + data.draw(st.sampled_from("0123456789abcdefABCDEF:.g")) + text[position + 1 :]
        )
    return text


@settings(max_examples=2000, derandomize=True, database=None, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789abcdefABCDEF:.", max_size=45),
        st.ip_addresses(v=4).map(lambda address: f"::ffff:{address}"),
        st.tuples(st.ip_addresses(v=6), st.data()).map(lambda pair: _mangled(*pair)),
    )
)
def test_the_ipv6_part_agrees_with_a_real_parser(text: str) -> None:
    assert _host_ok(f"[{text}]") == _is_ipv6(text), text


@pytest.mark.parametrize("schema", ["TrunkName", "TrunkUsername"])
def test_names_refuse_control_characters_only(schema: str) -> None:
    by_re, by_rs = _engines(schema)
    for text in ("Main Trunk", "é🚀 名前 ☎", " spaced ", "'; DROP TABLE--", "a\u0080b"):
        assert by_re.search(text) and by_rs.is_valid(text), text
    for text in ("a\x00b", "tab\there", "line\nbreak", "del\x7f"):
        assert not by_re.search(text) and not by_rs.is_valid(text), text


def test_timestamps_are_real_times() -> None:
    by_re, by_rs = _engines("Timestamp")
    for text in ("2025-12-13T10:00:00.000Z", "2024-02-29T23:59:59.999Z"):
        assert by_re.search(text) and by_rs.is_valid(text), text
    for text in (
        "2025-13-01T10:00:00.000Z",
        "2025-12-32T10:00:00.000Z",
        "2025-12-13T24:00:00.000Z",
        "2025-12-13T10:60:00.000Z",
        "2025-12-13T10:00:00Z",
        "2025-00-10T10:00:00.000Z",
    ):
        assert not by_re.search(text) and not by_rs.is_valid(text), text
