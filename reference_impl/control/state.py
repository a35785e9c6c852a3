"""What the control API steers, for one worker process."""

from __future__ import annotations

from dataclasses import dataclass

from reference_impl.control.faults import Faults
from reference_impl.control.journal import Journal


@dataclass
class Control:
    """The control API's view of its worker: handed to each control request in its scope
    (`middleware.CONTROL`)."""

    admin_token: str
    journal: Journal
    faults: Faults
