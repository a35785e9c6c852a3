"""The HTML report of `run`, `fuzz` and `drift` (`--html FILE`): one self-contained page to
open and look at.

It shows a matrix (a row per feature or operation, a column per microversion) coloured
by outcome, each failure with the rule it checks, the request and response and the curl
commands that reproduce it, the known deviations with their reasons, and the run's
parameters. It is one more writer beside JUnit and JSON, fed by the same records
(`report.RunResult`, `fuzz_report.FuzzReport`, `drift.findings.Report`): each has a
function here that turns it into an `HtmlReport`, and `write_html` renders that with the
Jinja2 template `templates/report.html.j2`.

Outcomes are data, not branches: `KINDS` lists each kind of outcome with its label,
mark, colour and section, worst first; a cell shows the worst kind among its results,
and each kind with a section lists its results in full. A new outcome of the run
(`report.Outcome`) needs one `Kind` in `KINDS` and its entry in `KIND_OF_OUTCOME`.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import jinja2

from conformance.exchange import Exchange
from conformance.exits import UsageError
from conformance.fuzz_report import Finding, FuzzReport
from conformance.report import OTHER_COLUMN, Outcome, RunResult, ScenarioResult, column
from conformance.target import named_microversions
from placement_spec import Microversion
from placement_spec.microversion import describe, parse_or_none

if TYPE_CHECKING:  # the drift command imports this module: no import back at run time
    from conformance.drift.findings import Report as DriftReport
    from conformance.drift.findings import Verdict


@dataclass(frozen=True)
class Kind:
    """A kind of outcome: `key` names it in the page (CSS class `kind-<key>`), `mark` is
    what a cell shows (followed by the count when `counted`); results of a kind with a
    `section` are each listed in full under that heading."""

    key: str
    label: str
    mark: str
    colour: str
    section: str = ""
    counted: bool = True


FAILED = Kind("failed", "failed", "F", "#e5534b", section="Failures")
KNOWN = Kind("known", "known deviation", "K", "#e0a030", section="Known deviations")
NOT_REACHED = Kind("not-reached", "not reached: the front end refused it", "NR", "#a98fd0",
                  section="Not reached: refused by the deployment's front end")
COMPATIBLE = Kind("compatible", "compatible change", "C", "#8fb8e8", section="Compatible changes")
PASSED = Kind("passed", "passed", "ok", "#57ab5a", counted=False)
SKIPPED = Kind("skipped", "not run", "skip", "#d0d0d0", counted=False)

# Worst first: a cell shows the first of these among its results.
KINDS: tuple[Kind, ...] = (FAILED, KNOWN, NOT_REACHED, COMPATIBLE, PASSED, SKIPPED)

KIND_OF_OUTCOME: dict[Outcome, Kind] = {
    Outcome.FAILED: FAILED,
    Outcome.KNOWN_DEVIATION: KNOWN,
    Outcome.NOT_REACHED: NOT_REACHED,
    Outcome.PASSED: PASSED,
    Outcome.SKIPPED: SKIPPED,
}

# The rows of what belongs to no feature or operation.
RUN_ROW = "(run)"


@dataclass(frozen=True)
class Detail:
    """A failure or a known deviation, where the matrix shows it (`row`, `column`): the
    rule it checks, what was wrong, the request and response, the commands that
    reproduce it and, for a known deviation, why it is known."""

    kind: Kind
    row: str
    column: str
    rule: str
    message: str
    exchange: Exchange | None = None
    reproduce: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Entry:
    """One result in the matrix: a test, an operation fuzzed at a microversion, a drift
    finding at a microversion."""

    row: str
    column: str
    kind: Kind


@dataclass(frozen=True)
class Cell:
    kind: Kind
    counts: tuple[tuple[Kind, int], ...]  # worst first
    detail: int | None  # the index of its first detail, to link to

    @property
    def text(self) -> str:
        count = dict(self.counts)[self.kind]
        return f"{self.kind.mark}{count}" if self.kind.counted else self.kind.mark

    @property
    def title(self) -> str:
        return ", ".join(f"{count} {kind.label}" for kind, count in self.counts)


@dataclass(frozen=True)
class HtmlReport:
    command: str
    rows_are: str  # "feature", "operation"
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell | None, ...]], ...]
    details: tuple[Detail, ...]
    parameters: tuple[tuple[str, str], ...]
    totals: tuple[tuple[Kind, int], ...]
    failed: bool

    def details_of(self, kind: Kind) -> list[tuple[int, Detail]]:
        return [(index, detail) for index, detail in enumerate(self.details)
                if detail.kind is kind]


def build(command: str, rows_are: str, entries: Iterable[Entry], details: Iterable[Detail],
          parameters: Iterable[tuple[str, str]], failed: bool) -> HtmlReport:
    """The matrix of `entries` (rows in the order first met, microversion columns oldest
    first, then the others), each cell linked to its first detail."""
    entries, details = list(entries), list(details)
    columns = _ordered_columns({entry.column for entry in entries})
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for entry in entries:
        counts[(entry.row, entry.column)][entry.kind] += 1
    first_detail: dict[tuple[str, str], int] = {}
    for index, detail in enumerate(details):
        first_detail.setdefault((detail.row, detail.column), index)
    rows = tuple(
        (row, tuple(_cell(counts.get((row, name)), first_detail.get((row, name)))
                    for name in columns))
        for row in dict.fromkeys(entry.row for entry in entries))
    totals = Counter(entry.kind for entry in entries)
    return HtmlReport(command, rows_are, columns, rows, tuple(details),
                      (*parameters, *_versions()),
                      tuple((kind, totals[kind]) for kind in KINDS if totals[kind]), failed)


def _cell(counts: Counter | None, detail: int | None) -> Cell | None:
    if not counts:
        return None
    ordered = tuple((kind, counts[kind]) for kind in KINDS if counts[kind])
    return Cell(ordered[0][0], ordered, detail)


def _ordered_columns(names: set[str]) -> tuple[str, ...]:
    versions = sorted(version for version in map(parse_or_none, names) if version is not None)
    others = sorted(name for name in names if parse_or_none(name) is None)
    return (*map(str, versions), *others)


def _versions() -> list[tuple[str, str]]:
    """The versions of the harness and of what it runs on, and when the page was made."""
    def version(distribution: str) -> str:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return [("placement-contract", version("placement-contract")),
            ("gabbi", version("gabbi")), ("schemathesis", version("schemathesis")),
            ("Python", platform.python_version()),
            ("report written", datetime.datetime.now(datetime.timezone.utc)
             .strftime("%Y-%m-%d %H:%M:%S UTC"))]


# --------------------------------------------------------------------------- run

def from_run(run: RunResult) -> HtmlReport:
    entries = [Entry(result.feature, column(result), KIND_OF_OUTCOME[result.outcome])
               for result in run.results]
    details = [_run_detail(result) for result in run.results
               if KIND_OF_OUTCOME[result.outcome].section]
    parameters = [("URL", run.url), ("served", f"{run.served[0]}-{run.served[1]}"),
                  ("microversions checked", describe(map(Microversion.parse, run.microversions))),
                  ("run id", run.run_id), ("duration", f"{run.seconds:.1f} s"),
                  ("data kept (--keep)", "yes" if run.kept else "no")]
    if run.interrupted:
        parameters.append(("interrupted", "the tests after these did not run"))
    return build("run", "feature", entries, details, parameters, run.failed or run.interrupted)


def _run_detail(result: ScenarioResult) -> Detail:
    kind = KIND_OF_OUTCOME[result.outcome]
    reason, message = "", result.message
    if result.outcome is Outcome.KNOWN_DEVIATION:
        reason, _, message = message.partition("\n")  # the runner puts the reason first
    return Detail(kind, result.feature, column(result), result.name, message,
                  result.exchange,
                  (result.exchange.curl(),) if result.exchange is not None else (), reason)


# -------------------------------------------------------------------------- fuzz

def from_fuzz(report: FuzzReport, url: str, max_examples: int, stateful: bool) -> HtmlReport:
    entries: list[Entry] = []
    details: list[Detail] = []
    for result in report.results:
        version = str(result.version)
        if result.skipped:
            entries.append(Entry(RUN_ROW, version, SKIPPED))
            continue
        by_operation: dict[str, list[Finding]] = defaultdict(list)
        for finding in result.findings:
            by_operation[finding.operation].append(finding)
        for operation in sorted(result.operations | set(by_operation)):
            kinds = {KNOWN if finding.known else FAILED for finding in by_operation[operation]}
            entries.append(Entry(operation, version, next(
                (kind for kind in KINDS if kind in kinds), PASSED)))
        details += [_fuzz_detail(finding) for finding in result.findings]
        refused = FAILED if result.refusal_failures() else NOT_REACHED
        for operation in sorted({operation for operation, _status in result.refused}):
            entries.append(Entry(operation, version, refused))
            details.append(Detail(refused, operation, version, "the request reached Placement",
                                  "\n".join(result.refusals(operation))))
        for error in result.errors:
            entries.append(Entry(RUN_ROW, version, FAILED))
            details.append(Detail(FAILED, RUN_ROW, version, "the fuzzer ran", error))
    if report.leftovers:
        entries.append(Entry(RUN_ROW, "cleanup", FAILED))
        details.append(Detail(FAILED, RUN_ROW, "cleanup", "conformance data removed",
                              "\n".join(report.leftovers)))
    parameters = [("URL", url),
                  ("microversions", describe(result.version for result in report.results)),
                  ("seed", str(report.seed)), ("examples per operation", str(max_examples)),
                  ("sequences (--stateful)", "yes" if stateful else "no"),
                  ("run id", report.run_id)]
    if report.interrupted:
        parameters.append(("interrupted", "the microversions after these were not fuzzed"))
    return build("fuzz", "operation", entries, details, parameters, not report.passed)


def _fuzz_detail(finding: Finding) -> Detail:
    return Detail(KNOWN if finding.known else FAILED, finding.operation, str(finding.version),
                  f"{finding.check}: {finding.title}", finding.message, finding.exchange,
                  finding.reproduce, finding.known)


# ------------------------------------------------------------------------- drift

def from_drift(report: DriftReport, check: str, parameters: Iterable[tuple[str, str]]
               ) -> HtmlReport:
    """`check` is the drift command (`api-ref`, `spec`, `live`); a finding is drawn at
    each microversion where it holds."""
    entries: list[Entry] = []
    details: list[Detail] = []
    for verdict in report.verdicts:
        kind = _drift_kind(verdict)
        finding = verdict.finding
        columns = _drift_columns(finding.versions)
        entries += [Entry(finding.operation, name, kind) for name in columns]
        details.append(Detail(kind, finding.operation, columns[0],
                              f"{finding.kind.value} {finding.subject} [{finding.versions}]",
                              finding.detail, reason=verdict.allowed_because or ""))
    unused = [f"{a.operation} | {a.kind.value} | {a.subject}" for a in report.unused]
    return build(f"drift {check}", "operation", entries, details,
                 [*parameters, *([("unused allow-list entries", "; ".join(unused))]
                                 if unused else [])], report.failed)


def _drift_kind(verdict: Verdict) -> Kind:
    # Imported here: the drift package imports this module when it loads.
    from conformance.drift.findings import Kind as DriftKind

    if verdict.allowed_because is not None:
        return KNOWN
    if verdict.finding.kind is DriftKind.NOT_REACHED and not verdict.finding.breaking:
        return NOT_REACHED
    return FAILED if verdict.finding.breaking else COMPATIBLE


def _drift_columns(versions: str) -> list[str]:
    """The microversions a finding's "1.0-1.11, 1.28" names, or the text itself when it
    names none of the spec's."""
    try:
        named = named_microversions(versions)
    except UsageError:
        named = []
    return [str(version) for version in named] or [versions or OTHER_COLUMN]


# ------------------------------------------------------------------------ output

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("conformance", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(report: HtmlReport) -> str:
    return _ENVIRONMENT.get_template("report.html.j2").render(
        report=report, kinds=KINDS, failed=FAILED, passed=PASSED)


def write_html(report: HtmlReport, path: Path) -> None:
    try:
        path.write_text(render(report), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error
