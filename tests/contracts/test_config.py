"""Options and environment → one frozen CheckConfig, or a UsageError that says how to fix it."""

from __future__ import annotations

import dataclasses

import pytest

from contracts.engine.catalog import CHECK_NAMES, checks_of
from contracts.engine.config import DEFAULT_CONCURRENCY, DEFAULT_MAX_EXAMPLES, CheckConfig
from contracts.errors import UsageError


def test_defaults_check_everything_with_a_random_seed() -> None:
    config = CheckConfig.from_options(environ={})
    assert config.base_url is None
    assert config.checks == CHECK_NAMES
    assert config.max_examples == DEFAULT_MAX_EXAMPLES
    # The embedded mock runs in this process: lanes would compete with it, so one at a time.
    assert config.concurrency == 1
    assert (
        CheckConfig.from_options(base_url="http://api", token="k", environ={}).concurrency
        == DEFAULT_CONCURRENCY
        == 8
    )
    assert 0 <= config.seed < 2**32
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]


def test_tokens_fall_back_to_the_environment() -> None:
    environ = {"SIP_TRUNKS_TOKEN": "k1", "SIP_TRUNKS_SECOND_TOKEN": "k2"}
    config = CheckConfig.from_options(base_url="https://api.example.com/", environ=environ)
    assert (config.base_url, config.token, config.second_token) == ("https://api.example.com", "k1", "k2")
    assert CheckConfig.from_options(token="k3", environ=environ).token == "k3"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "http://api"}, "--token is required with --base-url (or set SIP_TRUNKS_TOKEN)"),
        ({"base_url": "ftp://api", "token": "k"}, "--base-url must be an http(s) URL"),
        ({"token": "k", "second_token": "k"}, "--second-token must be another organization's key"),
        ({"max_examples": 0}, "--max-examples must be 1 or more, got 0"),
        ({"seed": -1}, "--seed must be between 0 and 4294967295, got -1"),
        ({"concurrency": 0}, "--concurrency must be between 1 (one request at a time) and 64, got 0"),
        ({"checks": "auth_required,nope"}, "unknown check 'nope' in --checks"),
        ({"checks": " , "}, "--checks selects no check"),
    ],
    ids=[
        "token-missing",
        "bad-url",
        "same-tokens",
        "no-examples",
        "negative-seed",
        "no-concurrency",
        "unknown-check",
        "no-check",
    ],
)
def test_bad_options_are_a_usage_error_that_says_what_to_do(options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CheckConfig.from_options(environ={}, **options)  # type: ignore[arg-type]


def test_checks_take_check_and_suite_names_and_keep_catalog_order() -> None:
    config = CheckConfig.from_options(checks="isolation,auth_required", environ={})
    assert config.checks == ("auth_required", *checks_of("isolation"))
    assert config.suites == ("auth", "isolation")


def test_the_replay_command_names_what_differs_from_the_defaults() -> None:
    config = CheckConfig.from_options(
        base_url="http://api", token="k", seed=9, max_examples=7, checks="auth_required", environ={}
    )
    assert config.replay_command == (
        "sip-trunks check --base-url http://api --seed 9 --max-examples 7 --checks auth_required"
    )
    # The embedded mock's default is one at a time: a replay of this run there needs its 8 lanes.
    assert config.replace(embedded=True).replay_command.startswith(
        "sip-trunks check --seed 9 --max-examples 7 --concurrency 8 "
    )
    # Lanes cut the programs by their number: a replay needs the same.
    assert config.replace(concurrency=1).replay_command == (
        "sip-trunks check --base-url http://api --seed 9 --max-examples 7 "
        "--concurrency 1 --checks auth_required"
    )
