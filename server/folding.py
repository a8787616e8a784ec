"""Search text folded the same way on every database: case and accents do not matter.

`cafe` finds "Corner Café" and `CAFÉ` finds "cafe" on SQLite and PostgreSQL alike, because
both compare text folded here, in Python, rather than by a collation or an extension one of
them lacks. The folded copy is kept beside what it folds (a `search_*` column) and written
whenever the original is, by the models' flush hooks.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_LIKE_SPECIAL = re.compile(r"([\\%_])")


def fold(text: str) -> str:
    """Lower case, accents and compatibility forms removed, runs of space made one."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip()


def words(query: str) -> list[str]:
    """The folded words of a search, each to be found somewhere in the folded text."""
    return [w for w in fold(query).split(" ") if w]


def like_escaped(word: str) -> str:
    r"""A word as a LIKE pattern's literal part (with `\` as the escape character)."""
    return _LIKE_SPECIAL.sub(r"\\\1", word)
