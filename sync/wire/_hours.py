"""A branch's opening hours, as the directory shows them and a terminal edits them: days
(`mon` … `sun`) with up to four periods each, a day left out being closed."""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = ["DayHours", "OpeningHours", "OpeningPeriod", "Weekday"]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class OpeningPeriod(BaseModel):
    """Open from `opens` until `closes` (24-hour clock, local time; `24:00` is midnight)."""

    model_config = ConfigDict(extra="forbid")

    opens: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["08:00"])
    closes: str = Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", examples=["18:00"])

    @model_validator(mode="after")
    def in_order(self) -> OpeningPeriod:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens on the same day")
        return self


def _periods(value: Any) -> Any:
    """A day as a list of periods; "08:00-18:00" (how hours were sent at first) is one."""
    if isinstance(value, str):
        if value.count("-") != 1 or len(value) > 11:
            raise ValueError('give a list of {"opens": "HH:MM", "closes": "HH:MM"}')
        opens, closes = value.split("-")
        return [{"opens": opens.strip(), "closes": closes.strip()}]
    return value


def _apart(periods: list[OpeningPeriod]) -> list[OpeningPeriod]:
    ordered = sorted(periods, key=lambda p: p.opens)
    for before, after in pairwise(ordered):
        if after.opens < before.closes:
            raise ValueError("the periods of a day must not overlap")
    return ordered


DayHours = Annotated[
    list[OpeningPeriod], BeforeValidator(_periods), Field(max_length=4), AfterValidator(_apart)
]
OpeningHours = dict[Weekday, DayHours]
