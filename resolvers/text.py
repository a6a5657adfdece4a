"""Tweet text: weighted length as Twitter counts it (twitter-text-parser), hashtags and mentions.

twitter-text-parser gives the weighted length and the URLs but no hashtag or mention
extractor, so those two follow twitter-text's rules here, skipping anything inside a URL.
"""

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import re
import threading
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, partial

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # it imports the deprecated pkg_resources
    from twitter_text import extract_urls_with_indices, parse_tweet

from errors import BadInput

MAX_WEIGHTED_LENGTH = 280
# twitter-text weighs a URL of up to 4096 characters as 23, so a valid tweet can hold 11 of them
# and be some 45,000 characters long; none can be longer than this plain length, checked first.
URL_WEIGHT, MAX_URL_LENGTH = 23, 4096
MAX_TEXT_LENGTH = (MAX_WEIGHTED_LENGTH // (URL_WEIGHT + 1) + 1) * MAX_URL_LENGTH + MAX_WEIGHTED_LENGTH
INLINE_TEXT_LENGTH = 500  # weighed in about 3 ms on the event loop; longer texts go to a process

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


async def checked_text(text: str, *, may_be_empty: bool = False) -> ParsedText:
    """parse_text, after the cheap bound on plain length. twitter-text's emoji regex takes about
    7 microseconds a character, holding the GIL (so a thread would not spare the event loop): a
    longer text is weighed in a process of its own, where the longest valid one takes 0.3 s."""
    if len(text) > MAX_TEXT_LENGTH:
        raise BadInput(f"a tweet is at most {MAX_WEIGHTED_LENGTH} characters as Twitter counts them")
    if len(text) <= INLINE_TEXT_LENGTH:
        return parse_text(text, may_be_empty=may_be_empty)
    weighing = partial(parse_text, text, may_be_empty=may_be_empty)
    return await asyncio.get_running_loop().run_in_executor(weighing_process(), weighing)


@cache
def weighing_process() -> ProcessPoolExecutor:
    """One process, started on first use ("spawn": nothing of this process's threads or sockets
    is copied into it), that weighs long texts one after the other, and ends with the API's."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=end_with_parent)


def end_with_parent() -> None:
    """A pool's worker holds both ends of its task queue, so it never reads an end of file: when the
    API process is killed, it would wait for tasks for ever. It leaves as soon as its parent is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


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
