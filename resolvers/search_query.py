"""Chirp's search grammar. User text never reaches Lucene's parser: it is read here into terms,
and graph/search.py writes each term as a quoted, escaped Lucene phrase or as a Cypher parameter.

A query is terms separated by spaces:
- `word` and `"a quoted phrase"` must appear in the text (a quote left open runs to the end);
- `#tag` must be one of the tweet's hashtags, `@handle` one of its mentions, `from:handle` its author;
- `-` before any of these excludes it instead.
Characters that are not words (punctuation, Lucene's operators) only separate words: `a/b` is the
phrase "a b", `tb-*` the word "tb", `AND` just the word "and". A query needs at least one term
that is not an exclusion.
"""

import re
from dataclasses import dataclass
from typing import Literal

from errors import BadInput
from graph.folding import fold
from graph.search import TweetSearch
from resolvers.accounts import HANDLE
from resolvers.text import HASHTAG

# Bounded before any work: the text's length, then the number of terms (each one is a clause).
MAX_QUERY_LENGTH = 512
MAX_TERMS = 16

Kind = Literal["text", "hashtag", "mention", "from"]

WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Term:
    kind: Kind
    value: str  # text: as written (Lucene's analyzer splits it); otherwise a lower-cased tag or handle
    excluded: bool


def parse_tweet_query(text: str) -> TweetSearch:
    _check_length(text)
    terms = [term for excluded, quoted, raw in _tokens(text) if (term := _term(raw, quoted, excluded)) is not None]
    if len(terms) > MAX_TERMS:
        raise BadInput(f"a search query has at most {MAX_TERMS} terms")
    if not any(not term.excluded for term in terms):
        raise BadInput('a search needs a word, a "phrase", a #hashtag, an @handle or from:handle that is not excluded')

    def values(kind: Kind, excluded: bool) -> list[str]:
        return [term.value for term in terms if term.kind == kind and term.excluded == excluded]

    return TweetSearch(
        words=values("text", False),
        excluded_words=values("text", True),
        hashtags=values("hashtag", False),
        excluded_hashtags=values("hashtag", True),
        mentions=values("mention", False),
        excluded_mentions=values("mention", True),
        authors=values("from", False),
        excluded_authors=values("from", True),
    )


def _tokens(text: str) -> list[tuple[bool, bool, str]]:
    """(excluded, quoted, raw text) of each token, in order."""
    tokens = []
    position, end = 0, len(text)
    while position < end:
        if text[position].isspace():
            position += 1
            continue
        excluded = text[position] == "-" and position + 1 < end and not text[position + 1].isspace()
        position += excluded
        if text[position] == '"':
            close = text.find('"', position + 1)
            stop = end if close == -1 else close
            tokens.append((excluded, True, text[position + 1 : stop]))
            position = stop + 1
        else:
            stop = position
            while stop < end and not text[stop].isspace():
                stop += 1
            tokens.append((excluded, False, text[position:stop]))
            position = stop
    return tokens


def _term(raw: str, quoted: bool, excluded: bool) -> Term | None:
    """None for a token without a word in it (punctuation alone means nothing to search)."""
    if not quoted:
        if tag := HASHTAG.fullmatch(raw):
            return Term("hashtag", tag.group(1).lower(), excluded)
        if raw.startswith("@") and HANDLE.fullmatch(raw[1:]):
            return Term("mention", raw[1:].lower(), excluded)
        if raw[:5].lower() == "from:":
            handle = raw[5:].removeprefix("@")
            if not HANDLE.fullmatch(handle):
                raise BadInput("from: takes a handle: 1 to 15 letters, digits or underscores")
            return Term("from", handle.lower(), excluded)
    return Term("text", raw, excluded) if WORD.search(raw) else None


def typeahead_words(text: str) -> list[str]:
    """The words of a user search, folded; each is matched as the start of a word of a handle or name."""
    _check_length(text)
    words = re.findall(r"\w+", fold(text))
    if not words:
        raise BadInput("a user search needs at least one letter or digit")
    if len(words) > MAX_TERMS:
        raise BadInput(f"a search query has at most {MAX_TERMS} terms")
    return words


def _check_length(text: str) -> None:
    if len(text) > MAX_QUERY_LENGTH:
        raise BadInput(f"a search query has at most {MAX_QUERY_LENGTH} characters")
