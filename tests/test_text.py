"""Tweet text rules: weighted length as twitter-text counts it, hashtags and mentions."""

import pytest

from errors import BadInput
from resolvers.text import parse_text


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
