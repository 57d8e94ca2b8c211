"""``--admin-token``: every /__admin call but health needs it, compared in constant time, never shown."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver import MockConfig, running_mock
from mockserver.client import AdminClient, AdminError
from mockserver.domain.models import org_key
from mockserver.http.admin import admin_spec
from mockserver.http.middleware.admin_auth import AdminAuthMiddleware
from mockserver.http.paths import ADMIN_BASE_PATH

from .helpers import assert_problem, bearer, trunk_body

ADMIN_TOKEN = "admin-secret-0123456789"
_METHODS = ("get", "put", "post", "delete", "patch")
BODIES: dict[str, object] = {
    "PUT /state": {"organizations": {}},
    "POST /faults": {"status": 503, "times": 1},
    "PUT /rate-limit": {"rate": "10/s"},
}


def _admin_operations() -> list[str]:
    spec = admin_spec()
    return [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in _METHODS
        if method in item
    ]


GUARDED = [operation for operation in _admin_operations() if operation != "GET /health"]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    config = MockConfig(validate_responses=True, access_log=True, admin_token=ADMIN_TOKEN)
    with running_mock(config) as mock:
        yield mock.base_url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """A client of the mock (no admin token), reset to its start state with the token."""
    with AdminClient(base_url, admin_token=ADMIN_TOKEN) as admin:
        admin.reset()
    with httpx.Client(base_url=base_url) as client:
        yield client


def _call(
    http: httpx.Client, operation: str, headers: dict[str, str] | list[tuple[str, str]]
) -> httpx.Response:
    method, path = operation.split(" ")
    url = ADMIN_BASE_PATH + path.replace("{id}", "f1")
    return http.request(method, url, json=BODIES.get(operation), headers=headers, timeout=10)


def test_every_admin_operation_but_health_is_guarded() -> None:
    assert len(GUARDED) == len(_admin_operations()) - 1 == 12


REFUSED: list[tuple[list[tuple[str, str]], str]] = [
    ([], "needs Authorization: Bearer <admin token>"),
    ([("Authorization", "Bearer wrong-token")], "not the one this mock was started with"),
    ([("Authorization", f"Basic {ADMIN_TOKEN}")], "not the one"),
    ([("Authorization", f"Bearer {ADMIN_TOKEN}x")], "not the one"),
    ([("Authorization", f"Bearer {ADMIN_TOKEN[:-1]}")], "not the one"),
    ([("Authorization", "Bearer")], "not the one"),
    ([("Authorization", "Bearer wrong"), ("Authorization", f"Bearer {ADMIN_TOKEN}")], "not the one"),
]


@pytest.mark.parametrize("operation", GUARDED)
def test_without_the_admin_token_every_call_is_401(http: httpx.Client, operation: str) -> None:
    # No header, another token, another scheme, one character more or less, none, two headers.
    for headers, detail in REFUSED:
        response = _call(http, operation, headers)
        assert_problem(response, 401, detail)
        assert response.headers["www-authenticate"] == 'Bearer realm="sip-trunks mock admin"'
        assert ADMIN_TOKEN[:-1] not in response.text and ADMIN_TOKEN[:-1] not in str(response.headers)


@pytest.mark.parametrize("operation", GUARDED)
def test_with_the_admin_token_every_call_is_served(http: httpx.Client, operation: str) -> None:
    response = _call(http, operation, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code in (200, 201, 204, 404), response.text  # 404: no fault f1


def test_refused_calls_change_nothing(http: httpx.Client, base_url: str) -> None:
    assert http.post(f"{ADMIN_BASE_PATH}/faults", json={"status": 503}).status_code == 401
    assert http.put(f"{ADMIN_BASE_PATH}/rate-limit", json={"rate": "1/h"}).status_code == 401
    assert http.put(f"{ADMIN_BASE_PATH}/state", json={"organizations": {"x": {}}}).status_code == 401
    with AdminClient(base_url, admin_token=ADMIN_TOKEN) as admin:
        assert admin.faults() == [] and admin.rate_limit() is None
        assert admin.state() == {"organizations": {}}


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/ui/"])
def test_health_and_the_admin_documents_stay_open(http: httpx.Client, path: str) -> None:
    assert http.get(ADMIN_BASE_PATH + path).status_code == 200


@pytest.mark.parametrize("path", ["/health/", "/healthz", "", "/", "/ui/../state", "//state"])
def test_paths_near_the_open_ones_are_guarded(http: httpx.Client, path: str) -> None:
    assert http.get(ADMIN_BASE_PATH + path).status_code == 401


def test_the_product_api_does_not_need_it(http: httpx.Client) -> None:
    assert http.post("/sip-trunks", json=trunk_body(), headers=bearer()).status_code == 201
    assert http.get("/sip-trunks").status_code == 401  # the product API's own auth, unchanged


def test_the_admin_client_sends_it(base_url: str) -> None:
    with AdminClient(base_url, admin_token=ADMIN_TOKEN) as admin:
        admin.reset()
        admin.inject("GET /sip-trunks status=503 times=1")
        assert len(admin.faults()) == 1
        assert ADMIN_TOKEN not in repr(admin)
    with AdminClient(base_url) as anonymous, pytest.raises(AdminError) as refused:
        anonymous.faults()
    assert refused.value.status == 401 and ADMIN_TOKEN not in str(refused.value)


def test_the_admin_token_is_never_logged(base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    key, org_hash = ADMIN_TOKEN, org_key(ADMIN_TOKEN)
    with caplog.at_level(logging.DEBUG), httpx.Client(base_url=base_url, timeout=10) as http:
        http.get(f"{ADMIN_BASE_PATH}/state", headers={"Authorization": f"Bearer {key}"})
        http.get(f"{ADMIN_BASE_PATH}/state", headers={"Authorization": f"Bearer {key}-wrong"})
        http.get("/sip-trunks", headers=bearer(key))  # even sent to the product API by mistake
    access = [record.getMessage() for record in caplog.records if record.name == "mockserver.access"]
    assert len(access) == 3
    assert all("org=-" in line for line in access[:2])
    assert key not in caplog.text and org_hash not in "\n".join(access[:2])


def test_a_blank_or_padded_admin_token_is_refused() -> None:
    for token in ("", " padded"):
        with pytest.raises(ValueError, match="admin token must be non-empty"):
            MockConfig(admin_token=token)
        with pytest.raises(ValueError, match="admin token must be non-empty"):
            AdminAuthMiddleware(lambda scope, receive, send: None, token)  # type: ignore[arg-type,return-value]


def test_the_config_never_shows_it() -> None:
    assert ADMIN_TOKEN not in repr(MockConfig(admin_token=ADMIN_TOKEN))


def test_without_an_admin_token_the_admin_api_is_open() -> None:
    with running_mock(MockConfig(access_log=False)) as mock:
        assert httpx.get(f"{mock.base_url}{ADMIN_BASE_PATH}/state", timeout=10).status_code == 200


def test_the_pytest_fixture_works_with_an_admin_token(tmp_path: Path) -> None:
    # The session's mock of an integrator who sets an admin token: the fixture's client sends it.
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import pytest
            from mockserver import MockConfig

            @pytest.fixture(scope="session")
            def sip_trunks_mock_config():
                return MockConfig(access_log=False, admin_token="{ADMIN_TOKEN}")
            """
        )
    )
    (tmp_path / "test_integrator.py").write_text(
        textwrap.dedent(
            """
            import httpx

            def test_fixture(sip_trunks_mock):
                sip_trunks_mock.inject("GET /sip-trunks status=503 times=1")
                sip_trunks_mock.seed({"trunks": [{"name": "n", "host": "h", "username": "u"}]})
                assert httpx.get(sip_trunks_mock.base_url + "/sip-trunks",
                                 headers=sip_trunks_mock.headers).status_code == 503
                assert [r.status for r in sip_trunks_mock.requests()] == [503]
                assert httpx.get(sip_trunks_mock.base_url + "/__admin/faults").status_code == 401

            def test_the_next_test_was_reset_with_the_token(sip_trunks_mock):
                assert sip_trunks_mock.admin.faults() == []
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
