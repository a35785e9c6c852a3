"""gabbi response handlers for GET /allocation_candidates: what upstream guarantees of
its answer, and nothing more.

Upstream answers its candidates in "a deterministic but undefined order" (its
`randomize_allocation_candidates` help text), and before 1.34 it may answer the same
allocations twice (two groups served by two providers either way round, told apart only
by the `mappings` 1.34 shows). So a scenario states its candidates as a multiset:

    response_candidates:            # exactly these, each as often as listed, in any order
      - $ENVIRON['RP1']: {$ENVIRON['CUSTOM_RC']: 1}
      - allocations:                # with the mappings too (1.34 and later)
          $ENVIRON['RP2']: {$ENVIRON['CUSTOM_RC']: 1}
        mappings: {"1": [$ENVIRON['RP2']]}
    response_candidates_among:      # with `limit`: each answered one is one of these
      - ...
    response_summaries:             # the provider summaries, whole (traits as a set)
      $ENVIRON['RP1']: {resources: {...}, traits: [...]}

A candidate is written as {provider: {class: amount}} whatever the microversion's form
(a list of `resource_provider` entries before 1.12, a dict after). gabbi substitutes
`$ENVIRON[...]` only in values; these handlers substitute it in keys too, since a
candidate is keyed by provider uuids and class names.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from gabbi.handlers.base import ResponseHandler

Candidate = dict[str, Any]  # {"allocations": {provider: {class: amount}}, "mappings"?: ...}


def expand(test, value: Any) -> Any:
    """`value` with gabbi's substitutions made in every string, keys included."""
    if isinstance(value, dict):
        return {expand(test, key): expand(test, item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(test, item) for item in value]
    if isinstance(value, str):
        return test.replace_template(value)
    return value


def answered(request: dict[str, Any], with_mappings: bool) -> Candidate:
    """One allocation request of the answer as {"allocations": {provider: resources}},
    from either form, with its mappings (lists sorted) when they are compared."""
    allocations = request["allocations"]
    if isinstance(allocations, list):
        resources = {entry["resource_provider"]["uuid"]: entry["resources"]
                     for entry in allocations}
    else:
        resources = {provider: entry["resources"] for provider, entry in allocations.items()}
    candidate: Candidate = {"allocations": resources}
    if with_mappings:
        candidate["mappings"] = {suffix: sorted(providers) for suffix, providers
                                 in request.get("mappings", {}).items()}
    return candidate


def stated(candidate: dict[str, Any]) -> Candidate:
    """A candidate as the scenario writes it, in the form `answered` gives."""
    if "allocations" in candidate:
        return {"allocations": candidate["allocations"],
                **({"mappings": {suffix: sorted(providers) for suffix, providers
                                 in candidate["mappings"].items()}}
                   if "mappings" in candidate else {})}
    return {"allocations": candidate}


def _key(candidate: Candidate) -> str:
    return json.dumps(candidate, sort_keys=True)


def compare(test, expected_list: list) -> tuple[Counter, Counter]:
    """(expected but not answered, answered but not expected), each a multiset of
    candidates in canonical JSON. Mappings count only where the scenario states them."""
    expected = [stated(candidate) for candidate in expand(test, expected_list)]
    with_mappings = any("mappings" in candidate for candidate in expected)
    answer = [answered(request, with_mappings)
              for request in test.response_data["allocation_requests"]]
    wanted, got = Counter(map(_key, expected)), Counter(map(_key, answer))
    return wanted - got, got - wanted


def _describe(candidates: Counter) -> str:
    return "\n".join(f"    {key}" + (f" (x{count})" if count > 1 else "")
                     for key, count in candidates.items())


class _StatedCandidates(ResponseHandler):
    """A handler whose key lists candidates; a test without it is not checked."""

    test_key_value: list = []

    def __call__(self, test) -> None:
        if test.test_data[self._key]:
            self.check(*compare(test, test.test_data[self._key]))

    def check(self, missing: Counter, extra: Counter) -> None:
        raise NotImplementedError


class ExactCandidates(_StatedCandidates):
    """`response_candidates`: the answer holds exactly these candidates, in any order."""

    test_key_suffix = "candidates"

    def check(self, missing: Counter, extra: Counter) -> None:
        if missing or extra:
            raise AssertionError("the candidates differ (order aside)"
                                 + (f"\n  missing:\n{_describe(missing)}" if missing else "")
                                 + (f"\n  not expected:\n{_describe(extra)}" if extra else ""))


class CandidatesAmong(_StatedCandidates):
    """`response_candidates_among`: every answered candidate is one of these, none more
    often than listed. With `limit`, upstream keeps the first N of its undefined order,
    so which ones come back is not part of the contract; that they are real ones is."""

    test_key_suffix = "candidates_among"

    def check(self, missing: Counter, extra: Counter) -> None:
        if extra:
            raise AssertionError(f"candidates that are not among the possible ones:\n"
                                 f"{_describe(extra)}")


class Summaries(ResponseHandler):
    """`response_summaries`: the provider summaries, whole; traits compared as sets
    (upstream lists them in no defined order)."""

    test_key_suffix = "summaries"
    test_key_value: dict = {}

    def __call__(self, test) -> None:
        if not test.test_data[self._key]:
            return
        expected = _sorted_traits(expand(test, test.test_data[self._key]))
        got = _sorted_traits(test.response_data["provider_summaries"])
        if expected != got:
            raise AssertionError("the provider summaries differ:\n"
                                 f"  expected {json.dumps(expected, sort_keys=True)}\n"
                                 f"  answered {json.dumps(got, sort_keys=True)}")


def _sorted_traits(summaries: dict[str, Any]) -> dict[str, Any]:
    return {provider: {**summary, **({"traits": sorted(summary["traits"])}
                                     if "traits" in summary else {})}
            for provider, summary in summaries.items()}


HANDLERS = (ExactCandidates, CandidatesAmong, Summaries)
