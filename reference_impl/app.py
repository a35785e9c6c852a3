"""The reference server as an ASGI application.

The spec is projected to every microversion; each distinct projection becomes one
Connexion API under its own prefix, and the Placement middleware sends each request to
the API of its microversion. So Connexion validates every parameter and body against the
spec exactly as it stands at the request's microversion, and the handlers are plain
functions that receive valid input.
"""

from __future__ import annotations

import logging

from reference_impl import quiet_connexion

quiet_connexion()

from connexion.exceptions import ProblemException  # noqa: E402
from connexion.jsonifier import Jsonifier  # noqa: E402
from connexion.lifecycle import ConnexionRequest, ConnexionResponse  # noqa: E402
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition  # noqa: E402
from connexion.middleware.routing import RoutingMiddleware  # noqa: E402
from connexion.middleware.security import SecurityMiddleware  # noqa: E402
from connexion.options import SwaggerUIOptions  # noqa: E402
from connexion.resolver import RelativeResolver  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402

from placement_spec import MAXIMUM, load_control
from reference_impl.config import Settings
from reference_impl.control import PREFIX as CONTROL_PREFIX
from reference_impl.control.faults import NO_FAULTS, Faults, read_fault_file
from reference_impl.control.journal import Journal
from reference_impl.control.layer import ControlLayer
from reference_impl.control.state import Control
from reference_impl.dispatch import App, Routing
from reference_impl.errors import BadRequest, PlacementError, render
from reference_impl.cors import CorsMiddleware
from reference_impl.middleware import PlacementMiddleware
from reference_impl.policy import Enforcer
from reference_impl.routes import projections
from reference_impl.storage.db import connect
from reference_impl.validation import VALIDATORS

LOG = logging.getLogger(__name__)



def create_app(settings: Settings | None = None) -> App | ControlLayer:
    """The server; with `settings.control`, inside the control layer, which also mounts
    the control API."""
    settings = settings or Settings.from_environment()
    settings.prepare()
    database = connect(settings.db_url)
    by_version = projections()
    app = App(__name__, middlewares=_connexion_layers(), jsonifier=_UpstreamJson())
    distinct = {id(p): p for p in by_version.values()}.values()
    for projection in distinct:
        app.add_api(
            projection.document,
            base_path=projection.mount,
            name=f"placement-{projection.first}",
            resolver=RelativeResolver("reference_impl.handlers"),
            strict_validation=True,
            validate_responses=settings.validate_responses,
            validator_map=VALIDATORS,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
        )
    # The latest projection also answers at the root, for people: its Swagger UI at /ui/
    # and its document at /openapi.json. Requests for the API never reach it.
    app.add_api(
        by_version[MAXIMUM].document,
        base_path="",
        name="placement-docs",
        resolver=RelativeResolver("reference_impl.handlers"),
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, serve_spec=True),
    )
    if settings.control:
        app.add_api(
            load_control(),
            base_path=CONTROL_PREFIX,
            name="placement-control",
            resolver=RelativeResolver("reference_impl.control"),
            strict_validation=True,
            validate_responses=settings.validate_responses,
            validator_map=VALIDATORS,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, serve_spec=True),
        )
    if settings.cors_origin:
        # Added first, so outermost: CORS sees every answer, a 401 too.
        app.add_middleware(CorsMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION,
                           origins=settings.cors_origin)
    app.add_middleware(
        PlacementMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        projections=by_version,
        database=database,
        admin_token=settings.admin_token,
        enforcer=Enforcer(settings.policy, settings.policy_file or None),
        max_body_bytes=settings.max_body_bytes,
        strict=settings.strict,
        maximum=settings.maximum,
    )
    app.add_error_handler(PlacementError, _placement_error)
    app.add_error_handler(ProblemException, _validation_problem)
    app.add_error_handler(HTTPException, _http_exception)
    app.add_error_handler(Exception, _unexpected)
    if settings.control:
        faults = read_fault_file(settings.faults_file) if settings.faults_file else NO_FAULTS
        return ControlLayer(app, Control(admin_token=settings.admin_token,
                                         maximum=settings.maximum,
                                         journal=Journal(settings.journal_size),
                                         faults=Faults(faults)))
    return app


class _UpstreamJson(Jsonifier):
    """JSON bodies as upstream writes them: no line feed after the document."""

    def dumps(self, data, **kwargs):
        return super().dumps(data, **kwargs).rstrip("\n")


def _connexion_layers() -> list:
    """Connexion's layers but its security one: the Placement middleware checks tokens
    itself, in Placement's order and with Placement's answers; and its routing, as
    `dispatch.Routing`, which finds the same operations sooner. A new list for each
    application, as Connexion inserts added middleware into the list it is given."""
    return [Routing if layer is RoutingMiddleware else layer
            for layer in ConnexionMiddleware.default_middlewares
            if layer is not SecurityMiddleware]


def _respond(request: ConnexionRequest, error: PlacementError) -> ConnexionResponse:
    content_type, body = render(error, request.scope["placement"])
    return ConnexionResponse(status_code=error.status, body=body,
                             content_type=content_type, headers=error.headers)


def _placement_error(request: ConnexionRequest, error: PlacementError) -> ConnexionResponse:
    if error.outside_handler:
        request.scope["placement"].vary = False
    return _respond(request, error)


def _validation_problem(request: ConnexionRequest, problem: ProblemException) -> ConnexionResponse:
    """Connexion found the request at odds with the spec: Placement calls that a 400."""
    detail = str(problem.detail or problem.title)
    if problem.status >= 500:
        LOG.error("Connexion problem serving %s %s: %s", request.method, request.url, detail)
    elif request.method in ("PUT", "POST") and "query" not in detail.lower():
        detail = f"JSON does not validate: {detail}"
    return _respond(request, PlacementError(detail, status=problem.status))


def _http_exception(request: ConnexionRequest, error: HTTPException) -> ConnexionResponse:
    return _respond(request, PlacementError(str(error.detail), status=error.status_code))


def _unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    LOG.error("Unexpected error serving %s %s", request.method, request.url, exc_info=error)
    if isinstance(error, UnicodeError):
        return _respond(request, BadRequest(f"Malformed request: {error}"))
    return _respond(request, PlacementError("An unexpected error occurred.", status=500))
