"""The filters of `GET /resource_providers` by aggregate (`member_of`) and by trait
(`required`), read from their query values as upstream reads them, with its texts for
a value it refuses. Their forms change with the microversion; the spec says where
(`info.x-behaviours`)."""

from __future__ import annotations

from placement_spec import Microversion, facts
from reference_impl.errors import BadRequest
from reference_impl.storage.providers import Membership
from reference_impl.uuids import canonical

SEVERAL_MEMBER_OF = facts.behaviour_range("several-member-of")
FORBIDDEN_AGGREGATES = facts.behaviour_range("forbidden-aggregates")
FORBIDDEN_TRAITS = facts.behaviour_range("forbidden-traits")
ANY_OF_TRAITS = facts.behaviour_range("any-of-traits")


def membership(member_of: list[str], required: list[str], version: Microversion) -> Membership:
    """What every `member_of` and `required` value given asks, in upstream's order of
    checks: the aggregates first."""
    aggregates, forbidden_aggregates = _aggregates(member_of, version)
    traits, forbidden_traits = _traits(required, version)
    return Membership(traits=tuple(traits), forbidden_traits=frozenset(forbidden_traits),
                      aggregates=tuple(aggregates),
                      forbidden_aggregates=frozenset(forbidden_aggregates))


def _aggregates(values: list[str], version: Microversion):
    if len(values) > 1 and not SEVERAL_MEMBER_OF.covers(version):
        raise BadRequest("Multiple member_of parameters are not supported")
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
            raise BadRequest("Forbidden member_of parameters are not supported in the "
                             "specified microversion")
    return wanted, forbidden


def _traits(values: list[str], version: Microversion):
    if not ANY_OF_TRAITS.covers(version):
        values = values[-1:]  # before, a repeated `required` counts once: the last
    wanted: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if value.startswith("in:"):
            wanted.append(_any_of(value, version))
            continue
        named = [trait.strip() for trait in value.split(",")]
        # Any run of `!` makes a trait forbidden: upstream strips them all.
        refused = {trait.lstrip("!") for trait in named if trait.startswith("!")}
        allowed = FORBIDDEN_TRAITS.covers(version)
        form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allowed else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        if not all(named) or not all(refused):
            raise _malformed(f"Expected 'required' parameter value of the form: {form}. "
                             f"Got an empty trait in: {value}")
        if refused and not allowed:
            raise _malformed(f"Expected 'required' parameter value of the form: {form}. "
                             f"Got: {value}")
        wanted += [frozenset({trait}) for trait in named if not trait.startswith("!")]
        forbidden |= refused
    return wanted, forbidden


def _any_of(value: str, version: Microversion) -> frozenset[str]:
    if not ANY_OF_TRAITS.covers(version):
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
