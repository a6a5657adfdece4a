"""Persisted queries: Apollo's automatic persisted queries (APQ), or, with a manifest, trusted
documents only.

APQ: a request may carry `extensions.persistedQuery = {version: 1, sha256Hash}` with or without
its query text. Without it, the text registered under that hash is run, or the answer is the
error PERSISTED_QUERY_NOT_FOUND, and the client sends the text with the hash, which registers it
(feeds/persisted.py). A request by hash alone may come by GET, so that an HTTP cache can keep it.

Trusted documents: given a manifest (TRUSTED_DOCUMENTS: Apollo's persisted-query manifest, or
Relay's {id: text} map), only its documents run, by id or by their text; nothing is registered.
"""

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path

from graphql import GraphQLError
from redis.exceptions import RedisError
from strawberry.http import GraphQLRequestData

from feeds import persisted
from resolvers.context import Context

SHA256 = re.compile(r"[0-9a-f]{64}")
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"  # the APQ protocol's own code, which Apollo's clients look for
LOCAL_DOCUMENTS = 1_000  # texts by hash kept in the process: a hash always names the same text

_local: OrderedDict[str, str] = OrderedDict()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """id -> document, for Apollo's manifest or Relay's map; each document also under its SHA-256,
    so that its text may be sent instead of its id."""
    manifest = json.loads(path.read_text())
    if isinstance(manifest, dict) and manifest.get("format") == "apollo-persisted-query-manifest":
        entries = {operation["id"]: operation["body"] for operation in manifest["operations"]}
    elif isinstance(manifest, dict) and all(isinstance(value, str) for value in manifest.values()):
        entries = dict(manifest)
    else:
        raise ValueError(f"{path}: neither an Apollo persisted-query manifest nor a Relay {{id: text}} map")
    return entries | {digest(text): text for text in entries.values()}


def error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


async def fill_in(context: Context, request: GraphQLRequestData) -> GraphQLError | None:
    """Sets the request's query from its hash (or registers its text); an error refuses it."""
    trusted = context.clients.trusted_documents
    extension = (request.extensions or {}).get("persistedQuery")
    if extension is None:
        if trusted is not None and request.query is not None and digest(request.query) not in trusted:
            return error("this server runs trusted documents only, and this is not one of them", "FORBIDDEN")
        return None
    hash_ = extension.get("sha256Hash") if isinstance(extension, dict) else None
    if not isinstance(hash_, str) or not SHA256.fullmatch(hash_) or extension.get("version") != 1:
        return error("persistedQuery needs version 1 and a sha256Hash of 64 lower-case hex digits", "BAD_USER_INPUT")
    if request.query is None:
        request.query = trusted.get(hash_) if trusted is not None else await lookup(context, hash_)
        return error("PersistedQueryNotFound", NOT_FOUND) if request.query is None else None
    if digest(request.query) != hash_:
        return error("provided sha does not match query", "BAD_USER_INPUT")
    if trusted is not None:
        return None if hash_ in trusted else error("this server runs trusted documents only", "FORBIDDEN")
    await register(context, hash_, request.query)
    return None


async def lookup(context: Context, hash_: str) -> str | None:
    text = _local.get(hash_)
    if text is None:
        try:
            text = await persisted.lookup(context.clients.redis, context.clients.keys, hash_)
        except RedisError:
            return None  # the client sends the text again
        if text is not None:
            remember(hash_, text)
    return text


async def register(context: Context, hash_: str, text: str) -> None:
    """Kept for every process, unless longer than persisted_query_max_length (it still runs)."""
    settings = context.clients.settings
    if hash_ in _local or len(text) > settings.persisted_query_max_length:
        return
    try:
        await persisted.register(
            context.clients.redis, context.clients.keys, hash_, text, settings.persisted_queries_max
        )
    except RedisError:
        return
    remember(hash_, text)


def remember(hash_: str, text: str) -> None:
    _local[hash_] = text
    while len(_local) > LOCAL_DOCUMENTS:
        _local.popitem(last=False)
