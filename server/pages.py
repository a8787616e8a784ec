"""One page envelope for every list the API answers: `items`, `total`, `next_offset`."""

from __future__ import annotations

from typing import Generic, Self, TypeVar

from pydantic import BaseModel, Field

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int = Field(description="how many there are in all, across every page")
    next_offset: int | None = Field(description="offset of the next page, or null at the end")

    @classmethod
    def of(cls, items: list[Item], total: int, offset: int, limit: int) -> Self:
        return cls(
            items=items, total=total, next_offset=offset + limit if offset + limit < total else None
        )
