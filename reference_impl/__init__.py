"""The reference server: Placement's allocations API, served from the spec."""

import warnings

# Connexion imports Starlette's test client, which warns about httpx on every start:
# ignored before any module of the server imports Connexion.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
