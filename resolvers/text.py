"""Tweet text: weighted length as Twitter counts it (twitter-text-parser), hashtags and mentions.

twitter-text-parser gives the weighted length and the URLs but no hashtag or mention
extractor, so those two follow twitter-text's rules here, skipping anything inside a URL.
"""

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # it imports the deprecated pkg_resources
    from twitter_text import extract_urls_with_indices, parse_tweet

from errors import BadInput

MAX_WEIGHTED_LENGTH = 280

# C0 and C1 control characters, but for tab, line feed and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A hashtag: '#' not preceded by a word character or '&', then word characters with a letter.
HASHTAG = re.compile(r"(?<![\w&])[#\uFF03](\w*[^\W\d_]\w*)")
# A mention: '@' not preceded by a word character or one of !@#$%&*, then 1 to 15 of [A-Za-z0-9_],
# not followed by more handle characters or '@' (an e-mail address is no mention).
MENTION = re.compile(r"(?<![\w!@#$%&*\uFF20])[@\uFF20]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@\uFF20])")


@dataclass(frozen=True)
class ParsedText:
    text: str
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]


def parse_text(text: str, *, may_be_empty: bool = False) -> ParsedText:
    """Validates a tweet's text; hashtags and mentions come in order of appearance, each once.
    A tweet with media may have no text."""
    if not text.strip():
        if may_be_empty:
            return ParsedText(text="", hashtags=(), mentions=())
        raise BadInput("a tweet needs some text")
    if CONTROL.search(text):
        raise BadInput("a tweet cannot contain control characters")
    parsed = parse_tweet(text)
    if parsed.weightedLength > MAX_WEIGHTED_LENGTH or not parsed.valid:
        raise BadInput(
            f"a tweet is at most {MAX_WEIGHTED_LENGTH} characters as Twitter counts them "
            f"(this one is {parsed.weightedLength}), with no invalid characters"
        )
    url_spans = [url["indices"] for url in extract_urls_with_indices(text)]

    def outside_urls(match: re.Match[str]) -> bool:
        return not any(start <= match.start() < end for start, end in url_spans)

    return ParsedText(
        text=text,
        hashtags=_unique(m.group(1) for m in HASHTAG.finditer(text) if outside_urls(m)),
        mentions=_unique(m.group(1) for m in MENTION.finditer(text) if outside_urls(m)),
    )


def _unique(found: Iterable[str]) -> tuple[str, ...]:
    """First occurrence of each, ignoring case."""
    seen: dict[str, str] = {}
    for item in found:
        seen.setdefault(item.lower(), item)
    return tuple(seen.values())
