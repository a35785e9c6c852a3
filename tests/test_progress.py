"""Progress of the long commands: a live display when stderr is a terminal, and the plain
lines of a CI log when it is not.

The commands run as processes against the reference server, once with stderr on a
pseudo-terminal (as a person at a shell sees them) and once on a pipe (as CI logs them).
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from rich.console import Console

from conformance.progress import RunProgress, shown
from conformance.report import Outcome, ScenarioResult
from tests.server_process import ServerProcess, running_server

ROOT = Path(__file__).resolve().parent.parent
# rich hides the cursor while a live display is up, and shows it again at the end.
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    database = tmp_path_factory.mktemp("progress") / "placement.db"
    with running_server(f"sqlite:///{database}") as server:
        yield server


def command(server: ServerProcess, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", *arguments,
            "--url", server.url, "--token", "admin"]


def on_a_terminal(arguments: list[str]) -> tuple[int, str, str]:
    """Run a command with stderr on a pseudo-terminal: its exit code, its standard output
    and what the terminal received."""
    controller, terminal = pty.openpty()
    environment = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    environment.pop("NO_COLOR", None)
    process = subprocess.Popen(arguments, cwd=ROOT, stdout=subprocess.PIPE, stderr=terminal,
                               env=environment, text=True)
    os.close(terminal)
    received = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other end closed: the process is done with the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    out = process.stdout.read()
    return process.wait(timeout=300), out, received.decode("utf-8", "replace")


def in_a_log(arguments: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_on_a_terminal_a_run_draws_its_bar_and_prints_only_failures() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    results = [ScenarioResult("capacity", "fits", "1.23", Outcome.PASSED),
               ScenarioResult("capacity", "too much is 409", "1.23", Outcome.FAILED, "409 != 204"),
               ScenarioResult("mappings", "not chosen", "1.34", Outcome.SKIPPED)]
    with shown(console) as display:
        assert display is not None
        progress = RunProgress(display)
        for position, result in enumerate(results, 1):
            progress(result, position, len(results))
    drawn = screen.getvalue()
    assert "[2/3] FAIL  capacity 1.23  too much is 409" in drawn
    assert "fits" not in drawn and "not chosen" not in drawn
    final = drawn.rsplit("\r", 1)[-1]
    assert "3/3" in final and "2 responses" in final and "1 failures" in final, final


def test_off_a_terminal_nothing_is_drawn() -> None:
    with shown(Console(file=io.StringIO())) as display:
        assert display is None


def test_run_shows_a_live_display_on_a_terminal(server) -> None:
    code, out, terminal = on_a_terminal(command(server, "run", "--only", "capacity,errors"))
    assert code == 0, out + terminal
    assert HIDE_CURSOR in terminal and SHOW_CURSOR in terminal
    final = terminal.rsplit("\r", 1)[-1]  # the display as it was last drawn
    assert "tests" in terminal and "0 failures" in terminal
    # The per-test lines of a log are not printed on a terminal: the bar stands for them.
    assert "] ok    capacity" not in terminal
    assert "passed, 0 failed" in out, out
    total = int(out.split(" tests: ")[0].rsplit("\n", 1)[-1])
    assert f"{total}/{total}" in terminal, final


def test_run_prints_a_line_per_test_in_a_log(server) -> None:
    finished = in_a_log(command(server, "run", "--only", "capacity"))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stderr.splitlines()
    assert lines and all(line.startswith("[") for line in lines), finished.stderr
    assert "\x1b[" not in finished.stderr  # nothing drawn


FUZZ = ("fuzz", "--microversions", "1.0,1.28", "--max-examples", "2", "--seed", "7")


def test_fuzz_shows_microversions_operations_and_responses_on_a_terminal(server) -> None:
    code, out, terminal = on_a_terminal(command(server, *FUZZ))
    assert code == 0, out + terminal
    assert HIDE_CURSOR in terminal
    for shown in ("microversions", "placement 1.0 examples", "placement 1.28 fuzzing",
                  "2/2", " responses", "0 failures"):
        assert shown in terminal, shown
    # The verdict per microversion is printed as before, above the display.
    assert "placement 1.28: passed" in out + terminal


def test_fuzz_stays_quiet_in_a_log(server) -> None:
    finished = in_a_log(command(server, *FUZZ))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stderr == ""
    verdicts = [line for line in finished.stdout.splitlines() if line.startswith("placement 1.")]
    assert [line.split(":")[0] for line in verdicts] == ["placement 1.0", "placement 1.28"]


def test_drift_live_shows_its_microversions_on_a_terminal(server) -> None:
    code, out, terminal = on_a_terminal(command(server, "drift", "live",
                                                "--microversions", "1.0,1.39"))
    assert code == 0, out + terminal
    assert "microversions" in terminal and "2/2" in terminal and "placement 1.39 walk" in terminal
