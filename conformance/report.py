"""What a conformance run found, and the ways it is shown.

The runner records one `ScenarioResult` per gabbi test; a `RunResult` holds them all. From
it come the progress line printed as each test ends, the summary table (feature ×
microversion) printed at the end, and the JUnit and JSON reports that CI keeps.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from conformance.exchange import Exchange
from conformance.naming import run_class_prefix, run_provider_prefix
from placement_spec import Microversion, supported
from placement_spec.microversion import describe, parse_or_none

# The summary's column for tests that name no microversion of the spec: no header,
# "latest", or a version sent to be refused.
OTHER_COLUMN = "other"


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Failed, but listed in the known-deviations file: does not fail the run.
    KNOWN_DEVIATION = "known deviation"
    # The deployment's front end refused the request (conformance.front_end): Placement
    # never saw it, and the run does not fail for it.
    NOT_REACHED = "not reached"


@dataclass(frozen=True)
class ScenarioResult:
    """One gabbi test: its feature (file stem), its name, the microversion its request
    names ("X.Y", "latest", None without a header), and what became of it; for a failure
    (or known deviation), the request it sent and the response it got, if it got one."""

    feature: str
    name: str
    microversion: str | None
    outcome: Outcome
    message: str = ""
    seconds: float = 0.0
    exchange: Exchange | None = None


@dataclass(frozen=True)
class RunResult:
    run_id: str
    url: str
    served: tuple[str, str]
    microversions: tuple[str, ...]
    results: tuple[ScenarioResult, ...]
    seconds: float
    consumers: tuple[str, ...]
    kept: bool
    # Stopped by a signal: the tests after these did not run.
    interrupted: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(result.outcome is outcome for result in self.results)

    @property
    def failed(self) -> bool:
        return self.count(Outcome.FAILED) > 0


# Short enough to line up in a progress line.
_LABELS = {Outcome.PASSED: "ok", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "skip",
           Outcome.KNOWN_DEVIATION: "known", Outcome.NOT_REACHED: "n/r"}


def progress_line(result: ScenarioResult, position: int, total: int) -> str:
    """One line per finished test, for CI logs: `[ 12/226] ok    capacity 1.23  name`."""
    width = len(str(total))
    return (f"[{position:>{width}}/{total}] {_LABELS[result.outcome]:<5} {result.feature} "
            f"{result.microversion or '-'}  {result.name}")


def summary(run: RunResult) -> str:
    """The table (a row per feature, a column per microversion), the totals, then each
    failure and known deviation with its message's first line."""
    lines = [
        f"placement-conformance run {run.run_id} against {run.url} "
        f"(serves {run.served[0]}-{run.served[1]}; "
        f"checked {describe(map(Microversion.parse, run.microversions))})",
        "",
        *_table(run.results),
        "",
        "cells: ok = passed, F<n> = n failed, N<n> = n not reached (refused by the "
        "front end), K<n> = n known deviations, skip = not run; "
        f"'{OTHER_COLUMN}' = no header, 'latest' or an invalid version",
        f"{len(run.results)} tests: {run.count(Outcome.PASSED)} passed, "
        f"{run.count(Outcome.FAILED)} failed, {run.count(Outcome.SKIPPED)} skipped, "
        f"{run.count(Outcome.KNOWN_DEVIATION)} known deviations, "
        f"{run.count(Outcome.NOT_REACHED)} not reached in {run.seconds:.1f} s",
    ]
    for outcome, label in ((Outcome.FAILED, "FAILED"), (Outcome.NOT_REACHED, "NOT REACHED"),
                           (Outcome.KNOWN_DEVIATION, "KNOWN")):
        lines += [f"{label} {result.feature} [{result.microversion or '-'}] {result.name}: "
                  f"{_first_line(result.message)}"
                  for result in run.results if result.outcome is outcome]
    if run.interrupted:
        lines.append("interrupted: the tests after these did not run")
    if run.kept:
        lines.append(f"data kept (--keep): providers named {run_provider_prefix(run.run_id)}*, "
                     f"resource classes {run_class_prefix(run.run_id)}*, "
                     f"consumers {' '.join(run.consumers)}")
    return "\n".join(lines)


def _table(results: tuple[ScenarioResult, ...]) -> list[str]:
    columns = _columns(results)
    rows = [["feature", *columns]]
    for feature in dict.fromkeys(result.feature for result in results):
        mine = [result for result in results if result.feature == feature]
        rows.append([feature, *(_cell([result for result in mine if column(result) == name])
                                for name in columns)])
    return _aligned(rows)


def _aligned(rows: list[list[str]]) -> list[str]:
    """The first column to the left, the others to the right, each as wide as its widest
    cell and at least 4."""
    widths = [max(4, *(len(row[index]) for row in rows)) for index in range(len(rows[0]))]
    return ["  ".join([row[0].ljust(widths[0]),
                       *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:]))]).rstrip()
            for row in rows]


def _columns(results: tuple[ScenarioResult, ...]) -> list[str]:
    """The spec microversions the tests name, oldest first, then the "other" column."""
    used = {column(result) for result in results}
    return [str(version) for version in supported() if str(version) in used] + (
        [OTHER_COLUMN] if OTHER_COLUMN in used else [])


def column(result: ScenarioResult) -> str:
    """The result's column in a feature × microversion table: its microversion, or
    OTHER_COLUMN when it names none of the spec's."""
    version = parse_or_none(result.microversion)
    return str(version) if version in supported() else OTHER_COLUMN


def _cell(results: list[ScenarioResult]) -> str:
    """The worst news of a feature at a microversion: failures, then tests not reached,
    then known deviations."""
    counts = Counter(result.outcome for result in results)
    if counts[Outcome.FAILED]:
        return f"F{counts[Outcome.FAILED]}"
    if counts[Outcome.NOT_REACHED]:
        return f"N{counts[Outcome.NOT_REACHED]}"
    if counts[Outcome.KNOWN_DEVIATION]:
        return f"K{counts[Outcome.KNOWN_DEVIATION]}"
    if counts[Outcome.PASSED]:
        return "ok"
    return "skip" if results else ""


def _first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def write_json(run: RunResult, path: Path) -> None:
    """The whole run, each test with its full message, plus the counts by outcome."""
    document = dataclasses.asdict(run)
    document["counts"] = {outcome.value: run.count(outcome) for outcome in Outcome}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def write_junit(run: RunResult, path: Path) -> None:
    """A JUnit XML file: a testsuite per feature, a testcase per test, the microversion
    as a property. A known deviation, and a test the front end did not let reach
    Placement, is a skipped test with its reason, so that CI tools show it without
    failing the build."""
    root = ElementTree.Element("testsuites", name="placement-conformance",
                               tests=str(len(run.results)),
                               failures=str(run.count(Outcome.FAILED)),
                               time=f"{run.seconds:.3f}")
    for feature in dict.fromkeys(result.feature for result in run.results):
        results = [result for result in run.results if result.feature == feature]
        suite = ElementTree.SubElement(
            root, "testsuite", name=feature, tests=str(len(results)), errors="0",
            failures=str(sum(result.outcome is Outcome.FAILED for result in results)),
            skipped=str(sum(result.outcome in (Outcome.SKIPPED, Outcome.KNOWN_DEVIATION,
                                               Outcome.NOT_REACHED)
                            for result in results)),
            time=f"{sum(result.seconds for result in results):.3f}")
        for result in results:
            _junit_case(suite, result)
    ElementTree.indent(root)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _junit_case(suite: ElementTree.Element, result: ScenarioResult) -> None:
    case = ElementTree.SubElement(suite, "testcase", classname=result.feature,
                                  name=result.name, time=f"{result.seconds:.3f}")
    properties = ElementTree.SubElement(case, "properties")
    ElementTree.SubElement(properties, "property", name="microversion",
                           value=result.microversion or "")
    if result.outcome is Outcome.FAILED:
        failure = ElementTree.SubElement(case, "failure", message=_first_line(result.message))
        failure.text = result.message
    elif result.outcome is Outcome.SKIPPED:
        ElementTree.SubElement(case, "skipped", message=result.message)
    elif result.outcome is Outcome.NOT_REACHED:
        skipped = ElementTree.SubElement(case, "skipped", message=_first_line(result.message))
        skipped.text = result.message
    elif result.outcome is Outcome.KNOWN_DEVIATION:
        skipped = ElementTree.SubElement(case, "skipped",
                                         message=f"known deviation: {_first_line(result.message)}")
        skipped.text = result.message
