"""Emptying the database for the control API's reset: what a client's test suite does
between two tests, so it must take milliseconds, not a restart.

Rows are deleted, tables kept: dropping and creating the schema would cost far more,
and would pull the tables from under the other workers of a database server. The
standard resource classes and traits stay, as a new server has them; only the custom
ones (`CUSTOM_...`, the only names a client can create) go.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection

from reference_impl.storage.db import (
    Database,
    allocations,
    consumers,
    inventories,
    resource_classes,
    resource_provider_aggregates,
    resource_provider_traits,
    resource_providers,
    traits,
)

CUSTOM_PREFIX = "CUSTOM_"

# Children before what they refer to. Providers lose their parents first: MariaDB checks
# a provider's reference to its parent row by row, so one statement could not delete a
# tree in an order it does not choose.
_STATEMENTS = (
    delete(allocations),
    delete(inventories),
    delete(consumers),
    delete(resource_provider_traits),
    delete(resource_provider_aggregates),
    update(resource_providers).values(parent_provider_id=None, root_provider_id=None),
    delete(resource_providers),
    delete(resource_classes).where(resource_classes.c.name.startswith(CUSTOM_PREFIX,
                                                                      autoescape=True)),
    delete(traits).where(traits.c.name.startswith(CUSTOM_PREFIX, autoescape=True)),
)


def reset(database: Database) -> None:
    """Delete every provider, consumer, allocation, custom class and custom trait, in one
    transaction (so another worker sees the data whole or not at all)."""
    database.write(_empty)


def _empty(connection: Connection) -> None:
    for statement in _STATEMENTS:
        connection.execute(statement)
