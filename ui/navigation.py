"""Back/forward through the CIs the user looked at, like a web browser.

>>> nav = NavigationHistory()
>>> for ci in (1, 2, 3):
...     nav.visit(ci)
>>> nav.back(), nav.back(), nav.forward()
(2, 1, 2)
>>> nav.visit(7); nav.can_forward
False
"""

from __future__ import annotations


class NavigationHistory:
    """Visiting the current CI again is not a new step; deleted CIs can be dropped."""

    def __init__(self, limit: int = 200) -> None:
        self._items: list[int] = []
        self._pos = -1
        self._limit = limit

    @property
    def current(self) -> int | None:
        return self._items[self._pos] if self._pos >= 0 else None

    @property
    def can_back(self) -> bool:
        return self._pos > 0

    @property
    def can_forward(self) -> bool:
        return self._pos < len(self._items) - 1

    def visit(self, ci_id: int) -> None:
        if self.current == ci_id:
            return
        del self._items[self._pos + 1 :]
        self._items.append(ci_id)
        if len(self._items) > self._limit:
            del self._items[0]
        self._pos = len(self._items) - 1

    def back(self) -> int | None:
        if self.can_back:
            self._pos -= 1
        return self.current

    def forward(self) -> int | None:
        if self.can_forward:
            self._pos += 1
        return self.current

    def forget(self, ci_ids: set[int]) -> None:
        """Drop deleted CIs (keeping the position on the same CI where possible)."""
        current = self.current
        kept = [i for i in self._items if i not in ci_ids]
        # collapse repeats that removal made adjacent
        items: list[int] = []
        for i in kept:
            if not items or items[-1] != i:
                items.append(i)
        self._items = items
        if current in items:
            self._pos = items.index(current)
        else:
            self._pos = len(items) - 1

    def clear(self) -> None:
        self._items = []
        self._pos = -1
