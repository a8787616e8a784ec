"""`If-Match` (RFC 9110 §13.1.1): a change sent with the ETag its sender read applies only while
the thing is still as read; otherwise 412 and nothing changes, and the client reads it again.

The ETag of a thing with a `version` (one that moves with every stored change, as terminals'
listing edits rely on) is that version, quoted: `"7"`, a strong validator. If-Match compares
strongly, so a weak tag (`W/"…"`, such as the public, cacheable answers carry) never matches.
No If-Match at all: the change applies as before."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import IfMatchInvalid

__all__ = ["Precondition", "if_match", "version_etag"]

# One entity-tag of a list (RFC 9110 §8.8.3): an optional W/, an opaque string in double
# quotes (which may hold a comma), then a comma or the end.
_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')
_MAX_LENGTH = 1000


def version_etag(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True)
class Precondition:
    """What If-Match asked for: any current version (`*`), or one of `versions`."""

    versions: frozenset[int] | None  # None: `*`

    def holds(self, version: int) -> bool:
        return self.versions is None or version in self.versions


def if_match(header: str | None) -> Precondition | None:
    """The precondition an If-Match header sets; None without one. IfMatchInvalid when it is
    neither `*` nor a list of entity-tags (quotes included)."""
    if header is None:
        return None
    text = header.strip()
    if text == "*":
        return Precondition(None)
    versions: set[int] = set()
    position, readable = 0, 0 < len(text) <= _MAX_LENGTH
    while readable and position < len(text):
        found = _TAG.match(text, position)
        if found is None or found.end() == position:
            readable = False
            break
        weak, opaque = found.groups()
        if weak is None and opaque.isascii() and opaque.isdigit() and len(opaque) < 19:
            versions.add(int(opaque))  # any other tag is valid but can never be current
        position = found.end()
    if not readable:
        raise IfMatchInvalid(
            'Send If-Match as the ETag the GET answered, quotes included (for example "3"), '
            "or leave it out."
        )
    return Precondition(frozenset(versions))
