"""How Connexion calls a handler: prepared once per operation, and without a thread where
the database answers faster than a thread hop costs.

Connexion's `AsyncApp` wraps a handler anew on every request (it inspects the function's
signature and builds the parameter and response layers each time), and runs a plain
function in a worker thread. Both are the same work every time for a given operation, so
this module does it once, when the operation is first called, and leaves the behaviour of
every layer as Connexion has it: what the handler receives and what the client gets back
are unchanged.

Connexion's routing middleware gives each API a router with one route per operation,
which tries them one by one in the order of the spec's paths: a request for an operation
late in the spec is matched against every operation before it. Each router here looks
only among the routes of the request's method, which finds the same route sooner.

Threads or not is the database's call (`Database.in_loop`): a SQLite statement is a
library call of microseconds, far shorter than the hop to a worker thread and back, and
its writers queue on one lock anyway; a database server's round trips would stall every
other request of the worker, so there the handler still runs in a thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from typing import Callable

from connexion.apps.asynchronous import AsyncApi, AsyncApp, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.middleware.routing import RoutingMiddleware
from starlette.routing import Match, Mount, Router


class _Decorator(StarletteDecorator):
    """Connexion's decorator for Starlette, calling a plain handler in the event loop when
    the request's database allows it."""

    @property
    def _sync_async_decorator(self) -> Callable[[Callable], Callable]:
        def decorator(function: Callable) -> Callable:
            if asyncio.iscoroutinefunction(function):
                return function

            @functools.wraps(function)
            async def wrapper(*args, **kwargs):
                return await scope["placement"].database.call(
                    functools.partial(function, *args, **kwargs))

            return wrapper

        return decorator


class _Operation(AsyncOperation):
    """An operation whose handler is wrapped by Connexion's layers once, on its first call
    (they read the operation from the request's context, which only a call provides)."""

    _prepared: tuple | None = None

    async def __call__(self, scope_, receive_, send):
        if self._prepared is None:
            decorator = _Decorator(pythonic_params=self.pythonic_params,
                                   jsonifier=self.jsonifier)
            self._prepared = (decorator.framework, decorator.uri_parser,
                              decorator.decorate(self._fn))
        framework, uri_parser, function = self._prepared
        request = framework.get_request(uri_parser=uri_parser, scope=scope, receive=receive)
        response = await function(request)
        return await response(scope_, receive_, send)


class _Api(AsyncApi):
    def make_operation(self, operation_) -> _Operation:
        return _Operation.from_operation(operation_, pythonic_params=self.pythonic_params,
                                         jsonifier=self.jsonifier)


class App(AsyncApp):
    """Connexion's `AsyncApp`, dispatching to operations prepared once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # AsyncApp builds its innermost application itself; the middleware holds it and
        # asks it to make each API's operations when an API is added.
        self._middleware_app.api_cls = _Api


class Routing(RoutingMiddleware):
    """Connexion's routing middleware, each API's router trying only the operations of the
    request's method."""

    def add_api(self, *args, **kwargs) -> None:
        super().add_api(*args, **kwargs)
        mount: Mount = self.router.routes[-1]  # the API just added
        mount.app = mount._base_app = _MethodRouter(mount.app)


class _MethodRouter(Router):
    """A router that looks for its route among those of the request's method, then, if
    none matches, does all that Starlette's router does (a 405, the default).

    Connexion gives each route the one method of its operation, so the first route of the
    method whose path matches is the one Starlette's router would have found first.
    """

    def __init__(self, router: Router):
        super().__init__(routes=router.routes, default=router.default)
        self.by_method: dict[str, list] = defaultdict(list)
        for route in router.routes:
            for method in getattr(route, "methods", None) or ():
                self.by_method[method].append(route)

    async def app(self, scope_, receive_, send) -> None:
        if scope_["type"] == "http":
            for route in self.by_method.get(scope_["method"], ()):
                match, child_scope = route.matches(scope_)
                if match is Match.FULL:
                    scope_.setdefault("router", self)
                    scope_["route"] = route
                    scope_.update(child_scope)
                    await route.handle(scope_, receive_, send)
                    return
        await super().app(scope_, receive_, send)
