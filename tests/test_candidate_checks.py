"""The gabbi handlers that check allocation candidates: what they set aside (order, the
answer's form, traits' order) and what they still catch (a candidate too many or too
few, a duplicate, a mapping, a summary)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.candidate_checks import CandidatesAmong, ExactCandidates, Summaries


def answered_test(key: str, stated, body: dict) -> SimpleNamespace:
    """A stand-in for gabbi's test case: its data, its response, and `$ENVIRON` spelt
    `$RP` here, which the handlers must replace in keys as well as values."""
    return SimpleNamespace(test_data={key: stated}, response_data=body,
                           replace_template=lambda text: text.replace("$RP", "rp"))


def dict_form(*candidates: dict, mappings: list | None = None) -> dict:
    return {"allocation_requests": [
        {"allocations": {provider: {"resources": resources}
                         for provider, resources in candidate.items()},
         **({"mappings": mappings[index]} if mappings else {})}
        for index, candidate in enumerate(candidates)], "provider_summaries": {}}


def check(handler_class, key: str, stated, body: dict) -> None:
    handler_class()(answered_test(key, stated, body))


def test_order_and_form_are_set_aside() -> None:
    stated = [{"$RP1": {"VCPU": 1}}, {"$RP2": {"VCPU": 1}}]
    check(ExactCandidates, "response_candidates", stated,
          dict_form({"rp2": {"VCPU": 1}}, {"rp1": {"VCPU": 1}}))
    list_form = {"allocation_requests": [
        {"allocations": [{"resource_provider": {"uuid": "rp1"}, "resources": {"VCPU": 1}}]},
        {"allocations": [{"resource_provider": {"uuid": "rp2"}, "resources": {"VCPU": 1}}]}]}
    check(ExactCandidates, "response_candidates", stated, list_form)


@pytest.mark.parametrize("answer", [
    dict_form({"rp1": {"VCPU": 1}}),  # one missing
    dict_form({"rp1": {"VCPU": 1}}, {"rp2": {"VCPU": 1}}, {"rp1": {"VCPU": 1}}),  # a duplicate
    dict_form({"rp1": {"VCPU": 1}}, {"rp2": {"VCPU": 2}}),  # another amount
], ids=["missing", "duplicate", "amount"])
def test_a_different_multiset_fails(answer: dict) -> None:
    with pytest.raises(AssertionError, match="the candidates differ"):
        check(ExactCandidates, "response_candidates",
              [{"$RP1": {"VCPU": 1}}, {"$RP2": {"VCPU": 1}}], answer)


def test_mappings_count_only_where_stated() -> None:
    answer = dict_form({"rp1": {"VCPU": 1}}, mappings=[{"1": ["rp1"]}])
    check(ExactCandidates, "response_candidates", [{"$RP1": {"VCPU": 1}}], answer)
    with pytest.raises(AssertionError):
        check(ExactCandidates, "response_candidates",
              [{"allocations": {"$RP1": {"VCPU": 1}}, "mappings": {"2": ["$RP1"]}}], answer)


def test_with_a_limit_only_unknown_candidates_fail() -> None:
    possible = [{"$RP1": {"VCPU": 1}}, {"$RP2": {"VCPU": 1}}]
    check(CandidatesAmong, "response_candidates_among", possible,
          dict_form({"rp2": {"VCPU": 1}}))
    with pytest.raises(AssertionError, match="not among the possible ones"):
        check(CandidatesAmong, "response_candidates_among", possible,
              dict_form({"rp3": {"VCPU": 1}}))


def test_summaries_are_whole_but_traits_a_set() -> None:
    summary = {"resources": {"VCPU": {"capacity": 4, "used": 0}}, "traits": ["A", "B"]}
    body = {"allocation_requests": [], "provider_summaries": {
        "rp1": {**summary, "traits": ["B", "A"]}}}
    check(Summaries, "response_summaries", {"$RP1": summary}, body)
    with pytest.raises(AssertionError, match="the provider summaries differ"):
        check(Summaries, "response_summaries",
              {"$RP1": {**summary, "resources": {"VCPU": {"capacity": 4, "used": 1}}}}, body)
