"""The control API's operations (`spec/control.yaml`), each named by its operationId.

They are coroutines: Connexion runs them in the event loop, where the layer that keeps
the journal and the faults runs too, so neither needs a lock. Only the reset reaches the
database, through `Database.call` (a worker thread on a database server).
"""

from __future__ import annotations

from connexion import NoContent
from connexion.context import scope

from reference_impl.control.state import Control
from reference_impl.middleware import CONTROL
from reference_impl.storage import reset as storage


def _control() -> Control:
    return scope[CONTROL]


async def reset():
    database = scope["placement"].database
    await database.call(storage.reset, database)
    _control().journal.clear()
    _control().faults.restore()
    return NoContent, 204


async def list_journal(method: str | None = None, path: str | None = None,
                       limit: int | None = None):
    entries = _control().journal.entries(method, path, limit)
    return {"entries": [entry.document() for entry in entries]}, 200


async def clear_journal():
    _control().journal.clear()
    return NoContent, 204


async def list_faults():
    return _control().faults.document(), 200


async def replace_faults(body: dict):
    _control().faults.replace(body)
    return _control().faults.document(), 200


async def add_fault(body: dict):
    return _control().faults.add(body).document(), 201


async def clear_faults():
    _control().faults.clear()
    return NoContent, 204
