"""Which checks the fuzzer runs on every response, and why some run otherwise.

schemathesis's own checks know OpenAPI; each is on unless Placement's documented behaviour
differs from what the check assumes, and the table `SCHEMATHESIS_CHECKS` says where and
why (the command prints it at the start of every run, and the README repeats it).
Placement's own rules (`conformance.checks`) are registered with schemathesis here and
run on every response too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import schemathesis

import placement_spec
from conformance import checks
from conformance.deviations import FUZZ_KEY, KnownDeviations, load
from placement_spec import Microversion, facts


@dataclass(frozen=True)
class Exemption:
    """A path where a check is off below a microversion, because Placement's documented
    behaviour there differs from what the check assumes."""

    path: str
    below: Microversion
    reason: str


@dataclass(frozen=True)
class CheckSetting:
    """How one of schemathesis's own checks runs against Placement, and why."""

    enabled: bool = True
    reason: str = ""
    # The statuses the check accepts, when not its defaults.
    expected_statuses: tuple[str, ...] = ()
    exemptions: tuple[Exemption, ...] = ()


INVENTORIES = "/resource_providers/{uuid}/inventories"
_DELETE_ALL_INVENTORIES_SINCE = facts.operation_range("DELETE", INVENTORIES).low
BEFORE_DELETE_ALL_INVENTORIES = Exemption(
    path=INVENTORIES, below=_DELETE_ALL_INVENTORIES_SINCE,
    reason=f"below {_DELETE_ALL_INVENTORIES_SINCE} Placement answers DELETE with 405 and no "
           "Allow header, and names DELETE in the Allow header of its other 405s (see the "
           "spec's description)")

# schemathesis's own checks. Each is on unless Placement's documented behaviour differs
# from what the check assumes; the reason says where.
SCHEMATHESIS_CHECKS: dict[str, CheckSetting] = {
    "not_a_server_error": CheckSetting(),
    "status_code_conformance": CheckSetting(),
    "content_type_conformance": CheckSetting(),
    "response_schema_conformance": CheckSetting(),
    "response_headers_conformance": CheckSetting(),
    "negative_data_rejection": CheckSetting(),
    "positive_data_acceptance": CheckSetting(
        reason="Placement answers 400, not 404 or 409, to a schema-valid body that names "
               "something that does not exist (a provider, a resource class, a parent) or "
               "an inventory whose capacity is not positive, and to a malformed consumer "
               "uuid in the path, which the spec leaves a plain string",
        # schemathesis's default list, plus 400.
        expected_statuses=("2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx")),
    "missing_required_header": CheckSetting(),
    "unsupported_method": CheckSetting(exemptions=(BEFORE_DELETE_ALL_INVENTORIES,)),
    "allow_header_conformance": CheckSetting(exemptions=(BEFORE_DELETE_ALL_INVENTORIES,)),
    "ignored_auth": CheckSetting(),
    "ensure_resource_availability": CheckSetting(),
    "use_after_free": CheckSetting(
        enabled=False,
        reason="GET /allocations/{consumer_uuid} after its DELETE is 200 "
               '{"allocations": {}} by design: Placement never answers 404 there'),
    "object_level_authorization": CheckSetting(),
}

for _check in checks.CHECKS:
    schemathesis.check(_check)


def check_settings() -> list[str]:
    """Which of schemathesis's checks do not run as they come, and why: a line each."""
    lines = []
    for name, setting in SCHEMATHESIS_CHECKS.items():
        if not setting.enabled:
            lines.append(f"check {name} is off: {setting.reason}")
        elif setting.expected_statuses:
            lines.append(f"check {name} expects {', '.join(setting.expected_statuses)}: "
                         f"{setting.reason}")
        lines += [f"check {name} is off on {exemption.path} below {exemption.below}: "
                  f"{exemption.reason}" for exemption in setting.exemptions]
    return lines


def known_deviations(path: Path | None) -> KnownDeviations:
    """The known-deviations file at `path` (none: no deviations), checked against the
    checks the fuzzer runs and the operations of the spec, so that a typo hides nothing."""
    if path is None:
        return KnownDeviations()
    deviations = load(path, FUZZ_KEY)
    names = [*SCHEMATHESIS_CHECKS, *(check.__name__ for check in checks.CHECKS)]
    operations = {operation for version in placement_spec.supported()
                  for operation in placement_spec.operations(placement_spec.project(version))}
    deviations.check_names((name, operation) for name in names for operation in operations)
    return deviations
