"""Arguments of every connection: `first` within bounds, `after` an opaque cursor."""

from errors import BadInput
from resolvers.ids import from_cursor

DEFAULT_PAGE_SIZE = 20


def page_size(first: int | None, maximum: int) -> int:
    """`first` above the maximum is an error, never a silent truncation; null means the default."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > maximum:
        raise BadInput(f"first must be between 0 and {maximum}")
    return first


def after_key(after: str | None) -> int | None:
    return None if after is None else from_cursor(after)
