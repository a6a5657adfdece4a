"""Parsed query documents, cached per query text: clients send the same few queries over and over,
and parsing one costs about a tenth of serving it."""

from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

CACHED_DOCUMENTS = 256  # bounded, so that unique query texts cannot grow memory without limit


@lru_cache(maxsize=CACHED_DOCUMENTS)
def parsed(query: str) -> DocumentNode:
    return parse(query)


class ParsedDocuments(SchemaExtension):
    """Unlike Strawberry's ParserCache, a text that does not parse is left to Strawberry's own
    parsing, so its syntax error is reported the usual way (and gets its code in schema/errors.py)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and not context.parse_options:
            with suppress(GraphQLError):
                context.graphql_document = parsed(context.query)
        yield
