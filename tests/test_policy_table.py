"""The README's tables of policies say what the spec says: every operation's rule, and
the default check strings of the rules those refer to."""

from __future__ import annotations

from pathlib import Path

from placement_spec import facts

README = Path(__file__).resolve().parent.parent / "README.md"


def operation_rows() -> list[str]:
    """| operation | rule | default |, for every operation of the spec."""
    rules = {rule.name: rule for rule in facts.policy_rules()}
    return [f"| `{operation}` | `{name}` | `{rules[name].check}` |"
            for operation, name in facts.operation_policies().items()]


def shared_rule_rows() -> list[str]:
    """| rule | secure default | legacy default adds | scopes |, for the rules the
    operations' defaults refer to (those not named for an operation)."""
    return [f"| `{rule.name}` | `{rule.check}` | "
            f"{f'`{rule.deprecated_check}`' if rule.deprecated_check else 'nothing'} | "
            f"{', '.join(rule.scope_types) or 'any'} |"
            for rule in facts.policy_rules() if not rule.name.startswith("placement:")]


def test_the_readme_lists_every_operations_rule() -> None:
    assert "\n".join(operation_rows()) in README.read_text(encoding="utf-8"), \
        "\n".join(operation_rows())


def test_the_readme_lists_the_defaults_of_the_shared_rules() -> None:
    assert "\n".join(shared_rule_rows()) in README.read_text(encoding="utf-8"), \
        "\n".join(shared_rule_rows())


def test_every_rule_an_operation_names_has_its_defaults() -> None:
    names = {rule.name for rule in facts.policy_rules()}
    assert set(facts.operation_policies().values()) <= names
