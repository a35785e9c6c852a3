"""The control API's operations (`spec/control.yaml`), each named by its operationId.

They are coroutines: Connexion runs them in the event loop, where the layer that keeps
the journal and the faults runs too, so neither needs a lock. Only the reset reaches the
database, through `Database.call` (a worker thread on a database server).
"""

from __future__ import annotations

from connexion import NoContent
from connexion.context import scope

from reference_impl.storage import reset as storage


async def reset():
    database = scope["placement"].database
    await database.call(storage.reset, database)
    return NoContent, 204
