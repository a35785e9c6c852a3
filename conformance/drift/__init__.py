"""`placement-conformance drift`: keep the spec, the api-ref and deployments in step.

    drift api-ref DIR [--spec FILE] [--allow FILE] [--json] [--html FILE]
        the api-ref source in DIR against the spec: operations, parameters, status
        codes and samples documented on one side only or differently
    drift spec OLD NEW [--allow FILE] [--json] [--html FILE]
        every change from one spec file to another, breaking for clients or not
    drift live [--url URL] [--token T] [--microversions ...] [--json] [--html FILE]
        a short walk through a deployment, at each microversion it serves, reporting
        every answer the spec does not describe

Exit status: 0 clean (or only allow-listed or compatible differences), 1 drift or a
breaking change, 2 a usage error. The allow-list (default: drift-allowlist.yaml beside
this package) names intended differences, each with its reason.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from placement_spec import SPEC_PATH
from placement_spec.microversion import describe

from conformance.exits import EXIT_FAILED, EXIT_PASSED, UsageError
from conformance.drift.apiref import ApiRefError, read_api_ref
from conformance.drift.compare import compare
from conformance.drift.findings import (
    AllowListError,
    Allowance,
    Report,
    as_json,
    as_table,
    judge,
    read_allow_list,
)
from conformance.drift.live import check
from conformance.drift.specdiff import diff
from conformance.drift.surface import Spec, read_spec
from conformance.html_report import from_drift, write_html
from conformance.options import add_target_options
from conformance.progress import MicroversionProgress, shown
from conformance.target import chosen_microversions, connect

DEFAULT_ALLOW_LIST = Path(__file__).resolve().parent.parent / "drift-allowlist.yaml"


def register(subcommands: argparse._SubParsersAction) -> None:
    drift = subcommands.add_parser(
        "drift", help="compare the spec with the api-ref, another spec, or a deployment",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    checks = drift.add_subparsers(dest="drift_check", required=True)

    api_ref = checks.add_parser("api-ref", help="the api-ref source against the spec")
    api_ref.add_argument("directory", type=Path, help="the api-ref source folder")
    api_ref.add_argument("--spec", type=Path, default=SPEC_PATH,
                         help="the spec (default: the bundled openapi.yaml)")
    _add_output_options(api_ref)
    api_ref.set_defaults(handler=check_api_ref)

    spec = checks.add_parser("spec", help="breaking changes from one spec to another")
    spec.add_argument("old", type=Path, help="the spec clients were written against")
    spec.add_argument("new", type=Path, help="the changed spec")
    _add_output_options(spec)
    spec.set_defaults(handler=check_spec)

    live = checks.add_parser("live", help="a deployment's answers against the spec")
    add_target_options(live.add_argument)
    _add_report_options(live)
    live.set_defaults(handler=check_live)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow", type=Path, default=DEFAULT_ALLOW_LIST,
                        help="the allow-list of intended differences (default: %(default)s)")
    _add_report_options(parser)


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write an HTML report to open in a browser")


def check_api_ref(arguments: argparse.Namespace) -> int:
    if not arguments.directory.is_dir():
        raise UsageError(f"{arguments.directory} is not a folder")
    try:
        api_ref = read_api_ref(arguments.directory)
    except ApiRefError as error:
        raise UsageError(str(error)) from error
    findings = compare(api_ref, _spec(arguments.spec))
    return _finish(judge(findings, _allowances(arguments.allow, "api-ref")), arguments,
                   "DRIFT", [("api-ref", str(arguments.directory)),
                             ("spec", str(arguments.spec)), ("allow-list", str(arguments.allow))])


def check_spec(arguments: argparse.Namespace) -> int:
    findings = diff(_spec(arguments.old), _spec(arguments.new))
    return _finish(judge(findings, _allowances(arguments.allow, "spec")), arguments,
                   "BREAKING", [("old spec", str(arguments.old)), ("new spec", str(arguments.new)),
                                ("allow-list", str(arguments.allow))])


def check_live(arguments: argparse.Namespace) -> int:
    target = connect(arguments)
    versions = chosen_microversions(arguments.microversions, target)
    served = [version for version in versions if target.serves(version)]
    skipped = [str(version) for version in versions if not target.serves(version)]
    if skipped and not arguments.json:
        print(f"not advertised by {target.url}, skipped: {', '.join(skipped)}")
    with shown() as display:
        findings = check(target, served, MicroversionProgress(display, len(served)))
    return _finish(judge(findings, []), arguments, "MISMATCH",
                   [("URL", target.url), ("microversions", describe(served)),
                    *([("not advertised, skipped", ", ".join(skipped))] if skipped else [])])


def _spec(path: Path) -> Spec:
    try:
        return read_spec(path)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read the spec {path}: {error}") from error


def _allowances(path: Path, section: str) -> list[Allowance]:
    try:
        return read_allow_list(path, section)
    except AllowListError as error:
        raise UsageError(str(error)) from error


def _finish(report: Report, arguments: argparse.Namespace, failing_label: str,
            parameters: list[tuple[str, str]]) -> int:
    """Print the report (a table, or JSON), write its HTML if asked, and exit so."""
    if arguments.json:
        print(as_json(report))
    else:
        print(as_table(report, failing_label=failing_label))
    if arguments.html:
        write_html(from_drift(report, arguments.drift_check, parameters), arguments.html)
    return EXIT_FAILED if report.failed else EXIT_PASSED
