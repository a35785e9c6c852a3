"""Findings of the drift checks, the allow-list that excuses intended ones, and the report.

A finding names an operation, a kind of difference, a subject ("query member_of",
"response body consumer_generation", "status 404", "sample samples/x.json") and the
microversions where it holds. The allow-list (YAML) excuses findings that are intended:
each entry matches findings by operation, kind and subject (shell-style wildcards
allowed), optionally by their microversions, and must say why.
"""

from __future__ import annotations

import fnmatch
import json
from collections import Counter
from dataclasses import asdict, dataclass
from enum import Enum
from itertools import groupby
from pathlib import Path

import yaml


class Kind(str, Enum):
    """What differs. The values are what the allow-list and `--json` use."""

    # drift api-ref: the api-ref against the spec
    OPERATION_ONLY_IN_API_REF = "operation-only-in-api-ref"
    OPERATION_ONLY_IN_SPEC = "operation-only-in-spec"
    OPERATION_RANGE = "operation-range"
    PARAMETER_ONLY_IN_API_REF = "parameter-only-in-api-ref"
    PARAMETER_ONLY_IN_SPEC = "parameter-only-in-spec"
    PARAMETER_RANGE = "parameter-range"
    PARAMETER_LOCATION = "parameter-location"
    PARAMETER_REQUIRED = "parameter-required"
    PARAMETER_TYPE = "parameter-type"
    STATUS_ONLY_IN_API_REF = "status-only-in-api-ref"
    STATUS_ONLY_IN_SPEC = "status-only-in-spec"
    SAMPLE_INVALID = "sample-invalid"
    SAMPLE_UNDESCRIBED = "sample-undescribed"
    # drift spec: an old spec against a new one
    OPERATION_REMOVED = "operation-removed"
    OPERATION_ADDED = "operation-added"
    OPERATION_RANGE_NARROWED = "operation-range-narrowed"
    OPERATION_RANGE_WIDENED = "operation-range-widened"
    FIELD_REMOVED = "field-removed"
    FIELD_ADDED = "field-added"
    FIELD_RANGE_NARROWED = "field-range-narrowed"
    FIELD_RANGE_WIDENED = "field-range-widened"
    FIELD_REQUIRED = "field-required"
    FIELD_OPTIONAL = "field-optional"
    TYPE_CHANGED = "type-changed"
    ENUM_CHANGED = "enum-changed"
    CONSTRAINT_CHANGED = "constraint-changed"
    STATUS_REMOVED = "status-removed"
    STATUS_ADDED = "status-added"
    DOCUMENTATION_CHANGED = "documentation-changed"
    # drift live: a deployment's answers against the spec
    RESPONSE_STATUS = "response-status-undescribed"
    RESPONSE_BODY = "response-body-undescribed"
    REQUEST_FAILED = "request-failed"
    # the deployment's front end answered instead of Placement (conformance.front_end)
    NOT_REACHED = "not-reached"


@dataclass(frozen=True)
class Finding:
    """One difference: where it is, what it is, and at which microversions (as runs,
    "1.0-1.11, 1.28"). `breaking` is False for the compatible changes of `drift spec`."""

    operation: str
    kind: Kind
    subject: str
    versions: str
    detail: str
    # For `drift api-ref` every finding is drift; `drift live` reports a request that did
    # not reach Placement without failing, unless told otherwise.
    breaking: bool = True

    @property
    def label_when_not_failing(self) -> str:
        return "not reached" if self.kind is Kind.NOT_REACHED else "compatible"


@dataclass(frozen=True)
class Allowance:
    """One allow-list entry: the findings it matches are intended, for `reason`."""

    operation: str
    kind: Kind
    subject: str
    reason: str
    versions: str | None = None

    def matches(self, finding: Finding) -> bool:
        return (finding.kind == self.kind
                and fnmatch.fnmatchcase(finding.operation, self.operation)
                and fnmatch.fnmatchcase(finding.subject, self.subject)
                and self.versions in (None, finding.versions))


class AllowListError(ValueError):
    """The allow-list file is missing, malformed, or has an entry without a reason."""


def read_allow_list(path: Path, section: str) -> list[Allowance]:
    """The entries of one section (`api-ref` or `spec`) of an allow-list file."""
    try:
        with path.open(encoding="utf-8") as stream:
            document = yaml.safe_load(stream) or {}
    except (OSError, yaml.YAMLError) as error:
        raise AllowListError(f"cannot read the allow-list {path}: {error}") from error
    if not isinstance(document, dict):
        raise AllowListError(f"{path} is not a mapping of sections")
    entries = document.get(section) or []
    if not isinstance(entries, list):
        raise AllowListError(f"{path}: '{section}' must be a list of entries")
    return [_allowance(path, number, entry) for number, entry in enumerate(entries, 1)]


def _allowance(path: Path, number: int, entry: object) -> Allowance:
    where = f"{path}: entry {number}"
    if not isinstance(entry, dict):
        raise AllowListError(f"{where} is not a mapping")
    if not str(entry.get("reason") or "").strip():
        raise AllowListError(f"{where} has no reason")
    unknown = set(entry) - {"operation", "kind", "subject", "reason", "versions"}
    if unknown:
        raise AllowListError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    try:
        kind = Kind(entry.get("kind"))
    except ValueError as error:
        raise AllowListError(f"{where}: unknown kind {entry.get('kind')!r}") from error
    versions = entry.get("versions")
    if versions is not None and not isinstance(versions, str):
        raise AllowListError(f"{where}: quote versions ({versions!r}): YAML reads 1.20 as 1.2")
    # An entry without an operation or a subject matches every one.
    return Allowance(operation=str(entry.get("operation", "*")), kind=kind,
                     subject=str(entry.get("subject", "*")),
                     reason=" ".join(str(entry["reason"]).split()), versions=versions)


@dataclass(frozen=True)
class Verdict:
    """A finding and, when the allow-list excuses it, the reason."""

    finding: Finding
    allowed_because: str | None

    @property
    def counts(self) -> bool:
        """Whether it fails the check: breaking (or drift) and not allow-listed."""
        return self.finding.breaking and self.allowed_because is None


@dataclass(frozen=True)
class Report:
    verdicts: list[Verdict]
    unused: list[Allowance]

    @property
    def failed(self) -> bool:
        return any(verdict.counts for verdict in self.verdicts)


def judge(findings: list[Finding], allowances: list[Allowance]) -> Report:
    used: set[Allowance] = set()
    verdicts = []
    for finding in sorted(findings, key=_order):
        allowance = next((a for a in allowances if a.matches(finding)), None)
        if allowance:
            used.add(allowance)
        verdicts.append(Verdict(finding, allowance.reason if allowance else None))
    return Report(verdicts, [a for a in allowances if a not in used])


def as_json(report: Report) -> str:
    def entry(verdict: Verdict) -> dict:
        found = asdict(verdict.finding)
        found["kind"] = verdict.finding.kind.value
        return {**found, "allowed": verdict.allowed_because}

    return json.dumps({
        "failed": report.failed,
        "findings": [entry(verdict) for verdict in report.verdicts],
        "unused_allowances": [{**asdict(a), "kind": a.kind.value} for a in report.unused],
    }, indent=2)


def as_table(report: Report, *, failing_label: str) -> str:
    """The findings that are not allow-listed, grouped by operation, then a summary.
    Allow-listed ones are only counted: `--json` lists them with their reasons."""
    shown = [verdict for verdict in report.verdicts if verdict.allowed_because is None]
    lines: list[str] = []
    for operation, verdicts in groupby(shown, key=lambda v: v.finding.operation):
        lines.append(operation)
        for verdict in verdicts:
            finding = verdict.finding
            status = failing_label if finding.breaking else finding.label_when_not_failing
            lines += [f"  {status:<11} {finding.kind.value:<28} {finding.subject}  "
                      f"[{finding.versions}]",
                      f"  {'':<11} {finding.detail}"]
        lines.append("")
    lines += [f"unused allow-list entry: {a.operation} | {a.kind.value} | {a.subject}"
              for a in report.unused]
    counted = sum(verdict.counts for verdict in report.verdicts)
    passing = Counter(verdict.finding.label_when_not_failing for verdict in shown
                      if not verdict.counts)
    others = "".join(f", {count} {label}" for label, count in sorted(passing.items()))
    lines.append(f"{counted} {failing_label.lower()}{others}, "
                 f"{len(report.verdicts) - len(shown)} allow-listed")
    return "\n".join(lines)


def _order(finding: Finding) -> tuple:
    method, _, path = finding.operation.partition(" ")
    return (path, method, finding.kind.value, finding.subject)
