"""Global ids and cursors: opaque strings to clients, typed integers inside."""

import base64
import binascii

from errors import BadInput, NotFound
from graph.records import CursorKey


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


MAX_ID = 2**63 - 1  # ids are signed 64-bit integers in Neo4j


def _number(raw: str, minimum: int = 1) -> int:
    """A raw id or cursor key; anything outside 1..2^63-1 cannot name anything."""
    if not raw.isascii() or not raw.isdigit():
        raise ValueError(raw)
    number = int(raw)
    if not minimum <= number <= MAX_ID:
        raise ValueError(raw)
    return number


def _decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError(token) from error


def to_global_id(type_name: str, raw_id: int) -> str:
    return _encode(f"{type_name}:{raw_id}")


def parse_global_id(global_id: str) -> tuple[str, int]:
    """(type name, raw id); a malformed id cannot name anything, so it is NotFound."""
    try:
        type_name, _, raw = _decode(global_id).partition(":")
        return type_name, _number(raw)
    except ValueError as error:
        raise NotFound(f"no node has the id {global_id!r}") from error


def from_global_id(global_id: str, expected_type: str) -> int:
    type_name, raw_id = parse_global_id(global_id)
    if type_name != expected_type:
        raise NotFound(f"no {expected_type} has the id {global_id!r}")
    return raw_id


def to_cursor(key: CursorKey) -> str:
    return _encode(f"cursor:{key}" if isinstance(key, int) else f"ranked:{key[0]}:{key[1]}")


def from_cursor(cursor: str) -> int:
    try:
        prefix, _, raw = _decode(cursor).partition(":")
        if prefix != "cursor":
            raise ValueError(cursor)
        return _number(raw)
    except ValueError as error:
        raise BadInput(f"invalid cursor {cursor!r}") from error


def from_ranked_cursor(cursor: str) -> tuple[int, int]:
    """(rank, id) of a ranked connection's cursor (search); a rank may be zero."""
    try:
        prefix, rank, raw = _decode(cursor).split(":")
        if prefix != "ranked":
            raise ValueError(cursor)
        return _number(rank, minimum=0), _number(raw)
    except ValueError as error:
        raise BadInput(f"invalid cursor {cursor!r}") from error
