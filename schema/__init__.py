"""The Strawberry schema of the public API (../shared/contract.graphql is its contract)."""

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.types import ExecutionContext

from schema.errors import ContractErrors
from schema.mutation import Mutation
from schema.notifications import Notification
from schema.parsing import ParsedDocuments
from schema.query import Query
from schema.subscription import Subscription
from schema.types import Tweet, User


class ChirpSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Client errors are not worth a log line; ContractErrors logs the unexpected ones."""


def validation_cache() -> SchemaExtension:
    """Validating a document costs about as much as executing it, so the outcome is cached per
    document."""
    return ValidationCache()


schema = ChirpSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Tweet, Notification],
    extensions=[ContractErrors, ParsedDocuments, validation_cache],
)
