"""The role a policy run calls as, its credentials, and the check of each answer.

A deployment's policies are its own choice, so the `policy` feature runs only when asked,
for one role: `run --only policy --as-role reader`. Its requests carry that role's
credentials, given one of two ways:

- `--role-token TOKEN --role-project PROJECT`: the token of a user with that role (from
  Keystone, for instance), scoped to that project;
- nothing more, for a deployment with `auth_strategy = noauth2`: the token
  `conformance-<role>:<project>` names a user in a project of the run's own, and the
  `X-Roles` header gives the role with those it implies, as Keystone would (a member is
  also a reader). Keystone's middleware drops an `X-Roles` a client sends, so the header
  is harmless elsewhere.

Each test of the feature lists the roles that may call it (`response_allowed_roles`);
`AllowedRoles`, a gabbi response handler, fails a test whose answer is a 403 for an
allowed role, or anything else for a role that is not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gabbi.handlers.base import ResponseHandler

from conformance.exits import UsageError
from conformance.naming import run_provider_prefix

# Each role, with the roles Keystone hands a token of it (the implied ones).
ROLES = {
    "admin": ("admin", "member", "reader"),
    "service": ("service",),
    "member": ("member", "reader"),
    "reader": ("reader",),
    "none": (),
}
# The feature that runs only when asked, and for one role.
POLICY_FEATURE = "policy"

ROLE_VARIABLE = "CONFORMANCE_ROLE"
TOKEN_VARIABLE = "CONFORMANCE_ROLE_TOKEN"
ROLES_VARIABLE = "CONFORMANCE_ROLE_ROLES"
PROJECT_VARIABLE = "CONFORMANCE_ROLE_PROJECT"
OTHER_PROJECT_VARIABLE = "CONFORMANCE_OTHER_PROJECT"


@dataclass(frozen=True)
class RoleChoice:
    """What the command line said: the role, and its token and project if given."""

    role: str
    token: str | None = None
    project: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise UsageError(f"no role named {self.role} (roles: {', '.join(ROLES)})")
        if (self.token is None) != (self.project is None):
            raise UsageError("--role-token and --role-project go together: the project "
                             "is the one the token is scoped to")

    def environment(self, run_id: str) -> dict[str, str]:
        """The variables the policy feature reads, for the run `run_id`."""
        own = run_provider_prefix(run_id) + "project"
        project = self.project or own
        token = self.token or f"conformance-{self.role}:{project}"
        return {ROLE_VARIABLE: self.role, TOKEN_VARIABLE: token,
                ROLES_VARIABLE: ",".join(ROLES[self.role]), PROJECT_VARIABLE: project,
                OTHER_PROJECT_VARIABLE: run_provider_prefix(run_id) + "other-project"}


class AllowedRoles(ResponseHandler):
    """`response_allowed_roles: [admin, service]`: the roles that may make the request;
    any other gets 403."""

    test_key_suffix = "allowed_roles"
    test_key_value: list = []

    def __call__(self, test) -> None:
        allowed = test.test_data[self._key]
        role = os.environ.get(ROLE_VARIABLE)
        if not allowed or role is None:
            return
        refused = int(test.response["status"]) == 403
        if role in allowed and refused:
            raise AssertionError(f"the role {role} may make this request, but got 403")
        if role not in allowed and not refused:
            raise AssertionError(f"the role {role} may not make this request (only "
                                 f"{', '.join(allowed)} may), but got "
                                 f"{test.response['status']} instead of 403")
