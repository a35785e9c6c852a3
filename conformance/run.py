"""`placement-conformance run`: the gabbi scenarios in gabbits/ against a deployment.

    placement-conformance run --url URL [--token T] [--microversions 1.0-1.39]
        [--only F,F] [--exclude F,F] [--known-deviations FILE] [--junit FILE] [--json FILE]
        [--html FILE] [--keep]
    placement-conformance run --only policy --as-role ROLE [--role-token T --role-project P]

The command line of `conformance.runner`: it reads the options, runs the suite showing
its progress on stderr (a live display on a terminal, a line per test otherwise:
`conformance.progress`), writes the reports and prints the summary. Ctrl-C or
SIGTERM stops the run after the test in progress, so that its data is removed and its
reports written (a second signal stops it at once, still removing the data); `--keep`
leaves the data in place for debugging.

`conformance.run_tests` runs the same through pytest, a test per scenario step.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from pathlib import Path
from typing import Callable, Iterator

from conformance.deviations import KnownDeviations, load
from conformance.exits import EXIT_FAILED, EXIT_PASSED, UsageError
from conformance.features import feature_names, opt_in_names
from conformance.html_report import from_run, write_html
from conformance.options import add_run_options, add_target_options
from conformance.progress import RunProgress, shown
from conformance.report import RunResult, summary, write_json, write_junit
from conformance.roles import POLICY_FEATURE, ROLES, RoleChoice
from conformance.runner import Deployment, RunOptions, run_suite
from conformance.target import chosen_microversions, connect


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "run", help="run the gabbi scenarios against a deployment",
        description="Run the gabbi scenarios against a Placement deployment; exit 0 when "
                    "all passed, 1 when one failed, 2 on a usage or connection error.")
    add_target_options(parser.add_argument)
    parser.add_argument("--only", type=_names, default=frozenset(), metavar="FEATURE,...",
                        help=f"run only these features ({', '.join(feature_names())}; "
                             f"and {', '.join(opt_in_names())}, which run only when named)")
    parser.add_argument("--exclude", type=_names, default=frozenset(), metavar="FEATURE,...",
                        help="leave these features out")
    add_run_options(parser.add_argument)
    parser.add_argument("--as-role", choices=ROLES, metavar="ROLE",
                        help=f"the role the {POLICY_FEATURE} feature calls as, expecting "
                             f"upstream's secure default policies ({', '.join(ROLES)})")
    parser.add_argument("--role-token", metavar="TOKEN",
                        help="that role's token (default: noauth2's token and X-Roles)")
    parser.add_argument("--role-project", metavar="PROJECT",
                        help="the project --role-token is scoped to")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="write an HTML report to open in a browser")
    parser.add_argument("--keep", action="store_true",
                        help="leave the data the run made in place, for debugging")
    parser.set_defaults(handler=run_command)


def _role(arguments: argparse.Namespace) -> RoleChoice | None:
    if arguments.as_role is None:
        if arguments.role_token or arguments.role_project:
            raise UsageError("--role-token and --role-project need --as-role")
        return None
    return RoleChoice(arguments.as_role, arguments.role_token, arguments.role_project)


def _names(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def run_command(arguments: argparse.Namespace) -> int:
    deviations = KnownDeviations()
    if arguments.known_deviations:
        deviations = load(arguments.known_deviations)
    target = connect(arguments)
    microversions = tuple(chosen_microversions(arguments.microversions, target))
    with shown() as display:
        options = RunOptions(
            microversions=microversions, only=arguments.only, exclude=arguments.exclude,
            deviations=deviations, keep=arguments.keep, progress=RunProgress(display),
            role=_role(arguments),
        )
        with _stopped_by_signals(options.stop):
            run = run_suite(Deployment(target), options)
    if arguments.junit:
        _write_report(write_junit, run, arguments.junit)
    if arguments.json:
        _write_report(write_json, run, arguments.json)
    if arguments.html:
        write_html(from_run(run), arguments.html)
    print(summary(run))
    if run.interrupted:
        raise KeyboardInterrupt  # the command line's way out: "interrupted", exit 1
    return EXIT_FAILED if run.failed else EXIT_PASSED


def _write_report(write: Callable[[RunResult, Path], None], run: RunResult, path: Path) -> None:
    try:
        write(run, path)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM: stop after the test in progress, so that the run's data is
    removed and its reports written; a second one stops at once, still removing the data.

    The handler only sets `stop`: an exception raised in a handler may land in a
    finalizer (gabbi leaves an HTTP client per test to the garbage collector), which
    would swallow it.
    """

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
