"""What the gateway's OpenAPI document says beyond FastAPI's own: every error, and the streams.

Errors. Most statuses a route can answer follow from what it depends on, so they are derived
here for every operation, never listed by hand: 401 (it needs a caller), 403 (an admin), 404
(an id in the path), 422 (parameters or a body), 413 and 400 (a body, which may not even
parse; also a cursor, `before` or `Last-Event-ID`), 429 (the rate limit), 503 (the database,
a service or the broker not answering). A route adds what only it can answer with
`responses=errors(409)`. All use the `ErrorResponse` component, the shape
`roleplay_common.http` answers with; FastAPI's own 422 entry (`{"detail": …}`) is not used,
since its handler answers in that shape too.

Streams. `event_stream(...)` documents a `text/event-stream` answer the way FastAPI documents
its own SSE routes (`itemSchema`, as OpenAPI 3.2 specifies): one item per event name, its
`data` a JSON document of the given model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from roleplay_common.http import ErrorResponse
from roleplay_gateway.auth.dependencies import admin_user, current_user
from roleplay_gateway.limits import EXEMPT

REF = "#/components/schemas/"
ERROR_REF = {"$ref": f"{REF}{ErrorResponse.__name__}"}

DESCRIPTIONS = {
    400: "Bad input: a body that does not parse, a cursor, `before` or `Last-Event-ID`.",
    401: "No valid bearer token (or a wrong login).",
    402: "The balance is used up (when quotas are on).",
    403: "Not allowed: the admin role, or an age-verified profile for nsfw content.",
    404: "Not found, or not the caller's.",
    409: "Conflicts with what exists.",
    413: "The body is too large (1 MiB; 8 MiB for card imports and portraits).",
    422: "The request is not valid; `details.errors` lists why.",
    429: "Rate limited; retry after `Retry-After` seconds.",
    503: "A dependency (database, service, broker, storage) is down; retry after `Retry-After`.",
}
PARSED_PARAMETERS = frozenset({"cursor", "before", "last-event-id"})

_stream_models: dict[str, type[BaseModel]] = {}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for statuses only this route answers."""
    return {
        status: {"description": DESCRIPTIONS[status], "content": _error_content()}
        for status in statuses
    }


def event_stream(description: str, events: Mapping[str, type[BaseModel]]) -> dict[str, Any]:
    """A `responses=` entry for a `text/event-stream` answer carrying `events` by name."""
    items = []
    for name, model in events.items():
        _stream_models[model.__name__] = model
        items.append(
            {
                "type": "object",
                "required": ["event", "data", "id"],
                "properties": {
                    "event": {"const": name},
                    "id": {"type": "string", "description": "Resume after it with Last-Event-ID."},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": {"$ref": f"{REF}{model.__name__}"},
                    },
                },
            }
        )
    return {
        "description": description,
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "itemSchema": {"oneOf": items},
            }
        },
    }


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` add the derived errors and the stream payloads to the document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _add_components(document)
            for path, route in _documented(app):
                for method in route.methods or ():
                    operation = document["paths"].get(path, {}).get(method.lower())
                    if operation is not None:
                        _document_errors(operation, error_statuses(route, path))
            document["components"]["schemas"].pop("HTTPValidationError", None)
            document["components"]["schemas"].pop("ValidationError", None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def error_statuses(route: APIRoute, path: str) -> set[int]:
    """The error statuses `route` (served at `path`) can answer, from its dependencies and
    parameters."""
    statuses: set[int] = set()
    if path.startswith("/v1/"):
        statuses.add(503)
    if not path.startswith(EXEMPT):
        statuses.add(429)
    dependants = [route.dependant, *_dependencies(route.dependant)]
    calls = {d.call for d in dependants}
    if current_user in calls or admin_user in calls:
        statuses.add(401)
    if admin_user in calls:
        statuses.add(403)
    if any(d.path_params for d in dependants):
        statuses.add(404)
    if route.body_field is not None:
        statuses |= {400, 413, 422}
    names = {
        p.alias.lower()
        for d in dependants
        for p in (*d.path_params, *d.query_params, *d.header_params)
    }
    if names:
        statuses.add(422)
    if names & PARSED_PARAMETERS:
        statuses.add(400)
    return statuses


def _documented(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Each operation's route and the path it is served at (its routers' prefixes added)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path_format:
            yield context.path_format, route


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": dict(ERROR_REF)}}


def _document_errors(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validation = responses.get("422", {}).get("content", {}).get("application/json", {})
    if "HTTPValidationError" in str(validation.get("schema")):
        del responses["422"]
    for status in sorted(statuses):
        responses.setdefault(
            str(status), {"description": DESCRIPTIONS[status], "content": _error_content()}
        )


def _add_components(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    models: list[type[BaseModel]] = [ErrorResponse, *_stream_models.values()]
    for model in models:
        schema = model.model_json_schema(ref_template=REF + "{model}", mode="serialization")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)
