"""The deployment under test: where it is, how to authenticate, which microversions it
serves. Every command of the harness starts here.

A token comes from `--token` (or `PLACEMENT_TOKEN`); without one, the standard `OS_*`
variables authenticate through Keystone with keystoneauth1 (the `keystone` extra), which
also finds the endpoint in the catalog when `--url` is not given.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass

import httpx

from conformance.exits import UsageError
from conformance.front_end import Policy
from placement_spec import MAXIMUM, MINIMUM, MalformedVersion, Microversion, supported


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    minimum: Microversion
    maximum: Microversion
    # How to check the deployment's TLS certificate: against the system's authorities
    # (True), against a CA bundle file (its path), or not at all (False, --insecure).
    verify: bool | str = True
    # What an answer from the deployment's front end instead of Placement means
    # (`conformance.front_end`): not reached, or a failure.
    front_end_refusals: Policy = Policy.REPORT

    @classmethod
    def from_version_document(cls, url: str, token: str, document: dict,
                              verify: bool | str = True,
                              front_end_refusals: Policy = Policy.REPORT) -> "Target":
        """The target whose `GET /` answered `document` (Placement's version document)."""
        version = document["versions"][0]
        return cls(url, token, Microversion.parse(version["min_version"]),
                   Microversion.parse(version["max_version"]), verify, front_end_refusals)

    def serves(self, version: Microversion) -> bool:
        return self.minimum <= version <= self.maximum

    def client(self, version: Microversion | str = "latest", **options) -> httpx.Client:
        """An HTTP client that authenticates and asks for `version` on every request."""
        return httpx.Client(
            base_url=self.url,
            headers={"x-auth-token": self.token,
                     "openstack-api-version": f"placement {version}",
                     "accept": "application/json"},
            timeout=options.pop("timeout", 30),
            verify=tls_verification(self.verify),
            **options,
        )


def tls_verification(verify: bool | str) -> bool | ssl.SSLContext:
    """`verify` as httpx takes it: a CA bundle's path becomes an SSL context."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


def connect(arguments: argparse.Namespace) -> Target:
    """Authenticate and read the deployment's microversion range from `GET /`."""
    url, token = arguments.url, arguments.token
    verify = _verify(arguments)
    if not token:
        url, token = _keystone(url, verify)
    if not url:
        raise UsageError("no Placement URL given (by option or PLACEMENT_URL), and no "
                         "Keystone catalog to find it in")
    url = url.rstrip("/")
    try:
        response = httpx.get(url + "/", headers={"accept": "application/json"}, timeout=15,
                             verify=tls_verification(verify))
        return Target.from_version_document(url, token, response.json(), verify,
                                            Policy(arguments.front_end_refusals))
    except httpx.HTTPError as error:
        raise UsageError(f"cannot reach {url}: {error}") from error
    except (ValueError, KeyError, IndexError, TypeError, MalformedVersion) as error:
        raise UsageError(f"{url}/ is not a Placement version document: {error}") from error


def chosen_microversions(text: str, target: Target) -> list[Microversion]:
    """The microversions named by `--microversions`, each one the spec describes; "all"
    is all that the deployment advertises.

    Versions the deployment does not advertise stay in a list or range that names them:
    the commands report their scenarios as skipped, which is the honest answer to "was
    1.39 checked?".
    """
    if text == "all":
        return [v for v in supported() if target.serves(v)]
    return named_microversions(text)


def named_microversions(text: str, option: str = "--microversions") -> list[Microversion]:
    """The microversions of the spec that `text` names: a range (1.0-1.39), a list
    (1.12,1.28), a mix of both, or "all". A mistake is reported under `option`."""
    if text == "all":
        return supported()
    try:
        chosen: list[Microversion] = []
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            first = Microversion.parse(low)
            last = Microversion.parse(high) if high else first
            chosen += [v for v in supported() if first <= v <= last]
    except MalformedVersion as error:
        raise UsageError(f"{option}: {error}") from error
    if not chosen:
        raise UsageError(f"{option} {text} names none of {MINIMUM}..{MAXIMUM}")
    return sorted(set(chosen))


def _verify(arguments: argparse.Namespace) -> bool | str:
    if arguments.insecure:
        return False
    if arguments.cacert:
        try:
            tls_verification(arguments.cacert)
        except (OSError, ssl.SSLError) as error:  # FileNotFoundError is an OSError
            raise UsageError(f"cannot use the CA bundle {arguments.cacert}: {error}") from error
        return arguments.cacert
    return True


def _keystone(url: str | None, verify: bool | str) -> tuple[str | None, str]:
    if not os.environ.get("OS_AUTH_URL"):
        raise UsageError("no token given (by option or PLACEMENT_TOKEN), and no OS_AUTH_URL "
                         "to authenticate with")
    try:
        from keystoneauth1 import loading, session
    except ImportError as error:
        raise UsageError("OS_* authentication needs keystoneauth1: "
                         "pip install 'placement-contract[keystone]'") from error
    loader = loading.get_plugin_loader(os.environ.get("OS_AUTH_TYPE", "password"))
    options = {option.dest: os.environ[f"OS_{option.dest.upper()}"]
               for option in loader.get_options() if f"OS_{option.dest.upper()}" in os.environ}
    try:
        keystone = session.Session(auth=loader.load_from_options(**options), verify=verify)
        token = keystone.get_token()
        url = url or keystone.get_endpoint(service_type="placement",
                                           interface=os.environ.get("OS_INTERFACE", "public"))
    except Exception as error:  # keystoneauth1 raises many kinds; each ends the run
        raise UsageError(f"Keystone authentication failed: {error}") from error
    return url, token
