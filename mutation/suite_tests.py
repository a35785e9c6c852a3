"""What each mutant of the reference server faces: the conformance suite, in this process.

mutmut runs these tests once against the unchanged server (they must pass), then once per
mutant, in a process forked for it, where the mutated function replaces the original. A
mutant is killed when either test fails. Both reach the server in this process, so that
the mutant's code is what answers: `run` through a WSGI bridge, without a socket, and
the fuzzer over a loopback socket to a server in a thread (schemathesis speaks HTTP).
"""

from __future__ import annotations

import io
from pathlib import Path

from a2wsgi import ASGIMiddleware

from conformance.fuzz_engine import FuzzOptions, fuzz
from conformance.report import Outcome
from conformance.runner import Deployment, run_suite
from conformance.target import Target
from placement_spec import MAXIMUM, MINIMUM, Microversion
from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.server_thread import serving_in_thread

TOKEN = "admin"
# A short fuzz: the oldest microversion, the one where allocations took their dict form,
# and the newest; few examples, a fixed seed, so each mutant meets the same requests.
FUZZ_VERSIONS = [Microversion.parse(v) for v in ("1.0", "1.28", "1.39")]
FUZZ_OPTIONS = FuzzOptions(max_examples=3, seed=20261130, stateful=False)


def test_the_conformance_run_passes(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'placement.db'}"))
    run = run_suite(Deployment.in_process(ASGIMiddleware(app), token=TOKEN))
    assert not run.failed, [f"{result.feature}: {result.name}" for result in run.results
                            if result.outcome is Outcome.FAILED]


def test_a_short_seeded_fuzz_passes(tmp_path: Path) -> None:
    output = io.StringIO()
    with serving_in_thread(tmp_path / "placement.db") as url:
        target = Target(url=url, token=TOKEN, minimum=MINIMUM, maximum=MAXIMUM)
        report = fuzz(target, FUZZ_VERSIONS, FUZZ_OPTIONS, out=output)
    assert report.passed, output.getvalue()
