"""The server's settings: each has a default, so the server starts with no configuration.

Settings come from the command line or from `PLACEMENT_REF_*` environment variables; the
variables are how several worker processes, each building its own application, share
one configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from sqlalchemy.engine import make_url

from placement_spec import MAXIMUM, Microversion

DEFAULT_DATABASE = Path.home() / ".local" / "share" / "placement-ref" / "placement.db"
ENVIRONMENT_PREFIX = "PLACEMENT_REF_"


@dataclass(frozen=True)
class Settings:
    db_url: str = f"sqlite:///{DEFAULT_DATABASE}"
    admin_token: str = "admin"
    max_body_bytes: int = 1024 * 1024
    validate_responses: bool = False
    # Follow the api-ref where upstream 16.0.0 has a known bug (README: "--strict").
    strict: bool = False
    # Which default policies decide a 403 (README: "Policies"): `legacy` or `secure`.
    policy: str = "legacy"
    # An oslo.policy YAML file overriding rules by name; empty for none.
    policy_file: str = ""
    # The origin allowed to call the API from a browser (upstream's [cors]
    # allowed_origin); empty for no CORS.
    cors_origin: str = ""
    # The control API under /_placement_ref (reset, journal, faults) and the layer that
    # keeps the journal and injects faults; without it, neither exists (README: "A
    # server to test a client against").
    control: bool = False
    # The newest microversion to serve, as an older Placement would ("1.28"); empty for
    # the spec's newest. Clients negotiate down from what `GET /` advertises.
    max_microversion: str = ""
    # How many requests the journal keeps, per worker.
    journal_size: int = 1000
    # A YAML or JSON file of faults in force from the start (spec/control.yaml,
    # `FaultFile`); empty for none. Only with `control`.
    faults_file: str = ""

    @classmethod
    def from_environment(cls) -> "Settings":
        values = {}
        for field in fields(cls):
            raw = os.environ.get(ENVIRONMENT_PREFIX + field.name.upper())
            if raw is None:
                continue
            if field.type == "bool":
                values[field.name] = raw.lower() in ("1", "true", "yes")
            elif field.type == "int":
                values[field.name] = int(raw)
            else:
                values[field.name] = raw
        return cls(**values)

    def to_environment(self) -> dict[str, str]:
        return {ENVIRONMENT_PREFIX + field.name.upper(): str(getattr(self, field.name))
                for field in fields(self)}

    @property
    def maximum(self) -> Microversion:
        """The newest microversion served."""
        return Microversion.parse(self.max_microversion) if self.max_microversion else MAXIMUM

    def prepare(self) -> None:
        """Create the folder of a SQLite file, so that the first start needs nothing."""
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite" and not in_memory(self.db_url):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def in_memory(db_url: str) -> bool:
    """Whether `db_url` is a SQLite database in memory, which lives and dies with one
    process: nothing is written to disk, and workers could not share it."""
    url = make_url(db_url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
