"""The proxy in front of an https upstream: the mock behind TLS, certificates made by ``openssl``.

A throwaway CA signs the mock's certificate for 127.0.0.1; the proxy trusts it only when told
(``--upstream-ca``). Everything runs on the loopback; no certificate outlives the test session.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from contracts.proxy.cli import banner, proxy
from contracts.proxy.config import ProxyConfig

from .helpers import TOKEN_A, TOKEN_B
from .proxy_traffic import TRUNK, client, watching

START_TIMEOUT = 10.0

# One openssl configuration for every certificate: the CA's extensions, then one section per
# server certificate. Given explicitly, so the system's openssl.cnf changes nothing.
OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1
[elsewhere]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:other.example
[self]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = IP:127.0.0.1
"""
NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")  # fast to make, no passphrase


@dataclass(frozen=True)
class Certificates:
    """A CA, and server certificates (with their keys) for the mock to present."""

    ca: Path
    server: tuple[Path, Path]  # signed by the CA, for IP:127.0.0.1
    elsewhere: tuple[Path, Path]  # signed by the CA, for DNS:other.example only
    self_signed: tuple[Path, Path]  # for IP:127.0.0.1, signed by its own key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail(
            "the https tests make their certificates with the openssl command, which is missing: "
            "install Debian's openssl package (.ci/run installs it when missing)"
        )
    folder = tmp_path_factory.mktemp("tls")
    cnf = folder / "openssl.cnf"
    cnf.write_text(OPENSSL_CNF)

    def run(*args: str | Path) -> None:
        done = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"openssl {' '.join(map(str, args))}: {done.stderr}"

    def self_signed(name: str, section: str) -> tuple[Path, Path]:
        cert, key = folder / f"{name}.pem", folder / f"{name}.key"
        run("req", "-x509", "-config", cnf, "-extensions", section, *NEW_KEY, "-keyout", key, "-out", cert,
            "-days", "2", "-subj", f"/CN={name}")  # fmt: skip
        return cert, key

    ca, ca_key = self_signed("ca", "ca")

    def signed(name: str, section: str, serial: int) -> tuple[Path, Path]:
        cert, key, request = folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}.csr"
        run("req", "-new", "-config", cnf, *NEW_KEY, "-keyout", key, "-out", request, "-subj", f"/CN={name}")
        run("x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-set_serial", str(serial),
            "-days", "2", "-extfile", cnf, "-extensions", section, "-out", cert)  # fmt: skip
        return cert, key

    return Certificates(
        ca=ca,
        server=signed("server", "server", 1),
        elsewhere=signed("elsewhere", "elsewhere", 2),
        self_signed=self_signed("self", "self"),
    )


@dataclass
class HttpsMock:
    """The mock behind TLS, and the ``Host`` of every request it got."""

    base_url: str
    hosts: list[str]


@contextmanager
def https_mock(certificate: tuple[Path, Path]) -> Iterator[HttpsMock]:
    """The project's mock served by uvicorn with ``certificate`` on a free loopback port, for the block."""
    from mockserver import MockConfig, create_app

    app = create_app(MockConfig(tokens=(TOKEN_A, TOKEN_B), access_log=False))
    hosts: list[str] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        await app(scope, receive, send)

    cert, key = certificate
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        recording, lifespan="on", log_level="warning", access_log=False, ssl_certfile=cert, ssl_keyfile=key
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="https-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(START_TIMEOUT)
            sock.close()
            raise RuntimeError(f"the https mock did not start within {START_TIMEOUT} s")
        time.sleep(0.01)
    try:
        yield HttpsMock(f"https://127.0.0.1:{port}", hosts)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


# -- through the proxy ------------------------------------------------------------------------------


def test_with_its_ca_every_operation_reaches_an_https_upstream_and_nothing_is_flagged(
    certificates: Certificates,
) -> None:
    with (
        https_mock(certificates.server) as upstream,
        watching(upstream.base_url, upstream_ca=certificates.ca) as watched,
        client(watched.base_url, TOKEN_A) as http,
    ):
        created = http.post("/sip-trunks", json=TRUNK)
        trunk = f"/sip-trunks/{created.json()['id']}"
        read = http.get(trunk)
        listed = http.get("/sip-trunks")
        deleted = http.delete(trunk)
        gone = http.get(trunk)
        violations = watched.violations()
    statuses = [answer.status_code for answer in (created, read, listed, deleted, gone)]
    assert statuses == [201, 200, 200, 204, 404]
    assert read.json()["name"] == TRUNK["name"]
    assert [item["id"] for item in listed.json()["trunks"]] == [created.json()["id"]]
    assert violations == []
    assert watched.lines == []
    # The upstream was addressed by its own authority (the certificate's), not the proxy's.
    assert upstream.hosts == [upstream.base_url.removeprefix("https://")] * 5


@pytest.mark.parametrize(
    ("certificate", "why"),
    [
        ("server", "unable to get local issuer certificate"),
        ("self_signed", "self-signed certificate"),
    ],
    ids=["private-ca", "self-signed"],
)
def test_without_the_ca_an_https_upstream_is_a_502_naming_the_certificate_and_the_proxy_serves_on(
    certificates: Certificates, certificate: str, why: str
) -> None:
    # No --upstream-ca: the system's trust store, which knows neither certificate.
    with (
        https_mock(getattr(certificates, certificate)) as upstream,
        watching(upstream.base_url) as watched,
        client(watched.base_url, TOKEN_A) as http,
    ):
        refused = http.post("/sip-trunks", json=TRUNK)
        health = http.get("/__proxy/health")
    failure = f"TLS certificate verify failed: {why}"
    assert refused.status_code == 502
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == f"No answer from the upstream: {failure}"
    assert watched.lines == [f"proxy: no whole answer from the upstream to POST /sip-trunks: {failure}"]
    assert health.status_code == 200
    assert upstream.hosts == []  # nothing was sent over a connection that was not trusted


def test_a_certificate_for_another_name_is_a_502_naming_the_mismatch_even_with_its_ca(
    certificates: Certificates,
) -> None:
    with (
        https_mock(certificates.elsewhere) as upstream,
        watching(upstream.base_url, upstream_ca=certificates.ca) as watched,
        client(watched.base_url, TOKEN_A) as http,
    ):
        refused = http.get("/sip-trunks")
    failure = "TLS certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'."
    assert refused.status_code == 502
    assert refused.json()["detail"] == f"No answer from the upstream: {failure}"
    assert watched.lines == [f"proxy: no whole answer from the upstream to GET /sip-trunks: {failure}"]
    assert upstream.hosts == []


def test_the_configs_ca_reaches_the_upstream(certificates: Certificates) -> None:
    # The whole way, with no stand-in: ProxyConfig.upstream_ca → ProxyApp → Upstream.
    with (
        https_mock(certificates.server) as upstream,
        watching(upstream.base_url, upstream_ca=certificates.ca) as watched,
        client(watched.base_url, TOKEN_A) as http,
    ):
        listed = http.get("/sip-trunks")
    assert listed.status_code == 200


# -- the option -------------------------------------------------------------------------------------


def test_upstream_ca_becomes_the_config_and_the_banner_says_it(certificates: Certificates) -> None:
    config = ProxyConfig.from_options(upstream="https://staging.example", upstream_ca=certificates.ca)
    assert config.upstream_ca == certificates.ca
    assert f"  trust       {certificates.ca} only (--upstream-ca)" in banner(config).splitlines()
    assert "trust" not in banner(config.replace(upstream_ca=None))


@pytest.mark.parametrize(
    ("upstream", "ca", "message"),
    [
        ("https://127.0.0.1:8443", "missing.pem", "error: --upstream-ca {ca}: No such file or directory"),
        ("https://127.0.0.1:8443", "notes.txt", "error: --upstream-ca {ca} holds no PEM certificate"),
        ("https://127.0.0.1:8443", "broken.pem", "error: --upstream-ca {ca} holds no PEM certificate"),
        ("https://127.0.0.1:8443", "ca.key", "error: --upstream-ca {ca} holds no PEM certificate"),
        ("http://127.0.0.1:8080", "ca.pem", "error: --upstream-ca is for an https:// upstream"),
    ],
    ids=["missing", "not-pem", "broken-pem", "a-key-not-a-certificate", "http-upstream"],
)
def test_a_bad_upstream_ca_is_a_usage_error_with_exit_2(
    certificates: Certificates,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    upstream: str,
    ca: str,
    message: str,
) -> None:
    def serve(*args: object) -> None:
        raise AssertionError("the proxy started serving with a bad --upstream-ca")

    monkeypatch.setattr("contracts.proxy.serve.serve", serve)  # a missed refusal fails, never hangs
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB!!\n-----END CERTIFICATE-----\n")
    for name in ("ca.pem", "ca.key"):
        shutil.copy(certificates.ca.with_name(name), tmp_path / name)
    path = tmp_path / ca
    result = CliRunner().invoke(proxy, ["--upstream", upstream, "--upstream-ca", str(path), "--port", "0"])
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(ca=path)), result.stderr
    assert result.stdout == ""  # refused before listening: no banner
