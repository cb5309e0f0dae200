"""A search text too long to search quickly is refused with a message, on every
path that searches (the search service, the browse table's filter, both
backends): a 100,000-character paste took 13 s, a 50,000-word phrase a minute
and a half, on 100k CIs. No timing here: what is checked is that no more than
:data:`MAX_QUERY_WORDS` words ever reach the index, and what the user is told.
"""

from __future__ import annotations

import re

import pytest

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.search import (
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    LikeSearch,
    check_query,
    fts5_query,
)

LONG_PASTE = "web-prod " * 11_000  # ~100,000 characters
TOO_MANY_WORDS = " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS + 1))
ONE_LONG_PHRASE = "a-" * 200  # one "word", 200 index terms


def _terms(match: str) -> int:
    """How many index terms an FTS5 MATCH expression asks for."""
    return sum(len(phrase.split()) for phrase in re.findall(r'"([^"]*)"', match))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (LONG_PASTE, f"at most {MAX_QUERY_CHARS:,} are searched"),
        (TOO_MANY_WORDS, f"has {MAX_QUERY_WORDS + 1} words; at most {MAX_QUERY_WORDS}"),
        (ONE_LONG_PHRASE, f"has 200 words; at most {MAX_QUERY_WORDS}"),
    ],
)
def test_too_long_a_search_is_refused_with_a_message(cmdb: Cmdb, text: str, says: str) -> None:
    for search in (
        lambda: fts5_query(text),
        lambda: cmdb.search.search(text),
        lambda: cmdb.search.count(text),
        lambda: browse.count(cmdb, BrowseFilter(text=text)),  # the GUI table's filter
    ):
        with pytest.raises(ValidationError, match=re.escape(says)):
            search()
    with cmdb.read() as session, pytest.raises(ValidationError, match=re.escape(says)):
        LikeSearch().matching_ids(session, text)  # the PostgreSQL fallback


def test_the_longest_search_allowed_still_works(cmdb: Cmdb) -> None:
    a = cmdb.items.create("Server", {"name": "web-prod-01", "status": "In Use"}).created[0]
    words = " ".join(["web-prod"] * ((MAX_QUERY_WORDS - 1) // 2)) + " 01"
    check_query(words)
    match = fts5_query(words)
    assert match is not None and _terms(match) <= MAX_QUERY_WORDS
    assert cmdb.search.search(words) == [a]


def test_no_accepted_text_asks_the_index_for_more_words() -> None:
    for text in ("a b c", "x-" * 16, "ünïcode wörds " * 8, "#12 web01", "a" * MAX_QUERY_CHARS):
        try:
            check_query(text)
        except ValidationError:
            continue
        match = fts5_query(text)
        assert match is None or _terms(match) <= MAX_QUERY_WORDS, text
