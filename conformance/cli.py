"""`placement-conformance`: check a Placement deployment against the allocations contract.

    placement-conformance run   --url URL ...   the gabbi scenarios, per microversion
    placement-conformance fuzz  --url URL ...   schemathesis on the spec, per microversion
    placement-conformance drift ...             the spec against the api-ref, a spec, a server

Each command lives in its own module, which adds its parser with `register`. Exit codes
are shared (`conformance.exits`): 0 when everything required passed, 1 when something
failed (or the command was stopped by Ctrl-C or SIGTERM, after removing what it made), 2
on a usage or connection error (with a one-line reason, not a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from typing import Iterator

from conformance.exits import EXIT_FAILED, EXIT_USAGE, UsageError

# The modules that provide commands; each has `register(subcommands)`, whose parser sets
# `handler(arguments) -> exit code` as its default.
COMMAND_MODULES = ("conformance.run", "conformance.fuzz", "conformance.drift")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="placement-conformance",
                                     description=__doc__.split("\n")[0])
    subcommands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        module.register(subcommands)
    arguments = parser.parse_args(argv)
    try:
        with _sigterm_as_ctrl_c():
            return arguments.handler(arguments)
    except UsageError as error:
        print(f"placement-conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("placement-conformance: interrupted", file=sys.stderr)
        return EXIT_FAILED


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, a stopped container) ends a command as Ctrl-C does, so
    that the data it made is removed rather than left on the deployment."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
