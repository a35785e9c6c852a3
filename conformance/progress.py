"""How far a long command has got: a live display on a terminal, the log lines otherwise.

On a terminal (stderr is one), `run`, `fuzz` and `drift live` show rich's progress bars
on stderr: what is done of how many (tests, or operations of the microversion in
progress and microversions), the responses and failures so far and the elapsed time,
redrawn in place. Anywhere else (a CI log, a pipe) nothing is redrawn: `run` prints its
line per test and `fuzz` its verdict per microversion, as they always have, and the
display prints nothing at all.

A command opens the display with `shown()` and hands its own tracker (`RunProgress`,
`MicroversionProgress`) to the code that does the work; a tracker without a display
does nothing but the log lines.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from conformance.report import Outcome, ScenarioResult, progress_line


@contextlib.contextmanager
def shown(console: Console | None = None) -> Iterator[Progress | None]:
    """A live display on `console` (stderr by default) while the block runs, or None
    when it is not a terminal."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    display = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[responses]} responses"),
        TextColumn("{task.fields[failures]} failures"), TimeElapsedColumn(),
        console=console,
        # Results printed while the display is up go above it, not through it.
        redirect_stdout=True, redirect_stderr=True)
    with display:
        yield display


@dataclass
class RunProgress:
    """`placement-conformance run`'s tracker, called as each test ends (RunOptions.progress).

    With a display: one bar of tests, and each failure's line above it. Without: the
    line per test."""

    display: Progress | None
    responses: int = 0
    failures: int = 0
    task: TaskID | None = None

    def __call__(self, result: ScenarioResult, position: int, total: int) -> None:
        line = progress_line(result, position, total)
        if self.display is None:
            print(line, file=sys.stderr, flush=True)
            return
        # A test that ran got the response to its own request (the steps it builds on
        # are not reported, nor counted); a skipped one sent nothing.
        self.responses += result.outcome is not Outcome.SKIPPED
        self.failures += result.outcome is Outcome.FAILED
        if result.outcome is Outcome.FAILED:
            self.display.console.print(line, markup=False, highlight=False)
        if self.task is None:
            self.task = self.display.add_task("tests", total=total, responses=0, failures=0)
        self.display.update(self.task, completed=position, responses=self.responses,
                            failures=self.failures, description=f"tests ({result.feature})")


@dataclass
class MicroversionProgress:
    """The tracker of a command that goes microversion by microversion (`fuzz`,
    `drift live`): a bar of the microversions, with the run's responses and failures so
    far, and one of the microversion in progress: its operations done in the current
    phase (the fuzzer's examples, coverage, fuzzing; a phase of sequences has no count
    known in advance), with its own responses and failures."""

    display: Progress | None
    microversions: int  # how many the command goes through
    responses: int = 0  # in the whole run
    failures: int = 0  # in the microversions finished
    _overall: TaskID | None = None
    _current: TaskID | None = None
    _label: str = ""
    _version_responses: int = 0
    _version_failures: int = 0
    _done: set[str] = field(default_factory=set)

    def started(self, version: object) -> None:
        if self.display is None:
            return
        if self._overall is None:
            self._overall = self.display.add_task("microversions", total=self.microversions,
                                                  responses=0, failures=0)
        self._label = f"placement {version}"
        self._version_responses = self._version_failures = 0
        self._current = self.display.add_task(self._label, total=None, responses=0, failures=0)

    def phase(self, name: str, operations: int | None) -> None:
        """A new pass over the operations begins: `operations` of them, or an unknown
        number (None)."""
        if self._current is None:  # no display
            return
        self._done.clear()
        # (reset replaces all of a task's fields)
        self.display.reset(self._current, total=operations, description=f"{self._label} {name}",
                           responses=self._version_responses, failures=self._version_failures)

    def answered(self, operation: str, responses: int, failures: int) -> None:
        """A scenario of `operation` finished with `responses` more answers; `failures`
        is how many the microversion in progress has found so far."""
        if self._current is None:
            return
        self._done.add(operation)
        self.responses += responses
        self._version_responses += responses
        self._version_failures = failures
        self.display.update(self._current, completed=len(self._done),
                            responses=self._version_responses, failures=failures)
        self.display.update(self._overall, responses=self.responses,
                            failures=self.failures + failures)

    def finished(self, failures: int) -> None:
        """The microversion in progress is done, with `failures` failures."""
        if self._current is None:
            return
        self.failures += failures
        self.display.remove_task(self._current)
        self._current = None
        self.display.update(self._overall, advance=1, responses=self.responses,
                            failures=self.failures)
