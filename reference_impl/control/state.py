"""What the control API steers, for one worker process."""

from __future__ import annotations

from dataclasses import dataclass

from placement_spec import Microversion
from reference_impl.control.faults import Faults
from reference_impl.control.journal import Journal


@dataclass
class Control:
    """The control API's view of its worker: handed to each control request in its scope
    (`middleware.CONTROL`)."""

    admin_token: str
    # The newest microversion the server serves, by which the faults read `latest`.
    maximum: Microversion
    journal: Journal
    faults: Faults
