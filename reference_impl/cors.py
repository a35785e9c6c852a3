"""CORS, as upstream Placement answers it once `[cors] allowed_origin` is set.

Upstream's CORS layer sits outside its auth and lets every request through to the
application first. A preflight (`OPTIONS`) is then answered 200 with an empty body
whatever the application said (its 401 or 405 is dropped), and carries the preflight
headers only when the origin, the requested method and every requested header are
allowed; it names just the requested method and headers. Any other request from the
allowed origin gets the origin, credentials and exposed headers added, with `Origin`
appended to its `Vary`. A request from another origin is answered as without CORS.

Starlette's CORSMiddleware answers otherwise (a 400 to a refused preflight, every allowed
method listed, no request id on a preflight), hence this small layer. The lists below are
the defaults Placement 16.0.0 gives oslo.middleware's CORS options.
"""

from __future__ import annotations

from reference_impl.middleware import REQUEST_ID_HEADER

ALLOW_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
ALLOW_HEADERS = ("X-Auth-Token", "X-Openstack-Request-Id", "X-Identity-Status", "X-Roles",
                 "X-Service-Catalog", "X-User-Id", "X-Tenant-Id", "OpenStack-API-Version")
EXPOSE_HEADERS = ("X-Auth-Token", "X-Openstack-Request-Id", "X-Subject-Token",
                  "X-Service-Token", "OpenStack-API-Version")
# Headers a browser may always send (the CORS specification's simple headers, as
# oslo.middleware lists them).
SIMPLE_HEADERS = ("Accept", "Accept-Language", "Content-Type", "Cache-Control",
                  "Content-Language", "Expires", "Last-Modified", "Pragma")
MAX_AGE = 3600


class CorsMiddleware:
    """Answers CORS for the allowed origins (comma-separated, `*` for any, as upstream's
    option reads them); with none, it is not installed at all."""

    def __init__(self, app, *, origins: str):
        self.app = app
        self.origins = {origin.strip() for origin in origins.split(",") if origin.strip()}
        self.permitted_headers = {header.upper() for header in ALLOW_HEADERS + SIMPLE_HEADERS}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in scope.get("headers", [])}
        preflight = scope["method"] == "OPTIONS"
        origin = self._allowed(headers.get("origin"))

        async def decorate(message):
            if message["type"] == "http.response.start":
                if preflight:
                    message = self._preflight(message, origin, headers)
                elif origin is not None:
                    message = {**message, "headers": self._simple(message["headers"], origin)}
            elif preflight:
                message = {**message, "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, decorate)

    def _allowed(self, origin: str | None) -> str | None:
        """The origin to answer with: the request's, or `*` when any is allowed."""
        if origin is None:
            return None
        if origin in self.origins:
            return origin
        return "*" if "*" in self.origins else None

    def _preflight(self, start: dict, origin: str | None, headers: dict[str, str]) -> dict:
        """The application's answer turned into upstream's empty 200, with the preflight
        headers when the request may go ahead."""
        kept = [(name, value) for name, value in start["headers"]
                if name.lower() == REQUEST_ID_HEADER.encode()]
        kept.append((b"content-length", b"0"))
        method = headers.get("access-control-request-method") if origin else None
        if method in ALLOW_METHODS:
            requested = [header.strip() for header in
                         headers.get("access-control-request-headers", "").split(",")
                         if header.strip()]
            if all(header.upper() in self.permitted_headers for header in requested):
                kept += [(b"vary", b"Origin"),
                         (b"access-control-allow-origin", origin.encode()),
                         (b"access-control-allow-credentials", b"true"),
                         (b"access-control-max-age", str(MAX_AGE).encode()),
                         (b"access-control-allow-methods", method.encode())]
                if requested:
                    kept.append((b"access-control-allow-headers",
                                 ",".join(requested).encode()))
        return {**start, "status": 200, "headers": kept}

    def _simple(self, headers: list, origin: str) -> list:
        vary = [value for name, value in headers if name.lower() == b"vary"]
        headers = [(name, value) for name, value in headers if name.lower() != b"vary"]
        return headers + [
            (b"vary", b",".join([*vary, b"Origin"])),
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", ",".join(EXPOSE_HEADERS).encode())]
