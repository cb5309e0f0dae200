"""Text search over CI names and key attributes, behind a small dialect seam.

SQLite uses the FTS5 index ``ci_fts`` (kept in step by triggers, see migration
0001); PostgreSQL looks for every word in one lower-case text of the searched
fields, which ``cmdb server setup`` indexes with pg_trgm (a GIN trigram index on
that very expression, :data:`cmdb_desktop.dialect.PG_SEARCH_TEXT`); other
databases fall back to case-insensitive LIKE on each field. Both refuse a
search text too long to search quickly (:func:`check_query`), so a text pasted
into a search box gets a message instead of a minute-long query.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Select, func, or_, select, text
from sqlalchemy.orm import Session

from cmdb_desktop.dialect import FOLD_DIACRITICS, PG_SEARCH_TEXT, SEARCH_COLUMNS
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.models import ConfigurationItem as CI

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb


_TOKEN = re.compile(r"[\w]+", re.UNICODE)

#: Longest search text, in characters: a few names (at most 255 characters each).
MAX_QUERY_CHARS = 1000
#: Most words a search looks for (as the index splits them: ``web-prod-01`` is
#: three). Each is one more term the full-text index must intersect; a phrase of
#: 50,000 of them (a pasted page) took a minute and a half on 100k CIs, and no
#: CI needs more than a few words to be found.
MAX_QUERY_WORDS = 32


def tokens(query: str) -> list[str]:
    return _TOKEN.findall(query.casefold())


def check_query(query: str) -> None:
    """Refuse (ValidationError, saying why) a search text too long to search quickly.

    >>> check_query("web-prod " * 20)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cmdb_desktop.errors.ValidationError: The search text has 40 words; at most 32 are ...
    """
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationError(
            f"The search text is {len(query):,} characters long; at most "
            f"{MAX_QUERY_CHARS:,} are searched. Search for a few words (a name, a serial "
            "number, part of a description)."
        )
    words = len(tokens(query))
    if words > MAX_QUERY_WORDS:
        raise ValidationError(
            f"The search text has {words:,} words; at most {MAX_QUERY_WORDS} are searched. "
            "Search for fewer words (a name, a serial number, part of a description)."
        )


def fts5_query(query: str) -> str | None:
    """An FTS5 MATCH expression: every typed word must occur, the last one as a prefix.

    A word the tokenizer splits (``web-prod``) becomes a phrase, so its parts
    must stand next to each other in one field. A text longer than
    :data:`MAX_QUERY_CHARS` or :data:`MAX_QUERY_WORDS` is refused
    (:func:`check_query`).

    >>> fts5_query('web-prod 0')
    '"web prod" AND "0"*'
    """
    check_query(query)
    phrases = [" ".join(tokens(word)) for word in query.split()]
    phrases = [p for p in phrases if p]
    if not phrases:
        return None
    parts = [f'"{p}"' for p in phrases]
    parts[-1] += "*"
    return " AND ".join(parts)


class SearchBackend(Protocol):
    def matching_ids(self, session: Session, query: str) -> Select[Any] | None:
        """A SELECT of matching CI ids (None when the query has no searchable text)."""


class Fts5Search:
    def matching_ids(self, session: Session, query: str) -> Select[Any] | None:
        match = fts5_query(query)
        if match is None:
            return None
        return (
            select(text("rowid"))
            .select_from(text("ci_fts"))
            .where(text("ci_fts MATCH :q").bindparams(q=match))
        )


class LikeSearch:
    def matching_ids(self, session: Session, query: str) -> Select[Any] | None:
        check_query(query)
        words = tokens(query)
        if not words:
            return None
        conds: list[ColumnElement[bool]] = []
        for w in words:
            pattern = f"%{w}%"
            conds.append(or_(*(func.lower(getattr(CI, c)).like(pattern) for c in SEARCH_COLUMNS)))
        return select(CI.id).where(*conds)


class TrigramSearch:
    """PostgreSQL, with SQLite's FTS5 rules (:func:`fts5_query`): every typed word
    must occur as a whole word, the last one as a prefix, and a word the tokenizer
    splits (``web-prod``) as those words side by side. A regular expression on the
    CI's searched text, which the pg_trgm GIN index of team mode answers."""

    def matching_ids(self, session: Session, query: str) -> Select[Any] | None:
        check_query(query)
        phrases = [tokens(word.translate(FOLD_DIACRITICS)) for word in query.split()]
        phrases = [p for p in phrases if p]
        if not phrases:
            return None
        # tokens hold letters, digits and "_" only: nothing to escape in a pattern
        patterns = [
            "\\m" + "\\W+".join(p) + ("" if i == len(phrases) - 1 else "\\M")
            for i, p in enumerate(phrases)
        ]
        conds = [
            text(f"{PG_SEARCH_TEXT} ~ :w{i}").bindparams(**{f"w{i}": p})
            for i, p in enumerate(patterns)
        ]
        return select(CI.id).where(*conds)


def backend_for(dialect: str) -> SearchBackend:
    if dialect == "sqlite":
        return Fts5Search()
    if dialect == "postgresql":
        return TrigramSearch()
    return LikeSearch()


class SearchService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb
        self.backend = backend_for(cmdb.engine.dialect.name)

    def filter_clause(self, session: Session, query: str) -> ColumnElement[bool] | None:
        """A WHERE clause on ``ci`` for a text query, for callers that add their own
        filters and sorting (the GUI table)."""
        sub = self.backend.matching_ids(session, query)
        if sub is None:
            return None
        return CI.id.in_(sub.scalar_subquery())

    def search(
        self, query: str, *, limit: int = 50, class_ids: Collection[int] | None = None
    ) -> list[int]:
        """Ids of CIs matching every word of ``query`` (the last word as a prefix),
        exact name matches first, then by name."""
        with self._cmdb.read() as s:
            clause = self.filter_clause(s, query)
            if clause is None:
                return []
            stmt = select(CI.id).where(clause)
            if class_ids is not None:
                stmt = stmt.where(CI.class_id.in_(list(class_ids)))
            exact = func.lower(CI.name) == query.strip().lower()
            stmt = stmt.order_by(exact.desc(), CI.name, CI.id).limit(limit)
            return list(s.scalars(stmt))

    def count(self, query: str) -> int:
        with self._cmdb.read() as s:
            clause = self.filter_clause(s, query)
            if clause is None:
                return 0
            return int(s.scalar(select(func.count()).select_from(CI).where(clause)) or 0)
