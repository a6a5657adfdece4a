"""The Strawberry schema of the public API (../shared/contract.graphql is its contract)."""

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from schema.admission import Admission
from schema.committed import CommittedReads
from schema.errors import ContractErrors
from schema.limits import QueryLimits
from schema.mutation import Mutation
from schema.notifications import Notification
from schema.query import Query
from schema.subscription import Subscription
from schema.types import Tweet, User


class ChirpSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Client errors are not worth a log line; ContractErrors logs the unexpected ones."""


# In this order: the limits on the query (parsing, validation and cost), then admission (the
# token's standing and the request's budget), both before any resolver runs; a mutation's answer
# read from Neo4j.
schema = ChirpSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Tweet, Notification],
    extensions=[ContractErrors, QueryLimits, Admission, CommittedReads],
)
