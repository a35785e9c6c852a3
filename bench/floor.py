"""The floor: the least a Connexion application can do to answer the benchmark's GET.

One async handler behind a one-operation spec, with Connexion's default layers, served
by uvicorn with the reference server's settings. What the reference server spends beyond
this on `GET /allocations/{consumer_uuid}` is Placement's own work: its middleware, the
projection for the request's microversion, the database and the answer's headers.

    python -m uvicorn bench.floor:create_app --factory --port 8779
"""

from __future__ import annotations

from connexion import AsyncApp

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "floor", "version": "1"},
    "paths": {
        "/allocations/{consumer_uuid}": {
            "get": {
                "operationId": "bench.floor.get_allocations",
                "parameters": [{"name": "consumer_uuid", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {
                    "description": "the consumer's allocations",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }},
            },
        },
    },
}


async def get_allocations(consumer_uuid: str):
    return {"allocations": {}}, 200


def create_app() -> AsyncApp:
    app = AsyncApp(__name__)
    app.add_api(SPEC)
    return app
