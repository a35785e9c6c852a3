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

import functools
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

    Upstream gives the role admin to the user `admin`; here that is the user the admin
    token (`--token`, `admin` by default) names, so that a deployment-like secret means
    what `admin` means upstream, and the text `admin` means nothing more than any other.
    """
    admin_user = admin_token.partition(":")[0]
    user, _, project = token.partition(":")
    project = project or user
    if "x-roles" in headers:
        listed = headers["x-roles"]
        roles = tuple(role.strip() for role in listed.split(",")) if listed else ()
    else:
        roles = ("admin",) if user == admin_user else ()
    system_scope = headers.get("openstack-system-scope") or None
    # noauth2 sets the token's project as the tenant, except on a system-scoped request,
    # which keeps only a tenant the caller sent; keystonemiddleware's X-Project-Id wins.
    tenant = headers.get("x-tenant-id", headers.get("x-tenant")) if system_scope else project
    project = headers.get("x-project-id", tenant)
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

    def refusal(self, rule: str, who: Credentials, target: dict) -> str | None:
        """Why `who` may not do what `rule` guards to `target` (`project_id`, `user_id`),
        in upstream's words; None when it may.

        A token of a scope the rule does not accept is refused with the bare rule name,
        as upstream words that refusal.
        """
        return self._refusal(rule, who, tuple(sorted(target.items())))

    # oslo.policy inspects each check's signature as it evaluates it (some 80 µs a
    # request); its rules are fixed once the server has started, so the same rule,
    # credentials and target always get the same answer, which is kept.
    @functools.lru_cache(maxsize=4096)
    def _refusal(self, rule: str, who: Credentials, target: tuple) -> str | None:
        try:
            self._enforcer.authorize(rule, dict(target), who.as_policy_values(),
                                     do_raise=True)
        except oslo_policy.InvalidScope:
            return rule
        except oslo_policy.PolicyNotAuthorized:
            return f"Policy does not allow {rule} to be performed."
        return None


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
