"""MockConfig: defaults, the SIP_TRUNKS_TOKENS fallback, refusals."""

from __future__ import annotations

import dataclasses

import pytest

from mockserver.config import MockConfig, parse_tokens
from mockserver.controls.faults import FaultSpec, Latency


def test_defaults_are_safe() -> None:
    config = MockConfig()
    assert (config.host, config.port, config.tokens, config.max_trunks) == ("127.0.0.1", 4010, (), 1000)
    assert config.max_body_bytes == 65536 and config.seed_file is None
    assert config.base_url == "http://127.0.0.1:4010"
    # The integrator controls: journal on (bounded), no rate limit, no faults.
    assert (config.journal_size, config.rate_limit, config.faults, config.latency) == (1000, None, (), None)
    assert config.fault_seed == 0 and config.startup_faults == ()


def test_startup_faults_put_the_latency_first() -> None:
    fault = FaultSpec("POST", "/sip-trunks", status=503)
    config = MockConfig(latency=Latency(5, 5), faults=[fault])  # type: ignore[arg-type]
    assert config.faults == (fault,)
    assert config.startup_faults == (FaultSpec(latency=Latency(5, 5)), fault)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MockConfig().port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "tokens"),
    [("", ()), ("a", ("a",)), ("a, b,,", ("a", "b")), (" , ", ())],
    ids=["empty", "one", "spaces-and-blanks", "only-blanks"],
)
def test_parse_tokens(value: str, tokens: tuple[str, ...]) -> None:
    assert parse_tokens(value) == tokens


def test_tokens_fall_back_to_the_environment() -> None:
    assert MockConfig.from_env({"SIP_TRUNKS_TOKENS": "k1,k2"}).tokens == ("k1", "k2")
    assert MockConfig.from_env({"SIP_TRUNKS_TOKENS": "k1"}, tokens=["given"]).tokens == ("given",)
    assert MockConfig.from_env({}, port=5000).port == 5000


@pytest.mark.parametrize(
    "fields",
    [
        {"max_trunks": -1},
        {"port": 70000},
        {"tokens": ("",)},
        {"tokens": (" padded ",)},
        {"journal_size": -1},
        {"journal_size": 100_001},
    ],
    ids=["negative-cap", "port", "empty-token", "padded-token", "negative-journal", "huge-journal"],
)
def test_bad_values_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MockConfig(**fields)  # type: ignore[arg-type]


def test_ipv6_base_url() -> None:
    assert MockConfig(host="::1", port=1).base_url == "http://[::1]:1"
