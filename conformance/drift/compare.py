"""`drift api-ref`: what the api-ref documents against what the spec specifies.

Both are read as surfaces (see surface.py) and compared one microversion at a time; a
difference is reported once, with the microversions where it holds. The api-ref names a
body field by its own name ("resources") or by a dotted path whose map keys are
placeholders ("usages.consumer_type.consumer_count"); the spec names it by its path
("allocations.*.resources"). A plain name matches every spec path that ends with it (the
shortest one is compared), a dotted one matches a spec path segment by segment, `*`
matching any placeholder.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from placement_spec import Microversion, resolve
from placement_spec.microversion import describe

from conformance.drift.apiref import ApiRef, NotJson, Sample
from conformance.drift.findings import Finding, Kind
from conformance.drift.surface import (
    MAP_KEY,
    Field,
    OperationView,
    Spec,
    json_body_schema,
)
from conformance.drift.validation import problems


def compare(api_ref: ApiRef, spec: Spec) -> list[Finding]:
    documented = api_ref.surface(spec.versions)
    specified = spec.surface()
    findings: list[Finding] = []
    for operation in sorted(documented.keys() | specified.keys()):
        findings += _operation(operation, documented.get(operation, {}),
                               specified.get(operation, {}))
    for sample in api_ref.samples:
        findings += _sample(sample, spec)
    return findings


@dataclass
class _Presence:
    """Where one subject exists on each side; `family` picks the kinds reported."""

    family: str
    documented: set[Microversion] = field(default_factory=set)
    specified: set[Microversion] = field(default_factory=set)


class _Tally:
    """Collects, version by version, where subjects exist and how they differ."""

    def __init__(self, operation: str):
        self.operation = operation
        self.presence: dict[str, _Presence] = {}
        self.differences: dict[tuple[Kind, str, str], set[Microversion]] = defaultdict(set)

    def present(self, subject: str, version: Microversion, *, documented: bool,
                specified: bool, family: str = "parameter") -> None:
        presence = self.presence.setdefault(subject, _Presence(family))
        if documented:
            presence.documented.add(version)
        if specified:
            presence.specified.add(version)

    def differ(self, kind: Kind, subject: str, detail: str, version: Microversion) -> None:
        self.differences[(kind, subject, detail)].add(version)

    def findings(self) -> list[Finding]:
        found = [finding for subject, presence in self.presence.items()
                 for finding in self._presence_findings(subject, presence)]
        found += [Finding(self.operation, kind, subject, describe(versions), detail)
                  for (kind, subject, detail), versions in self.differences.items()]
        return found

    def _presence_findings(self, subject: str, presence: _Presence) -> list[Finding]:
        documented, specified = presence.documented, presence.specified
        if documented == specified:
            return []
        if presence.family == "status":
            return [Finding(self.operation, kind, subject, describe(versions), detail)
                    for kind, versions, detail in (
                        (Kind.STATUS_ONLY_IN_API_REF, documented - specified,
                         "the api-ref lists it; the spec does not"),
                        (Kind.STATUS_ONLY_IN_SPEC, specified - documented,
                         "the spec describes it; the api-ref does not list it"))
                    if versions]
        if not specified:
            return [Finding(self.operation, Kind.PARAMETER_ONLY_IN_API_REF, subject,
                            describe(documented), "the api-ref documents it; the spec does not")]
        if not documented:
            return [Finding(self.operation, Kind.PARAMETER_ONLY_IN_SPEC, subject,
                            describe(specified), "the spec has it; the api-ref does not")]
        return [Finding(self.operation, Kind.PARAMETER_RANGE, subject,
                        describe(documented ^ specified),
                        f"api-ref: {describe(documented)}; spec: {describe(specified)}")]


def _operation(operation: str, documented: dict[Microversion, OperationView],
               specified: dict[Microversion, OperationView]) -> list[Finding]:
    if not specified:
        return [Finding(operation, Kind.OPERATION_ONLY_IN_API_REF, "operation",
                        describe(documented), "the api-ref documents it; the spec does not")]
    if not documented:
        return [Finding(operation, Kind.OPERATION_ONLY_IN_SPEC, "operation",
                        describe(specified), "the spec has it; the api-ref does not")]
    findings = []
    if documented.keys() != specified.keys():
        findings.append(Finding(
            operation, Kind.OPERATION_RANGE, "operation",
            describe(documented.keys() ^ specified.keys()),
            f"api-ref: {describe(documented)}; spec: {describe(specified)}"))
    common = sorted(documented.keys() & specified.keys())
    tally = _Tally(operation)
    for side in ("request body", "response body"):
        _bodies(tally, side, {v: _body(documented[v], side) for v in common},
                {v: _body(specified[v], side) for v in common})
    for version in common:
        _parameters(tally, version, documented[version].parameters,
                    specified[version].parameters)
        _headers(tally, version, documented[version].response_headers,
                 specified[version].response_headers)
        for status in documented[version].statuses | specified[version].statuses:
            tally.present(f"status {status}", version, family="status",
                          documented=status in documented[version].statuses,
                          specified=status in specified[version].statuses)
    return findings + tally.findings()


def _body(view: OperationView, side: str) -> dict[str, Field]:
    return view.request_body if side == "request body" else view.response_body


def _compare_fields(tally: _Tally, subject: str, documented: Field, specified: Field,
                    version: Microversion, *, requiredness: bool = True) -> None:
    if requiredness and documented.required != specified.required:
        tally.differ(Kind.PARAMETER_REQUIRED, subject,
                     f"api-ref: {_required(documented)}; spec: {_required(specified)}", version)
    # The api-ref cannot say "nullable", so null is left out of the spec's types.
    specified_types = specified.types - {"null"} if specified.types else None
    if documented.types and specified_types and documented.types != specified_types:
        tally.differ(Kind.PARAMETER_TYPE, subject,
                     f"api-ref: {_types(documented.types)}; spec: {_types(specified_types)}",
                     version)


def _parameters(tally: _Tally, version: Microversion,
                documented: dict[tuple[str, str], Field],
                specified: dict[tuple[str, str], Field]) -> None:
    """Path, query and header parameters; header names are compared without case."""
    documented, specified = _lower_headers(documented), _lower_headers(specified)
    moved = _relocations(documented, specified)
    for key, elsewhere in moved.items():
        tally.differ(Kind.PARAMETER_LOCATION, _subject(key),
                     f"api-ref: in {key[0]}; spec: in {elsewhere[0]}", version)
        _compare_fields(tally, _subject(key), documented[key], specified[elsewhere], version)
    for key in (documented.keys() | specified.keys()) - moved.keys() - set(moved.values()):
        tally.present(_subject(key), version, documented=key in documented,
                      specified=key in specified)
        if key in documented and key in specified:
            _compare_fields(tally, _subject(key), documented[key], specified[key], version)


def _lower_headers(parameters: dict[tuple[str, str], Field]) -> dict[tuple[str, str], Field]:
    return {(location, name.lower() if location == "header" else name): value
            for (location, name), value in parameters.items()}


def _relocations(documented: dict[tuple[str, str], Field],
                 specified: dict[tuple[str, str], Field]) -> dict[tuple[str, str], tuple[str, str]]:
    """Parameters the two sides name alike but place differently (query vs header...)."""
    only_specified = specified.keys() - documented.keys()
    moved = {}
    for key in documented.keys() - specified.keys():
        elsewhere = [other for other in only_specified if other[1] == key[1]]
        if elsewhere:
            moved[key] = elsewhere[0]
    return moved


def _subject(key: tuple[str, str]) -> str:
    return f"{key[0]} {key[1]}"


def _headers(tally: _Tally, version: Microversion, documented: dict[str, Field],
             specified: dict[str, Field]) -> None:
    """Response headers. Only presence and type: OpenAPI 3.0 response headers are seldom
    marked required (this spec marks none), so their requiredness says nothing."""
    documented = {name.lower(): value for name, value in documented.items()}
    specified = {name.lower(): value for name, value in specified.items()}
    for name in documented.keys() | specified.keys():
        subject = f"response header {name}"
        tally.present(subject, version, documented=name in documented,
                      specified=name in specified)
        if name in documented and name in specified:
            _compare_fields(tally, subject, documented[name], specified[name], version,
                            requiredness=False)


def _bodies(tally: _Tally, side: str, documented: dict[Microversion, dict[str, Field]],
            specified: dict[Microversion, dict[str, Field]]) -> None:
    """Body fields, matched by name (see the module's docstring), version by version."""
    matches = {version: _match(documented[version], specified[version])
               for version in documented}
    # A spec field the api-ref names at some versions keeps that name where it does not.
    aliases = {path: name for found in matches.values() for name, path in found.items() if path}
    for version, found in matches.items():
        for name, path in found.items():
            subject = f"{side} {name}"
            tally.present(subject, version, documented=True, specified=path is not None)
            if path:
                # A map's entries are never required: the map may be empty.
                _compare_fields(tally, subject, documented[version][name],
                                specified[version][path], version,
                                requiredness=not path.endswith(MAP_KEY))
        covered = {path for path in specified[version]
                   if any(_documents(name, path) for name in documented[version])}
        for path in specified[version].keys() - covered:
            if not path.endswith(MAP_KEY):
                tally.present(f"{side} {aliases.get(path, path)}", version,
                              documented=False, specified=True)


def _match(documented: dict[str, Field], specified: dict[str, Field]) -> dict[str, str | None]:
    """Each api-ref field name, with the spec path it is compared with (None: none)."""
    found = {}
    for name in documented:
        paths = sorted((path for path in specified if _names(name, path)),
                       key=lambda path: (path.count("."), path.count(MAP_KEY), path))
        found[name] = paths[0] if paths else None
    return found


def _names(name: str, path: str) -> bool:
    """Whether the api-ref's `name` names the spec's `path`."""
    wanted, have = name.split("."), path.split(".")
    if len(wanted) == 1:
        return have[-1] == name
    return len(wanted) == len(have) and _alike(wanted, have)


def _documents(name: str, path: str) -> bool:
    """Whether the api-ref's `name` documents the spec's `path`: names it, or (dotted)
    names something inside it, as "usages.consumer_type" documents "usages"."""
    wanted, have = name.split("."), path.split(".")
    return _names(name, path) or (len(wanted) > len(have) and _alike(wanted, have))


def _alike(wanted: list[str], have: list[str]) -> bool:
    """Segment by segment, as far as the shorter goes; a map key `*` matches any."""
    return all(part == segment or segment == MAP_KEY for part, segment in zip(wanted, have))


def _required(value: Field) -> str:
    return "required" if value.required else "optional"


def _types(types: frozenset[str]) -> str:
    return " or ".join(sorted(types))


def _sample(sample: Sample, spec: Spec) -> list[Finding]:
    """Whether the spec describes the sample at every microversion its text gives it."""
    subject = f"sample {sample.file}"
    versions = [v for v in spec.versions if sample.versions.covers(v)
                and spec.operation(v, sample.operation) is not None]
    if isinstance(sample.body, NotJson):
        return [Finding(sample.operation, Kind.SAMPLE_INVALID, subject, describe(versions),
                        f"the sample is not JSON: {sample.body.error}")]
    failures: dict[tuple[Kind, str], set[Microversion]] = defaultdict(set)
    for version in versions:
        document = spec.documents[version]
        schemas = _schemas(document, spec.operation(version, sample.operation), sample.role)
        if not schemas:
            failures[(Kind.SAMPLE_UNDESCRIBED, f"the spec has no {sample.role} body")].add(version)
            continue
        found = [problems(document, schema, sample.body) for schema in schemas]
        if all(found):
            failures[(Kind.SAMPLE_INVALID, _first(found[0]))].add(version)
    return [Finding(sample.operation, kind, subject, describe(failed), detail)
            for (kind, detail), failed in failures.items()]


def _schemas(document: dict, operation: dict, role: str) -> list[dict]:
    """The JSON body schemas a sample of `role` may match: the request body, or any
    success response's body."""
    if role == "request":
        body = resolve(document, operation.get("requestBody")) or {}
        return [json_body_schema(body)] if json_body_schema(body) else []
    responses = [resolve(document, response)
                 for status, response in operation.get("responses", {}).items()
                 if str(status).startswith("2")]
    return [json_body_schema(response) for response in responses if json_body_schema(response)]


def _first(found: list[str]) -> str:
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return found[0] + more
