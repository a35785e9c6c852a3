"""What fuzzing found, and the ways it is shown: a block per failure with the curl
commands that reproduce it, a line per microversion, and a JUnit report for CI."""

from __future__ import annotations

import collections
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from conformance.exchange import Exchange
from conformance.front_end import Policy, Refusal
from placement_spec import Microversion


@dataclass(frozen=True)
class Finding:
    """One way the deployment broke a check, with what reproduces it."""

    version: Microversion
    check: str
    operation: str
    title: str
    message: str
    reproduce: tuple[str, ...]  # curl commands, oldest first
    # Why the deployment is known to fail so (its known-deviations entry), if it is.
    known: str = ""
    # The request that broke the check and the response it got, when there was one.
    exchange: Exchange | None = None

    def report(self, seed: int) -> str:
        steps = "\n".join(f"    {command}" for command in self.reproduce)
        message = "\n".join(f"  {line}" for line in self.message.strip().splitlines())
        verdict = f"KNOWN ({self.known})" if self.known else "FAILED"
        return (f"{verdict} placement {self.version} {self.operation} [{self.check}] "
                f"{self.title}\n{message}\n  reproduce (seed {seed}):\n{steps}")


@dataclass
class VersionResult:
    """What fuzzing one microversion found, and which answers it got."""

    version: Microversion
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # (phase, operation, status) -> how many responses
    answers: collections.Counter = field(default_factory=collections.Counter)
    operations: set[str] = field(default_factory=set)
    skipped: str = ""
    # (operation, status) -> how many requests the deployment's front end refused
    # (`conformance.front_end`), and what that means for the run.
    refused: collections.Counter = field(default_factory=collections.Counter)
    front_end_refusals: Policy = Policy.REPORT

    @property
    def failures(self) -> list[Finding]:
        """The findings that fail the run: all but the known deviations."""
        return [finding for finding in self.findings if not finding.known]

    @property
    def failed(self) -> bool:
        return bool(self.failures or self.errors or self.refusal_failures())

    def refusals(self, operation: str | None = None) -> list[str]:
        """A line per operation and status the front end refused (of `operation` only,
        if given), as the run judges it: FAILED or NOT REACHED."""
        label = "FAILED" if self.front_end_refusals is Policy.FAIL else "NOT REACHED"
        return [f"{label} placement {self.version} {refused_operation} x{count}: "
                f"{Refusal(status).verdict(self.front_end_refusals)}"
                for (refused_operation, status), count in sorted(self.refused.items())
                if operation in (None, refused_operation)]

    def refusal_failures(self, operation: str | None = None) -> list[str]:
        """The lines of `refusals` that fail the run: all of them, or none."""
        return self.refusals(operation) if self.front_end_refusals is Policy.FAIL else []

    def answered(self, operation: str, status: int, phase: str | None = None) -> bool:
        """Whether `operation` got `status` at least once (in `phase`, if given)."""
        return any(count for (seen_phase, seen, code), count in self.answers.items()
                   if seen == operation and code == status and phase in (None, seen_phase))


@dataclass
class FuzzReport:
    """A whole run: every microversion's result, and what cleanup could not delete."""

    seed: int
    run_id: str
    results: list[VersionResult]
    leftovers: list[str] = field(default_factory=list)
    # Stopped by Ctrl-C or SIGTERM: the microversions after `results` were not fuzzed.
    interrupted: bool = False

    @property
    def passed(self) -> bool:
        return not (self.interrupted or self.leftovers or any(r.failed for r in self.results))


def print_result(result: VersionResult, seed: int, out: TextIO) -> None:
    if result.skipped:
        print(f"SKIPPED placement {result.version}: {result.skipped}", file=out)
        return
    for finding in result.findings:
        print(finding.report(seed), file=out)
    for error in result.errors:
        print(f"ERROR placement {result.version}: {error}", file=out)
    for line in result.refusals():
        print(line, file=out)
    verdict = "FAILED" if result.failed else "passed"
    known = len(result.findings) - len(result.failures)
    print(f"placement {result.version}: {verdict}, {sum(result.answers.values())} responses, "
          f"{len(result.failures)} failures, {known} known deviations, "
          f"{sum(result.refused.values())} refused by the front end", file=out)


def write_junit(report: FuzzReport, path: Path) -> None:
    """One test suite per microversion, one test case per operation."""
    suites = ElementTree.Element("testsuites", name="placement-conformance fuzz")
    for result in report.results:
        suite = ElementTree.SubElement(suites, "testsuite", name=f"placement {result.version}")
        if result.skipped:
            case = ElementTree.SubElement(suite, "testcase", name="all operations")
            ElementTree.SubElement(case, "skipped", message=result.skipped)
        failed: dict[str, list[Finding]] = collections.defaultdict(list)
        known: dict[str, list[Finding]] = collections.defaultdict(list)
        for finding in result.findings:
            (known if finding.known else failed)[finding.operation].append(finding)
        for operation in sorted(result.operations | set(failed) | set(known)):
            case = ElementTree.SubElement(suite, "testcase", name=operation,
                                          classname=f"placement {result.version}")
            for finding in failed[operation]:
                failure = ElementTree.SubElement(case, "failure",
                                                 message=f"[{finding.check}] {finding.title}")
                failure.text = finding.report(report.seed)
            for line in result.refusal_failures(operation):
                ElementTree.SubElement(case, "failure", message=line)
            if known[operation] and not failed[operation]:
                skipped = ElementTree.SubElement(case, "skipped", message="known deviation")
                skipped.text = "\n\n".join(f.report(report.seed) for f in known[operation])
        for error in result.errors:
            case = ElementTree.SubElement(suite, "testcase", name="run")
            ElementTree.SubElement(case, "error", message=error)
        suite.set("tests", str(len(suite)))
        suite.set("failures", str(len(suite.findall("testcase/failure"))))
        suite.set("errors", str(len(result.errors)))
    if report.interrupted:
        _failed_suite(suites, "run", "every chosen microversion fuzzed", "interrupted",
                      "stopped by Ctrl-C or SIGTERM: the microversions after these were "
                      "not fuzzed")
    if report.leftovers:
        _failed_suite(suites, "cleanup", "conformance data removed", "left behind",
                      "\n".join(report.leftovers))
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _failed_suite(suites: ElementTree.Element, name: str, case_name: str, message: str,
                  text: str) -> None:
    """A suite of one failed test case, for what went wrong with the run as a whole."""
    suite = ElementTree.SubElement(suites, "testsuite", name=name, tests="1", failures="1")
    case = ElementTree.SubElement(suite, "testcase", name=case_name)
    failure = ElementTree.SubElement(case, "failure", message=message)
    failure.text = text
