"""The connection limits as settings: defaults, the command's options, refusals, the open-file limit."""

from __future__ import annotations

import resource
from typing import Any

import pytest
from click.testing import CliRunner

from mockserver import cli
from mockserver.config import MockConfig
from mockserver.http import connection_limits
from mockserver.http.connection_limits import ConnectionLimits, fit_to_fd_limit


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[MockConfig]:
    """Run the command without serving: record the config it would serve."""
    configs: list[MockConfig] = []
    monkeypatch.setattr("mockserver.serve.serve", lambda config, *args, **kwargs: configs.append(config))
    monkeypatch.setattr("mockserver.serve.bind_check", lambda config: config)
    monkeypatch.setattr(cli, "_configure_logging", lambda level: None)
    monkeypatch.delenv("SIP_TRUNKS_TOKENS", raising=False)
    return configs


def test_defaults() -> None:
    assert MockConfig().connection_limits == ConnectionLimits(
        max_header_bytes=32768, max_headers=100, header_timeout=10.0, idle_timeout=5.0, max_connections=1000
    )


def test_options_become_the_config(served: list[MockConfig]) -> None:
    args = ["--max-header-bytes", "8192", "--max-headers", "50", "--header-timeout", "2.5"]
    args += ["--idle-timeout", "1", "--max-connections", "64"]
    result = CliRunner().invoke(cli.mock, args)
    assert result.exit_code == 0, result.output
    assert [config.connection_limits for config in served] == [
        ConnectionLimits(
            max_header_bytes=8192, max_headers=50, header_timeout=2.5, idle_timeout=1.0, max_connections=64
        )
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--max-header-bytes", "100"],
        ["--max-headers", "0"],
        ["--header-timeout", "0"],
        ["--idle-timeout", "-1"],
        ["--max-connections", "0"],
    ],
    ids=["header-bytes", "headers", "header-timeout", "idle-timeout", "connections"],
)
def test_bad_options_exit_2(served: list[MockConfig], args: list[str]) -> None:
    result = CliRunner().invoke(cli.mock, args)
    assert result.exit_code == 2
    assert f"Invalid value for '{args[0]}'" in result.output
    assert served == []


@pytest.mark.parametrize(
    "fields",
    [
        {"max_header_bytes": 1023},
        {"max_headers": 0},
        {"header_timeout": 0},
        {"idle_timeout": -1.0},
        {"max_connections": 0},
    ],
    ids=["header-bytes", "headers", "header-timeout", "idle-timeout", "connections"],
)
def test_bad_values_are_refused_by_the_config(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(fields))):
        MockConfig(**fields)


class FakeLimits:
    """RLIMIT_NOFILE as a test sets it, so the real process limit is never touched."""

    def __init__(self, soft: int, hard: int) -> None:
        self.soft, self.hard = soft, hard

    def getrlimit(self, which: int) -> tuple[int, int]:
        return self.soft, self.hard

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        self.soft, self.hard = limits


@pytest.fixture
def nofile(monkeypatch: pytest.MonkeyPatch) -> FakeLimits:
    fake = FakeLimits(1024, 4096)
    monkeypatch.setattr(resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(resource, "setrlimit", fake.setrlimit)
    monkeypatch.setattr(connection_limits, "_open_fds", lambda: 36)  # 36 + 64 reserved = 100 in use
    return fake


def test_the_soft_limit_is_raised_as_far_as_the_cap_needs(nofile: FakeLimits) -> None:
    budget = fit_to_fd_limit(1000, raise_soft_limit=True)
    assert (budget.max_connections, budget.raised_from, budget.soft_limit) == (1000, 1024, 1100)
    assert nofile.soft == 1100 and not budget.lowered


def test_below_the_hard_limit_the_cap_is_lowered(nofile: FakeLimits) -> None:
    nofile.soft, nofile.hard = 512, 600
    budget = fit_to_fd_limit(1000, raise_soft_limit=True)
    assert (budget.max_connections, budget.soft_limit, budget.lowered) == (500, 600, True)


def test_an_embedded_mock_leaves_the_limit_alone_and_fits_the_cap_to_it(nofile: FakeLimits) -> None:
    budget = fit_to_fd_limit(1000, raise_soft_limit=False)
    assert (budget.max_connections, budget.raised_from, nofile.soft) == (924, None, 1024)


def test_a_limit_with_room_is_left_alone(nofile: FakeLimits) -> None:
    nofile.soft = 20000
    budget = fit_to_fd_limit(1000, raise_soft_limit=True)
    assert (budget.max_connections, budget.raised_from, nofile.soft) == (1000, None, 20000)
