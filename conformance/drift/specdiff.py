"""`drift spec OLD NEW`: every change between two versions of the spec, and whether it
breaks clients.

Both specs are read as surfaces (see surface.py) and compared at each microversion. A
client breaks when what it sends is no longer accepted, or what it reads is no longer
what it was promised. So the same change weighs differently on the two sides:

| change                                   | request side  | response side |
|------------------------------------------|---------------|---------------|
| operation, parameter or field removed    | breaking      | breaking      |
| microversion range narrowed              | breaking      | breaking      |
| field added, range widened               | breaking only if the field is required | no |
| field turned required                    | breaking      | no            |
| field turned optional                    | no            | breaking      |
| type, enum or constraint narrowed        | breaking      | no            |
| type, enum or constraint widened         | no            | breaking      |
| status code removed                      | breaking                      |
| status code added, documentation changed | not breaking                  |

A constraint whose direction cannot be told (a new `pattern`, say) counts as breaking;
the allow-list can excuse it with a reason.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterator

from placement_spec import Microversion
from placement_spec.microversion import describe

from conformance.drift.findings import Finding, Kind
from conformance.drift.surface import Field, OperationView, Spec

REQUEST, RESPONSE, STATUS = "request", "response", "status"
DOCUMENTATION_KEYS = {"description", "summary", "example", "examples", "title", "tags",
                      "operationId", "externalDocs"}
# Bounds whose growth narrows what they allow, and those whose shrinking does.
_LOWER_BOUNDS = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
_UPPER_BOUNDS = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}


def diff(old: Spec, new: Spec) -> list[Finding]:
    before, after = old.surface(), new.surface()
    findings: list[Finding] = []
    for operation in sorted(before.keys() | after.keys()):
        findings += _operation(operation, before.get(operation, {}), after.get(operation, {}))
    # The text of an operation that came or went is part of that change.
    return findings + [finding for finding in _documentation(old.whole, new.whole)
                       if finding.operation not in before.keys() ^ after.keys()]


def _operation(operation: str, before: dict[Microversion, OperationView],
               after: dict[Microversion, OperationView]) -> list[Finding]:
    findings = []
    lost, gained = before.keys() - after.keys(), after.keys() - before.keys()
    ranges = f"old: {describe(before)}; new: {describe(after)}"
    if lost:
        kind = Kind.OPERATION_RANGE_NARROWED if after else Kind.OPERATION_REMOVED
        findings.append(Finding(operation, kind, "operation", describe(lost), ranges))
    if gained:
        kind = Kind.OPERATION_RANGE_WIDENED if before else Kind.OPERATION_ADDED
        findings.append(Finding(operation, kind, "operation", describe(gained), ranges,
                                breaking=False))
    common = sorted(before.keys() & after.keys())
    old_items = {version: _items(before[version]) for version in common}
    new_items = {version: _items(after[version]) for version in common}
    subjects = {subject for items in [*old_items.values(), *new_items.values()]
                for subject in items}
    for subject in sorted(subjects):
        findings += _subject(operation, subject, _where(subject, old_items),
                             _where(subject, new_items))
    return findings


def _where(subject: str, items: dict[Microversion, dict[str, tuple[str, Field]]]
           ) -> dict[Microversion, tuple[str, Field]]:
    """One subject's side and field at each microversion that has it."""
    return {version: found[subject] for version, found in items.items() if subject in found}


def _items(view: OperationView) -> dict[str, tuple[str, Field]]:
    """Everything a client may depend on in one operation, by subject, with its side."""
    items: dict[str, tuple[str, Field]] = {}
    for (location, name), value in view.parameters.items():
        items[f"{location} {name}"] = (REQUEST, value)
    items.update({f"request body {path}": (REQUEST, value)
                  for path, value in view.request_body.items()})
    items.update({f"response body {path}": (RESPONSE, value)
                  for path, value in view.response_body.items()})
    items.update({f"response header {name.lower()}": (RESPONSE, value)
                  for name, value in view.response_headers.items()})
    items.update({f"status {status}": (STATUS, Field(required=False))
                  for status in view.statuses})
    return items


def _subject(operation: str, subject: str, before: dict[Microversion, tuple[str, Field]],
             after: dict[Microversion, tuple[str, Field]]) -> list[Finding]:
    side = next(iter({**before, **after}.values()))[0]
    lost, gained = before.keys() - after.keys(), after.keys() - before.keys()
    ranges = f"old: {describe(before)}; new: {describe(after)}"
    findings = []
    if side == STATUS:
        if lost:
            findings.append(Finding(operation, Kind.STATUS_REMOVED, subject, describe(lost),
                                    "clients may depend on it"))
        if gained:
            findings.append(Finding(operation, Kind.STATUS_ADDED, subject, describe(gained),
                                    "a new answer", breaking=False))
        return findings
    if lost:
        kind = Kind.FIELD_RANGE_NARROWED if after else Kind.FIELD_REMOVED
        findings.append(Finding(operation, kind, subject, describe(lost), ranges))
    if gained:
        required = side == REQUEST and any(after[v][1].required for v in gained)
        kind = Kind.FIELD_RANGE_WIDENED if before else Kind.FIELD_ADDED
        detail = ranges + ("; clients must now send it" if required else "")
        findings.append(Finding(operation, kind, subject, describe(gained), detail,
                                breaking=required))
    changes: dict[tuple[Kind, str, bool], set[Microversion]] = defaultdict(set)
    for version in before.keys() & after.keys():
        for change in _changes(side, before[version][1], after[version][1]):
            changes[change].add(version)
    findings += [Finding(operation, kind, subject, describe(versions), detail, breaking)
                 for (kind, detail, breaking), versions in changes.items()]
    return findings


def _changes(side: str, old: Field, new: Field) -> Iterator[tuple[Kind, str, bool]]:
    """How one field changed at one microversion: (kind, detail, breaking)."""
    if old.required != new.required:
        if new.required:
            yield Kind.FIELD_REQUIRED, "optional -> required", side == REQUEST
        else:
            yield Kind.FIELD_OPTIONAL, "required -> optional", side == RESPONSE
    if old.types != new.types:
        narrowed, widened = not _covers(new.types, old.types), not _covers(old.types, new.types)
        yield (Kind.TYPE_CHANGED,
               f"{_types(old.types)} -> {_types(new.types)} ({_direction(narrowed, widened)})",
               _breaks(side, narrowed, widened))
    if old.enum != new.enum:
        narrowed = new.enum is not None and (old.enum is None or not old.enum <= new.enum)
        widened = old.enum is not None and (new.enum is None or not new.enum <= old.enum)
        yield (Kind.ENUM_CHANGED,
               f"{_values(old.enum)} -> {_values(new.enum)} ({_direction(narrowed, widened)})",
               _breaks(side, narrowed, widened))
    yield from _constraint_changes(side, dict(old.constraints), dict(new.constraints))
    if side == REQUEST and old.closed != new.closed:
        detail = ("other properties now refused (narrowed)" if new.closed
                  else "other properties now accepted (widened)")
        yield Kind.CONSTRAINT_CHANGED, detail, new.closed


def _constraint_changes(side: str, old: dict[str, str], new: dict[str, str]
                        ) -> Iterator[tuple[Kind, str, bool]]:
    for keyword in sorted(old.keys() | new.keys()):
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        narrowed, widened = _bound_direction(keyword, before, after)
        yield (Kind.CONSTRAINT_CHANGED,
               f"{keyword} {before or 'none'} -> {after or 'none'} "
               f"({_direction(narrowed, widened)})",
               _breaks(side, narrowed, widened))


def _bound_direction(keyword: str, before: str | None, after: str | None) -> tuple[bool, bool]:
    """(narrowed, widened) for one keyword; both when the direction cannot be told."""
    if after is None:
        return False, True
    if before is None:
        return True, False
    bounds = _number(before), _number(after)
    if keyword in _LOWER_BOUNDS | _UPPER_BOUNDS and None not in bounds:
        grew = bounds[1] > bounds[0]
        return (grew, not grew) if keyword in _LOWER_BOUNDS else (not grew, grew)
    return True, True


def _number(text: str) -> float | None:
    """A bound as a number; None for OpenAPI 3.0's boolean `exclusiveMinimum: true`."""
    value = json.loads(text)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _breaks(side: str, narrowed: bool, widened: bool) -> bool:
    return narrowed if side == REQUEST else widened


def _covers(wider: frozenset[str] | None, narrower: frozenset[str] | None) -> bool:
    """Whether every value of the `narrower` types is also of the `wider` ones."""
    if wider is None:
        return True
    if narrower is None:
        return False
    return all(kind in wider or (kind == "integer" and "number" in wider) for kind in narrower)


def _direction(narrowed: bool, widened: bool) -> str:
    if narrowed == widened:
        return "changed" if narrowed else "equivalent"
    return "narrowed" if narrowed else "widened"


def _types(types: frozenset[str] | None) -> str:
    return " or ".join(sorted(types)) if types else "any"


def _values(enum: frozenset[str] | None) -> str:
    return "[" + ", ".join(sorted(enum)) + "]" if enum is not None else "any value"


def _documentation(old: dict, new: dict) -> list[Finding]:
    """Descriptions, summaries and examples that changed: never breaking, but listed."""
    before, after = dict(_documentation_leaves(old)), dict(_documentation_leaves(new))
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    by_operation: dict[str, list[str]] = defaultdict(list)
    for pointer in changed:
        by_operation[_operation_of(pointer)].append(pointer)
    return [Finding(operation, Kind.DOCUMENTATION_CHANGED, "documentation", "all",
                    f"{len(pointers)} change(s): {', '.join(pointers[:3])}"
                    + (", ..." if len(pointers) > 3 else ""), breaking=False)
            for operation, pointers in by_operation.items()]


def _documentation_leaves(node: Any, pointer: str = "", inside: bool = False,
                          parent: str = "") -> Iterator[tuple[str, Any]]:
    """(JSON pointer, value) of every value under a documentation key. A property that
    happens to be called `description` is a field, not documentation."""
    if isinstance(node, dict):
        for key, value in node.items():
            documentation = key in DOCUMENTATION_KEYS and parent != "properties"
            yield from _documentation_leaves(value, f"{pointer}/{_escape(key)}",
                                             inside or documentation, key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _documentation_leaves(value, f"{pointer}/{index}", inside, parent)
    elif inside:
        yield pointer, node


def _operation_of(pointer: str) -> str:
    """The operation a pointer lies in ("PUT /allocations/{consumer_uuid}"), or the part
    of the document ("components", "info")."""
    parts = pointer.split("/")[1:]
    if len(parts) >= 3 and parts[0] == "paths":
        path = parts[1].replace("~1", "/").replace("~0", "~")
        if parts[2] in ("get", "put", "post", "delete", "patch"):
            return f"{parts[2].upper()} {path}"
        return path
    return parts[0] if parts else "(document)"


def _escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
