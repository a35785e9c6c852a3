"""Removing what a run made, through the API, in an order the deployment accepts.

A provider with allocations cannot be deleted, nor a parent before its children, nor a
class that an inventory still uses, nor a trait a provider has: so consumers go first, then
providers, children before parents, then classes and traits. Aggregates are no objects of
their own in the API: they go with the last provider that names them. A 404 means already gone. What cannot be removed is reported, never
retried blindly, so that a deployment's refusal is seen.
"""

from __future__ import annotations

from typing import Iterable

import httpx

from conformance.naming import run_class_prefix, run_provider_prefix, run_trait_prefix


def remove_run_data(client: httpx.Client, run_id: str) -> list[str]:
    """Delete whatever carries the run's id, and only that; return what is still there
    afterwards, each with the answer to its DELETE."""
    refused = dict(delete_all(client, run_data(client, run_id)))
    return [f"DELETE {path}: {refused.get(path, 'still there')}"
            for path in run_data(client, run_id)]


def run_data(client: httpx.Client, run_id: str) -> list[str]:
    """The paths of what the run made, in an order that can be deleted: the consumers
    holding its providers (no one else knows those providers' uuids), the providers,
    children before parents, the classes and the traits."""
    prefix = run_provider_prefix(run_id)
    listed = [provider for provider in providers(client) if provider["name"].startswith(prefix)]
    consumers = [consumer for provider in listed
                 for consumer in consumers_on(client, provider["uuid"])]
    classes = [name for name in resource_classes(client)
               if name.startswith(run_class_prefix(run_id))]
    return paths_in_order(consumers, children_first(listed), classes,
                          custom_traits(client, run_trait_prefix(run_id)))


def paths_in_order(consumers: Iterable[str], providers: Iterable[str],
                   classes: Iterable[str], traits: Iterable[str] = ()) -> list[str]:
    """The DELETE paths of consumers' allocations, providers, classes and traits, in that
    order, each once."""
    paths = [f"/allocations/{consumer}" for consumer in consumers]
    paths += [f"/resource_providers/{provider}" for provider in providers]
    paths += [f"/resource_classes/{name}" for name in classes]
    paths += [f"/traits/{name}" for name in traits]
    return list(dict.fromkeys(paths))


def delete_all(client: httpx.Client, paths: Iterable[str]) -> list[tuple[str, str]]:
    """DELETE each path in turn; the (path, answer) of each that was refused."""
    refused = []
    for path in paths:
        response = client.delete(path)
        if response.status_code not in (204, 404):
            refused.append((path, f"{response.status_code} {response.text[:200]}"))
    return refused


def children_first(listed: list[dict]) -> list[str]:
    """The uuids of listed providers, each after every child of it that is listed."""
    parents = {provider["uuid"]: provider.get("parent_provider_uuid") for provider in listed}
    ordered = []
    while parents:
        # Provider trees have no cycles, so there is always a leaf; `or` only guards
        # against a deployment that says otherwise.
        leaves = [p for p in parents if p not in parents.values()] or list(parents)
        ordered += leaves
        for leaf in leaves:
            del parents[leaf]
    return ordered


def providers(client: httpx.Client) -> list[dict]:
    """Every provider of the deployment, as it lists them."""
    response = client.get("/resource_providers")
    response.raise_for_status()
    return response.json()["resource_providers"]


def consumers_on(client: httpx.Client, provider: str) -> list[str]:
    """The consumers holding allocations on `provider` (none once it is gone)."""
    response = client.get(f"/resource_providers/{provider}/allocations")
    return list(response.json()["allocations"]) if response.status_code == 200 else []


def custom_traits(client: httpx.Client, prefix: str) -> list[str]:
    """The traits whose names start with `prefix`. The deployment's filter reads `_` as
    any character (SQL's LIKE), so its answer is narrowed here."""
    response = client.get("/traits", params={"name": f"startswith:{prefix}"})
    response.raise_for_status()
    return [name for name in response.json()["traits"] if name.startswith(prefix)]


def resource_classes(client: httpx.Client) -> list[str]:
    response = client.get("/resource_classes")
    response.raise_for_status()
    return [resource_class["name"] for resource_class in response.json()["resource_classes"]]
