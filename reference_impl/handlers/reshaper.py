"""Handler for POST /reshaper: move inventories and allocations between providers at once.

The body's `allocations` is the map of `POST /allocations`, read by the same function;
the reshape is written through the allocation handlers' `write`, so that new consumers
are left behind exactly when `POST /allocations` leaves them.
"""

from __future__ import annotations

from reference_impl import context
from reference_impl.errors import BadRequest
from reference_impl.handlers import allocations as allocation_handlers
from reference_impl.storage import reshaper
from reference_impl.storage.allocations import UnknownResourceClass
from reference_impl.storage.inventories import Inventory
from reference_impl.storage.reshaper import ProviderInventories


def reshape(body):
    wanted = {
        rp_uuid: ProviderInventories(
            generation=document["resource_provider_generation"],
            inventories={name: Inventory.from_request(record)
                         for name, record in document["inventories"].items()},
        )
        for rp_uuid, document in body["inventories"].items()
    }
    requests = allocation_handlers.consumer_requests(body["allocations"])
    try:
        allocation_handlers.write(
            requests, lambda connection, requests, keep_empty: reshaper.reshape(
                connection, wanted, requests, keep_empty=keep_empty))
    except UnknownResourceClass as error:
        raise BadRequest(f"malformed reshaper data: {error.message}")
    return context.respond(None, 204)
