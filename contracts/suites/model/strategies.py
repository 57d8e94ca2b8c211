"""Hypothesis strategies for the model: schema-valid trunks with edge cases, and ids no trunk has."""

from __future__ import annotations

from hypothesis import strategies as st

from contracts.suites.model.state import DEFAULT_PORT, TrunkInput

__all__ = ["EDGE_HOSTS", "EDGE_NAMES", "EDGE_PORTS", "EDGE_USERNAMES", "trunk_inputs", "unknown_ids"]

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
EDGE_HOSTS = ("sip.provider.com", "a", "1" * 253, "192.0.2.10", "[2001:db8::1]", "[::1]", "SIP-1.Example.COM")
EDGE_USERNAMES = ("myuser", "u" * 255, "ユーザー", "user@example.com", "a b")
EDGE_PORTS = (1, 65535, DEFAULT_PORT, 5061)
HOST_PATTERN = r"([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
MALFORMED_IDS = (
    "not-a-uuid",
    "0",
    "00000000-0000-0000-0000-000000000000",
    "6F1C2D3E4B5A4C7D8E9F0A1B2C3D4E5F",
)


def _text(edges: tuple[str, ...]) -> st.SearchStrategy[str]:
    generated = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=255)
    return st.one_of(st.sampled_from(edges), generated)


def trunk_inputs() -> st.SearchStrategy[TrunkInput]:
    """Schema-valid trunks, edge cases first: long and unicode names, ports 1 and 65535, IPv6."""
    hosts = st.one_of(
        st.sampled_from(EDGE_HOSTS),
        st.from_regex(HOST_PATTERN, fullmatch=True).filter(lambda host: len(host) <= 253),
    )
    ports = st.one_of(st.none(), st.sampled_from(EDGE_PORTS), st.integers(1, 65535))
    return st.builds(
        TrunkInput, name=_text(EDGE_NAMES), host=hosts, username=_text(EDGE_USERNAMES), port=ports
    )


def unknown_ids() -> st.SearchStrategy[str]:
    """Ids no trunk has: random UUIDs (odds of a clash are nil) and malformed ids."""
    return st.one_of(st.uuids(version=4).map(str), st.sampled_from(MALFORMED_IDS))
