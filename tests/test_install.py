"""`pip install placement-contract` gives a `placement-conformance` that works as it comes:
everything its commands import is among the package's own requirements, not only among
the extras a developer happens to have installed.

A fresh virtualenv filled by pip would download some sixty packages on every run. This
one is filled by hand instead: its site-packages holds, as symlinks, exactly the installed
distributions that the package's base requirements pull in (through their requirements in
turn, with the extras each names), and nothing else. A module the commands need that no
base requirement provides fails here as it fails a user's `pip install .`.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.server_process import running_server

PROJECT = "placement-contract"
COMMAND = "import sys; from conformance.cli import main; sys.exit(main())"


def base_distributions(name: str = PROJECT) -> dict[str, metadata.Distribution]:
    """The installed distributions `name` needs without extras, by canonical name: itself,
    its requirements, theirs, and so on."""
    found: dict[str, metadata.Distribution] = {}
    pending: list[tuple[str, frozenset[str]]] = [(name, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        wanted, extras = pending.pop()
        key = (canonicalize_name(wanted), extras)
        if key in seen:
            continue
        seen.add(key)
        distribution = _installed(wanted)
        found[key[0]] = distribution
        for line in distribution.requires or ():
            requirement = Requirement(line)
            if _applies(requirement, extras):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return found


def _installed(name: str) -> metadata.Distribution:
    """The distribution pip installed, not the project's own egg-info that a run from the
    source tree also finds."""
    return next(distribution for distribution in metadata.distributions(name=name)
                if distribution.read_text("RECORD") is not None)


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    """Whether a requirement holds here, for a distribution installed with `extras`."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def _site_packages(environment: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return environment / "lib" / version / "site-packages"


def install_by_symlink(distributions: dict[str, metadata.Distribution], site: Path) -> None:
    """Make each distribution's top-level files and folders (those its RECORD lists inside
    site-packages: packages, modules, .pth files, its .dist-info) appear in `site`."""
    for distribution in distributions.values():
        tops = {file.parts[0] for file in distribution.files or ()
                if file.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            link, source = site / top, Path(distribution.locate_file(top))
            if source.exists() and not link.exists():
                link.symlink_to(source)


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    environment = tmp_path_factory.mktemp("fresh-venv")
    venv.create(environment, with_pip=False)
    install_by_symlink(base_distributions(), _site_packages(environment))
    return environment / "bin" / "python"


def _conformance(python: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The command as its console script runs it, away from the source tree."""
    return subprocess.run([str(python), "-c", COMMAND, *arguments], capture_output=True,
                          text=True, timeout=300, cwd=python.parent)


def test_the_fresh_environment_holds_the_base_requirements_only(fresh_python):
    """The environment is as a plain `pip install .` leaves it: the optional extras are
    not there, even though this test's own environment has them."""
    metadata.distribution("keystoneauth1")  # installed here, by the test extra
    probe = subprocess.run([str(fresh_python), "-c", "import keystoneauth1"],
                           capture_output=True, text=True)
    assert probe.returncode == 1 and "No module named 'keystoneauth1'" in probe.stderr


def test_every_command_works_with_the_base_requirements(fresh_python, tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'install.db'}") as server:
        target = ("--url", server.url, "--token", "admin")
        run = _conformance(fresh_python, "run", *target, "--only", "headers")
        drift = _conformance(fresh_python, "drift", "live", *target, "--microversions", "1.39")
        fuzz = _conformance(fresh_python, "fuzz", *target, "--microversions", "1.39",
                            "--max-examples", "1")
    for name, result in (("run", run), ("drift live", drift), ("fuzz", fuzz)):
        assert result.returncode == 0, f"{name}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    assert "0 failed" in run.stdout
    assert "0 failures at 1 microversions" in fuzz.stdout
