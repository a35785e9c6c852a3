"""Injected faults: rules that make the server fail on purpose.

A client's retry logic is written for answers a real server gives rarely and never on
demand: a generation conflict (409 `placement.concurrent_update`), a 503 from a proxy, a
slow answer, a connection that drops. A rule says which requests it meets (method, path
pattern, microversion, how many times, with what chance) and what it does to them; the
rules and their shapes are `FaultFile` and `FaultRule` in `spec/control.yaml`.

The chances are drawn from one generator seeded by the set's `seed`, in the order the
requests come, so the same requests meet the same faults in every run. The rules live in
the memory of each worker, as the journal does.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from placement_spec import Microversion, Range, load_control
from reference_impl.validation import schema_failure

_SCHEMAS = load_control()["components"]["schemas"]
_RULE_FIELDS = _SCHEMAS["FaultRule"]["properties"]
DEFAULT_SEED: int = _SCHEMAS["FaultFile"]["properties"]["seed"]["default"]
DEFAULT_CODE: str = _RULE_FIELDS["code"]["default"]
DEFAULT_DETAIL: str = _RULE_FIELDS["detail"]["default"]
NO_FAULTS = {"seed": DEFAULT_SEED, "faults": []}


@dataclass
class Fault:
    """A rule in force (`rule` as the spec's `FaultRule` has it) and how often it met."""

    id: int
    rule: dict
    met: int = 0

    @property
    def remaining(self) -> int | None:
        times = self.rule.get("times")
        return None if times is None else times - self.met

    @property
    def versions(self) -> Range | None:
        if "microversion" not in self.rule:
            return None
        low, _, high = self.rule["microversion"].partition("-")
        return Range.of(low, high or low)

    def matches(self, method: str, path: str, version: Microversion | None) -> bool:
        rule, versions = self.rule, self.versions
        return (self.remaining != 0
                and rule.get("method", method) == method
                and fnmatch.fnmatchcase(path, rule.get("path", "*"))
                and (versions is None or (version is not None and versions.covers(version))))

    def document(self) -> dict:
        return {"id": self.id, "rule": self.rule, "met": self.met,
                "remaining": self.remaining}


class Faults:
    """The rules in force in one worker, tried in order; `initial` is the set the server
    started with, which a reset brings back."""

    def __init__(self, initial: dict = NO_FAULTS):
        self._initial = initial
        self.restore()

    def restore(self) -> None:
        self.replace(self._initial)

    def replace(self, fault_file: dict) -> None:
        self.seed = fault_file.get("seed", DEFAULT_SEED)
        self._draws = random.Random(self.seed)
        self._faults: list[Fault] = []
        self._last_id = 0
        for rule in fault_file["faults"]:
            self.add(rule)

    def add(self, rule: dict) -> Fault:
        self._last_id += 1
        fault = Fault(self._last_id, rule)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults = []

    def meet(self, method: str, path: str, version: Microversion | None) -> Fault | None:
        """The first rule this request meets, counted as met; None when none does."""
        for fault in self._faults:
            if not fault.matches(method, path, version):
                continue
            chance = fault.rule.get("probability")
            if chance is not None and self._draws.random() >= chance:
                continue
            fault.met += 1
            return fault
        return None

    def document(self) -> dict:
        return {"seed": self.seed, "faults": [fault.document() for fault in self._faults]}


def read_fault_file(path: str | Path) -> dict:
    """The set of faults a `--faults-file` holds (YAML or JSON); ValueError naming the
    file and what is wrong with it."""
    try:
        fault_file = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read the faults file {path}: {error}") from error
    problem = schema_failure(_SCHEMAS, "FaultFile", fault_file)
    if problem is not None:
        raise ValueError(f"the faults file {path} is not a set of faults "
                         f"(spec/control.yaml, FaultFile): {problem}")
    return fault_file
