"""Usages: the sums of allocations, by provider or by project, user and consumer type."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import String, bindparam, distinct, func, literal, select
from sqlalchemy.engine import Connection

from reference_impl.storage.db import allocations, consumers, inventories, resource_providers
from reference_impl.storage.db import resource_classes as classes_table

# How GET /usages names the group of consumers that never had a type.
UNTYPED = "unknown"
EVERY_TYPE = "all"


# Built once: building it costs more than running it on SQLite. The provider comes in
# the same query as its usages, so that GET of a provider's usages is one statement: no
# row means no such provider, and a provider without inventory is one row without class.
# Each inventory's usage is a subquery of its own rather than a GROUP BY over the join,
# which would sort every allocation row before summing it.
_USED = (
    select(func.coalesce(func.sum(allocations.c.used), 0))
    .where(allocations.c.resource_provider_id == inventories.c.resource_provider_id,
           allocations.c.resource_class_id == inventories.c.resource_class_id)
    .correlate(inventories)
    .scalar_subquery()
)
_OF_PROVIDER = (
    select(resource_providers.c.generation, classes_table.c.name, _USED)
    .select_from(resource_providers)
    .outerjoin(inventories, inventories.c.resource_provider_id == resource_providers.c.id)
    .outerjoin(classes_table, classes_table.c.id == inventories.c.resource_class_id)
    .where(resource_providers.c.uuid == bindparam("uuid"))
    .order_by(classes_table.c.name)
)


def of_provider(connection: Connection, uuid: str) -> tuple[int, dict[str, int]] | None:
    """The provider's generation, and every class it has inventory of with what is used
    of it (0 if nothing); None when there is no such provider."""
    rows = connection.execute(_OF_PROVIDER, {"uuid": uuid}).all()
    if not rows:
        return None
    return rows[0][0], {name: int(used) for _, name, used in rows if name is not None}


def _for_project_query(columns, project_id: str, user_id: str | None):
    query = (
        select(*columns)
        .select_from(allocations)
        .join(consumers, consumers.c.id == allocations.c.consumer_id)
        .join(classes_table, classes_table.c.id == allocations.c.resource_class_id)
        .where(consumers.c.project_id == project_id)
    )
    if user_id:
        query = query.where(consumers.c.user_id == user_id)
    return query


def for_project(connection: Connection, project_id: str, user_id: str | None) -> dict[str, int]:
    rows = connection.execute(
        _for_project_query([classes_table.c.name, func.sum(allocations.c.used)],
                           project_id, user_id).group_by(classes_table.c.name)
    )
    return {name: int(used) for name, used in rows}


def for_project_by_type(connection: Connection, project_id: str, user_id: str | None,
                        consumer_type: str | None) -> dict[str, dict[str, int]]:
    """Usages grouped by consumer type, each group with its count of distinct consumers.

    `all` folds every consumer into one group; `unknown` keeps only consumers that never
    had a type; any other type keeps only its own consumers.
    """
    grouped = consumer_type != EVERY_TYPE
    type_column = (consumers.c.consumer_type if grouped else literal(EVERY_TYPE, String)).label("type")
    type_groups = [consumers.c.consumer_type] if grouped else []
    base = _for_project_query([type_column], project_id, user_id)
    if consumer_type == UNTYPED:
        base = base.where(consumers.c.consumer_type.is_(None))
    elif consumer_type not in (None, EVERY_TYPE):
        base = base.where(consumers.c.consumer_type == consumer_type)

    usage: dict[str, dict[str, int]] = defaultdict(dict)
    sums = base.add_columns(classes_table.c.name, func.sum(allocations.c.used))
    for type_name, class_name, used in connection.execute(
            sums.group_by(*type_groups, classes_table.c.name)):
        usage[_type_key(type_name)][class_name] = int(used)
    counts = base.add_columns(func.count(distinct(allocations.c.consumer_id)))
    for type_name, count in connection.execute(counts.group_by(*type_groups)):
        if _type_key(type_name) in usage:
            usage[_type_key(type_name)]["consumer_count"] = count
    return dict(usage)


def _type_key(type_name: str | None) -> str:
    return UNTYPED if type_name is None else type_name
