"""Small pieces of English the server's messages are made of."""

from __future__ import annotations

__all__ = ["possessive"]


def possessive(name: str) -> str:
    """`name` owning something: "Ada's", but "Readers'" for a name ending in s."""
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"
