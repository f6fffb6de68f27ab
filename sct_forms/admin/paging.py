"""Pages of a long list: a bounded page size, and the page asked for kept within the list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from sct_forms.extensions import db

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, its number (from 1) and how many there are in all."""

    items: list[Any]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(query: Select, number: int | None, size: int = PAGE_SIZE) -> Page:
    """The page ``number`` of ``query``'s rows (the first when missing, the last when past it)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    total = total or 0
    last = max(1, -(-total // size))
    number = min(max(number or 1, 1), last)
    items = list(db.session.scalars(query.limit(size).offset((number - 1) * size)))
    return Page(items=items, number=number, size=size, total=total)
