"""Who a request is and whether its policy rule lets it in, as upstream decides.

Upstream Placement under `auth_strategy = noauth2` reads the token as `user[:project]`
and takes the roles from an `X-Roles` header (or `admin` for the user `admin`); the
headers keystonemiddleware would pass (`X-Project-Id`, `OpenStack-System-Scope`,
`X-Domain-Id`) reach the request context as they are. oslo.policy then checks the
operation's rule against those credentials. The rules and their default check strings
are facts of the spec (`placement_spec.facts.policy_rules`); oslo.policy itself
evaluates them, so that the rule language, the legacy defaults ORed with the new ones,
the scope check and a policy file's overrides behave exactly as upstream's do.

The enforcer is built once, when the application starts; per request there is only the
rule check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from oslo_config import cfg
from oslo_policy import opts as policy_options
from oslo_policy import policy as oslo_policy
from placement_spec import facts

# Upstream 16.0.0's test fixtures run with the legacy defaults; a deployment opts into
# the secure-RBAC defaults with `[oslo_policy] enforce_new_defaults = True`.
LEGACY = "legacy"
SECURE = "secure"
MODES = (LEGACY, SECURE)

# The noauth2 user that gets the admin role when the request names no roles.
ADMIN_USER = "admin"


@dataclass(frozen=True)
class Credentials:
    """What oslo.policy checks a rule against: the request context's policy values."""

    user_id: str
    project_id: str | None
    roles: tuple[str, ...]
    system_scope: str | None = None
    domain_id: str | None = None

    def as_policy_values(self) -> dict:
        return {"user_id": self.user_id, "project_id": self.project_id,
                "roles": list(self.roles), "system_scope": self.system_scope,
                "domain_id": self.domain_id}


def credentials(token: str, headers: dict[str, str], admin_token: str) -> Credentials:
    """The credentials noauth2 makes of a request, `headers` lower-cased.

    The admin token (`--token`) reads as the user `admin` of the project `admin`, whatever
    its text, so that a deployment-like secret still means what `admin` means upstream.
    """
    user, _, project = ("admin" if token == admin_token else token).partition(":")
    project = project or user
    if "x-roles" in headers:
        roles = tuple(role.strip() for role in headers["x-roles"].split(","))
    else:
        roles = ("admin",) if user == ADMIN_USER else ()
    system_scope = headers.get("openstack-system-scope") or None
    # A system-scoped request carries no project of the token's: only one the caller
    # names (keystonemiddleware's X-Project-Id, or the older X-Tenant-Id / X-Tenant).
    implied = None if system_scope else project
    project = headers.get("x-project-id", headers.get("x-tenant-id", headers.get(
        "x-tenant", implied))) if system_scope else headers.get("x-project-id", implied)
    return Credentials(user_id=user, project_id=project, roles=roles,
                       system_scope=system_scope, domain_id=headers.get("x-domain-id"))


class Enforcer:
    """oslo.policy's enforcer over the spec's rules, with a configuration of its own (not
    oslo.config's global one), so that several applications in one process can differ."""

    def __init__(self, mode: str = LEGACY, policy_file: str | None = None):
        if mode not in MODES:
            raise ValueError(f"policy mode must be one of {', '.join(MODES)}, not {mode!r}")
        conf = cfg.ConfigOpts()
        policy_options.set_defaults(conf)
        conf([], project="placement-ref", default_config_files=[], default_config_dirs=[])
        conf.set_override("enforce_new_defaults", mode == SECURE, group="oslo_policy")
        # Only the file given, never a policy.yaml or policy.d that oslo.config would
        # otherwise look for in the home folder or /etc.
        conf.set_override("policy_file", os.path.abspath(policy_file or os.devnull),
                          group="oslo_policy")
        conf.set_override("policy_dirs", [], group="oslo_policy")
        self._enforcer = oslo_policy.Enforcer(conf)
        # Upstream silences these too: every rule has a deprecated default.
        self._enforcer.suppress_default_change_warnings = True
        self._enforcer.suppress_deprecation_warnings = True
        self._enforcer.register_defaults([_rule_default(rule)
                                          for rule in facts.policy_rules()])
        # The file is read now, so that a broken one stops the start rather than a
        # request, and only now: per request there is the rule check alone.
        self._enforcer.load_rules()
        self._enforcer.use_conf = False

    def allows(self, rule: str, who: Credentials, target: dict) -> bool:
        """Whether `who` may do what `rule` guards to `target` (`project_id`, `user_id`)."""
        return bool(self._enforcer.authorize(rule, target, who.as_policy_values(),
                                             do_raise=False))


def _rule_default(rule: facts.PolicyRule) -> oslo_policy.RuleDefault:
    deprecated = None
    if rule.deprecated_check is not None:
        deprecated = oslo_policy.DeprecatedRule(
            name=rule.deprecated_name, check_str=rule.deprecated_check,
            deprecated_reason="the secure-RBAC defaults replace it",
            deprecated_since="Wallaby")
    return oslo_policy.RuleDefault(rule.name, rule.check,
                                   scope_types=list(rule.scope_types) or None,
                                   deprecated_rule=deprecated)
