"""A mutation answers with what Neo4j committed.

Its write's outbox entry is relayed to the caches right after the commit, but not always at once:
while Redis is down, or when a pooled connection died with a restart, the worker relays it later.
Meanwhile a cache may still hold the record as it was (Redis kept it through the outage), and an
answer read from it would contradict the write it answers: a like answered viewerHasLiked false.
So a mutation's fields read Neo4j, and store what they read in the caches (under the usual lease,
so that a later change still wins); queries keep the caches, and meet the write then, or once the
worker relays it. Over a WebSocket, whose operations share one context, the other operations read Neo4j too
while a mutation runs: slower for that while, never wrong.
"""

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.context import Context


class CommittedReads(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.operation_type is not OperationType.MUTATION:
            yield
            return
        context: Context = execution.context
        context.fresh = True
        try:
            yield
        finally:
            context.fresh = False
