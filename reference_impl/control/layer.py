"""The outermost layer of a server started with `--control`.

It sits outside everything else, Connexion's own error handling included, because what
it does must not look like the server's doing: a request for the control API is admitted
here, with the admin token, and is then handed straight to the control API's Connexion
application, past all of Placement's checks.
"""

from __future__ import annotations

from reference_impl.control import PREFIX
from reference_impl.control.state import Control
from reference_impl.errors import Forbidden, Unauthorized
from reference_impl.middleware import CONTROL, request_headers, send_error

# The control API's document and Swagger UI, open as the Placement API's are.
DOCUMENTS = (f"{PREFIX}/openapi.json", f"{PREFIX}/ui")


class ControlLayer:
    def __init__(self, app, control: Control):
        self.app = app
        self.control = control

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and is_control_path(scope["path"]):
            await self._admit(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _admit(self, scope, receive, send) -> None:
        """Refuse a control request without the admin token (401 without a token, 403
        with another), in Placement's words; hand on the others, marked as admitted."""
        if not scope["path"].startswith(DOCUMENTS):
            token = request_headers(scope).get("x-auth-token")
            if token is None:
                await send_error(scope, send, Unauthorized())
                return
            if token != self.control.admin_token:
                await send_error(scope, send, Forbidden(
                    "Only the admin token may use the control API."))
                return
        await self.app({**scope, CONTROL: self.control}, receive, send)


def is_control_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")
