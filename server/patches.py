"""Request bodies: a field the request does not have is refused, naming it (`Body`), so a
misspelt `anonymus` is an error rather than a donation that names its donor.

PATCH bodies, one shape for every update: a field left out stays as it is; a field sent
is the new value; `null` only where the field may be empty (`NULLABLE`), refused elsewhere
with the field named, so a client never blanks a required value by mistake. A field the
resource does not have (or cannot change, such as a business's currency) is refused too."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["Body", "Patch"]


class Body(BaseModel):
    """What a client sends: its fields and no others."""

    model_config = ConfigDict(extra="forbid")


class Patch(Body):
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_blanking(self) -> Self:
        blanked = sorted(
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and name not in self.NULLABLE
        )
        if blanked:
            raise ValueError(
                f"{', '.join(blanked)} cannot be null: leave a field out to keep it as it is"
            )
        return self

    def changes(self, mode: str = "python") -> dict[str, Any]:
        """The fields sent, with their new values (`mode="json"`: as stored in JSON columns)."""
        return self.model_dump(mode=mode, include=self.model_fields_set)
