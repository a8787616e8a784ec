"""Opening hours as a vendor types them at the till, and back:

    mon-fri 08:00-12:30 13:30-18:00; sat 09:00-13:00

Entries are separated by `;`; each names days (`mon`, a range `mon-fri`, or a list
`sat,sun`) and then up to four periods `HH:MM-HH:MM`. A day no entry names is closed. The
result is checked as the server checks it (`sync.wire.OpeningHours`), so what the till
accepts the server applies."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from sync.wire import OpeningHours, Weekday

__all__ = ["HoursError", "hours_text", "parse_hours"]

_DAYS = [day.value for day in Weekday]
_CHECK: TypeAdapter[OpeningHours] = TypeAdapter(OpeningHours)


class HoursError(ValueError):
    """The hours as typed cannot be read; the message says what to fix."""


def _days(spec: str) -> list[str]:
    days: list[str] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise HoursError(f"{part!r} is not a day: use mon, tue, wed, thu, fri, sat, sun")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        if end < start:
            raise HoursError(f"{part!r} runs backwards: write the days from mon to sun")
        days.extend(_DAYS[start : end + 1])
    return days


def parse_hours(text: str) -> dict[str, list[dict[str, str]]]:
    """The week's hours from `text`, as the server stores them; HoursError saying why not."""
    week: dict[str, list[dict[str, str]]] = {}
    for entry in filter(None, (e.strip() for e in text.lower().split(";"))):
        spec, *periods = entry.split()
        if not periods:
            raise HoursError(f"{entry!r} gives no hours: write e.g. mon-fri 08:00-18:00")
        for day in _days(spec):
            if day in week:
                raise HoursError(f"{day} is named twice: give each day once")
            week[day] = []
            for period in periods:
                opens, dash, closes = period.partition("-")
                if not dash:
                    raise HoursError(f"{period!r} is not a period: write it as 08:00-18:00")
                week[day].append({"opens": opens, "closes": closes})
    try:
        checked = _CHECK.validate_python(week)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = " ".join(str(p) for p in first["loc"] if isinstance(p, str))
        raise HoursError(f"{where}: {_words(first)}") from None
    return {
        day.value: [period.model_dump() for period in periods]
        for day, periods in sorted(checked.items(), key=lambda item: _DAYS.index(item[0]))
    }


def _words(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        return "a time is HH:MM on the 24-hour clock, e.g. 08:00 or 17:30"
    if error["type"] == "too_long":
        return "at most 4 periods a day"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def hours_text(hours: dict[str, Any]) -> str:
    """The hours as `parse_hours` reads them, days with the same hours run together;
    "closed" when there are none."""
    entries: list[tuple[list[str], str]] = []
    for day in _DAYS:
        periods = hours.get(day)
        if not isinstance(periods, list) or not periods:
            continue
        shown = " ".join(
            f"{p.get('opens')}-{p.get('closes')}" for p in periods if isinstance(p, dict)
        )
        previous = entries[-1] if entries else None
        if (
            previous
            and previous[1] == shown
            and _DAYS.index(previous[0][-1]) == _DAYS.index(day) - 1
        ):
            previous[0].append(day)
        else:
            entries.append(([day], shown))
    if not entries:
        return "closed"
    return "; ".join(
        f"{days[0]}-{days[-1] if len(days) > 1 else ''}".rstrip("-") + f" {shown}"
        for days, shown in entries
    )
