"""docs/operations.md stays true: every server setting has a row in its table (with its
default), and the restore drill's commands stand there as the drill test runs them.

`python -m tests.test_operations_doc` prints the table's rows from `Settings`, to start the
row of a new setting from."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from server.settings import Settings
from tests.e2e.test_restore_drill import DUMP, RESTORE, VERIFY

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def variable(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):  # the first choice is the name the docs give
        alias = alias.choices[0]
    return alias if isinstance(alias, str) else f"TILLPOINT_{name.upper()}"


def default_text(field: FieldInfo) -> str:
    default = field.default
    if default is None or default == "":
        return "(none)"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def rows() -> dict[str, str]:
    """The rows of the table under "## Settings", by the variable they start with."""
    found = {}
    section = DOC.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        if line.startswith("| `"):
            found[line.split("`")[1]] = line
    return found


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_with_its_default(name):
    field = Settings.model_fields[name]
    row = rows().get(variable(name, field))
    assert row is not None, f"docs/operations.md has no row for {variable(name, field)}"
    assert f"`{default_text(field)}`" in row or default_text(field) in row, row


def test_the_documented_settings_all_exist():
    known = {variable(name, field) for name, field in Settings.model_fields.items()}
    other = {"REDIS_URL", "FORWARDED_ALLOW_IPS"}  # read by other code (uvicorn, Redis)
    assert set(rows()) - known - other == set()


def test_the_restore_drill_commands_are_the_documented_ones():
    doc = DOC.read_text()
    assert " ".join(DUMP) in doc
    assert " ".join(RESTORE) in doc
    assert "tillpoint " + " ".join(VERIFY) in doc


if __name__ == "__main__":
    for name, field in Settings.model_fields.items():
        print(
            f"| `{variable(name, field)}` | `{default_text(field)}` | {field.description or ''} |"
        )
