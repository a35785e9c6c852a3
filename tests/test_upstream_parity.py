"""Upstream parity: the same requests get the same answers from upstream Placement and
from the reference server.

Upstream `openstack-placement==16.0.0` runs from its own virtualenv (named by
`PLACEMENT_PEER_VENV`) under gunicorn on loopback, with SQLite and `noauth2`; the
reference server runs as a process on a SQLite file of its own. Both are started once for
the module. For each microversion of the issue, the scripted sequence of
`tests/parity_script.py` (every endpoint of the spec, successes and errors) is sent to
both (and, for allocation candidates, at each microversion where their answer changes,
the candidates' section alone), and the answers must be equal once normalised: the same
status codes, the same success bodies and contract headers, and errors with the same
`status`, `title` and `code` (the wording of `detail` may differ). Request ids and dates
are ignored; candidates are compared as a multiset, as upstream guarantees no order.

The script sends no request whose outcome depends on upstream's one known bug (README.md,
"Upstream's quirks, and --strict"), so that it holds for the reference server in either
mode; `tests/test_differential.py` compares every answer, that one included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

import placement_spec
from tests.parity_script import (
    CANDIDATE_MICROVERSIONS,
    MICROVERSIONS,
    Cast,
    Script,
    build_candidates_script,
    build_script,
    differences,
    new_client,
    report,
    run_script,
    unexpected,
)
from tests.peer import running_peer
from tests.server_process import running_server


@dataclass(frozen=True)
class Servers:
    """Where the two servers under comparison answer."""

    upstream: str
    reference: str


@pytest.fixture(scope="module")
def servers(peer_venv, tmp_path_factory) -> Servers:
    """Upstream and the reference server, each on a fresh SQLite database, for the module."""
    folder = tmp_path_factory.mktemp("parity")
    with running_peer(peer_venv, folder / "upstream") as peer, \
            running_server(f"sqlite:///{folder / 'reference.db'}") as reference:
        yield Servers(upstream=peer.url, reference=reference.url)


@pytest.mark.parametrize("version", MICROVERSIONS)
def test_reference_answers_like_upstream(servers: Servers, version: str) -> None:
    _compare(servers, build_script(version, Cast.new(version)))


@pytest.mark.parametrize("version", CANDIDATE_MICROVERSIONS)
def test_reference_finds_the_candidates_upstream_finds(servers: Servers, version: str) -> None:
    """Allocation candidates on nested trees and a sharing provider, at each microversion
    where their answer changes: the same candidates as a multiset, the same summaries."""
    _compare(servers, build_candidates_script(version, Cast.new(version)))


def _compare(servers: Servers, script: Script) -> None:
    version = script.version
    upstream = run_script(script, servers.upstream, new_client)
    reference = run_script(script, servers.reference, new_client)

    # First the script itself: a step that no longer gets the status it was written for
    # (say, a success that became a 409 because of a wrong generation) tests nothing.
    wrong = unexpected(script, upstream)
    if wrong:
        pytest.fail("the parity script no longer matches upstream; fix the script:\n"
                    + "\n".join(wrong), pytrace=False)

    found = differences(upstream, reference)
    if found:
        pytest.fail(report(found, version), pytrace=False)


@pytest.mark.parametrize("version", MICROVERSIONS)
def test_script_covers_every_operation_of_the_spec(version: str) -> None:
    """Each operation the spec has at this microversion is sent, and succeeds, at least once.

    Parity is only as good as its coverage; as the spec grows, this names what the script
    misses.
    """
    script = build_script(version, Cast.new(version))
    document = placement_spec.project(version)
    missing = [f"{method.upper()} {template}"
               for template, item in document["paths"].items()
               for method in item
               if method in ("get", "put", "post", "delete", "patch")
               and not _succeeds_somewhere(script, method.upper(), template)]
    assert not missing, f"the script at {version} never succeeds at: {', '.join(missing)}"


def _succeeds_somewhere(script: Script, method: str, template: str) -> bool:
    pattern = re.compile(re.sub(r"\{[^/}]+\}", "[^/]+", template))
    return any(step.method == method and step.version == script.version
               and 200 <= step.expect < 300
               and pattern.fullmatch(step.path.split("?")[0])
               for step in script.steps)
