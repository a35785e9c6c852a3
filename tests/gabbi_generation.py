"""The scenarios of gabbits/ as gabbi's own pytest tests, each file's conformance fixture
bound to that file (`conformance.fixtures.bind`), as `conformance.features` binds it for
the harness."""

from __future__ import annotations

from pathlib import Path

import pytest
from gabbi import driver

from conformance import candidate_checks, fixtures

GABBITS = Path(__file__).resolve().parent.parent / "gabbits"


def generate(metafunc: pytest.Metafunc, **location) -> None:
    """Parametrize gabbi's `test_pytest` with every step of every file; `location` says
    where the requests go (`url=...` or `intercept=...`)."""
    driver.py_test_generator(str(GABBITS), fixture_module=fixtures,
                             response_handlers=list(candidate_checks.HANDLERS),
                             test_loader_name=metafunc.module.__name__,
                             metafunc=_Binding(metafunc), **location)


class _Binding:
    """The metafunc handed to gabbi: it binds the fixture of each file whose suite gabbi
    is about to start, then parametrizes as asked."""

    def __init__(self, metafunc: pytest.Metafunc):
        self._metafunc = metafunc

    def __getattr__(self, name: str):
        return getattr(self._metafunc, name)

    def parametrize(self, names, argvalues, ids) -> None:
        fixtures.bind(test.__self__ for test, _ in argvalues
                      if getattr(test, "__name__", None) == "start")
        self._metafunc.parametrize(names, argvalues=argvalues, ids=ids)
