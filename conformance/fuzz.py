"""`placement-conformance fuzz`: schemathesis against a Placement deployment, per microversion.

    placement-conformance fuzz --url URL [--microversions 1.12,1.28] [--max-examples N]
                               [--seed S] [--stateful] [--known-deviations FILE]
                               [--junit FILE] [--html FILE]

For each chosen microversion the spec is projected to that version (`placement_spec`) and
handed to schemathesis, which generates requests from it, valid and invalid, sends them
with `OpenStack-API-Version: placement X.Y` and the token, and checks every response with
its own checks and with Placement's (`conformance.fuzz_checks`, `conformance.checks`).
`--stateful` adds sequences that follow the spec's links: create a provider, set its
inventory, claim inventory with `PUT /allocations/{consumer_uuid}`, read the claim, put it
again, delete it.

Everything the run creates is conformance data of this run, so that it can share a
deployment with real users and with other runs:

- providers are named `conformance-<run id>-...`, custom resource classes
  `CUSTOM_CONFORMANCE_<RUN ID>_...`, projects and users `conformance-<run id>-...`,
  whatever the generator drew, and writes reach nothing else (the rules of
  `conformance.fuzz_safety` rewrite each request before it is sent);
- two fixture providers with generous inventory of three classes of the run give
  generated allocations somewhere to land (`conformance.fuzz_data`);
- all of it is deleted at the end, also when a check fails or the run is stopped by
  Ctrl-C or SIGTERM, and what could not be is reported.

Each failure is printed with the microversion, the check, curl commands that reproduce it
(`$PLACEMENT_TOKEN` stands for the token) and the seed that regenerates the run. A failure
that the known-deviations file lists (a check on an operation, `conformance.deviations`)
is printed as KNOWN, with its reason, and does not fail the run.

`conformance.fuzz_tests` runs the same through pytest, a test per operation and
microversion.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.exits import EXIT_FAILED, EXIT_PASSED
from conformance.fuzz_checks import known_deviations
from conformance.fuzz_engine import FuzzOptions, fuzz
from conformance.fuzz_report import write_junit
from conformance.html_report import from_fuzz, write_html
from conformance.options import add_fuzz_options, add_target_options
from conformance.progress import MicroversionProgress, shown
from conformance.target import chosen_microversions, connect


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "fuzz", help="schemathesis on the spec, per microversion",
        description="Generate requests from the spec with schemathesis, at each chosen "
                    "microversion, and check every answer; the data the run creates is "
                    "named as conformance data and removed at the end.")
    add_target_options(parser.add_argument)
    add_fuzz_options(parser.add_argument)
    parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="write an HTML report to open in a browser")
    parser.set_defaults(handler=command)


def command(arguments: argparse.Namespace) -> int:
    deviations = known_deviations(arguments.known_deviations)  # a typo before any request
    target = connect(arguments)
    versions = chosen_microversions(arguments.microversions, target)
    options = FuzzOptions(max_examples=arguments.max_examples, seed=arguments.seed,
                          stateful=arguments.stateful, deviations=deviations)
    with shown() as display:
        report = fuzz(target, versions, options,
                      progress=MicroversionProgress(display, len(versions)))
    if arguments.junit:
        write_junit(report, arguments.junit)
    if arguments.html:
        write_html(from_fuzz(report, target.url, options.max_examples, options.stateful),
                   arguments.html)
    if report.interrupted:
        raise KeyboardInterrupt  # the command line's way out: "interrupted", exit 1
    return EXIT_PASSED if report.passed else EXIT_FAILED

