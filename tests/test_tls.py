"""The harness against a deployment behind TLS with its own certificate authority, as
operators run it: `--cacert` (or `OS_CACERT`) names the authority, `--insecure` skips the
check, and without either the certificate is refused with a one-line reason (exit 2).
Each command must carry the choice to every client it makes: gabbi's, the fixtures',
schemathesis's, and its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import trustme

from conformance import cli, exits
from conformance.target import Target
from placement_spec import MAXIMUM, MINIMUM
from tests.server_thread import serving_in_thread
from tests.test_fuzz import conformance_data_on

TOKEN = "admin"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def https_url(authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("https")
    issued = authority.issue_cert("127.0.0.1")
    certificate, key = folder / "chain.pem", folder / "key.pem"
    certificate.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    with serving_in_thread(folder / "placement.db", tls=(certificate, key)) as url:
        yield url


def conformance(*arguments: str) -> int:
    return cli.main([*arguments, "--token", TOKEN])


def left_behind(url: str, ca_bundle: Path) -> list[str]:
    """The conformance data still on the server."""
    return conformance_data_on(Target(url, TOKEN, MINIMUM, MAXIMUM, verify=str(ca_bundle)))


def test_run_checks_the_certificate_against_the_given_authority(https_url, ca_bundle) -> None:
    assert conformance("run", "--url", https_url, "--cacert", str(ca_bundle),
                       "--only", "put-status-codes,errors") == exits.EXIT_PASSED
    assert left_behind(https_url, ca_bundle) == []


def test_os_cacert_names_the_authority_too(https_url, ca_bundle, monkeypatch) -> None:
    monkeypatch.setenv("OS_CACERT", str(ca_bundle))
    assert conformance("run", "--url", https_url, "--only", "errors") == exits.EXIT_PASSED


def test_insecure_skips_the_check(https_url, ca_bundle) -> None:
    assert conformance("run", "--url", https_url, "--insecure",
                       "--only", "put-status-codes") == exits.EXIT_PASSED
    assert left_behind(https_url, ca_bundle) == []


def test_an_unknown_authority_is_a_usage_error(https_url, capsys) -> None:
    assert conformance("run", "--url", https_url, "--only", "errors") == exits.EXIT_USAGE
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err


def test_a_missing_or_broken_bundle_is_a_usage_error(https_url, tmp_path, capsys) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    for bundle in (tmp_path / "nowhere.pem", broken):
        assert conformance("run", "--url", https_url, "--cacert", str(bundle)) == exits.EXIT_USAGE
        assert f"cannot use the CA bundle {bundle}" in capsys.readouterr().err


def test_fuzz_and_drift_reach_the_deployment_through_tls(https_url, ca_bundle) -> None:
    assert conformance("fuzz", "--url", https_url, "--cacert", str(ca_bundle),
                       "--microversions", "1.28", "--max-examples", "2",
                       "--seed", "3") == exits.EXIT_PASSED
    assert left_behind(https_url, ca_bundle) == []
    assert conformance("drift", "live", "--url", https_url, "--cacert", str(ca_bundle),
                       "--microversions", "1.39") == exits.EXIT_PASSED
