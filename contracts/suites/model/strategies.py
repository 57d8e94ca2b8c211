"""Hypothesis strategies for the model: schema-valid trunks with edge cases, and ids no trunk has."""

from __future__ import annotations

from hypothesis import strategies as st

from contracts.suites.model.state import DEFAULT_PORT, TrunkInput

__all__ = [
    "EDGE_HOSTS",
    "EDGE_NAMES",
    "EDGE_PORTS",
    "EDGE_USERNAMES",
    "ipv6_literals",
    "trunk_inputs",
    "unknown_ids",
]

# Valid but unusual values: the spec allows all of them, so the target must take them as they are.
EDGE_NAMES = (
    "Main Trunk",
    "x" * 255,
    "é" * 255,
    "🚀" * 255,
    "Trunk 名前 ☎",
    " spaced  name ",
    "'; DROP TABLE--",
)
# The longest valid DNS name: four labels (63, 63, 63, 61 characters) and three dots, 253 in all.
LONGEST_HOST = ".".join(("a" * 63, "b" * 63, "c" * 63, "d" * 61))
EDGE_HOSTS = (
    "sip.provider.com",
    "a",
    LONGEST_HOST,
    "192.0.2.10",
    "255.255.255.255",
    "[2001:db8::1]",
    "[::1]",
    "[::ffff:192.0.2.1]",
    "[1:2:3:4:5:6:7:8]",
    "SIP-1.Example.COM",
)
EDGE_USERNAMES = ("myuser", "u" * 255, "ユーザー", "user@example.com", "a b")
EDGE_PORTS = (1, 65535, DEFAULT_PORT, 5061)
# A DNS name as the spec's TrunkHost defines it: labels of 1-63 characters, the last one starting
# with a letter. IPv4 and IPv6 hosts are drawn from Python's ipaddress instead of the pattern.
DNS_NAME = r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){0,3}[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
MALFORMED_IDS = (
    "not-a-uuid",
    "0",
    "00000000-0000-0000-0000-000000000000",
    "6F1C2D3E4B5A4C7D8E9F0A1B2C3D4E5F",
)


def _text(edges: tuple[str, ...]) -> st.SearchStrategy[str]:
    # No surrogates (not UTF-8) and no control characters (the spec refuses them in names).
    generated = st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=255
    )
    return st.one_of(st.sampled_from(edges), generated)


def trunk_inputs() -> st.SearchStrategy[TrunkInput]:
    """Schema-valid trunks, edge cases first: long and unicode names, ports 1 and 65535, IPv6."""
    hosts = st.one_of(
        st.sampled_from(EDGE_HOSTS),
        st.from_regex(DNS_NAME, fullmatch=True).filter(lambda host: len(host) <= 253),
        st.ip_addresses(v=4).map(str),
        ipv6_literals(),
    )
    ports = st.one_of(st.none(), st.sampled_from(EDGE_PORTS), st.integers(1, 65535))
    return st.builds(
        TrunkInput, name=_text(EDGE_NAMES), host=hosts, username=_text(EDGE_USERNAMES), port=ports
    )


def ipv6_literals() -> st.SearchStrategy[str]:
    """Real IPv6 literals in brackets, compressed or not, some with an IPv4 tail (``[::ffff:192.0.2.1]``)."""
    plain = st.ip_addresses(v=6).flatmap(
        lambda address: st.sampled_from((address.compressed, address.exploded))
    )
    mapped = st.ip_addresses(v=4).map(lambda address: f"::ffff:{address}")
    return st.one_of(plain, mapped).map(lambda text: f"[{text}]")


def unknown_ids() -> st.SearchStrategy[str]:
    """Ids no trunk has: random UUIDs (odds of a clash are nil) and malformed ids."""
    return st.one_of(st.uuids(version=4).map(str), st.sampled_from(MALFORMED_IDS))
