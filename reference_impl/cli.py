"""`placement-ref`: run the reference server.

    placement-ref serve [--host H] [--port P] [--db-url URL] [--workers N] [--token T]
                        [--policy legacy|secure] [--policy-file FILE] [--cors-origin ORIGIN]
                        [--max-microversion X.Y]
                        [--control [--journal-size N] [--faults-file FILE]]

With no options it serves on http://127.0.0.1:8778 from a SQLite file it creates on the
first start, which is all a client developer needs on a laptop or in CI.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

import uvicorn

from placement_spec import MAXIMUM, MINIMUM, MalformedVersion, Microversion
from reference_impl import quiet_connexion
from reference_impl.config import Settings, in_memory
from reference_impl.policy import MODES

DEFAULT_PORT = 8778  # Placement's registered port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="placement-ref", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Placement API")
    # The environment (PLACEMENT_REF_DB_URL...) sets the defaults; options override it.
    defaults = Settings.from_environment()
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help="0 picks a free port (default: %(default)s)")
    serve.add_argument("--db-url", default=defaults.db_url,
                       help="SQLAlchemy URL: sqlite:///FILE, sqlite:// (in memory, one "
                            "worker), postgresql+psycopg://..., mysql+pymysql://... "
                            "(default: %(default)s)")
    serve.add_argument("--workers", type=_at_least_one, default=1,
                       help="worker processes (default: %(default)s)")
    serve.add_argument("--token", default=defaults.admin_token,
                       help="the admin token, allowed everything (default: %(default)s)")
    serve.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                       help="larger request bodies get 413 (default: %(default)s)")
    serve.add_argument("--validate-responses", action="store_true",
                       default=defaults.validate_responses,
                       help="check every response against the spec (slower; for testing)")
    serve.add_argument("--strict", action="store_true", default=defaults.strict,
                       help="follow the api-ref where upstream Placement 16.0.0 has a known "
                            "bug, instead of answering as upstream does")
    serve.add_argument("--policy", choices=MODES, default=defaults.policy,
                       help="the default policies: legacy (upstream's test fixtures) or "
                            "secure (enforce_new_defaults) (default: %(default)s)")
    serve.add_argument("--policy-file", default=defaults.policy_file, metavar="FILE",
                       help="an oslo.policy YAML file of rules overriding the defaults")
    serve.add_argument("--cors-origin", default=defaults.cors_origin, metavar="ORIGIN",
                       help="answer CORS requests from this origin, as upstream's "
                            "[cors] allowed_origin")
    serve.add_argument("--max-microversion", type=_served_microversion,
                       default=defaults.max_microversion, metavar="X.Y",
                       help="serve no microversion newer than this, as an older Placement "
                            f"(default: the newest, {MAXIMUM})")
    serve.add_argument("--control", action="store_true", default=defaults.control,
                       help="serve the control API under /_placement_ref (reset, journal, "
                            "faults), for a client's tests; off, the server is Placement")
    serve.add_argument("--journal-size", type=_at_least_one, default=defaults.journal_size,
                       metavar="N", help="with --control: how many requests the journal "
                                         "keeps, per worker (default: %(default)s)")
    serve.add_argument("--faults-file", default=defaults.faults_file, metavar="FILE",
                       help="with --control: a YAML or JSON file of faults to inject from "
                            "the start (spec/control.yaml, FaultFile)")
    arguments = parser.parse_args(argv)
    if arguments.faults_file and not arguments.control:
        parser.error("--faults-file needs --control")
    if arguments.faults_file:
        # Here only: the check imports Connexion, which the command needs no sooner.
        quiet_connexion()
        from reference_impl.control.faults import read_fault_file
        try:
            read_fault_file(arguments.faults_file)
        except ValueError as error:
            parser.error(str(error))
    if arguments.workers > 1 and in_memory(arguments.db_url):
        parser.error("a database in memory lives in one process: serve it with one worker, "
                     "or give several workers a file or a database server")
    return _serve(arguments)


def _serve(arguments: argparse.Namespace) -> int:
    settings = Settings(db_url=arguments.db_url, admin_token=arguments.token,
                        max_body_bytes=arguments.max_body_bytes,
                        validate_responses=arguments.validate_responses,
                        strict=arguments.strict, policy=arguments.policy,
                        policy_file=arguments.policy_file, cors_origin=arguments.cors_origin,
                        control=arguments.control, journal_size=arguments.journal_size,
                        faults_file=arguments.faults_file,
                        max_microversion=arguments.max_microversion)
    settings.prepare()
    # Each worker process builds its own application from these variables.
    os.environ.update(settings.to_environment())
    port = arguments.port or _free_port(arguments.host)
    print(f"Placement reference server on http://{arguments.host}:{port} "
          f"(database {settings.db_url}, {arguments.workers} worker(s))", flush=True)
    uvicorn.run(
        "reference_impl.app:create_app",
        factory=True,
        host=arguments.host,
        port=port,
        workers=arguments.workers,
        log_level="info",
        access_log=True,
    )
    return 0


def _served_microversion(text: str) -> str:
    """A microversion the server can serve up to; empty (the default) for its newest."""
    if not text:
        return text
    try:
        version = Microversion.parse(text)
    except MalformedVersion as error:
        raise argparse.ArgumentTypeError(str(error))
    if not MINIMUM <= version <= MAXIMUM:
        raise argparse.ArgumentTypeError(f"the server serves {MINIMUM} to {MAXIMUM}")
    return text


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
