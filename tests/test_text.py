"""Tweet text rules: weighted length as twitter-text counts it, hashtags and mentions."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from errors import BadInput
from resolvers.text import parse_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("a" * 280, True),
        ("a" * 281, False),
        ("世" * 140, True),  # CJK weighs 2
        ("世" * 141, False),
        ("😀" * 140, True),  # an emoji weighs 2
        ("😀" * 141, False),
        ("https://example.com/" + "a" * 300, True),  # any URL weighs 23
        ("", False),
        ("   \n", False),
    ],
)
def test_weighted_length(text: str, valid: bool) -> None:
    if valid:
        assert parse_text(text).text == text
    else:
        with pytest.raises(BadInput):
            parse_text(text)


def test_hashtags_and_mentions_in_order_once_each_outside_urls() -> None:
    parsed = parse_text("#Go @ada then #go #Rust_2 @Ada @bob https://example.com/#frag mail me@example.com #123")
    assert parsed.hashtags == ("Go", "Rust_2")
    assert parsed.mentions == ("ada", "bob")


@pytest.mark.parametrize("text", ["\x00", "hello\x00world", "bell\x07", "esc\x1b[31m", "c1\x85"])
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(BadInput, match="control characters"):
        parse_text(text)


def test_line_breaks_and_tabs_are_text() -> None:
    assert parse_text("line one\nline two\r\n\tindented").text == "line one\nline two\r\n\tindented"


KILLED_WITH_A_WORKER = """
import asyncio, os, signal
from resolvers.text import checked_text, weighing_process
asyncio.run(checked_text("https://example.com/" + "a" * 600))  # long: weighed in the worker
print(*weighing_process()._processes, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_weighing_worker_ends_when_its_api_process_is_killed() -> None:
    """Killed, the API cannot stop its worker: the worker sees its parent go and leaves (it used to
    wait for tasks for ever, and every test run that killed an API left one behind)."""
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WITH_A_WORKER], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    (worker,) = map(int, done.stdout.split())
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
