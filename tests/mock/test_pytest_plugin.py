"""The pytest plugin: the fixture in this session, a light import, and a separate project using the wheel."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import httpx
import pytest

from mockserver.pytest_plugin import DEFAULT_TOKEN, SipTrunksMock

from .helpers import trunk_body
from .test_imports import imported_by

ROOT = Path(__file__).resolve().parents[2]


# In this session (the plugin is installed, so it is loaded here too) -------------------------


def test_the_fixture_is_the_session_mock_on_loopback(sip_trunks_mock: SipTrunksMock) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sip_trunks_mock.base_url)
    assert sip_trunks_mock.token == DEFAULT_TOKEN
    assert sip_trunks_mock.headers == {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    response = httpx.get(f"{sip_trunks_mock.base_url}/sip-trunks", headers=sip_trunks_mock.headers)
    assert response.json() == {"trunks": []}


def test_a_test_leaves_state_faults_limit_and_journal_behind(sip_trunks_mock: SipTrunksMock) -> None:
    # ... and the next test must not see any of it.
    httpx.post(f"{sip_trunks_mock.base_url}/sip-trunks", json=trunk_body(), headers=sip_trunks_mock.headers)
    sip_trunks_mock.inject("GET /sip-trunks status=503")
    sip_trunks_mock.rate_limit("100/s")
    assert len(sip_trunks_mock.requests()) == 1


def test_the_next_test_starts_from_the_start_state(sip_trunks_mock: SipTrunksMock) -> None:
    assert sip_trunks_mock.requests() == []
    assert sip_trunks_mock.admin.faults() == [] and sip_trunks_mock.admin.rate_limit() is None
    response = httpx.get(f"{sip_trunks_mock.base_url}/sip-trunks", headers=sip_trunks_mock.headers)
    assert response.status_code == 200 and response.json() == {"trunks": []}


def test_seed_one_organization_a_document_or_a_file(sip_trunks_mock: SipTrunksMock, tmp_path: Path) -> None:
    def names(token: str) -> list[str]:
        response = httpx.get(
            f"{sip_trunks_mock.base_url}/sip-trunks", headers={"Authorization": f"Bearer {token}"}
        )
        return [trunk["name"] for trunk in response.json()["trunks"]]

    sip_trunks_mock.seed({"trunks": [{"name": "mine", "host": "h", "username": "u"}]})
    assert names(sip_trunks_mock.token) == ["mine"]
    sip_trunks_mock.seed(
        {"organizations": {"other": {"trunks": [{"name": "theirs", "host": "h", "username": "u"}]}}}
    )
    assert names("other") == ["theirs"] and names(sip_trunks_mock.token) == []
    seed = tmp_path / "seed.yaml"
    seed.write_text("organizations:\n  filed: {trunks: [{name: from-file, host: h, username: u}]}\n")
    sip_trunks_mock.seed(seed)
    assert names("filed") == ["from-file"]


def test_importing_the_plugin_stays_light() -> None:
    # Loaded by every pytest run of a project that installs this one: no server stack until used.
    assert imported_by("mockserver.pytest_plugin").isdisjoint(
        {"connexion", "starlette", "uvicorn", "httpx", "yaml"}
    )


# A separate project that only pip-installs this one ------------------------------------------

CONFTEST = """
import pytest
from mockserver import MockConfig


@pytest.fixture(scope="session")
def sip_trunks_mock_config():
    # How an integrator changes the session's mock: only this key, responses checked too.
    return MockConfig(access_log=False, tokens=("integrator-key",), validate_responses=True)
"""

# The README's example, run as an integrator would.
INTEGRATOR_TESTS = '''
import os
import time

import httpx
import pytest


class TrunksClient:
    """The integrator's client: retries 429 and 503 after Retry-After, at most `retries` times."""

    def __init__(self, base_url, token, retries=3):
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
        self.retries = retries

    def create_trunk(self, **fields):
        for attempt in range(self.retries + 1):
            response = self.http.post("/sip-trunks", json=fields)
            if response.status_code not in (429, 503) or attempt == self.retries:
                response.raise_for_status()
                return response.json()
            time.sleep(int(response.headers.get("Retry-After", "1")))


TRUNK = {"name": "Main", "host": "sip.example.com", "username": "u", "password": "s3cret"}


def test_create_retries_on_429(sip_trunks_mock):
    sip_trunks_mock.inject("POST /sip-trunks status=429 times=2 retry_after=0")
    client = TrunksClient(sip_trunks_mock.base_url, sip_trunks_mock.token)

    trunk = client.create_trunk(**TRUNK)

    assert trunk["name"] == "Main"
    calls = sip_trunks_mock.requests(method="POST", path="/sip-trunks")
    assert [call.status for call in calls] == [429, 429, 201]
    assert calls[0].request_body["password"] == "********"


def test_create_gives_up_after_3_retries(sip_trunks_mock):
    sip_trunks_mock.inject(method="POST", path="/sip-trunks", status=503, retry_after=0)
    client = TrunksClient(sip_trunks_mock.base_url, sip_trunks_mock.token)

    with pytest.raises(httpx.HTTPStatusError):
        client.create_trunk(**TRUNK)

    assert [call.status for call in sip_trunks_mock.requests()] == [503] * 4


def test_each_test_starts_clean_and_the_config_is_ours(sip_trunks_mock):
    assert sip_trunks_mock.token == "integrator-key"
    assert sip_trunks_mock.requests() == [] and sip_trunks_mock.admin.faults() == []
    other = httpx.get(f"{sip_trunks_mock.base_url}/sip-trunks", headers={"Authorization": "Bearer other"})
    assert other.status_code == 401


def test_the_plugin_is_the_installed_wheel():
    import mockserver

    assert mockserver.__file__.startswith(os.environ["EXPECTED_SITE"])
'''


@pytest.fixture
def wheel(built_wheel: Path) -> Path:
    """The project's wheel (built once per session by tests/conftest.py)."""
    return built_wheel


def test_the_plugin_works_in_a_project_that_only_installs_the_wheel(wheel: Path, tmp_path: Path) -> None:
    # A fresh venv without pip (ours installs into it); the dependencies are seen through a
    # .pth file naming our venv's site-packages, so nothing is downloaded.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    pip_install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index"]
    subprocess.run([*pip_install, "--no-deps", str(wheel)], check=True, capture_output=True, timeout=120)
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
    )
    (site / "_sip_trunks_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    (project / "test_integration.py").write_text(textwrap.dedent(INTEGRATOR_TESTS), encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "PYTHON")) and key not in ("VIRTUAL_ENV", "SIP_TRUNKS_TOKENS")
    }
    env["EXPECTED_SITE"] = str(site)
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::pytest.PytestWarning"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout
    installed = json.loads(
        subprocess.run(
            [python, "-c", "import json, mockserver.pytest_plugin as p; print(json.dumps(p.__file__))"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=project,
        ).stdout
    )
    assert installed.startswith(str(site))
