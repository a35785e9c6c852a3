"""The reference server: Placement's allocations API, served from the spec."""

import warnings


def quiet_connexion() -> None:
    """Ignore the warning about httpx that Connexion's import of Starlette's test client
    gives on every start. Called just before Connexion is first imported, so that the
    filter comes after any a test runner sets up, and prevails."""
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
