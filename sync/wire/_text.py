"""Text and free-form JSON as they may cross the wire: bounded, and free of what breaks a
database, a log line or a page (DESIGN.md §12).

Every string a client sends is one of these types with a `max_length` at the field:

- `Line`: one line of text (a token, an id, a code): no control characters at all.
- `Name`: a `Line` trimmed of surrounding spaces, and not blank.
- `Prose`: text people write (a description, a reason): newlines and tabs allowed, no other
  control characters.
- `CardNumber`: a payment card's number as people write it, at most 30 characters: digits,
  grouped by spaces or dashes if they like (`4242 4242 4242 4242`). The payment gateway
  reads it, and refuses (402) what is not a number it takes.

None of them allows a lone surrogate (a half of a UTF-16 pair that JSON's ``\\ud800`` can
smuggle in): it cannot be encoded as UTF-8, so no database stores it and no answer carries
it. A NUL is refused too (PostgreSQL refuses it in text).

`JsonObject` is a free-form JSON object (product attributes, an event payload) bounded in
depth, size, key and string lengths, with finite numbers only; `json_fits` tells whether a
value read back from the database still fits, so a page can leave out what would break it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Strict, StringConstraints

__all__ = [
    "JSON_MAX_CHARS",
    "JSON_MAX_DEPTH",
    "JSON_MAX_KEY",
    "JSON_MAX_STRING",
    "CardNumber",
    "JsonObject",
    "Line",
    "Name",
    "Prose",
    "json_fits",
    "json_problem",
    "text_problem",
]

# C0 and C1 controls and DEL; prose keeps tab and newline. Surrogates: U+D800-U+DFFF.
_LINE_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_PROSE_REFUSED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `value` as text, in words; None when nothing is."""
    found = (_PROSE_REFUSED if multiline else _LINE_REFUSED).search(value)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    allowed = " (only newline and tab are allowed)" if multiline else ""
    return f"contains {kind} (U+{ord(char):04X}) at position {found.start()}{allowed}"


def _checked(multiline: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        problem = text_problem(value, multiline=multiline)
        if problem is not None:
            raise ValueError(problem)
        return value

    return check


Line = Annotated[str, AfterValidator(_checked(multiline=False))]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_checked(False))
]
Prose = Annotated[str, AfterValidator(_checked(multiline=True))]
CardNumber = Annotated[Line, StringConstraints(max_length=30)]
# A yes or no in a request: JSON's true or false only ("yes", 1 or "false" are refused,
# naming the field, rather than read as a guess).
Flag = Annotated[bool, Strict()]


# -- free-form JSON -------------------------------------------------------------------------

JSON_MAX_DEPTH = 5  # {"a": {"b": 1}} is 2 deep
JSON_MAX_CHARS = 16_000  # keys, strings and numbers together, roughly its size as JSON
JSON_MAX_KEY = 100
JSON_MAX_STRING = 2_000
_MAX_INT = 2**63 - 1


def json_problem(value: Any) -> str | None:
    """What is wrong with `value` as a bounded JSON object, in words naming where; None
    when it fits."""
    budget = [JSON_MAX_CHARS]

    def walk(node: Any, path: str, depth: int) -> str | None:
        if isinstance(node, dict):
            if depth >= JSON_MAX_DEPTH:
                return f"{path or 'it'} nests deeper than {JSON_MAX_DEPTH} levels"
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"{path or 'it'} has a key that is not text"
                problem = text_problem(key)
                if problem is not None:
                    return f"a key at {path or 'the top'} {problem}"
                if len(key) > JSON_MAX_KEY:
                    return f"a key at {path or 'the top'} is longer than {JSON_MAX_KEY} characters"
                where = f"{path}.{key}" if path else key
                budget[0] -= len(key) + 4
                found = walk(item, where, depth + 1)
                if found is not None:
                    return found
        elif isinstance(node, list):
            if depth >= JSON_MAX_DEPTH:
                return f"{path or 'it'} nests deeper than {JSON_MAX_DEPTH} levels"
            for index, item in enumerate(node):
                budget[0] -= 1
                found = walk(item, f"{path}[{index}]", depth + 1)
                if found is not None:
                    return found
        elif isinstance(node, str):
            if len(node) > JSON_MAX_STRING:
                return f"{path} is longer than {JSON_MAX_STRING} characters"
            problem = text_problem(node, multiline=True)
            if problem is not None:
                return f"{path} {problem}"
            budget[0] -= len(node) + 2
        elif isinstance(node, bool) or node is None:
            budget[0] -= 5
        elif isinstance(node, int):
            if abs(node) > _MAX_INT:
                return f"{path} is too large a number"
            budget[0] -= 20
        elif isinstance(node, float):
            if not math.isfinite(node):
                return f"{path} is not a finite number"
            budget[0] -= 24
        else:
            return f"{path} is not a JSON value"
        if budget[0] < 0:
            return f"it is larger than {JSON_MAX_CHARS} characters"
        return None

    if not isinstance(value, dict):
        return "it is not a JSON object"
    return walk(value, "", 0)


def json_fits(value: Any) -> bool:
    """Whether a stored value still fits the bounds (rows stored before they existed may
    not): a page shows only what does."""
    return json_problem(value) is None


def _bounded(value: dict[str, Any]) -> dict[str, Any]:
    problem = json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded)]
