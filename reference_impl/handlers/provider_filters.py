"""The filters of providers by resources (`resources`), aggregate (`member_of`) and trait
(`required`), read from their query values as upstream reads them, with its texts for a
value it refuses. `GET /resource_providers` and each request group of
`GET /allocation_candidates` (`member_of1`, `required_NET`...) read them alike. Their
forms change with the microversion; the spec says where (`info.x-behaviours`)."""

from __future__ import annotations

from placement_spec import Microversion, facts
from reference_impl.errors import BadRequest
from reference_impl.storage.providers import Membership
from reference_impl.uuids import canonical

SEVERAL_MEMBER_OF = facts.behaviour_range("several-member-of")
FORBIDDEN_AGGREGATES = facts.behaviour_range("forbidden-aggregates")
FORBIDDEN_TRAITS = facts.behaviour_range("forbidden-traits")
ANY_OF_TRAITS = facts.behaviour_range("any-of-traits")

Traits = tuple[list[frozenset[str]], set[str]]  # (each set: one of them required), forbidden


def membership(member_of: list[str], required: list[str], version: Microversion) -> Membership:
    """What every `member_of` and `required` value given asks, in upstream's order of
    checks: the aggregates first."""
    aggregates_wanted, forbidden_aggregates = aggregates(member_of, version)
    traits_wanted, forbidden_traits = traits(required, version)
    return Membership(traits=tuple(traits_wanted), forbidden_traits=frozenset(forbidden_traits),
                      aggregates=tuple(aggregates_wanted),
                      forbidden_aggregates=frozenset(forbidden_aggregates))


def resource_amounts(text: str) -> dict[str, int]:
    """`VCPU:2,MEMORY_MB:512` as {class name: amount}; the storage looks the classes up."""
    form = "?resources=VCPU:2,MEMORY_MB:1024"
    if text.strip() == "":
        raise BadRequest("Badly formed resources parameter. Expected resources query string "
                         f"parameter in form: {form}. Got: empty string.")
    amounts: dict[str, int] = {}
    for part in text.split(","):
        pieces = part.split(":")
        if len(pieces) != 2:
            raise BadRequest("Badly formed resources parameter. Expected resources query "
                             f"string parameter in form: {form}. Got: {part}.")
        name, amount = pieces
        try:
            amounts[name] = int(amount)  # as upstream reads it: " 2" and "+2" are 2
        except ValueError:
            raise BadRequest(
                f"Requested resource {name} expected positive integer amount. Got: {amount}.")
        if amounts[name] < 1:
            raise BadRequest(
                f"Requested resource {name} requires amount >= 1. Got: {amounts[name]}.")
    return amounts


def aggregates(values: list[str], version: Microversion,
               suffix: str = "") -> tuple[list[frozenset[str]], set[str]]:
    """The aggregates every `member_of{suffix}` value wants (one of each set) and forbids."""
    if len(values) > 1 and not SEVERAL_MEMBER_OF.covers(version):
        raise BadRequest(f"Multiple member_of{suffix} parameters are not supported")
    wanted: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if "," in value and not value.startswith(("in:", "!in:")):
            raise BadRequest("Multiple values for 'member_of' must be prefixed with the "
                             "'in:' or '!in:' keyword using the valid microversion. "
                             f"Got: {value}")
        negated = value.startswith("!")
        listed = value[1:] if negated else value
        named = listed[3:].split(",") if listed.startswith("in:") else [listed]
        for aggregate in named:
            if canonical(aggregate) is None:
                raise BadRequest("Invalid query string parameters: Expected 'member_of' "
                                 f"parameter to contain valid UUID(s). Got: {aggregate}")
        if not negated:
            wanted.append(frozenset(named))
        elif FORBIDDEN_AGGREGATES.covers(version):
            forbidden.update(named)
        else:
            raise BadRequest(f"Forbidden member_of{suffix} parameters are not supported in "
                             "the specified microversion")
    return wanted, forbidden


def traits(values: list[str], version: Microversion) -> Traits:
    """The traits every `required` value (of one group) wants and forbids."""
    if not ANY_OF_TRAITS.covers(version):
        values = values[-1:]  # before, a repeated `required` counts once: the last
    wanted: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        more, refused = trait_value(value, allow_forbidden=FORBIDDEN_TRAITS.covers(version),
                                    allow_any_of=ANY_OF_TRAITS.covers(version))
        wanted += more
        forbidden |= refused
    return wanted, forbidden


def trait_value(value: str, *, allow_forbidden: bool, allow_any_of: bool) -> Traits:
    """One value of `required` (or of `root_required`, which takes `!` but never `in:`)."""
    if value.startswith("in:"):
        return [_any_of(value, allow_any_of)], set()
    named = [trait.strip() for trait in value.split(",")]
    # Any run of `!` makes a trait forbidden: upstream strips them all.
    refused = {trait.lstrip("!") for trait in named if trait.startswith("!")}
    form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
    if not all(named) or not all(refused):
        raise _malformed(f"Expected 'required' parameter value of the form: {form}. "
                         f"Got an empty trait in: {value}")
    if refused and not allow_forbidden:
        raise _malformed(f"Expected 'required' parameter value of the form: {form}. "
                         f"Got: {value}")
    return [frozenset({trait}) for trait in named if not trait.startswith("!")], refused


def _any_of(value: str, allowed: bool) -> frozenset[str]:
    if not allowed:
        raise _malformed("The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since "
                         f"microversion {ANY_OF_TRAITS.low}. Got: {value}")
    named = frozenset(trait.strip() for trait in value[3:].split(","))
    if not all(named):
        raise _malformed("Expected 'required' parameter value of the form: "
                         f"in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}")
    if any(trait.startswith("!") for trait in named):
        raise _malformed("The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support "
                         f"forbidden traits. Got: {value}")
    return named


def _malformed(message: str) -> BadRequest:
    return BadRequest(f"Invalid query string parameters: {message}")
