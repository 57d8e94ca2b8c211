"""MockConfig: defaults, the SIP_TRUNKS_TOKENS fallback, refusals."""

from __future__ import annotations

import dataclasses

import pytest

from mockserver.config import MockConfig, mask_url, parse_tokens
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


def test_the_store_comes_from_the_option_then_the_environment() -> None:
    assert MockConfig().store == "memory" and not MockConfig().shared
    env = {"SIP_TRUNKS_STORE": "redis://r:6379/2"}
    assert MockConfig.from_env(env).store == "redis://r:6379/2"
    assert MockConfig.from_env(env, store="memory").store == "memory"
    assert MockConfig.from_env({}).store == "memory"
    with pytest.raises(ValueError, match="store must be 'memory' or a Redis URL"):
        MockConfig(store="http://:pw@r")


def test_workers_need_a_shared_store() -> None:
    with pytest.raises(ValueError, match="--workers 2 needs a shared store"):
        MockConfig(workers=2)
    assert MockConfig(workers=2, store="redis://r/0").workers == 2
    with pytest.raises(ValueError, match="workers must be between 1 and 64"):
        MockConfig(workers=0, store="redis://r/0")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://r:6379/0", "redis://r:6379/0"),
        ("redis://:hunter2@r:6379/0", "redis://:***@r:6379/0"),
        ("redis://user:hunter2@r/1", "redis://user:***@r/1"),
        ("redis://hunter2@r", "redis://***@r"),
        ("rediss://u:p@ss@r:1/0", "rediss://u:***@r:1/0"),
        ("unix:///run/redis.sock?password=hunter2&db=1", "unix:///run/redis.sock?password=***&db=1"),
    ],
    ids=["none", "password", "user-password", "lone-userinfo", "at-in-password", "query"],
)
def test_a_store_url_is_shown_with_its_password_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert MockConfig(store=url).store_label == shown


def test_redis_urls_are_parsed() -> None:
    from mockserver.redis_store.connection import parse_redis_url

    target = parse_redis_url("redis://user:p%40ss@h:6380/3")
    assert (target.host, target.port, target.db, target.username, target.password) == (
        "h",
        6380,
        3,
        "user",
        "p@ss",
    )
    assert parse_redis_url("redis://secret@h").password == "secret"
    unix = parse_redis_url("unix:///run/r.sock?db=2")
    assert (unix.path, unix.db) == ("/run/r.sock", 2)
    assert parse_redis_url("rediss://h").tls
    with pytest.raises(ValueError, match="must be numbers"):
        parse_redis_url("redis://h:6379/x")
