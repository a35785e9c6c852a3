"""The differential test's own parts, without servers: what normalisation sets aside (and
what it keeps), that a seed writes the same walk every time, and that strict mode allows
its one difference and nothing else."""

from __future__ import annotations

import itertools
import json
import random

from placement_spec import Microversion
from tests.differential import strict
from tests.differential.messages import Answer, Request
from tests.differential.normalise import (
    BASE_URL,
    INSTANCE,
    SCHEMA,
    TIME,
    Normalised,
    normalise,
)
from tests.differential.repertoire import next_plan
from tests.differential.strict import Situation
from tests.differential.variants import maybe_twist
from tests.differential.world import World

BASE = "http://127.0.0.1:8001"
SCHEMA_FAILURE = (
    "The server could not comply with the request since it is either malformed or otherwise "
    "incorrect.\n\n JSON does not validate: 0 is less than the minimum of 1  Failed "
    "validating 'minimum' in schema['properties']['total']:     {'type': 'integer', "
    "'minimum': 1}  On instance['total']:     0  ")


def _error(detail: str) -> str:
    return json.dumps({"errors": [{"status": 400, "title": "Bad Request", "detail": detail,
                                   "request_id": "req-1"}]})


def test_request_ids_dates_and_the_base_url_are_set_aside() -> None:
    answer = Answer(201, {"x-openstack-request-id": "req-1", "date": "now",
                          "last-modified": "then", "location": f"{BASE}/resource_providers/a",
                          "content-type": "application/json"}, "{}")
    normalised = normalise(answer, BASE, {})
    assert normalised.headers == {"last-modified": TIME,
                                  "location": f"{BASE_URL}/resource_providers/a",
                                  "content-type": "application/json"}


def test_a_relative_location_stays_relative() -> None:
    answer = Answer(201, {"location": "/resource_providers/a"}, "")
    assert normalise(answer, BASE, {}).headers["location"] == "/resource_providers/a"


def test_a_timestamp_in_a_text_is_set_aside() -> None:
    answer = Answer(409, {}, _error("parameters: (5, 4, '2026-11-29 18:18:18.779249')"))
    detail = normalise(answer, BASE, {}).body["errors"][0]["detail"]
    assert detail == f"parameters: (5, 4, '{TIME}')"


def test_generated_uuids_become_their_labels() -> None:
    uuid = "0b5d3c4e-1111-4222-8333-444455556666"
    answer = Answer(200, {}, '{"uuid": "%s"}' % uuid)
    assert normalise(answer, BASE, {uuid: "<rp1>"}).body == {"uuid": "<rp1>"}


def test_a_schema_failure_keeps_its_message_keyword_and_instance() -> None:
    detail = normalise(Answer(400, {}, _error(SCHEMA_FAILURE)), BASE, {}).body["errors"][0]
    assert "request_id" not in detail
    assert detail["detail"] == (
        "The server could not comply with the request since it is either malformed or "
        "otherwise incorrect.\n\n JSON does not validate: 0 is less than the minimum of 1  "
        f"Failed validating 'minimum' in {SCHEMA}  On instance['total']:     0  ")


def test_the_instance_is_set_aside_only_for_a_request_naming_a_chosen_uuid() -> None:
    answer = Answer(400, {}, _error(SCHEMA_FAILURE))
    loose = normalise(answer, BASE, {}, names_generated=True).body["errors"][0]["detail"]
    assert loose.endswith(f"Failed validating 'minimum' in {SCHEMA}  On instance{INSTANCE}")
    strict_ = normalise(answer, BASE, {}).body["errors"][0]["detail"]
    assert strict_.endswith("On instance['total']:     0  ")


def test_other_texts_are_compared_whole() -> None:
    one = normalise(Answer(400, {}, _error("JSON does not validate: x")), BASE, {})
    other = normalise(Answer(400, {}, _error("JSON does not validate: y")), BASE, {})
    assert one != other


def _requests(seed: int, count: int) -> list[str]:
    """The first requests a seed's walk writes, when no server ever accepts anything."""
    world = World(random.Random(seed))
    plans = (next_plan(world) for _ in itertools.count())
    return [maybe_twist(world.rng, request).describe()
            for request in itertools.islice(itertools.chain.from_iterable(plans), count)]


def test_a_seed_writes_the_same_walk_every_time() -> None:
    assert _requests(7, 60) == _requests(7, 60)
    assert _requests(7, 60) != _requests(8, 60)


def _conflict(expected: str, got: str) -> Normalised:
    detail = ("There was a conflict when trying to complete your request.\n\n "
              f"consumer generation conflict - expected {expected} but got {got}  ")
    return Normalised(409, {}, {"errors": [{"status": 409, "title": "Conflict",
                                            "detail": detail}]})


NO_CONTENT = Normalised(204, {}, "")


def _write(generation: str) -> Request:
    return Request("put allocations", "PUT", "/allocations/c", "placement 1.28",
                   {"allocations": {}, "project_id": "p", "user_id": "u",
                    "consumer_generation": json.loads(generation)}, consumers=("c",))


def test_strict_mode_allows_the_leftover_consumer_difference_only_where_it_belongs() -> None:
    leftover = Situation(_write("null"), Microversion(1, 28), leftovers=("c",))
    assert strict.allowed(leftover, _conflict("0", "None"), NO_CONTENT)
    # The same answers for a consumer upstream did not leave behind, or below 1.28: no.
    assert not strict.allowed(Situation(_write("null"), Microversion(1, 28), ()),
                              _conflict("0", "None"), NO_CONTENT)
    assert not strict.allowed(Situation(_write("null"), Microversion(1, 27), ("c",)),
                              _conflict("0", "None"), NO_CONTENT)
    # Another difference in the same situation: no.
    assert not strict.allowed(leftover, NO_CONTENT, _conflict("0", "None"))


def test_strict_mode_allows_the_reverse_for_a_retry_with_zero() -> None:
    retry = Situation(_write("0"), Microversion(1, 39), leftovers=("c",))
    assert strict.allowed(retry, NO_CONTENT, _conflict("null", "0"))
    assert not strict.allowed(retry, NO_CONTENT, _conflict("1", "0"))
