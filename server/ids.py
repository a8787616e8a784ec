"""Short random ids (8 bytes, URL-safe base64): the same ids the tokens carry."""

from __future__ import annotations

from sync.tokens import id_text, new_id

__all__ = ["ID_LENGTH", "make_id"]

ID_LENGTH = 11  # characters of URL-safe base64 for 8 bytes


def make_id() -> str:
    return id_text(new_id())
