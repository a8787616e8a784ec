"""One page envelope for every list the API answers: `items`, `total`, `next_offset`; and
the `offset` and `limit` query parameters that ask for a page (`Paging`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Self, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int = Field(description="how many there are in all, across every page")
    next_offset: int | None = Field(description="offset of the next page, or null at the end")

    @classmethod
    def of(cls, items: list[Item], total: int, offset: int, limit: int, **more: Any) -> Self:
        """The page at `offset` of `limit` items; `more`: a page's own fields beside them."""
        next_offset = offset + limit if offset + limit < total else None
        return cls(items=items, total=total, next_offset=next_offset, **more)

    @classmethod
    def cut(cls, every: Sequence[Item], asked: PageRequest) -> Self:
        """The page `asked` for of a short list read whole (a person's sessions, say)."""
        items = list(every[asked.offset : asked.offset + asked.limit])
        return cls.of(items, len(every), asked.offset, asked.limit)


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int


def _page_request(
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="where the page starts")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many items")] = 20,
) -> PageRequest:
    return PageRequest(offset, limit)


Paging = Annotated[PageRequest, Depends(_page_request)]
"""The page a list route was asked for (`?offset=&limit=`)."""
