"""No password ever comes back: not in a response, a header, a log line, an export or a repr."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from mockserver import MockConfig, Store, create_app, running_mock
from mockserver.seed import SeedError, apply_seed

from .helpers import bearer, trunk_body

# Distinctive values: any of them found anywhere outside the vault is a leak.
PASSWORDS = [f"pw-Leak-Canary-{n}-Zq7" for n in range(6)]
TOO_LONG = "pw-Leak-Canary-long-" + "x" * 300


def test_no_password_in_any_response_header_or_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = Store(max_trunks=3)
    app = create_app(MockConfig(validate_responses=True, access_log=True, max_trunks=3), store=store)
    seen: list[str] = []

    def record(response: httpx.Response) -> httpx.Response:
        seen.append(response.text)
        seen.extend(f"{name}: {value}" for name, value in response.headers.items())
        return response

    json_headers = {**bearer(), "Content-Type": "application/json"}
    with running_mock(app=app) as mock, httpx.Client(base_url=mock.base_url) as client:
        created = [
            record(client.post("/sip-trunks", json=trunk_body(password=pw), headers=bearer())).json()
            for pw in PASSWORDS[:3]
        ]
        for trunk in created:
            record(client.get(f"/sip-trunks/{trunk['id']}", headers=bearer()))
        record(client.get("/sip-trunks", headers=bearer()))
        # Refused bodies that carry a password: the cap, validation errors, bad JSON, bad bytes.
        record(client.post("/sip-trunks", json=trunk_body(password=PASSWORDS[3]), headers=bearer()))
        record(client.post("/sip-trunks", json=trunk_body(password=TOO_LONG), headers=bearer("other")))
        record(
            client.post(
                "/sip-trunks", json=trunk_body(password=PASSWORDS[4], port=0), headers=bearer("other")
            )
        )
        record(
            client.post("/sip-trunks", json=trunk_body(password=PASSWORDS[4], x=1), headers=bearer("other"))
        )
        record(client.post("/sip-trunks", json={"password": PASSWORDS[4]}, headers=bearer("other")))
        record(client.post("/sip-trunks", json=PASSWORDS[4], headers=bearer("other")))
        record(
            client.post(
                "/sip-trunks", content=f'{{"password": "{PASSWORDS[4]}", '.encode(), headers=json_headers
            )
        )
        record(
            client.post(
                "/sip-trunks",
                content=f'{{"password": "{PASSWORDS[4]}\xff"}}'.encode("latin-1"),
                headers=json_headers,
            )
        )
        record(
            client.post(
                "/sip-trunks", content=PASSWORDS[4], headers={**bearer(), "Content-Type": "text/plain"}
            )
        )
        record(client.post("/sip-trunks", json=trunk_body(password=PASSWORDS[4])))  # no token
        record(client.put("/sip-trunks", json=trunk_body(password=PASSWORDS[4]), headers=bearer()))  # 405
        record(client.post("/nowhere", json=trunk_body(password=PASSWORDS[4]), headers=bearer()))  # 404
        # The admin API: exports, and imports that carry passwords, valid or not.
        record(client.get("/__admin/state"))
        state = {"organizations": {"imported": {"trunks": [trunk_body(password=PASSWORDS[5])]}}}
        record(
            client.put(
                "/__admin/state", json={"organizations": {"bad": {"trunks": [trunk_body(password=TOO_LONG)]}}}
            )
        )
        record(client.put("/__admin/state", json=state))
        record(client.get("/__admin/state"))
        record(client.get("/__admin/health"))
        for trunk in created:
            record(client.delete(f"/sip-trunks/{trunk['id']}", headers=bearer()))

    seen += [record.getMessage() for record in caplog.records]
    seen += [record.exc_text or "" for record in caplog.records]
    seen += [repr(store), repr(store.vault), str(store.export_state())]
    assert len(caplog.records) > 20  # the log was really captured
    leaks = [text for text in seen for pw in [*PASSWORDS, TOO_LONG, "pw-Leak-Canary"] if pw in text]
    assert leaks == []
    assert len(store.vault) == 1  # the imported trunk's password, and nothing else


def test_no_password_in_seed_errors(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(
        "organizations:\n  k:\n    trunks:\n"
        f"      - {{name: n, host: h, username: u, password: {TOO_LONG}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(SeedError) as caught:
        apply_seed(Store(), path)
    assert "password: length must be at most 255" in str(caught.value)
    assert "pw-Leak-Canary" not in str(caught.value)
