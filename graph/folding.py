"""Folding for search: names compared without case or accents ("Zoë" finds "zoe", "ZOE" finds "Zoë").

Neo4j's analyzer that folds accents also drops English stop words ("The Rock" could not be found by
"the"), so Chirp folds in Python, stores the folded text beside the original, and indexes that.
"""

import unicodedata


def fold(text: str) -> str:
    """Compatibility-decomposed (so "ﬁ" is "fi"), accents dropped, then case-folded ("ß" is "ss")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
