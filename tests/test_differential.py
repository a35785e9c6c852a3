"""The seeded differential test: random walks answered alike by upstream and the reference.

A few seeds' walks (`tests/differential/`) are sent to upstream `openstack-placement==16.0.0`
and to the reference server, both started on empty databases for each seed, and every
answer must be the same once normalised (`tests/differential/normalise.py`). Longer runs:
`python -m tests.differential --seeds 20 --requests 400`.

The strict mode of the reference server (`placement-ref serve --strict`) is walked too,
with the differences its table allows (`tests/differential/strict.py`) and no other.
"""

from __future__ import annotations

import pytest

from tests.differential.servers import fresh_servers
from tests.differential.walk import summary, walk
from tests.peer import peer_venv_from_env

PEER_VENV = peer_venv_from_env()
SEEDS = (1, 2, 3)
REQUESTS = 150

pytestmark = pytest.mark.skipif(
    PEER_VENV is None,
    reason="PLACEMENT_PEER_VENV is not set: no upstream Placement to compare with "
           "(tox sets it up; see tox.ini)",
)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_walk_gets_the_same_answers_from_both_servers(seed: int, tmp_path) -> None:
    with fresh_servers(PEER_VENV, tmp_path) as servers:
        outcome = walk(seed, REQUESTS, servers)
    assert outcome.sent == REQUESTS
    if outcome.differences:
        pytest.fail(summary([outcome]), pytrace=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_strict_walk_differs_only_as_its_table_allows(seed: int, tmp_path) -> None:
    with fresh_servers(PEER_VENV, tmp_path, strict=True) as servers:
        outcome = walk(seed, REQUESTS, servers)
    assert outcome.sent == REQUESTS
    if outcome.differences:
        pytest.fail(summary([outcome]), pytrace=False)
